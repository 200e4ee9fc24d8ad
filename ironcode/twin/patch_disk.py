"""Twin of native/tool/src/patch/disk.rs: every filesystem access of apply_patch, in one place —
looking at a target, creating parent folders, writing atomically, removing, putting things back.
Confinement (``root=``) routes these few functions through descriptors beneath the root: :class:`Disk`
picks the by-name function here or its twin in :mod:`.patch_beneath`."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass

from ..errors import IronCodeError, from_os_error
from . import patch_beneath
from .confine import Root
from .paths import absolute
from .write import create_parents, resolve_symlink, write_atomic

MISSING, DIRECTORY, FILE = "missing", "directory", "file"


@dataclass
class Snapshot:
    """What a path held before the patch touched it: ``kind`` is missing, directory or file."""

    kind: str
    data: bytes = b""
    mode: int = 0  #: permission bits, to put back a removed file as it was
    link: str | None = None  #: the link's own text when the path is a symlink


class Disk:
    """Where a patch's files are reached: by name, or beneath a root (issue 19); closes the root."""

    def __init__(self, root: Root | None) -> None:
        self.root = root

    @classmethod
    def open(cls, root: str | None) -> Disk:
        return cls(None if root is None else Root.open(root))

    def __enter__(self) -> Disk:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.root is not None:
            self.root.close()

    def working_folder(self, cwd: str) -> str:
        if self.root is None:
            return working_folder(cwd)
        else:
            return patch_beneath.working_folder_beneath(self.root, cwd)

    def kind_of(self, path: str) -> str:
        if self.root is None:
            return kind_of(path)
        else:
            return patch_beneath.kind_of_beneath(self.root, path)

    def inspect(self, path: str) -> Snapshot:
        if self.root is None:
            return inspect(path)
        else:
            return patch_beneath.inspect_beneath(self.root, path)

    def make_parents(self, path: str) -> list[str]:
        if self.root is None:
            return make_parents(path)
        else:
            return patch_beneath.make_parents_beneath(self.root, path)

    def remove_folders(self, created: list[str]) -> None:
        if self.root is None:
            remove_folders(created)
        else:
            patch_beneath.remove_folders_beneath(self.root, created)

    def write_file(self, path: str, data: bytes) -> None:
        if self.root is None:
            write_file(path, data)
        else:
            patch_beneath.write_file_beneath(self.root, path, data)

    def remove_file(self, path: str) -> None:
        if self.root is None:
            remove_file(path)
        else:
            patch_beneath.remove_file_beneath(self.root, path)

    def restore(self, path: str, original: Snapshot) -> None:
        if self.root is None:
            restore(path, original)
        else:
            patch_beneath.restore_beneath(self.root, path, original)


def working_folder(cwd: str) -> str:
    """The folder relative patch paths are taken from: absolute, and an existing folder."""
    abs_path = absolute(cwd)
    kind = kind_of(abs_path)
    if kind == MISSING:
        raise IronCodeError("not_found", f"The working folder does not exist: {abs_path}")
    if kind == FILE:
        raise IronCodeError("not_a_directory", f"The working folder is a file: {abs_path}")
    return abs_path


def _is_missing(e: OSError) -> bool:
    return e.errno in (errno.ENOENT, errno.ENOTDIR)


def kind_of(path: str) -> str:
    """What is at ``path`` (following symlinks; a dangling one is missing)."""
    try:
        st = os.stat(path)
    except OSError as e:
        if _is_missing(e):
            return MISSING
        raise from_os_error(e, path) from None
    return DIRECTORY if stat.S_ISDIR(st.st_mode) else FILE


def inspect(path: str) -> Snapshot:
    """What ``path`` holds now; a special file (FIFO, device) is refused rather than read."""
    try:
        st = os.stat(path)
    except OSError as e:
        if _is_missing(e):
            return Snapshot(MISSING)
        raise from_os_error(e, path) from None
    if stat.S_ISDIR(st.st_mode):
        return Snapshot(DIRECTORY)
    if not stat.S_ISREG(st.st_mode):
        raise IronCodeError("io", f"Not a regular file, so it is not patched: {path}")
    try:
        link = os.readlink(path) if os.path.islink(path) else None
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise from_os_error(e, path) from None
    return Snapshot(FILE, data, stat.S_IMODE(st.st_mode), link)


def make_parents(path: str) -> list[str]:
    """Creates the missing folders above ``path``; returns those it created, deepest first."""
    parent = os.path.dirname(path)
    missing: list[str] = []
    current = parent
    while True:
        try:
            os.lstat(current)
            break
        except FileNotFoundError:
            missing.append(current)
        except OSError:
            break
        up = os.path.dirname(current)
        if up == current:
            break
        current = up
    if missing:
        create_parents(parent)
    return missing


def remove_folders(created: list[str]) -> None:
    """Removes folders :func:`make_parents` created, if they are empty again (best effort)."""
    for folder in created:
        try:
            os.rmdir(folder)
        except OSError:
            pass


def write_file(path: str, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically, through a symlink (the link stays)."""
    write_atomic(resolve_symlink(path), data)


def remove_file(path: str) -> None:
    """Removes the file (or the symlink itself) at ``path``."""
    try:
        os.remove(path)
    except OSError as e:
        raise from_os_error(e, path) from None


def restore(path: str, original: Snapshot) -> None:
    """Puts ``path`` back as ``original`` says it was."""
    if original.kind == MISSING:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise from_os_error(e, path) from None
        return
    if original.kind == DIRECTORY:
        return
    present = os.path.lexists(path)
    try:
        if original.link is not None and not present:
            os.symlink(original.link, path)
            return
        write_file(path, original.data)
        target = resolve_symlink(path)
        os.chmod(target, original.mode)
    except OSError as e:
        raise from_os_error(e, path) from None


@dataclass
class Change:
    """One path's change: what it held and what it is to hold (None: removed)."""

    path: str
    original: Snapshot
    new: bytes | None


def commit(place: Disk, changes: list[Change]) -> None:
    """Makes every change, in order; if one fails, puts back those already made and says so."""
    done: list[tuple[int, list[str]]] = []
    for i, change in enumerate(changes):
        original, new = change.original, change.new
        if original.kind == FILE and new is not None and original.data == new:
            continue
        if original.kind == MISSING and new is None:
            continue
        try:
            if new is not None:
                created = place.make_parents(change.path)
                try:
                    place.write_file(change.path, new)
                except BaseException:
                    place.remove_folders(created)
                    raise
            else:
                place.remove_file(change.path)
                created = []
        except IronCodeError as e:
            raise _failed_part_way(place, e, changes, done) from None
        done.append((i, created))


def _failed_part_way(
    place: Disk, e: IronCodeError, changes: list[Change], done: list[tuple[int, list[str]]]
) -> IronCodeError:
    if not done:
        return IronCodeError(e.kind, f"{e.message} Nothing was changed: the patch was not applied.")
    unrestored: list[str] = []
    for i, created in reversed(done):
        change = changes[i]
        try:
            place.restore(change.path, change.original)
        except IronCodeError as problem:
            unrestored.append(problem.message)
        place.remove_folders(created)
    if not unrestored:
        message = (
            f"{e.message} The patch was not applied: the {len(done)} file(s) it had already changed "
            "were restored."
        )
    else:
        message = (
            f"{e.message} The patch was not applied, and restoring the files it had already changed "
            f"failed: {'; '.join(unrestored)}. Check those files."
        )
    return IronCodeError("io", message)
