"""The write tool: replaces a whole file (or creates it), atomically, under the read rule.

>>> print(format_write({"path": "/r/a.txt", "bytes": 12, "created": True}))
Created /r/a.txt (12 bytes).
"""

from __future__ import annotations

from ..agent import Tool, ToolResult, hints

INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "file_path": {
            "type": "string",
            "description": "The file to write: absolute, or relative to the project's first folder.",
        },
        "content": {"type": "string", "description": "The file's whole new content."},
    },
    "required": ["file_path", "content"],
}

OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "path": {"type": "string"},
        "bytes": {"type": "integer"},
        "created": {"type": "boolean"},
    },
    "required": ["path", "bytes", "created"],
}

DESCRIPTION = """Writes a file in the project, replacing its whole content (or creating it, with any missing folders).

Usage:
- An existing file must have been read first in this session (read, or the text editor's view),
  and must not have changed since: otherwise the call is refused and the file is untouched.
- Prefer edit (or apply_patch) to change part of an existing file: it sends only the change, and
  keeps the rest of the file exactly as it is. Use write for new files and complete rewrites.
- The content is written as given (UTF-8), atomically: a reader sees the old file or the new one,
  never half of it.
- Do not create documentation or README files unless asked to."""

TOOL = Tool(
    name="write",
    title="Write a file",
    description=DESCRIPTION,
    input_schema=INPUT_SCHEMA,
    output_schema=OUTPUT_SCHEMA,
    annotations=hints(destructive=True, idempotent=True),
)


def run(box, args: dict) -> ToolResult:
    located = box.roots.resolve(args["file_path"], "file_path", writing=True)
    content = args["content"]
    with box.reads.hold(located.path):
        box.reads.check(located.path, box.version(located))
        result = box.engine("write", located.path, content, root=located.root)
        box.remember(located)
    return ToolResult(format_write(result), result)


def format_write(result: dict) -> str:
    verb = "Created" if result["created"] else "Wrote"
    return f"{verb} {result['path']} ({result['bytes']} bytes)."
