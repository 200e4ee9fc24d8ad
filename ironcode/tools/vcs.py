"""The git tools' text for a model (and a person): status grouped like ``git status``, a summary
line for vcs_info, and a diff capped at 50 KB with a note that says how to narrow it.

>>> print(format_vcs_info({"branch": "main", "added": 1, "modified": 2, "deleted": 0}))
On branch main: 1 added, 2 modified, 0 deleted
"""

from __future__ import annotations

#: A diff longer than this is cut at a line boundary, with a note.
MAX_DIFF_BYTES = 50 * 1024
MAX_DIFF_LABEL = "50 KB"
#: At most this many status lines per section.
MAX_STATUS_LINES = 200

_LABELS = {
    "A": "new file",
    "M": "modified",
    "D": "deleted",
    "R": "renamed",
    "C": "copied",
    "T": "typechange",
}
_CONFLICTS = {
    "DD": "both deleted",
    "AU": "added by us",
    "UD": "deleted by them",
    "UA": "added by them",
    "DU": "deleted by us",
    "AA": "both added",
    "UU": "both modified",
}


def format_vcs_info(info: dict) -> str:
    """One line: the branch and the three counts."""
    return (
        f"On branch {info['branch']}: {info['added']} added, {info['modified']} modified, "
        f"{info['deleted']} deleted"
    )


def format_status(result: dict) -> str:
    """The branch, then staged, unstaged, conflicted and untracked files, each labelled."""
    staged, unstaged, conflicts, untracked = [], [], [], []
    for entry in result["files"]:
        xy, path = entry["xy"], entry["path"]
        if xy == "??":
            untracked.append(path)
        elif xy in _CONFLICTS:
            conflicts.append(f"{_CONFLICTS[xy]}: {path}")
        else:
            if xy[0] != " ":
                staged.append(_describe(xy[0], entry))
            if xy[1] != " ":
                unstaged.append(_describe(xy[1], entry) if xy[0] == " " else f"{_LABELS[xy[1]]}: {path}")
    lines = [f"On branch {result['branch']}"]
    for title, items in (
        ("Changes staged for commit", staged),
        ("Unmerged paths (resolve, then stage)", conflicts),
        ("Changes not staged for commit", unstaged),
        ("Untracked files", untracked),
    ):
        if items:
            lines += ["", f"{title}:"] + [f"  {item}" for item in items[:MAX_STATUS_LINES]]
            if len(items) > MAX_STATUS_LINES:
                lines.append(f"  ... and {len(items) - MAX_STATUS_LINES} more")
    if len(lines) == 1:
        lines.append("nothing to commit, working tree clean")
    return "\n".join(lines)


def _describe(letter: str, entry: dict) -> str:
    if letter in "RC" and entry.get("orig_path"):
        return f"{_LABELS[letter]}: {entry['orig_path']} -> {entry['path']} ({entry['similarity']}% similar)"
    return f"{_LABELS[letter]}: {entry['path']}"


def format_diff(patch: str) -> str:
    """The patch, or "No changes.", cut at a line boundary past 50 KB with a note."""
    if not patch:
        return "No changes."
    data = patch.encode("utf-8")
    if len(data) <= MAX_DIFF_BYTES:
        return patch
    cut = data[:MAX_DIFF_BYTES].decode("utf-8", "ignore")
    cut = cut[: cut.rfind("\n") + 1] if "\n" in cut else cut
    return (
        f"{cut}\n(Diff cut at {MAX_DIFF_LABEL} of {len(data)} bytes. "
        "Ask for one file at a time to see the rest.)"
    )
