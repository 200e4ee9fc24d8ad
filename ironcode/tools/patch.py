"""The apply_patch tool's text for a person or a model: Codex's summary (``A``/``M``/``D`` per
file), then the diffs. (The toolbox's tool definition goes below the formatter.)

>>> print(format_patch({"files": [{"path": "a.py", "action": "update", "additions": 1,
...                                "deletions": 1, "diff": "--- a.py\\n+++ a.py\\n"}]}))
Success. Updated the following files:
M a.py
<BLANKLINE>
--- a.py
+++ a.py
"""

from __future__ import annotations

#: The letter Codex prints before each file of a patch.
ACTION_LETTERS = {"add": "A", "update": "M", "delete": "D"}


def format_patch(result: dict, dry_run: bool = False) -> str:
    """The summary line, one ``A``/``M``/``D`` line per file section (a move names its
    destination, as Codex does), then each section's diff."""
    head = (
        "Dry run, nothing was written. The patch would update the following files:"
        if dry_run
        else "Success. Updated the following files:"
    )
    lines = [head]
    for change in result["files"]:
        lines.append(f"{ACTION_LETTERS[change['action']]} {change.get('move_path') or change['path']}")
    diffs = [change["diff"].rstrip("\n") for change in result["files"] if change["diff"]]
    return "\n".join(lines) + ("\n\n" + "\n".join(diffs) if diffs else "")
