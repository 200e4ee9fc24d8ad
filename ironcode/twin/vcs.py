"""Twin of native/tool/src/vcs.rs: git status and branch info on pygit2 (libgit2 in-process).

``git_status`` answers what ``git status --porcelain=v1 --untracked-files=all`` prints, line for
line: libgit2 supplies the two diffs (HEAD to index, index to working tree, the latter with the
untracked files), and git's own rules are applied on top — its rename detection
(:mod:`.vcs_renames`), ``git add -N`` files as `` A``, and conflict codes from the index's conflict
entries. Nothing is written: like ``git --no-optional-locks status``, the index is never refreshed,
so a concurrent git command never finds ``index.lock`` taken by us.

Above :data:`GIT_SPAWN_MIN_INDEX_ENTRIES` tracked files, ``engine="auto"`` asks the git binary
instead (:mod:`.vcs_porcelain`): git checks the working tree with several threads and is faster there.

The small git client agents need: :mod:`.vcs_diff` (the patch) and :mod:`.vcs_client` (branches,
stage, unstage, commit).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable

import pygit2

from ..errors import IronCodeError
from . import vcs_porcelain as porcelain
from . import vcs_renames as renames
from .paths import absolute
from .vcs_client import git_branches, git_commit, git_stage, git_unstage
from .vcs_diff import git_diff
from .vcs_renames import Change, FileSpec, Pair

__all__ = [
    "vcs_info",
    "git_status",
    "git_diff",
    "git_branches",
    "git_stage",
    "git_unstage",
    "git_commit",
]

#: The blob id of empty content; `git add -N` gives its entries this id.
EMPTY_BLOB_ID = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
#: The id of the empty tree: what an unborn branch's HEAD is compared as.
EMPTY_TREE_ID = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
#: GIT_INDEX_ENTRY_INTENT_TO_ADD, in an index entry's extended flags (`git add -N`).
INTENT_TO_ADD_FLAG = 1 << 13
#: git's default diff.renameLimit: above this many sources x destinations (squared), only exact
#: renames are looked for.
DEFAULT_RENAME_LIMIT = 1000
#: From this many index entries on, engine "auto" spawns git instead of checking the working tree
#: in-process. Measured side by side (script/bench-vcs.py, 2 shared cores): libgit2 (one thread)
#: takes 0.26x a git spawn's time at 1K files, 0.53x at 2K, 1.08x at 3K, 1.37x at 5K, 2.18x at
#: 10K; git checks files on several threads.
GIT_SPAWN_MIN_INDEX_ENTRIES = 3000
#: "auto": in-process below GIT_SPAWN_MIN_INDEX_ENTRIES, else the git binary if installed;
#: "library": always in-process; "git": always the git binary.
ENGINES = ("auto", "library", "git")
#: Conflict codes by which stages exist (bit 0: ancestor, 1: ours, 2: theirs), as git prints them.
UNMERGED_CODES = {1: "DD", 2: "AU", 3: "UD", 4: "UA", 5: "DU", 6: "AA", 7: "UU"}
#: The readable status of a change letter.
STATUS_NAMES = {
    "A": "added",
    "M": "modified",
    "D": "deleted",
    "R": "renamed",
    "C": "copied",
    "T": "typechange",
}

_DIFF = pygit2.enums.DiffOption
_INDEX_DIFF_FLAGS = _DIFF.INCLUDE_TYPECHANGE
_WORKTREE_DIFF_FLAGS = _DIFF.INCLUDE_TYPECHANGE | _DIFF.INCLUDE_UNTRACKED | _DIFF.RECURSE_UNTRACKED_DIRS
_DELTA = pygit2.enums.DeltaStatus
_S_IFLNK = 0o120000
_S_IFREG = 0o100644


# ---- operations ------------------------------------------------------------------------------


def vcs_info(path: str = ".", engine: str = "auto") -> dict:
    """Branch and counts: ``{"branch", "added", "modified", "deleted"}``."""
    status = git_status(path, engine)
    counts = {"added": 0, "modified": 0, "deleted": 0}
    for entry in status["files"]:
        counts[count_bucket(entry["status"])] += 1
    return {"branch": status["branch"], **counts}


def git_status(path: str = ".", engine: str = "auto") -> dict:
    """``{"root", "branch", "files": [{"path", "xy", "status", "staged", "orig_path",
    "similarity"}]}``, one entry per line of ``git status --porcelain=v1 -uall``."""
    check_engine(engine)
    repo = open_repository(path)
    branch = branch_name(repo)
    if use_git_binary(engine, lambda: index_entry_count(repo)):
        files = porcelain.status_files(repo.path, workdir(repo))
    else:
        try:
            index = repo.index
        except LIBGIT2_ERRORS as e:
            raise git_error(e) from None
        files = status_files(repo, index)
    return {"root": workdir(repo), "branch": branch, "files": files}


# ---- repository and branch -------------------------------------------------------------------


def check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise IronCodeError("invalid_argument", f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")


def open_repository(path: str) -> pygit2.Repository:
    """The repository containing ``path`` (a folder or a file), searching parent folders up to
    ``GIT_CEILING_DIRECTORIES``, never across file systems. Raises ``git`` when there is none."""
    abs_path = absolute(path)
    if not os.path.lexists(abs_path):
        raise IronCodeError("not_found", f"Path not found: {abs_path}")
    start = abs_path if os.path.isdir(abs_path) else os.path.dirname(abs_path)
    ceiling = os.environ.get("GIT_CEILING_DIRECTORIES", "")
    try:
        git_dir = pygit2.discover_repository(start, False, ceiling)
        repo = pygit2.Repository(git_dir) if git_dir else None
    except IronCodeError:
        raise
    except LIBGIT2_ERRORS as e:
        raise git_error(e) from None
    if repo is None:
        raise IronCodeError(
            "git", f"Not a git repository (nor any parent folder): {abs_path}; run `git init` to create one"
        )
    if repo.is_bare or not repo.workdir:
        raise IronCodeError("git", f"{repo.path} is a bare repository: it has no working tree to inspect")
    return repo


def workdir(repo: pygit2.Repository) -> str:
    """The working tree's absolute path, without a trailing slash."""
    return repo.workdir.rstrip("/") or "/"


def branch_name(repo: pygit2.Repository) -> str:
    """The current branch; an unborn one by the name HEAD points at; a detached HEAD as
    ``HEAD (detached at <short id>)``."""
    try:
        head = repo.lookup_reference("HEAD")
        if head.type == pygit2.enums.ReferenceType.SYMBOLIC:
            return shorten_ref(head.target)
        commit = repo[head.target]
        return f"HEAD (detached at {commit.short_id})"
    except (pygit2.GitError, KeyError) as e:
        raise git_error(e) from None


def shorten_ref(name: str) -> str:
    """``refs/heads/main`` -> ``main``, as git shortens branch names."""
    for prefix in ("refs/heads/", "refs/tags/", "refs/remotes/", "refs/"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def use_git_binary(engine: str, index_entries: Callable[[], int]) -> bool:
    if engine == "git":
        return True
    if engine == "library":
        return False
    return index_entries() >= GIT_SPAWN_MIN_INDEX_ENTRIES and shutil.which("git") is not None


def index_entry_count(repo: pygit2.Repository) -> int:
    """How many entries the index holds, from its 12-byte header ("DIRC", version, count):
    loading a 50K-entry index only to count it would cost more than the git spawn it decides
    on. An unreadable header counts as 0 (in-process, which then reports the real problem)."""
    try:
        with open(os.path.join(repo.path, "index"), "rb") as f:
            header = f.read(12)
    except OSError:
        return 0
    if len(header) < 12 or header[:4] != b"DIRC":
        return 0
    return int.from_bytes(header[8:12], "big")


#: What pygit2 raises for a libgit2 failure (an unreadable index is an OSError there).
LIBGIT2_ERRORS = (pygit2.GitError, OSError)


def git_error(error: Exception) -> IronCodeError:
    return IronCodeError("git", str(error) or type(error).__name__)


# ---- status ----------------------------------------------------------------------------------


def status_files(repo: pygit2.Repository, index: pygit2.Index) -> list[dict]:
    """The status entries computed in-process, in git's order."""
    detect, rename_limit = rename_settings(repo)
    try:
        index_diff = index.diff_to_tree(head_tree(repo), flags=_INDEX_DIFF_FLAGS)
        intent_to_add = intent_to_add_paths(index, index_diff)
        unmerged = (
            unmerged_codes(index) if any(d.status == _DELTA.CONFLICTED for d in index_diff.deltas) else {}
        )
        staged = renames.detect_renames(index_pairs(repo, index_diff, intent_to_add), detect, rename_limit)
        worktree_diff = index.diff_to_workdir(flags=_WORKTREE_DIFF_FLAGS)
        unstaged, untracked = worktree_pairs(repo, index, worktree_diff, intent_to_add)
        unstaged_changes = renames.detect_renames(unstaged, detect, rename_limit)
    except IronCodeError:
        raise
    except LIBGIT2_ERRORS as e:
        raise git_error(e) from None
    return merge_changes(staged, unmerged, unstaged_changes, untracked)


def rename_settings(repo: pygit2.Repository) -> tuple[int, int]:
    """(detection mode, rename limit) from status.renames / diff.renames and
    status.renameLimit / diff.renameLimit, with git's defaults (renames on, 1000)."""
    config = repo.config
    detect = renames.DETECT_RENAMES
    for key in ("status.renames", "diff.renames"):
        found, value = config_value(config, key)
        if found:
            detect = parse_rename_mode(key, value)
            break
    limit = DEFAULT_RENAME_LIMIT
    for key in ("status.renameLimit", "diff.renameLimit"):
        found, value = config_value(config, key)
        if found:
            limit = parse_config_int(key, value)
            break
    return detect, limit


def config_value(config: pygit2.Config, key: str) -> tuple[bool, str | None]:
    """(set?, value); a key without ``= value`` is set with value None (git reads it as true)."""
    try:
        return True, config[key]
    except KeyError:
        return False, None


def parse_rename_mode(key: str, value: str | None) -> int:
    """git_config_rename: "copies"/"copy", else a boolean."""
    if value is not None and value.lower() in ("copies", "copy"):
        return renames.DETECT_COPIES
    return renames.DETECT_RENAMES if parse_config_bool(key, value) else renames.DETECT_OFF


def parse_config_bool(key: str, value: str | None) -> bool:
    if value is None:
        return True
    lowered = value.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off", ""):
        return False
    return parse_config_int(key, value) != 0


def parse_config_int(key: str, value: str | None) -> int:
    """An integer with git's optional k/m/g suffix."""
    text = (value or "").strip()
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    scale = units.get(text[-1:].lower(), 1)
    digits = text[:-1] if scale != 1 else text
    try:
        return int(digits, 10) * scale
    except ValueError:
        raise IronCodeError("git", f"bad config value '{value}' for '{key}'") from None


def head_tree(repo: pygit2.Repository) -> pygit2.Tree:
    """HEAD's tree; the empty tree on an unborn branch."""
    if repo.head_is_unborn:
        return repo[EMPTY_TREE_ID]
    return repo.head.peel(pygit2.Tree)


def intent_to_add_paths(index: pygit2.Index, index_diff: pygit2.Diff) -> set[str]:
    """Paths added with ``git add -N``: they appear as added empty files in the HEAD-to-index
    diff, and their index entry carries the intent-to-add flag."""
    out = set()
    for delta in index_diff.deltas:
        if delta.status == _DELTA.ADDED and str(delta.new_file.id) == EMPTY_BLOB_ID:
            raw = delta.new_file.raw_path
            # pygit2 does not expose an entry's extended flags; read them through its libgit2 handle.
            entry = pygit2.C.git_index_get_bypath(index._index, raw, 0)
            if entry != pygit2.ffi.NULL and entry.flags_extended & INTENT_TO_ADD_FLAG:
                out.add(decode_path(raw))
    return out


def unmerged_codes(index: pygit2.Index) -> dict[str, str]:
    """Path -> DD AU UD UA DU AA UU, from which of ancestor / ours / theirs the conflict has."""
    out = {}
    for ancestor, ours, theirs in index.conflicts or ():
        entry = ancestor or ours or theirs
        mask = (1 if ancestor else 0) | (2 if ours else 0) | (4 if theirs else 0)
        out[entry.path] = UNMERGED_CODES[mask]
    return out


def index_pairs(repo: pygit2.Repository, diff: pygit2.Diff, intent_to_add: set[str]) -> list[Pair]:
    """HEAD-to-index changes as pairs for rename detection, sorted by path (conflicts and
    ``git add -N`` entries are left out: git shows neither as a staged change)."""
    pairs = []
    for delta in diff.deltas:
        path = decode_path(delta.new_file.raw_path)
        if delta.status == _DELTA.ADDED:
            if path in intent_to_add:
                continue
            pairs.append(Pair("A", path, None, odb_spec(repo, path, delta.new_file)))
        elif delta.status == _DELTA.DELETED:
            pairs.append(Pair("D", path, odb_spec(repo, path, delta.old_file), None))
        elif delta.status in (_DELTA.MODIFIED, _DELTA.TYPECHANGE):
            letter = "M" if delta.status == _DELTA.MODIFIED else "T"
            pairs.append(
                Pair(letter, path, odb_spec(repo, path, delta.old_file), odb_spec(repo, path, delta.new_file))
            )
    pairs.sort(key=lambda p: p.path.encode("utf-8", "surrogateescape"))
    return pairs


def worktree_pairs(
    repo: pygit2.Repository, index: pygit2.Index, diff: pygit2.Diff, intent_to_add: set[str]
) -> tuple[list[Pair], list[str]]:
    """Index-to-working-tree changes as pairs, sorted by path, and the untracked paths.

    A ``git add -N`` file is a creation when it exists (git's `` A``) and a deletion when it
    does not; libgit2 compares it with the empty blob instead, so its deltas are replaced.
    """
    pairs: list[Pair] = []
    untracked: list[str] = []
    root = workdir(repo)
    for delta in diff.deltas:
        path = decode_path(delta.new_file.raw_path)
        if path in intent_to_add:
            continue
        if delta.status == _DELTA.UNTRACKED:
            untracked.append(path)
        elif delta.status == _DELTA.DELETED:
            pairs.append(Pair("D", path, odb_spec(repo, path, delta.old_file), None))
        elif delta.status in (_DELTA.MODIFIED, _DELTA.TYPECHANGE):
            letter = "M" if delta.status == _DELTA.MODIFIED else "T"
            pairs.append(Pair(letter, path, odb_spec(repo, path, delta.old_file), worktree_spec(root, path)))
    for path in intent_to_add:
        full = os.path.join(root, path)
        if os.path.lexists(full):
            pairs.append(Pair("A", path, None, worktree_spec(root, path)))
        else:
            entry = index[path]
            spec = FileSpec(path, entry.mode, str(entry.id), lambda: b"")
            pairs.append(Pair("D", path, spec, None))
    pairs.sort(key=lambda p: p.path.encode("utf-8", "surrogateescape"))
    return pairs, untracked


def odb_spec(repo: pygit2.Repository, path: str, file: pygit2.DiffFile) -> FileSpec:
    """A side whose content is a blob in the object database."""
    oid = str(file.id)

    def load() -> bytes:
        if oid == EMPTY_BLOB_ID:
            return b""  # libgit2 does not invent the empty blob when it was never written
        blob = repo.get(oid)
        return blob.data if isinstance(blob, pygit2.Blob) else b""

    return FileSpec(path, file.mode, oid, load)


def worktree_spec(root: str, path: str) -> FileSpec:
    """A side whose content is the working-tree file (a symlink's content is its target)."""
    full = os.path.join(root, path)
    is_link = os.path.islink(full)

    def load() -> bytes:
        try:
            if is_link:
                return os.fsencode(os.readlink(full))
            with open(full, "rb") as f:
                return f.read()
        except OSError:
            return b""

    return FileSpec(path, _S_IFLNK if is_link else _S_IFREG, None, load)


def merge_changes(
    staged: list[Change], unmerged: dict[str, str], unstaged: list[Change], untracked: list[str]
) -> list[dict]:
    """Joins both sides into git's lines: changed paths in path order, then untracked ones."""
    lines: dict[str, dict] = {}

    def line(path: str) -> dict:
        return lines.setdefault(
            path, {"x": " ", "y": " ", "orig_path": None, "similarity": None, "code": None}
        )

    for change in staged:
        entry = line(change.path)
        entry["x"] = change.letter
        if change.orig_path is not None:
            entry["orig_path"], entry["similarity"] = change.orig_path, change.similarity
    for path, code in unmerged.items():
        line(path)["code"] = code
    for change in unstaged:
        entry = line(change.path)
        entry["y"] = change.letter
        if change.orig_path is not None:
            entry["orig_path"], entry["similarity"] = change.orig_path, change.similarity
    out = []
    for path in sorted(lines, key=path_key):
        entry = lines[path]
        xy = entry["code"] or entry["x"] + entry["y"]
        out.append(make_entry(path, xy, entry["orig_path"], entry["similarity"]))
    out += [make_entry(path, "??") for path in sorted(untracked, key=path_key)]
    return out


def make_entry(path: str, xy: str, orig_path: str | None = None, similarity: int | None = None) -> dict:
    """One status entry; ``status`` names the index side's change, else the working tree's."""
    if xy == "??":
        status, staged = "untracked", False
    elif xy in UNMERGED_CODES.values():
        status, staged = "conflicted", False
    else:
        letter = xy[0] if xy[0] != " " else xy[1]
        status, staged = STATUS_NAMES[letter], xy[0] != " "
    return {
        "path": path,
        "xy": xy,
        "status": status,
        "staged": staged,
        "orig_path": orig_path,
        "similarity": similarity,
    }


def count_bucket(status: str) -> str:
    """Which vcs_info count a status adds to: untracked and added files are "added", deleted
    ones "deleted", the rest (renames, type changes, conflicts) "modified"."""
    if status in ("added", "untracked", "copied"):
        return "added"
    if status == "deleted":
        return "deleted"
    return "modified"


def path_key(path: str) -> bytes:
    """git orders paths by their bytes."""
    return path.encode("utf-8", "surrogateescape")


def decode_path(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")
