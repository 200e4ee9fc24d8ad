"""The git tools — git_status, git_diff, git_branches, git_stage, git_unstage, git_commit — and
their text for a model (and a person): status grouped like ``git status``, a summary line for
vcs_info, and a diff capped at 50 KB with a note that says how to narrow it. One family, one
module: they share how a repository is found and confined.

Each works on the repository that contains ``path`` (default: the first root). A repository whose
top lies outside every root is ``outside_root``: its files are not the project's to show or commit.

>>> print(format_vcs_info({"branch": "main", "added": 1, "modified": 2, "deleted": 0}))
On branch main: 1 added, 2 modified, 0 deleted
"""

from __future__ import annotations

import os

from ..agent import Tool, ToolResult, hints
from ..agent_roots import Located
from ..errors import IronCodeError

#: A diff longer than this is cut at a line boundary, with a note.
MAX_DIFF_BYTES = 50 * 1024
MAX_DIFF_LABEL = "50 KB"
#: At most this many status lines per section.
MAX_STATUS_LINES = 200


# ---- the tools ---------------------------------------------------------------------------------

PATH = {
    "type": "string",
    "description": "A folder or file inside the repository (default: the project's first folder).",
}
PATHS = {
    "type": "array",
    "items": {"type": "string"},
    "minItems": 1,
    "description": "Files or folders, relative to path (or absolute).",
}
ROOT_PATHS_OUTPUT = {
    "type": "object",
    "properties": {"root": {"type": "string"}, "paths": {"type": "array", "items": {"type": "string"}}},
    "required": ["root", "paths"],
}

STATUS_INPUT_SCHEMA = {"type": "object", "properties": {"path": PATH}}
STATUS_OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "root": {"type": "string"},
        "branch": {"type": "string"},
        "files": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "path": {"type": "string"},
                    "xy": {"type": "string"},
                    "status": {"type": "string"},
                    "staged": {"type": "boolean"},
                },
                "required": ["path", "xy", "status", "staged"],
            },
        },
    },
    "required": ["branch", "files"],
}
DIFF_INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "path": PATH,
        "staged": {
            "type": "boolean",
            "description": "Show the staged changes (what git_commit would commit) instead of the unstaged ones.",
        },
        "paths": {**PATHS, "description": "Only these files (relative to path, or absolute)."},
    },
}
DIFF_OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {"diff": {"type": "string"}, "root": {"type": "string"}, "staged": {"type": "boolean"}},
    "required": ["diff"],
}
BRANCHES_INPUT_SCHEMA = {"type": "object", "properties": {"path": PATH}}
BRANCHES_OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "current": {"type": "string"},
        "branches": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "commit": {"type": "string"},
                    "subject": {"type": "string"},
                    "current": {"type": "boolean"},
                    "upstream": {"type": ["string", "null"]},
                },
                "required": ["name", "commit", "current"],
            },
        },
    },
    "required": ["current", "branches"],
}
STAGE_INPUT_SCHEMA = {"type": "object", "properties": {"paths": PATHS, "path": PATH}, "required": ["paths"]}
COMMIT_INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "message": {"type": "string", "minLength": 1, "description": "The commit message."},
        "path": PATH,
    },
    "required": ["message"],
}
COMMIT_OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "commit": {"type": "string", "description": "The new commit's full id."},
        "short": {"type": "string", "description": "Its short id, as git prints it."},
        "root": {"type": "string"},
        "branch": {"type": "string"},
    },
    "required": ["commit"],
}

STATUS_DESCRIPTION = f"""Shows the working tree's status, as `git status` groups it: the branch, then staged, conflicted, unstaged and untracked files.

Usage:
- Works on the git repository containing path (default: the project's first folder).
- Read-only: the index is never rewritten. At most {MAX_STATUS_LINES} files per section are listed."""
DIFF_DESCRIPTION = f"""Shows changes as a unified diff: unstaged ones (working tree against the index), or with staged=true the staged ones (index against HEAD).

Usage:
- Limit it to files with paths; a diff longer than {MAX_DIFF_LABEL} is cut, with a note.
- Read-only. Use it before git_commit to check what goes in (staged=true)."""
BRANCHES_DESCRIPTION = """Lists the repository's local branches: the current one marked with *, each with its last commit and upstream. Read-only."""
STAGE_DESCRIPTION = """Stages files for the next commit, like `git add -- PATHS`: new and changed files are added, deleted ones removed; a folder stages everything in it that is not ignored.

Usage:
- paths are relative to path (default: the project's first folder) or absolute, inside the project.
- An ignored file is refused (stage it with bash `git add -f` if you mean it)."""
UNSTAGE_DESCRIPTION = """Unstages files, like `git restore --staged -- PATHS`: their staged content goes back to HEAD's; the working tree is not touched."""
COMMIT_DESCRIPTION = """Commits the staged changes with a message, like `git commit -m MESSAGE` (hooks are not run), and returns the new commit's id.

Usage:
- Stage the changes first with git_stage; check them with git_diff staged=true.
- Write a message whose first line says what changed and why, in under 72 characters.
- The author is the configured git user (user.name / user.email, or GIT_AUTHOR_NAME/EMAIL)."""


def repository(box, path: str | None) -> str:
    """The top of the repository containing ``path``; ``outside_root`` when it lies outside the roots."""
    located = box.roots.resolve(path, "path")
    start = located.path if os.path.isdir(located.path) else os.path.dirname(located.path)
    top = find_top(start)
    if top is None:
        raise IronCodeError(
            "git",
            f"Not a git repository (nor any parent folder): {located.path}; run `git init` to create one",
        )
    if box.roots.holder(top) is None:
        raise IronCodeError(
            "outside_root",
            f"{located.path} is in the git repository at {top}, whose top is outside the project "
            f"({', '.join(box.roots.folders)}): its files are not the project's to show or change.",
        )
    return top


def find_top(start: str) -> str | None:
    """The nearest folder at or above ``start`` holding ``.git`` (a folder, or a worktree's file)."""
    folder = start
    while True:
        if os.path.lexists(os.path.join(folder, ".git")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def repository_paths(box, top: str, base: str | None, paths: list[str]) -> list[str]:
    """``paths`` (relative to ``base``) as paths inside the repository ``top``, each confined; a
    link is kept as the link (git stages it as one)."""
    base_folder = box.roots.resolve(base, "path").path if base is not None else box.roots.first
    if not os.path.isdir(base_folder):
        base_folder = os.path.dirname(base_folder)
    out = []
    for i, path in enumerate(paths):
        located: Located = box.roots.resolve(path, f"paths.{i}", base=base_folder, follow_last=False)
        rel = os.path.relpath(located.path, top)
        if rel == ".." or rel.startswith("../"):
            raise IronCodeError("invalid_argument", f"{path} is outside the repository at {top}")
        out.append("" if rel == "." else rel)
    return out


#: A repository whose index is at most this big (about a thousand tracked files) has its status
#: and diff worked out on the caller's thread by ``Toolbox.acall``: about a millisecond, while the
#: hop to a worker thread and back costs 0.35 ms of it through ``ironcode mcp``.
QUICK_INDEX_BYTES = 128 * 1024
#: ... and a git_diff of at most this many ``paths`` (each is a diff of its own).
QUICK_PATHS = 4


def quick(box, args: object) -> bool:
    """True for git_status / git_diff in a small repository (see :data:`QUICK_INDEX_BYTES`)."""
    if not isinstance(args, dict) or not isinstance(args.get("path", ""), str):
        return False
    if len(args.get("paths") or ()) > QUICK_PATHS:
        return False  # git_diff runs once per path
    # A hint only, so found lexically (no realpath, no confinement: the call itself does both, and
    # resolving twice cost a twentieth of a small diff); a link that misleads it costs time, not
    # safety.
    start = box.roots.absolute(args.get("path") or box.roots.first)
    top = find_top(start if os.path.isdir(start) else os.path.dirname(start))
    if top is None:
        return False
    # (a worktree's .git is a file: the stat raises, so no)
    return os.stat(os.path.join(top, ".git", "index")).st_size <= QUICK_INDEX_BYTES


def run_status(box, args: dict) -> ToolResult:
    import ironcode

    result = ironcode.git_status(repository(box, args.get("path")))
    return ToolResult(format_status(result), result)


def run_diff(box, args: dict) -> ToolResult:
    import ironcode

    top = repository(box, args.get("path"))
    staged = bool(args.get("staged", False))
    files = repository_paths(box, top, args.get("path"), args["paths"]) if "paths" in args else [None]
    patch = "".join(ironcode.git_diff(top, file or None, staged) for file in files)
    data = {"diff": patch, "root": top, "staged": staged}
    return ToolResult(format_diff(patch), data)


def run_branches(box, args: dict) -> ToolResult:
    import ironcode

    result = ironcode.git_branches(repository(box, args.get("path")))
    return ToolResult(format_branches(result), result)


def run_stage(box, args: dict) -> ToolResult:
    import ironcode

    top = repository(box, args.get("path"))
    result = ironcode.git_stage(
        top, [p or "." for p in repository_paths(box, top, args.get("path"), args["paths"])]
    )
    return ToolResult(f"Staged: {', '.join(result['paths']) or '(everything)'}", result)


def run_unstage(box, args: dict) -> ToolResult:
    import ironcode

    top = repository(box, args.get("path"))
    result = ironcode.git_unstage(
        top, [p or "." for p in repository_paths(box, top, args.get("path"), args["paths"])]
    )
    return ToolResult(f"Unstaged: {', '.join(result['paths']) or '(everything)'}", result)


def run_commit(box, args: dict) -> ToolResult:
    import ironcode

    top = repository(box, args.get("path"))
    short = ironcode.git_commit(top, args["message"])
    branch = ironcode.git_branches(top)["current"]
    subject = args["message"].strip().split("\n", 1)[0]
    data = {"commit": full_id(top, short), "short": short, "root": top, "branch": branch}
    return ToolResult(f"[{branch} {short}] {subject}", data)


def full_id(top: str, short: str) -> str:
    """The whole id of the commit ``short`` names (what ``git rev-parse`` prints), so a program can
    use ``data["commit"]`` anywhere git takes an id; the text keeps git's short form."""
    import pygit2

    return str(pygit2.Repository(top).revparse_single(short).id)


def _tool(name: str, title: str, description: str, schemas: tuple[dict, dict], annotations: dict) -> Tool:
    return Tool(name, title, description, schemas[0], schemas[1], annotations)


READ_ONLY = hints(read_only=True, idempotent=True)
TOOLS = [
    (
        _tool(
            "git_status",
            "Git status",
            STATUS_DESCRIPTION,
            (STATUS_INPUT_SCHEMA, STATUS_OUTPUT_SCHEMA),
            READ_ONLY,
        ),
        run_status,
        quick,
    ),
    (
        _tool("git_diff", "Git diff", DIFF_DESCRIPTION, (DIFF_INPUT_SCHEMA, DIFF_OUTPUT_SCHEMA), READ_ONLY),
        run_diff,
        quick,
    ),
    (
        _tool(
            "git_branches",
            "Git branches",
            BRANCHES_DESCRIPTION,
            (BRANCHES_INPUT_SCHEMA, BRANCHES_OUTPUT_SCHEMA),
            READ_ONLY,
        ),
        run_branches,
    ),
    (
        _tool(
            "git_stage",
            "Git stage",
            STAGE_DESCRIPTION,
            (STAGE_INPUT_SCHEMA, ROOT_PATHS_OUTPUT),
            hints(idempotent=True),
        ),
        run_stage,
    ),
    (
        _tool(
            "git_unstage",
            "Git unstage",
            UNSTAGE_DESCRIPTION,
            (STAGE_INPUT_SCHEMA, ROOT_PATHS_OUTPUT),
            hints(idempotent=True),
        ),
        run_unstage,
    ),
    (
        _tool(
            "git_commit",
            "Git commit",
            COMMIT_DESCRIPTION,
            (COMMIT_INPUT_SCHEMA, COMMIT_OUTPUT_SCHEMA),
            hints(destructive=True),
        ),
        run_commit,
    ),
]


# ---- text --------------------------------------------------------------------------------------

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


def format_branches(result: dict) -> str:
    """One line per branch: ``*`` on the current one, its short id, upstream and last subject."""
    if not result["branches"]:
        return f"On branch {result['current']} (no commits yet)"
    lines = []
    for branch in result["branches"]:
        mark = "*" if branch["current"] else " "
        upstream = f" [{branch['upstream']}]" if branch.get("upstream") else ""
        lines.append(
            f"{mark} {branch['name']} {branch['commit']}{upstream} {branch.get('subject', '')}".rstrip()
        )
    return "\n".join(lines)
