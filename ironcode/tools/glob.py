"""The glob tool's text for a model, in the format of opencode's glob tool.

>>> print(format_glob({"files": ["/r/b.py", "/r/a.py"], "total": 2, "truncated": False}))
/r/b.py
/r/a.py
"""

from __future__ import annotations


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
