"""Twin of native/tool/src/vcs/diff.rs: the patch ``git diff --no-renames [--cached] [-- FILE]``
prints.

libgit2 writes the patches; git's habits are added on top: a tab after a ``---`` / ``+++`` name
holding a space, no ``---`` / ``+++`` lines for a patch without hunks, a type change as a
deletion and a creation, and ``git add -N`` files as new files.
"""

from __future__ import annotations

import os

import pygit2

from ..errors import IronCodeError
from .vcs_client import base_folder, path_matches, repo_relative

#: Hex digits of a blob id in a patch's ``index`` line.
ABBREV = 7
#: git's C-style escapes for quoted paths.
C_ESCAPES = {
    7: "\\a",
    8: "\\b",
    9: "\\t",
    10: "\\n",
    11: "\\v",
    12: "\\f",
    13: "\\r",
    0x22: '\\"',
    0x5C: "\\\\",
}


def git_diff(path: str = ".", file: str | None = None, staged: bool = False) -> str:
    """The unified patch of unstaged changes (index to working tree), or of staged ones
    (HEAD to index) with ``staged=True``, limited to ``file`` (a file or folder) if given.

    libgit2 writes the patches; git's habits are added on top: a tab after a ``---`` / ``+++``
    name holding a space, a type change as a deletion and a creation, and ``git add -N`` files
    as new files (not as staged ones, and not as edits of an empty file).
    """
    from .vcs import (
        EMPTY_BLOB_ID,
        LIBGIT2_ERRORS,
        git_error,
        head_tree,
        intent_to_add_paths,
        open_repository,
        workdir,
    )

    if not isinstance(staged, bool):
        raise IronCodeError("invalid_argument", f"staged must be a bool, got {staged!r}")
    repo = open_repository(path)
    root = workdir(repo)
    rel = None if file is None else repo_relative(root, base_folder(path), file)
    try:
        index = repo.index
        tree = head_tree(repo)
        intent_to_add = intent_to_add_paths(index, index.diff_to_tree(tree))
        flags = pygit2.enums.DiffOption.INCLUDE_TYPECHANGE
        diff = index.diff_to_tree(tree, flags=flags) if staged else index.diff_to_workdir(flags=flags)
        patches: list[tuple[bytes, str]] = []
        for i, delta in enumerate(diff.deltas):
            new_path = delta.new_file.raw_path.decode("utf-8", "replace")
            old_path = delta.old_file.raw_path.decode("utf-8", "replace")
            if rel is not None and not (path_matches(new_path, rel) or path_matches(old_path, rel)):
                continue
            key = new_path.encode("utf-8", "surrogateescape")
            if delta.status == pygit2.enums.DeltaStatus.TYPECHANGE:
                # libgit2 prints a type change as a mode change (and loses the creation when the
                # old file is empty); git prints the deletion, then the creation.
                old_data = blob_data(repo, str(delta.old_file.id))
                new_data = (
                    blob_data(repo, str(delta.new_file.id)) if staged else worktree_data(root, new_path)
                )
                new_id = str(delta.new_file.id) if staged else vcs_blob_hash(new_data)
                patches.append(
                    (
                        key,
                        whole_file_patch(
                            new_path, False, delta.old_file.mode, str(delta.old_file.id), old_data
                        ),
                    )
                )
                patches.append((key, whole_file_patch(new_path, True, delta.new_file.mode, new_id, new_data)))
                continue
            if new_path in intent_to_add:
                if staged:
                    continue
                if delta.status != pygit2.enums.DeltaStatus.DELETED:
                    new_data = worktree_data(root, new_path)
                    patches.append(
                        (
                            key,
                            whole_file_patch(
                                new_path, True, delta.new_file.mode, vcs_blob_hash(new_data), new_data
                            ),
                        )
                    )
                    continue
            patches.append((key, git_style_patch(diff[i].text or "")))
        if not staged:
            shown = {p for p, _ in patches}
            for ita_path in sorted(intent_to_add):
                key = ita_path.encode("utf-8", "surrogateescape")
                full = os.path.join(root, ita_path)
                if (
                    key in shown
                    or not os.path.lexists(full)
                    or (rel is not None and not path_matches(ita_path, rel))
                ):
                    continue
                # an empty `git add -N` file equals its empty blob, so libgit2 lists no change
                patches.append(
                    (key, whole_file_patch(ita_path, True, index[ita_path].mode, EMPTY_BLOB_ID, b""))
                )
        patches.sort(key=lambda item: item[0])
        return "".join(text for _, text in patches)
    except IronCodeError:
        raise
    except LIBGIT2_ERRORS as e:
        raise git_error(e) from None


def whole_file_patch(path: str, added: bool, mode: int, blob_id: str, data: bytes) -> str:
    """git's patch creating (``added``) or deleting a whole file; libgit2 supplies the hunks."""
    a_name, b_name = quote_path("a/" + path), quote_path("b/" + path)
    old, new = (b"", data) if added else (data, b"")
    hunks = pygit2.Patch.create_from(old, new, path, path).text or ""
    body = ""
    lines = hunks.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("@@"):
            labels = f"--- /dev/null\n+++ {b_name}\n" if added else f"--- {a_name}\n+++ /dev/null\n"
            body = labels + "\n".join(lines[i:])
            break
        if line.startswith("Binary files"):
            body = (
                f"Binary files /dev/null and {b_name} differ\n"
                if added
                else f"Binary files {a_name} and /dev/null differ\n"
            )
            break
    short = blob_id[:ABBREV]
    kind, index_line = ("new", f"0000000..{short}") if added else ("deleted", f"{short}..0000000")
    header = f"diff --git {a_name} {b_name}\n{kind} file mode {mode:06o}\nindex {index_line}\n"
    return git_style_patch(header + body)


def blob_data(repo: pygit2.Repository, blob_id: str) -> bytes:
    from .vcs import EMPTY_BLOB_ID

    if blob_id == EMPTY_BLOB_ID:
        return b""
    blob = repo.get(blob_id)
    return blob.data if isinstance(blob, pygit2.Blob) else b""


def worktree_data(root: str, rel: str) -> bytes:
    """A working-tree file's content (a symlink's is its target)."""
    full = os.path.join(root, rel)
    try:
        if os.path.islink(full):
            return os.fsencode(os.readlink(full))
        with open(full, "rb") as f:
            return f.read()
    except OSError:
        return b""


def vcs_blob_hash(data: bytes) -> str:
    from .vcs_renames import blob_hash

    return blob_hash(data)


def git_style_patch(text: str) -> str:
    """Two habits of git's patch headers libgit2 lacks: a ``--- a/x y`` / ``+++ b/x y`` line
    ends with a tab when the name holds a space, and a patch without hunks (an empty file
    added or deleted) has no ``---`` / ``+++`` lines at all."""
    lines = text.split("\n")
    header_end = next(
        (i for i, line in enumerate(lines) if line.startswith(("@@", "Binary files"))), len(lines)
    )
    for i in range(header_end):
        line = lines[i]
        if line.startswith(("--- ", "+++ ")) and line[4:] != "/dev/null" and " " in line[4:]:
            lines[i] = line + "\t"
    if (
        header_end == len(lines)
        and len(lines) >= 3
        and lines[-3].startswith("--- ")
        and lines[-2].startswith("+++ ")
    ):
        del lines[-3:-1]
    return "\n".join(lines)


def quote_path(name: str) -> str:
    """git's quoting of a path in patch headers (core.quotePath on): C escapes and octal bytes."""
    raw = name.encode("utf-8", "surrogateescape")
    if not any(b < 0x20 or b in (0x22, 0x5C, 0x7F) or b >= 0x80 for b in raw):
        return name
    out = ['"']
    for b in raw:
        if b in C_ESCAPES:
            out.append(C_ESCAPES[b])
        elif b < 0x20 or b == 0x7F or b >= 0x80:
            out.append(f"\\{b:03o}")
        else:
            out.append(chr(b))
    out.append('"')
    return "".join(out)
