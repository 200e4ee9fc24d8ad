"""The read tool's text for a model, in the format of opencode's read tool.

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

MAX_BYTES_LABEL = "50 KB"


def format_read(result: dict) -> str:
    """Numbered lines and a footer that says the total or how to continue."""
    offset = result["offset"]
    lines = result["lines"]
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
