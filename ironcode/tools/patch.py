"""The apply_patch tool's text for a person or a model: Codex's summary (``A``/``M``/``D`` per
file), then the diffs; and, below the formatter, the toolbox's apply_patch tool: every path confined,
all files or none, an Add over an existing file under the read rule.

It is also how bash answers a command line that is an apply_patch heredoc (``apply_patch <<'EOF'
... EOF``, ``applypatch``, also inside ``bash -lc "..."`` or after ``cd dir &&``): GPT models emit
exactly that, and Codex and opencode apply it rather than look for an ``apply_patch`` program.

>>> print(format_patch({"files": [{"path": "a.py", "action": "update", "additions": 1,
...                                "deletions": 1, "diff": "--- a.py\\n+++ a.py\\n"}]}))
Success. Updated the following files:
M a.py
<BLANKLINE>
--- a.py
+++ a.py
"""

from __future__ import annotations

import os
import re

from ..agent import Tool, ToolResult, hints
from ..errors import IronCodeError

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


# ---- the toolbox's apply_patch tool (AGENT.md) -----------------------------------------------------

#: The command words a patch heredoc may follow.
PATCH_COMMANDS = ("apply_patch", "applypatch")
#: ``cd DIR &&`` before the heredoc, as Codex accepts it.
CD_PREFIX = re.compile(r"^\s*cd\s+(?P<dir>'[^']*'|\"[^\"]*\"|[^\s;&|]+)\s*&&\s*")

INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "patch": {
            "type": "string",
            "description": "The whole patch, from '*** Begin Patch' to '*** End Patch'.",
        },
    },
    "required": ["patch"],
}

OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "files": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "path": {"type": "string"},
                    "action": {"type": "string", "enum": ["add", "update", "delete"]},
                    "move_path": {"type": ["string", "null"]},
                    "additions": {"type": "integer"},
                    "deletions": {"type": "integer"},
                    "diff": {"type": "string"},
                },
                "required": ["path", "action", "additions", "deletions", "diff"],
            },
        },
    },
    "required": ["files"],
}

DESCRIPTION = """Applies a patch that adds, updates, deletes or moves files: several places in several files in one call, all or nothing.

The format (paths relative to the project's first folder, or absolute):
*** Begin Patch
*** Add File: path/new.py
+every line of the new file, each starting with +
*** Update File: path/old.py
*** Move to: path/renamed.py        (optional)
@@ def function_or_class_near_the_change
 a context line (space prefix)
-a line to remove
+a line to add
*** Delete File: path/gone.py
*** End Patch

Usage:
- Give about 3 lines of context around each change, unchanged and each prefixed with a space;
  use @@ lines to name the function or class when the context is not unique.
- If any part does not apply, nothing is written and the error names the file, the chunk and
  the closest region of the file.
- Update and Delete need no prior read: their context lines are the check. Add over an existing
  file is a rewrite: read that file first.
- Every path must lie inside the project. Files keep their line endings."""

TOOL = Tool(
    name="apply_patch",
    title="Apply a patch",
    description=DESCRIPTION,
    input_schema=INPUT_SCHEMA,
    output_schema=OUTPUT_SCHEMA,
    annotations=hints(destructive=True),
)


def run(box, args: dict) -> ToolResult:
    return apply(box, args["patch"], box.roots.first)


def apply(box, patch: str, cwd: str) -> ToolResult:
    """Applies ``patch`` with paths relative to ``cwd``, under the read rule for Adds over files."""
    base = box.roots.folder(cwd, "cwd")
    plan = box.engine("apply_patch", patch, base.path, True, root=base.root)
    files = [_touched(box, base.path, entry) for entry in plan["files"]]
    keys = sorted({loc.path for pair in files for loc in pair if loc is not None})
    with _holding(box, keys):
        for entry, (located, _) in zip(plan["files"], files, strict=True):
            if entry["action"] == "add":
                box.reads.check(located.path, box.version(located))
        result = box.engine("apply_patch", patch, base.path, False, root=base.root)
        for located, moved in (_touched(box, base.path, entry) for entry in result["files"]):
            if moved is not None:
                box.reads.remember(located.path, None)
                box.remember(moved)
            else:
                box.remember(located)  # a deleted file has no version: its record goes
    return ToolResult(format_patch(result), result)


def _touched(box, cwd: str, entry: dict):
    """(the file, where it moves to or None), each resolved and confined."""
    located = box.roots.resolve(_absolute(cwd, entry["path"]), "patch", writing=True)
    moved = entry.get("move_path")
    return located, (box.roots.resolve(_absolute(cwd, moved), "patch", writing=True) if moved else None)


def _absolute(cwd: str, path: str) -> str:
    return path if os.path.isabs(path) else os.path.join(cwd, path)


class _holding:
    """Holds the read rule's lock of every path, in sorted order (two patches cannot deadlock)."""

    def __init__(self, box, keys: list[str]) -> None:
        self.holds = [box.reads.hold(key) for key in keys]

    def __enter__(self) -> None:
        for hold in self.holds:
            hold.__enter__()

    def __exit__(self, *exc: object) -> None:
        for hold in reversed(self.holds):
            hold.__exit__(*exc)


def patch_in_command(command: str) -> tuple[str, str | None] | None:
    """(the patch, the folder a leading ``cd`` names or None) when ``command`` is an apply_patch
    heredoc — directly, after ``cd DIR &&``, or as the script of ``bash -lc``/``sh -c`` — else None."""
    from ..agent_guard import shell_script

    text = command.strip()
    for _ in range(3):  # bash -lc "bash -lc '...'" is as deep as anyone writes it
        import ironcode

        try:
            parsed = ironcode.parse_bash(text, "/")
        except IronCodeError:
            return None
        commands = parsed["commands"]
        if len(commands) == 1:
            script = shell_script(commands[0])
            if script is not None:
                text = script.strip()
                continue
        break
    folder = None
    cd = CD_PREFIX.match(text)
    if cd is not None:
        folder = cd.group("dir").strip("'\"")
        text = text[cd.end() :]
    body = _heredoc_patch(text)
    return None if body is None else (body, folder)


def _heredoc_patch(text: str) -> str | None:
    """The body of ``apply_patch <<'TAG' ... TAG`` (the patch engine's own heredoc rule)."""
    from ..twin.patch import unwrap_heredoc

    heredoc = unwrap_heredoc(text)
    if heredoc is None or heredoc.command not in PATCH_COMMANDS:
        return None
    return heredoc.body
