"""The read tool: numbered lines of a text file, in the format of opencode's read tool.

>>> print(format_read({"path": "/a.txt", "lines": ["x", "y"], "offset": 1, "total_lines": 2,
...                    "truncated": False, "truncated_by_bytes": False}))
<path>/a.txt</path>
<type>file</type>
<content>
1: x
2: y
<BLANKLINE>
(End of file - total 2 lines)
</content>
"""

from __future__ import annotations

import os
import stat

from ..agent import Tool, ToolResult, hints

#: The engine's bounds (OPERATIONS "read"): lines per call, bytes per call, characters per line.
DEFAULT_LIMIT = 2000
MAX_BYTES_LABEL = "50 KB"
MAX_LINE_CHARS = 2000
#: A larger limit reads as many lines as this (the 50 KB bound stops far sooner); the native
#: library takes a 64-bit count, so 10**30 lines must not reach it as is.
MAX_LIMIT = 2**31 - 1

INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "file_path": {
            "type": "string",
            "description": "The file to read: absolute, or relative to the project's first folder.",
        },
        "offset": {
            "type": "integer",
            "minimum": 0,
            "description": "The line number to start reading from (1-based; 0 means 1). Use it for "
            "files too long to read at once.",
        },
        "limit": {
            "type": "integer",
            "minimum": 1,
            "description": f"The number of lines to read (default {DEFAULT_LIMIT}).",
        },
    },
    "required": ["file_path"],
}

OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "path": {"type": "string"},
        "lines": {"type": "array", "items": {"type": "string"}},
        "offset": {"type": "integer"},
        "total_lines": {"type": "integer"},
        "truncated": {"type": "boolean"},
    },
    "required": ["path", "lines", "offset", "total_lines", "truncated"],
}

DESCRIPTION = f"""Reads a text file from the project and returns its lines, numbered.

Usage:
- file_path is absolute or relative to the project's first folder; it must lie inside the project.
- By default up to {DEFAULT_LIMIT} lines are returned from the start of the file, and never more
  than {MAX_BYTES_LABEL}; the last line of the answer says how to continue (offset=N) when there is more.
- For a long file, read the part you need with offset and limit; to find that part, use grep first.
- Lines longer than {MAX_LINE_CHARS} characters are cut.
- Each line is shown as "N: text"; the "N: " prefix is not part of the file. Leave it out when
  you quote the file in edit's old_string.
- Read a file before you change it with write, edit or the text editor: those refuse a file you
  have not read, or one that changed since you read it.
- Binary files and folders are refused (use ls or glob to see a folder's files)."""

TOOL = Tool(
    name="read",
    title="Read a file",
    description=DESCRIPTION,
    input_schema=INPUT_SCHEMA,
    output_schema=OUTPUT_SCHEMA,
    annotations=hints(read_only=True, idempotent=True),
)


#: A file up to this size is read on the caller's thread by ``Toolbox.acall`` (see :func:`quick`).
QUICK_BYTES = 256 * 1024


def quick(box, args: object) -> bool:
    """True for a regular file of at most :data:`QUICK_BYTES` inside a root: its read takes well
    under a millisecond, less than the hop to a worker thread. Anything else (a big file, a FIFO
    that could block, a path outside the roots) goes to the worker, which also reports errors."""
    if not isinstance(args, dict) or not isinstance(args.get("file_path"), str):
        return False
    located = box.roots.resolve(args["file_path"], "file_path")
    st = os.stat(located.path)
    return stat.S_ISREG(st.st_mode) and st.st_size <= QUICK_BYTES


def run(box, args: dict) -> ToolResult:
    located = box.roots.resolve(args["file_path"], "file_path")
    offset = max(int(args.get("offset", 1)), 1)
    limit = min(int(args.get("limit", DEFAULT_LIMIT)), MAX_LIMIT)
    # The version is taken before the lines: if the file changes in between, the record is the
    # older one and the next write is refused as stale, never let through.
    version = box.version(located)
    result = box.engine("read", located.path, offset, limit, root=located.root)
    box.reads.remember(located.path, version)
    return ToolResult(format_read(result), result)


#: "1: " .. "2000: ", the prefixes of a read from the top (the usual read), made once.
_NUMBERS = [f"{n}: " for n in range(1, DEFAULT_LIMIT + 1)]


def format_read(result: dict) -> str:
    """Numbered lines and a footer that says the total or how to continue."""
    offset = result["offset"]
    lines = result["lines"]
    if offset == 1 and len(lines) <= len(_NUMBERS):
        body = list(map(str.__add__, _NUMBERS, lines))  # a third faster than formatting each
    else:
        body = [f"{offset + i}: {line}" for i, line in enumerate(lines)]
    last = offset + len(lines) - 1
    next_offset = last + 1
    if result.get("truncated_by_bytes"):
        footer = (
            f"(Output capped at {MAX_BYTES_LABEL}. Showing lines {offset}-{last}. "
            f"Use offset={next_offset} to continue.)"
        )
    elif result["truncated"]:
        footer = (
            f"(Showing lines {offset}-{last} of {result['total_lines']}. "
            f"Use offset={next_offset} to continue.)"
        )
    else:
        footer = f"(End of file - total {result['total_lines']} lines)"
    parts = [
        f"<path>{result['path']}</path>",
        "<type>file</type>",
        "<content>",
        *body,
        "",
        footer,
        "</content>",
    ]
    return "\n".join(parts)
