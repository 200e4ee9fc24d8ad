"""Twin of native/tool/src/patch/mod.rs: ``apply_patch``, Codex's ``*** Begin Patch`` format,
all files or none, line endings kept.

:mod:`.patch_parse` reads the grammar, :mod:`.patch_seek` places each chunk and builds the new
text, this module resolves every section in memory (in patch order, each on the result of the ones
before) and only then writes through :mod:`.patch_disk`, which holds every filesystem access.
"""

from __future__ import annotations

import os

from ..errors import IronCodeError
from . import patch_disk as disk
from .edit_diff import Diff, unified_lines
from .edit_file import UTF8_BOM
from .patch_parse import (
    Chunk,
    Heredoc,
    Section,
    decode_patch,
    normalize_newlines,
    parse_patch,
    unwrap_heredoc,
)
from .patch_seek import Budget, apply_chunks, split_file
from .read import looks_binary

__all__ = ["NO_FILE", "Heredoc", "apply_patch", "unwrap_heredoc"]

#: The diff header of the side where a file does not exist (added or deleted).
NO_FILE = "/dev/null"

#: What a path is to hold once the patch is applied, besides new bytes.
_ORIGINAL, _MISSING = "original", "missing"


def apply_patch(
    patch: str | bytes, cwd: str = ".", dry_run: bool = False, *, root: str | None = None
) -> dict:
    """Applies ``patch`` to the files it names, relative paths taken from ``cwd``:
    ``{"files": [{"path", "action", "move_path"?, "additions", "deletions", "diff"}]}``. With
    ``root``, ``cwd`` is taken from the root and every file is reached beneath it (leaving it is
    ``outside_root``; ``unsafe_path`` stays for leaving ``cwd`` inside the root)."""
    # Checked in the order the native backend checks them, so both raise the same kind first.
    if not isinstance(patch, (str, bytes, bytearray, memoryview)):
        raise IronCodeError("invalid_argument", f"patch must be str or bytes, got {type(patch).__name__}")
    _check_cwd(cwd)
    if isinstance(patch, str):
        try:
            patch.encode("utf-8")
        except UnicodeEncodeError as e:
            raise IronCodeError("invalid_patch", f"The patch is not valid Unicode ({e.reason}).") from None
        text = patch
    else:
        text = decode_patch(bytes(patch))
    with disk.Disk.open(root) as place:
        cwd = place.working_folder(cwd)
        sections = parse_patch(normalize_newlines(text))
        plan = _Plan(place)
        budget = Budget()
        files = [plan.apply(section, cwd, budget) for section in sections]
        if not dry_run:
            disk.commit(place, plan.changes())
    return {"files": files}


def _check_cwd(cwd: object) -> None:
    """What the native wrapper refuses in ``cwd`` before the call: a non-string, NUL, not UTF-8."""
    if isinstance(cwd, os.PathLike):
        cwd = os.fspath(cwd)
    if isinstance(cwd, str):
        try:
            data = cwd.encode("utf-8")
        except UnicodeEncodeError as e:
            raise IronCodeError("invalid_argument", f"cwd is not valid Unicode: {e}") from None
    elif isinstance(cwd, bytes):
        data = cwd
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise IronCodeError("invalid_argument", "argument 'cwd' is not valid UTF-8") from None
    else:
        raise IronCodeError("invalid_argument", f"cwd must be a string, got {type(cwd).__name__}")
    if b"\0" in data:
        raise IronCodeError("invalid_argument", "cwd contains a NUL byte")


class _Entry:
    __slots__ = ("path", "original", "current")

    def __init__(self, path: str, original: disk.Snapshot) -> None:
        self.path = path
        self.original = original
        self.current: str | bytes = _ORIGINAL


class _Plan:
    """Every path the patch touches, in the order it first touches them."""

    def __init__(self, place: disk.Disk) -> None:
        self.disk = place  # by name, or beneath a root
        self.entries: list[_Entry] = []
        self.index: dict[str, int] = {}

    def entry(self, path: str) -> int:
        found = self.index.get(path)
        if found is not None:
            return found
        self.entries.append(_Entry(path, self.disk.inspect(path)))
        self.index[path] = len(self.entries) - 1
        return len(self.entries) - 1

    def view(self, i: int) -> tuple[str, bytes]:
        """(kind, bytes) the path holds in the plan right now."""
        entry = self.entries[i]
        current = entry.current
        if current == _MISSING:
            return disk.MISSING, b""
        if isinstance(current, bytes):
            return disk.FILE, current
        return entry.original.kind, entry.original.data

    def check_writable(self, path: str, shown: str) -> None:
        """``path`` can become a file: no folder of its ends up a file, and no file the patch
        writes lies below it."""
        ancestor = path
        while True:
            up = os.path.dirname(ancestor)
            if up == ancestor:
                break
            ancestor = up
            i = self.index.get(ancestor)
            kind = self.view(i)[0] if i is not None else self.disk.kind_of(ancestor)
            if kind == disk.DIRECTORY:
                break
            if kind == disk.FILE:
                raise IronCodeError(
                    "not_a_directory", f"Cannot write {shown}: {ancestor} is a file, not a folder"
                )
        prefix = path.rstrip("/") + "/"
        for i, entry in enumerate(self.entries):
            if entry.path.startswith(prefix) and self.view(i)[0] == disk.FILE:
                raise IronCodeError(
                    "is_directory",
                    f"Cannot write {shown}: the patch puts {entry.path} inside it, so it is a folder",
                )

    def apply(self, section: Section, cwd: str, budget: Budget) -> dict:
        if section.kind == "add":
            return self.add(section.path, section.content, cwd)
        if section.kind == "delete":
            return self.delete(section.path, cwd)
        return self.update(section.path, section.move_to, section.chunks, cwd, budget)

    def add(self, shown: str, content: str, cwd: str) -> dict:
        abs_path = resolve_path(self.disk, cwd, shown)
        i = self.entry(abs_path)
        kind, data = self.view(i)
        if kind == disk.DIRECTORY:
            raise _is_directory("add", shown)
        before = data.decode("utf-8", "replace") if kind == disk.FILE else None
        self.check_writable(abs_path, shown)
        self.entries[i].current = content.encode("utf-8")
        old_name = shown if before is not None else NO_FILE
        return _change(shown, "add", None, _whole_diff(old_name, shown, before or "", content))

    def delete(self, shown: str, cwd: str) -> dict:
        abs_path = resolve_path(self.disk, cwd, shown)
        i = self.entry(abs_path)
        kind, data = self.view(i)
        if kind == disk.DIRECTORY:
            raise _is_directory("delete", shown)
        if kind == disk.MISSING:
            raise _not_found("delete", shown)
        self.entries[i].current = _MISSING
        return _change(
            shown, "delete", None, _whole_diff(shown, NO_FILE, data.decode("utf-8", "replace"), "")
        )

    def update(self, shown: str, move_to: str | None, chunks: list[Chunk], cwd: str, budget: Budget) -> dict:
        abs_path = resolve_path(self.disk, cwd, shown)
        i = self.entry(abs_path)
        kind, data = self.view(i)
        if kind == disk.DIRECTORY:
            raise _is_directory("update", shown)
        if kind == disk.MISSING:
            raise _not_found("update", shown)
        if looks_binary(data):
            raise IronCodeError("binary_file", f"Cannot update binary file: {shown}")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise IronCodeError(
                "encoding", f"File is not valid UTF-8 ({e.reason}), so it was not patched: {shown}"
            ) from None
        bom = UTF8_BOM if text.startswith(UTF8_BOM) else ""
        body = text[len(bom) :]
        applied = apply_chunks(shown, body, chunks, budget)
        new_name = move_to if move_to is not None else shown
        diff = unified_lines(shown, new_name, body, applied.body, applied.regions)
        new = (bom + applied.body).encode("utf-8")
        target = resolve_path(self.disk, cwd, move_to) if move_to is not None else abs_path
        if target == abs_path:
            self.entries[i].current = new
        else:
            d = self.entry(target)
            if self.view(d)[0] == disk.DIRECTORY:
                raise _is_directory("move a file onto", new_name)
            self.check_writable(target, new_name)
            self.entries[d].current = new
            self.entries[i].current = _MISSING
        return _change(shown, "update", move_to, diff)

    def changes(self) -> list[disk.Change]:
        out = []
        for entry in self.entries:
            if entry.current == _ORIGINAL:
                continue
            new = entry.current if isinstance(entry.current, bytes) else None
            out.append(disk.Change(entry.path, entry.original, new))
        return out


def resolve_path(place: disk.Disk, cwd: str, written: str) -> str:
    """A patch path as an absolute path: relative ones taken from ``cwd`` and kept inside it (and
    inside the root, when there is one)."""
    if written.startswith("/"):
        return "/" + os.path.normpath(written).lstrip("/")
    joined = "/" + os.path.normpath(os.path.join(cwd, written)).lstrip("/")
    root = place.root
    if root is not None and not _starts_with(joined, root.shown):
        raise IronCodeError(
            "outside_root",
            f"Path is outside the root {root.shown}: {written} (a path in a patch must stay inside it)",
        )
    inside = cwd if cwd.endswith("/") else cwd + "/"
    if joined != cwd and not joined.startswith(inside):
        raise IronCodeError(
            "unsafe_path",
            f"{written} leaves the working folder {cwd}: a relative path in a patch must stay inside it",
        )
    return joined


def _starts_with(path: str, folder: str) -> bool:
    """``Path::starts_with``: whole components only."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _whole_diff(old_name: str, new_name: str, before: str, after: str) -> Diff:
    """The diff of a whole file's text (an Add or a Delete), BOM aside as for an Update."""
    before = before.removeprefix(UTF8_BOM)
    after = after.removeprefix(UTF8_BOM)
    return unified_lines(
        old_name,
        new_name,
        before,
        after,
        [(0, len(split_file(before).texts), 0, len(split_file(after).texts))],
    )


def _change(path: str, action: str, move_to: str | None, diff: Diff) -> dict:
    out: dict = {"path": path, "action": action}
    if move_to is not None:
        out["move_path"] = move_to
    out.update(additions=diff.additions, deletions=diff.deletions, diff=diff.text)
    return out


def _is_directory(what: str, shown: str) -> IronCodeError:
    return IronCodeError("is_directory", f"Cannot {what} {shown}: it is a directory")


def _not_found(what: str, shown: str) -> IronCodeError:
    return IronCodeError(
        "not_found", f"Cannot {what} {shown}: no such file. Check the path, or add it with '*** Add File:'"
    )
