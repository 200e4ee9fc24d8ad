"""The glob tool: files matching a glob pattern, newest first, in the format of opencode's glob tool.

>>> print(format_glob({"files": ["/r/b.py", "/r/a.py"], "total": 2, "truncated": False}))
/r/b.py
/r/a.py
"""

from __future__ import annotations

from ..agent import Tool, ToolResult, hints

#: Files one call returns; the note says how many more matched.
MAX_FILES = 100

INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "pattern": {
            "type": "string",
            "description": 'The glob to match, e.g. "**/*.py" or "src/**/*.ts" (relative to path).',
        },
        "path": {
            "type": "string",
            "description": "The folder to search (default: the project's first folder).",
        },
    },
    "required": ["pattern"],
}

OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "files": {"type": "array", "items": {"type": "string"}},
        "total": {"type": "integer"},
        "truncated": {"type": "boolean"},
    },
    "required": ["files", "total", "truncated"],
}

DESCRIPTION = f"""Finds files by name with a glob pattern, and lists them newest first (by modification time).

Usage:
- Patterns are ripgrep globs: "**/*.py", "src/**/*.{{ts,tsx}}", "*.md" ("*.py" matches at any depth).
- Files that .gitignore (and .ignore) exclude are left out, as git and ripgrep leave them out;
  hidden files are included; .git is never searched.
- At most {MAX_FILES} files are returned; the note says how many more matched. Narrow the path or
  the pattern then.
- Use glob to find files by name; use grep to find files by content, and find_files when you
  know only part of a file's name."""

TOOL = Tool(
    name="glob",
    title="Find files by glob",
    description=DESCRIPTION,
    input_schema=INPUT_SCHEMA,
    output_schema=OUTPUT_SCHEMA,
    annotations=hints(read_only=True, idempotent=True),
)


def run(box, args: dict) -> ToolResult:
    located = box.roots.folder(args.get("path"))
    result = box.engine("glob", args["pattern"], located.path, MAX_FILES, root=located.root)
    return ToolResult(format_glob(result), result)


def format_glob(result: dict) -> str:
    """Absolute paths, newest first; a note says how many were left out."""
    if not result["files"]:
        return "No files found"
    lines = list(result["files"])
    if result["truncated"]:
        shown = len(result["files"])
        hidden = result["total"] - shown
        lines += [
            "",
            f"(Results are truncated: showing {shown} of {result['total']} files, {hidden} hidden. "
            "Use a more specific path or pattern.)",
        ]
    return "\n".join(lines)


def format_files(files: list[str]) -> str:
    """``ironcode files``: one relative path per line, or ``No files found``."""
    return "\n".join(files) if files else "No files found"
