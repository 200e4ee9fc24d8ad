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
