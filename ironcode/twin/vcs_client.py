"""Twin of native/tool/src/vcs/client.rs: the small git client agents need.

``git_branches``, ``git_stage`` (``git add -- FILES``), ``git_unstage`` (``git restore --staged
-- FILES``) and ``git_commit`` (``git commit -m``, without hooks); ``git_diff`` is in
:mod:`.vcs_diff`. FILES are relative to ``path`` (a folder, or a file's folder)
or absolute, and must lie inside the repository.
"""

from __future__ import annotations

import os

import pygit2

from ..errors import IronCodeError

#: The whitespace git strips from the end of commit message lines (C isspace).
MESSAGE_WHITESPACE = " \t\n\v\f\r"
#: Characters a pathspec would read as a pattern; escaped so that names are taken literally.
PATHSPEC_SPECIAL = "*?[]\\"


def git_branches(path: str = ".") -> dict:
    """``{"current", "branches": [{"name", "commit", "subject", "current", "upstream"}]}`` for the
    local branches, sorted by name; ``commit`` is a short id, ``upstream`` e.g. ``origin/main``."""
    from .vcs import LIBGIT2_ERRORS, branch_name, git_error, open_repository

    repo = open_repository(path)
    current = branch_name(repo)
    out = []
    try:
        for name in sorted(repo.branches.local, key=lambda n: n.encode("utf-8", "surrogateescape")):
            branch = repo.branches.local[name]
            commit = branch.peel(pygit2.Commit)
            try:
                upstream = branch.upstream
            except (pygit2.GitError, KeyError, ValueError):
                upstream = None
            out.append(
                {
                    "name": name,
                    "commit": commit.short_id,
                    "subject": message_subject(commit.message),
                    "current": branch.is_head(),
                    "upstream": upstream.shorthand if upstream is not None else None,
                }
            )
    except IronCodeError:
        raise
    except LIBGIT2_ERRORS as e:
        raise git_error(e) from None
    return {"current": current, "branches": out}


def git_stage(path: str, files: list[str]) -> dict:
    """Stages ``files`` like ``git add``: new and modified files are added, deleted ones removed;
    a folder stages everything in it that is not ignored. ``{"root", "paths"}`` (repo-relative)."""
    from .vcs import LIBGIT2_ERRORS, git_error, open_repository, workdir

    repo = open_repository(path)
    root = workdir(repo)
    rels = [repo_relative(root, base_folder(path), f) for f in check_files(files)]
    try:
        index = repo.index
        for rel in rels:
            stage_one(repo, index, root, rel)
        index.write()
    except IronCodeError:
        raise
    except LIBGIT2_ERRORS as e:
        raise git_error(e) from None
    return {"root": root, "paths": rels}


def stage_one(repo: pygit2.Repository, index: pygit2.Index, root: str, rel: str) -> None:
    full = os.path.join(root, rel) if rel else root
    tracked = tracked_paths(index, rel)
    if os.path.isdir(full) and not os.path.islink(full):
        index.add_all([pathspec_literal(rel) if rel else "*"])
        for entry_path in tracked:
            if not os.path.lexists(os.path.join(root, entry_path)):
                remove_path(index, entry_path)
    elif os.path.lexists(full):
        if not tracked and repo.path_is_ignored(rel):
            raise IronCodeError(
                "git", f"{rel} is ignored by a .gitignore file; stage it with `git add -f` if you mean it"
            )
        index.add(rel)
    elif tracked:
        for entry_path in tracked:
            remove_path(index, entry_path)
    else:
        raise IronCodeError("not_found", f"{rel} matches no file in the working tree or the index")


def git_unstage(path: str, files: list[str]) -> dict:
    """Unstages ``files`` like ``git restore --staged``: their index entries go back to HEAD's
    version (or are removed when HEAD does not have them). ``{"root", "paths"}``."""
    from .vcs import LIBGIT2_ERRORS, git_error, open_repository, workdir

    repo = open_repository(path)
    root = workdir(repo)
    rels = [repo_relative(root, base_folder(path), f) for f in check_files(files)]
    try:
        index = repo.index
        head = None if repo.head_is_unborn else repo.head.peel(pygit2.Tree)
        for rel in rels:
            in_head = head_paths(head, rel)
            targets = sorted(set(in_head) | set(tracked_paths(index, rel)))
            if not targets:
                raise IronCodeError("not_found", f"{rel} matches no file known to git")
            for target in targets:
                if target in in_head:
                    oid, mode = in_head[target]
                    remove_conflict(index, target)
                    index.add(pygit2.IndexEntry(target, oid, mode))
                else:
                    remove_path(index, target)
        index.write()
    except IronCodeError:
        raise
    except LIBGIT2_ERRORS as e:
        raise git_error(e) from None
    return {"root": root, "paths": rels}


def git_commit(path: str, message: str) -> str:
    """Commits the index on the current branch (creating it when unborn; a merge in progress
    gets its second parent) and returns the new commit's short id. The author comes from
    GIT_AUTHOR_NAME / GIT_AUTHOR_EMAIL or user.name / user.email. Hooks are not run."""
    from .vcs import LIBGIT2_ERRORS, git_error, open_repository

    text = clean_message(message)
    repo = open_repository(path)
    try:
        index = repo.index
        conflicts = sorted({next(e for e in c if e).path for c in index.conflicts or ()})
        if conflicts:
            raise IronCodeError(
                "git",
                f"cannot commit with unresolved conflicts in {', '.join(conflicts)}; resolve and stage them",
            )
        tree_id = index.write_tree()
        merge_heads = list(repo.listall_mergeheads())
        parent = None if repo.head_is_unborn else repo.head.peel(pygit2.Commit)
        parents = [] if parent is None else [parent.id]
        if not merge_heads and nothing_to_commit(parent, tree_id, index):
            raise IronCodeError("git", "nothing to commit: stage changes first (git_stage)")
        author = signature(repo, "AUTHOR")
        committer = signature(repo, "COMMITTER")
        oid = repo.create_commit("HEAD", author, committer, text, tree_id, parents + merge_heads)
        if merge_heads:
            repo.state_cleanup()
        return repo[oid].short_id
    except IronCodeError:
        raise
    except LIBGIT2_ERRORS as e:
        raise git_error(e) from None


# ---- helpers ---------------------------------------------------------------------------------


def nothing_to_commit(parent: pygit2.Commit | None, tree_id: pygit2.Oid, index: pygit2.Index) -> bool:
    """True when the index holds what the parent already has (or nothing, on an unborn branch)."""
    if parent is None:
        return len(index) == 0
    return parent.tree_id == tree_id


def signature(repo: pygit2.Repository, role: str) -> pygit2.Signature:
    """Who authors or commits: GIT_<ROLE>_NAME / _EMAIL, else user.name / user.email."""
    config = repo.config
    name = os.environ.get(f"GIT_{role}_NAME") or config_string(config, "user.name")
    email = os.environ.get(f"GIT_{role}_EMAIL") or config_string(config, "user.email")
    if not name or not email:
        raise IronCodeError(
            "git",
            "Author identity unknown: set it with git config user.name 'Your Name' and "
            "git config user.email 'you@example.com'",
        )
    try:
        return pygit2.Signature(name, email)
    except (pygit2.GitError, ValueError) as e:
        raise IronCodeError("git", f"invalid identity {name} <{email}>: {e}") from None


def config_string(config: pygit2.Config, key: str) -> str | None:
    try:
        return config[key]
    except KeyError:
        return None


def clean_message(message: str) -> str:
    """git's whitespace clean-up of a commit message (``--cleanup=whitespace``): trailing
    whitespace cut, runs of blank lines folded into one, blank lines at both ends dropped."""
    if not isinstance(message, str):
        raise IronCodeError("invalid_argument", f"message must be a string, got {type(message).__name__}")
    if "\0" in message:
        raise IronCodeError("invalid_argument", "message contains a NUL byte")
    lines: list[str] = []
    blank_run = False
    for line in message.split("\n"):
        line = line.rstrip(MESSAGE_WHITESPACE)
        if not line:
            blank_run = True
            continue
        if blank_run and lines:
            lines.append("")
        blank_run = False
        lines.append(line)
    if not lines:
        raise IronCodeError("invalid_argument", "Aborting commit due to empty commit message")
    return "\n".join(lines) + "\n"


def message_subject(message: str) -> str:
    return message.split("\n", 1)[0].strip()


def check_files(files: list[str]) -> list[str]:
    if isinstance(files, str) or not isinstance(files, (list, tuple)):
        raise IronCodeError("invalid_argument", "files must be a list of paths")
    if not files:
        raise IronCodeError("invalid_argument", "files is empty: name at least one path")
    return list(files)


def base_folder(path: str) -> str:
    """The folder FILES are relative to: ``path`` itself, or its folder when it is a file."""
    from .paths import absolute

    abs_path = absolute(path)
    return abs_path if os.path.isdir(abs_path) else os.path.dirname(abs_path)


def repo_relative(root: str, base: str, file: str) -> str:
    """``file`` (relative to ``base``, or absolute) as a ``/``-separated path inside ``root``;
    ``""`` is the whole working tree. Symlinked folders on the way are resolved, the last
    component is not (a symlink is staged as a link)."""
    if not isinstance(file, str):
        raise IronCodeError("invalid_argument", f"file must be a string, got {type(file).__name__}")
    if not file or "\0" in file:
        raise IronCodeError("invalid_argument", "file is empty or contains a NUL byte")
    full = os.path.normpath(os.path.join(base, file))
    parent, name = os.path.split(full)
    resolved = os.path.join(os.path.realpath(parent), name) if name else os.path.realpath(parent)
    real_root = os.path.realpath(root)
    for candidate, top in ((full, root), (resolved, real_root)):
        if candidate == top:
            return ""
        if candidate.startswith(top.rstrip("/") + "/"):
            rel = candidate[len(top.rstrip("/")) + 1 :]
            if rel == ".git" or rel.startswith(".git/"):
                raise IronCodeError("invalid_argument", f"{file} is inside the .git folder")
            return rel
    raise IronCodeError("invalid_argument", f"{file} is outside the repository at {root}")


def path_matches(candidate: str, rel: str) -> bool:
    return not rel or candidate == rel or candidate.startswith(rel + "/")


def pathspec_literal(rel: str) -> str:
    return "".join("\\" + c if c in PATHSPEC_SPECIAL else c for c in rel)


def tracked_paths(index: pygit2.Index, rel: str) -> list[str]:
    """Index paths (any stage) equal to ``rel`` or inside the folder ``rel``."""
    paths = {entry.path for entry in index if path_matches(entry.path, rel)}
    for conflict in index.conflicts or ():
        entry = next(e for e in conflict if e)
        if path_matches(entry.path, rel):
            paths.add(entry.path)
    return sorted(paths)


def head_paths(tree: pygit2.Tree | None, rel: str) -> dict[str, tuple[pygit2.Oid, int]]:
    """HEAD's files equal to ``rel`` or inside the folder ``rel``: path -> (blob id, mode)."""
    if tree is None:
        return {}
    out: dict[str, tuple[pygit2.Oid, int]] = {}

    def walk(node: pygit2.Tree, prefix: str) -> None:
        for entry in node:
            name = f"{prefix}{entry.name}"
            if entry.type_str == "tree":
                walk(entry, name + "/")
            else:
                out[name] = (entry.id, entry.filemode)

    if not rel:
        walk(tree, "")
        return out
    try:
        node = tree[rel]
    except KeyError:
        return out
    if isinstance(node, pygit2.Tree):
        walk(node, rel + "/")
    else:
        out[rel] = (node.id, node.filemode)
    return out


def remove_path(index: pygit2.Index, rel: str) -> None:
    remove_conflict(index, rel)
    if rel in index:
        index.remove(rel)


def remove_conflict(index: pygit2.Index, rel: str) -> None:
    conflicts = index.conflicts
    if conflicts is not None:
        try:
            del conflicts[rel]
        except KeyError:
            pass
