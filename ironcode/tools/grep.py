"""The grep tool's text for a model, in the format of opencode's grep tool.

>>> print(format_grep({"matches": [{"path": "/r/a.py", "line": 3, "text": "import os"}],
...                    "total": 1, "truncated": False}))
Found 1 matches
/r/a.py:
  Line 3: import os
"""

from __future__ import annotations

#: Longer lines are cut to this many characters and "..." is appended.
MAX_LINE_CHARS = 2000
#: The longest line grep searches (both backends: native MAX_LINE_BYTES, twin the same), in MiB.
MAX_SEARCHED_LINE_MIB = 8


def format_grep(result: dict) -> str:
    """``Found N matches``, then each file's path and its ``  Line N: text`` lines; a note says
    how many matches were left out and how to narrow the search, another which files were
    searched only up to a line too long to search."""
    long_lines = result.get("long_lines", [])
    if not result["matches"] and not long_lines:
        return "No files found"
    lines = [f"Found {result['total']} matches"]
    current = None
    for match in result["matches"]:
        if match["path"] != current:
            if current is not None:
                lines.append("")
            current = match["path"]
            lines.append(f"{current}:")
        text = match["text"]
        if len(text) > MAX_LINE_CHARS:
            text = text[:MAX_LINE_CHARS] + "..."
        lines.append(f"  Line {match['line']}: {text}")
    if result["truncated"]:
        shown = len(result["matches"])
        hidden = result["total"] - shown
        lines += [
            "",
            f"(Results are truncated: showing {shown} of {result['total']} matches, {hidden} hidden. "
            "Use a more specific pattern, path or include glob to narrow the search.)",
        ]
    if long_lines:
        lines += [
            "",
            f"(Searched only up to a line longer than {MAX_SEARCHED_LINE_MIB} MiB in: "
            + ", ".join(long_lines)
            + ". Matches after that line are not shown; read those files in parts instead.)",
        ]
    return "\n".join(lines)


# ---- the toolbox's grep tool (AGENT.md) ----------------------------------------------------------
# Below the formatters, which the grep engine's branch owns: the schema, the description and run.

#: Results per call when head_limit is not given: files in files/count mode, match lines in content.
DEFAULT_HEAD_LIMIT = 100
#: Content lines are cut here for a model (minified files would flood it); the note counts them.
TOOL_MAX_LINE_CHARS = 500
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
        "cut_lines": {"type": "integer"},
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
    if mode == "content":
        data["cut_lines"] = sum(1 for m in result["matches"] if m.get("cut"))
    return ToolResult(format_tool_result(data), data)


def format_tool_result(data: dict) -> str:
    """The text of one grep tool call: the mode's formatter, and a note on lines cut for length."""
    mode = data["mode"]
    if mode == "content":
        text = format_grep(data)
        if data.get("cut_lines"):
            text += (
                f"\n\n({data['cut_lines']} lines were cut at {TOOL_MAX_LINE_CHARS} characters; read the "
                "file for the whole line.)"
            )
        return text
    if mode == "count":
        return format_counts(data)
    return format_files_found(data)


def format_files_found(data: dict) -> str:
    if not data["files"]:
        return "No files found"
    lines = [f"Found {data['total']} file{'s' if data['total'] != 1 else ''}", *data["files"]]
    if data["truncated"]:
        lines += [
            "",
            f"(Showing {len(data['files'])} of {data['total']} files. Use a more specific pattern or path, or raise head_limit.)",
        ]
    return "\n".join(lines)


def format_counts(data: dict) -> str:
    if not data["counts"]:
        return "No files found"
    lines = [
        f"Found {data['total']} matches in {len(data['counts'])}{'+' if data['truncated'] else ''} files"
    ]
    lines += [f"{entry['path']}:{entry['count']}" for entry in data["counts"]]
    if data["truncated"]:
        lines += ["", "(More files match. Use a more specific pattern or path, or raise head_limit.)"]
    return "\n".join(lines)


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
