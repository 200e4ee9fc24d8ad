"""The grep tool's text for a model: ripgrep's own output, bounded.

Each output mode prints what ``rg`` prints for it, from the engine's answer (OPERATIONS.md
``grep``), so a model trained on ripgrep reads it without a legend:

- content: ``path:line:text`` for match lines and ``path-line-text`` for context lines, ``--``
  between groups that are not adjacent (only when context lines were asked for, as rg);
- files: the paths, newest first; count: ``path:count``.

A line longer than :data:`MAX_LINE_CHARS` shows its start and how much was left out (a minified
bundle matched once must not flood the context); the whole text stays under
:data:`MAX_OUTPUT_BYTES`, with a note saying what was left out and how to narrow the search.
Nothing found is not an error: "No files found".

>>> print(format_grep({"matches": [{"path": "/r/a.py", "line": 3, "text": "import os"}],
...                    "total": 1, "truncated": False}))
/r/a.py:3:import os
"""

from __future__ import annotations

#: A line's text is shown up to this many characters, then "… [N more characters]".
MAX_LINE_CHARS = 500
#: The whole text stays under this many bytes (UTF-8), its notes included (as the read tool's 50 KB).
MAX_OUTPUT_BYTES = 50 * 1024
#: Room kept under MAX_OUTPUT_BYTES for the notes that follow the lines.
NOTES_RESERVE_BYTES = 2 * 1024
#: The longest line grep searches (both backends: native MAX_LINE_BYTES, twin the same), in MiB.
MAX_SEARCHED_LINE_MIB = 8
#: What rg prints between groups of lines that are not adjacent.
CONTEXT_SEPARATOR = "--"
#: The empty answer, in every mode.
NO_FILES = "No files found"
#: How to narrow a search, said in every note about what was left out.
NARROW_HINT = "Use a more specific pattern, path, glob or type to narrow the search"


def mode_of(result: dict) -> str:
    """The output mode an engine answer was made in, from its keys."""
    if "files" in result:
        return "files"
    if "counts" in result:
        return "count"
    return "content"


def format_grep(result: dict, mode: str | None = None) -> str:
    """The text for ``result``, an answer of ``grep`` in ``mode`` (found from its keys when not
    given): rg's lines, then notes on what the limit, the size cap or a line too long to search
    left out."""
    mode = mode or mode_of(result)
    if mode == "files":
        lines = list(result["files"])
        unit = "files"
    elif mode == "count":
        lines = [f"{c['path']}:{c['count']}" for c in result["counts"]]
        unit = "files"
    else:
        lines = content_lines(result["matches"])
        unit = "matches"
    long_lines = result.get("long_lines", [])
    if not lines and not long_lines:
        return NO_FILES
    shown, cut_at = bounded(lines)
    notes = []
    if cut_at is not None:
        notes.append(
            f"(Output cut at {MAX_OUTPUT_BYTES // 1024} KB: showing {cut_at} of {len(lines)} lines. {NARROW_HINT}, "
            "or ask for fewer context lines or for files only.)"
        )
    if result["truncated"]:
        if mode == "content":
            kept = sum(1 for m in result["matches"] if m.get("kind", "match") == "match")
            total = result["total"]
        else:
            kept, total = len(result["counts" if mode == "count" else "files"]), _matched_files(result)
        notes.append(
            f"(Results are truncated: showing {kept} of {total} {unit}, {total - kept} hidden. "
            f"{NARROW_HINT}, or raise the limit.)"
        )
    if mode == "count" and result["counts"]:
        files = _matched_files(result)
        notes.append(f"({result['total']} matches in {files} {'file' if files == 1 else 'files'})")
    if long_lines:
        notes.append(
            f"(Searched only up to a line longer than {MAX_SEARCHED_LINE_MIB} MiB in: "
            + ", ".join(long_lines)
            + ". Matches after that line are not shown; read those files in parts instead.)"
        )
    return "\n".join([*shown, *([""] if shown and notes else []), *notes])


def _matched_files(result: dict) -> int:
    """How many files matched, in files mode (``total``) or count mode (``matched_files``)."""
    if "counts" in result:
        return result.get("matched_files", len(result["counts"]))
    return result["total"]


def content_lines(matches: list[dict]) -> list[str]:
    """rg's lines for content-mode entries: ``path:line:text`` for a match, ``path-line-text``
    for context, ``--`` between non-adjacent groups when the entries carry a ``kind`` (context
    lines were asked for)."""
    out = []
    previous = None
    for match in matches:
        kind = match.get("kind")
        if kind is not None and previous is not None:
            if match["path"] != previous[0] or match["line"] != previous[1] + 1:
                out.append(CONTEXT_SEPARATOR)
        previous = (match["path"], match["line"])
        mark = "-" if kind == "context" else ":"
        out.append(f"{match['path']}{mark}{match['line']}{mark}{line_preview(match)}")
    return out


def line_preview(match: dict) -> str:
    """A line's text, at most :data:`MAX_LINE_CHARS` characters of it, then how many characters
    were left out (counting what the engine already cut, whose full length is in ``chars``)."""
    text = match["text"]
    full = match.get("chars", len(text))
    shown = text[:MAX_LINE_CHARS]
    more = full - len(shown)
    return f"{shown}… [{more} more characters]" if more > 0 else shown


def bounded(lines: list[str]) -> tuple[list[str], int | None]:
    """The first lines that fit under the size cap (room kept for the notes), and how many fit
    when not all did."""
    budget = MAX_OUTPUT_BYTES - NOTES_RESERVE_BYTES
    used = 0
    for i, line in enumerate(lines):
        used += len(line.encode("utf-8", "replace")) + 1
        if used > budget:
            return lines[:i], i
    return lines, None


# ---- the toolbox's grep tool (AGENT.md) ----------------------------------------------------------
# Below the formatters, which the grep engine's branch owns: the schema, the description and run.

#: Results per call when head_limit is not given: files in files/count mode, match lines in content.
DEFAULT_HEAD_LIMIT = 100
#: Content lines are cut here for a model (minified files would flood it); the text says how
#: many characters each lost.
TOOL_MAX_LINE_CHARS = MAX_LINE_CHARS
#: The tool's output modes (Claude Code's names) and the engine's.
OUTPUT_MODES = {"files_with_matches": "files", "content": "content", "count": "count"}

TOOL_INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "pattern": {
            "type": "string",
            "description": "The regular expression to search for (Rust regex syntax).",
        },
        "path": {
            "type": "string",
            "description": "The file or folder to search (default: the project's first folder).",
        },
        "glob": {
            "type": "string",
            "description": 'Only files matching this glob, e.g. "*.py" or "src/**/*.ts".',
        },
        "type": {"type": "string", "description": 'Only files of this type, e.g. "py", "rust", "js".'},
        "output_mode": {
            "type": "string",
            "enum": list(OUTPUT_MODES),
            "description": 'files_with_matches (default): the files that match; "content": the matching '
            'lines; "count": matches per file.',
        },
        "before": {
            "type": "integer",
            "minimum": 0,
            "description": "content mode: lines of context before each match.",
        },
        "after": {
            "type": "integer",
            "minimum": 0,
            "description": "content mode: lines of context after each match.",
        },
        "context": {
            "type": "integer",
            "minimum": 0,
            "description": "content mode: lines of context around each match.",
        },
        "case_insensitive": {"type": "boolean", "description": "Ignore case."},
        "multiline": {"type": "boolean", "description": "Let a match span lines (. matches a newline too)."},
        "head_limit": {
            "type": "integer",
            "minimum": 1,
            "description": f"At most this many files (files and count modes) or lines (content mode); default "
            f"{DEFAULT_HEAD_LIMIT}.",
        },
    },
    "required": ["pattern"],
}

TOOL_OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "mode": {"type": "string", "enum": list(OUTPUT_MODES)},
        "files": {"type": "array", "items": {"type": "string"}},
        "counts": {"type": "array", "items": {"type": "object"}},
        "matches": {"type": "array", "items": {"type": "object"}},
        "total": {"type": "integer"},
        "truncated": {"type": "boolean"},
    },
    "required": ["mode", "total", "truncated"],
}

TOOL_DESCRIPTION = f"""Searches file contents with a regular expression (ripgrep's rules and speed), newest files first.

Usage:
- Use it for every content search; do not run grep or rg through bash.
- output_mode: "files_with_matches" (the default) lists the files that match — start there;
  "content" shows the matching lines (with before/after/context lines around them); "count"
  gives matches per file.
- The pattern is a Rust regex: escape literal braces and dots (`interface\\{{\\}}`, `a\\.b`).
  multiline=true lets a match span lines.
- Filter files with glob ("*.py", "**/*.{{ts,tsx}}") or type ("py", "rust", "js", ...); files that
  .gitignore excludes and binary files are skipped, hidden files are searched.
- At most head_limit results (default {DEFAULT_HEAD_LIMIT}); the note says how many more there are.
  Content lines are cut at {TOOL_MAX_LINE_CHARS} characters (read the file for the rest).
- Finding nothing is not an error: the answer is "No files found"."""


def run_tool(box, args: dict):
    from ..agent import ToolResult

    located = box.roots.resolve(args.get("path"), "path")
    mode = args.get("output_mode", "files_with_matches")
    options = {
        "output_mode": OUTPUT_MODES[mode],
        "file_type": args.get("type"),
        "multiline": bool(args.get("multiline")),
    }
    if mode == "content":
        options["max_line_chars"] = TOOL_MAX_LINE_CHARS
        for key in ("before", "after", "context"):
            if key in args:
                options[key] = args[key]
    result = box.engine(
        "grep",
        args["pattern"],
        located.path,
        args.get("glob"),
        args.get("head_limit", DEFAULT_HEAD_LIMIT),
        bool(args.get("case_insensitive", False)),
        root=located.root,
        **options,
    )
    data = {"mode": mode, **result}
    return ToolResult(format_tool_result(data), data)


def format_tool_result(data: dict) -> str:
    """The text of one grep tool call: rg's lines for the mode (:func:`format_grep`)."""
    return format_grep(data, OUTPUT_MODES[data["mode"]])


def _tools():
    from ..agent import Tool, hints

    return [
        (
            Tool(
                name="grep",
                title="Search file contents",
                description=TOOL_DESCRIPTION,
                input_schema=TOOL_INPUT_SCHEMA,
                output_schema=TOOL_OUTPUT_SCHEMA,
                annotations=hints(read_only=True, idempotent=True),
            ),
            run_tool,
        )
    ]


TOOLS = _tools()
