"""The find_files tool: fuzzy file search by name over the files a search would look at.

>>> print(format_find({"query": "clipy", "files": ["/r/ironcode/cli.py"], "searched": 120}))
/r/ironcode/cli.py
"""

from __future__ import annotations

import os

from ..agent import Tool, ToolResult, hints

DEFAULT_LIMIT = 20
MAX_LIMIT = 200

INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "query": {
            "type": "string",
            "description": 'Characters of the file\'s path, in order, e.g. "clipy" for ironcode/cli.py.',
        },
        "path": {
            "type": "string",
            "description": "The folder to search (default: the project's first folder).",
        },
        "limit": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_LIMIT,
            "description": f"How many files to return, best first (default {DEFAULT_LIMIT}).",
        },
    },
    "required": ["query"],
}

OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "query": {"type": "string"},
        "files": {"type": "array", "items": {"type": "string"}},
        "searched": {"type": "integer"},
    },
    "required": ["query", "files", "searched"],
}

DESCRIPTION = f"""Finds files whose path fuzzily matches a query (like an editor's "go to file"), best match first.

Usage:
- A file matches when the query's characters occur in its path in order: "usrctl" finds
  src/users/controller.py. Case is ignored unless the query has an upper-case letter.
- Searches the files git and ripgrep would (.gitignore respected, hidden files included).
- Returns absolute paths, at most limit (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}).
- Use it when you know part of a file's name; use glob for a name pattern and grep for content."""

TOOL = Tool(
    name="find_files",
    title="Find files by name",
    description=DESCRIPTION,
    input_schema=INPUT_SCHEMA,
    output_schema=OUTPUT_SCHEMA,
    annotations=hints(read_only=True, idempotent=True),
)


def run(box, args: dict) -> ToolResult:
    import ironcode

    located = box.roots.folder(args.get("path"))
    files = box.engine("file_list", located.path, root=located.root)
    best = ironcode.fuzzy_search(args["query"], files, int(args.get("limit", DEFAULT_LIMIT)))
    data = {
        "query": args["query"],
        "files": [os.path.join(located.path, rel) for rel in best],
        "searched": len(files),
    }
    return ToolResult(format_find(data), data)


def format_find(data: dict) -> str:
    if not data["files"]:
        return "No files found"
    return "\n".join(data["files"])
