"""Twin of native/tool/src/patch/beneath.rs: apply_patch's filesystem accesses beneath a root
(``root=``, issue 19), each resolving its path with :mod:`.confine` and acting on the folder
descriptor it finds (a symlink as last component, which a Delete removes and an Add replaces, must
stay inside the root too)."""

from __future__ import annotations

import os
import stat

from ..errors import IronCodeError
from . import patch_disk as disk
from .confine import DIRECTORY, SYMLINK, Located, Root, os_error
from .write import write_atomic_located


def _is_missing(e: IronCodeError) -> bool:
    """A missing path, or one through a file, reads as missing (as patch_disk.kind_of has it)."""
    return e.kind in ("not_found", "not_a_directory")


def _locate(root: Root, path: str, create: bool = False, follow_last: bool = False) -> Located:
    return root.locate(root.place(path), create=create, follow_last=follow_last)


def working_folder_beneath(root: Root, cwd: str) -> str:
    """``patch_disk.working_folder`` beneath ``root``: ``cwd`` taken from the root."""
    place = root.place(cwd)
    try:
        fd = root.open_file(place, os.O_PATH)
    except IronCodeError as e:
        if not _is_missing(e):
            raise
        raise IronCodeError("not_found", f"The working folder does not exist: {place.shown}") from None
    try:
        is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
    finally:
        os.close(fd)
    if not is_dir:
        raise IronCodeError("not_a_directory", f"The working folder is a file: {place.shown}")
    return place.shown


def kind_of_beneath(root: Root, path: str) -> str:
    """``patch_disk.kind_of`` beneath ``root`` (following symlinks that stay inside)."""
    try:
        fd = root.open_file(root.place(path), os.O_PATH)
    except IronCodeError as e:
        if _is_missing(e):
            return disk.MISSING
        raise
    try:
        return disk.DIRECTORY if stat.S_ISDIR(os.fstat(fd).st_mode) else disk.FILE
    finally:
        os.close(fd)


def inspect_beneath(root: Root, path: str) -> disk.Snapshot:
    """``patch_disk.inspect`` beneath ``root``: a symlink in the path's place must stay inside the
    root, dangling or not (it is what a Delete removes)."""
    try:
        at = _locate(root, path)
    except IronCodeError as e:
        if _is_missing(e):
            return disk.Snapshot(disk.MISSING)
        raise
    with at:
        if at.kind is None:
            return disk.Snapshot(disk.MISSING)
        if at.kind == DIRECTORY:
            return disk.Snapshot(disk.DIRECTORY)
        link = None
        flags = os.O_RDONLY | os.O_NONBLOCK  # a FIFO in the path's place must not hang the open
        try:
            if at.kind == SYMLINK:
                link = os.fsdecode(os.readlink(at.name, dir_fd=at.dir))
                fd = root.open_file(root.place(path), flags)
            else:
                fd = at.open(flags)
        except OSError as e:
            raise os_error(e, path) from None
        except IronCodeError as e:
            if _is_missing(e):
                return disk.Snapshot(disk.MISSING)  # a dangling link inside
            raise
    with open(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if stat.S_ISDIR(info.st_mode):
            return disk.Snapshot(disk.DIRECTORY)
        if not stat.S_ISREG(info.st_mode):
            raise IronCodeError("io", f"Not a regular file, so it is not patched: {path}")
        try:
            data = f.read()
        except OSError as e:
            raise os_error(e, path) from None
    return disk.Snapshot(disk.FILE, data, stat.S_IMODE(info.st_mode), link)


def make_parents_beneath(root: Root, path: str) -> list[str]:
    """``patch_disk.make_parents`` beneath ``root``: the missing folders above ``path`` (deepest
    first), created beneath the root."""
    missing: list[str] = []
    current = os.path.dirname(path)
    while True:
        try:
            with _locate(root, current) as at:
                if at.kind is not None:
                    break
        except IronCodeError as e:
            if e.kind != "not_found":
                raise
        missing.append(current)
        up = os.path.dirname(current)
        if up == current:
            break
        current = up
    if missing:
        _locate(root, path, create=True).close()
    return missing


def remove_folders_beneath(root: Root, created: list[str]) -> None:
    """``patch_disk.remove_folders`` beneath ``root`` (best effort, empty folders only)."""
    for folder in created:
        try:
            with _locate(root, folder) as at:
                if at.kind == DIRECTORY:
                    os.rmdir(at.name, dir_fd=at.dir)
        except (IronCodeError, OSError):
            pass


def write_file_beneath(root: Root, path: str, data: bytes) -> None:
    """``patch_disk.write_file`` beneath ``root``: through a symlink inside (the link stays)."""
    with _locate(root, path, create=True, follow_last=True) as target:
        if target.kind == DIRECTORY:
            raise IronCodeError("is_directory", f"Path is a directory, not a file: {path}")
        write_atomic_located(target, data)


def remove_file_beneath(root: Root, path: str) -> None:
    """``patch_disk.remove_file`` beneath ``root``: the file, or the symlink itself."""
    with _locate(root, path) as at:
        if at.kind is None:
            raise IronCodeError("not_found", f"File not found: {path}")
        try:
            os.unlink(at.name, dir_fd=at.dir)
        except OSError as e:
            raise os_error(e, path) from None


def restore_beneath(root: Root, path: str, original: disk.Snapshot) -> None:
    """``patch_disk.restore`` beneath ``root``."""
    if original.kind == disk.MISSING:
        try:
            remove_file_beneath(root, path)
        except IronCodeError as e:
            if not _is_missing(e):
                raise
        return
    if original.kind == disk.DIRECTORY:
        return
    with _locate(root, path) as at:
        if original.link is not None and at.kind is None:
            try:
                os.symlink(original.link, at.name, dir_fd=at.dir)
            except OSError as e:
                raise os_error(e, path) from None
            return
    write_file_beneath(root, path, original.data)
    with _locate(root, path, follow_last=True) as target:
        fd = target.open(os.O_RDONLY | os.O_NONBLOCK)
        try:
            os.fchmod(fd, original.mode)
        except OSError as e:
            raise os_error(e, path) from None
        finally:
            os.close(fd)
