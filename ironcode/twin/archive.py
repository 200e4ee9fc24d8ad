"""Twin of native/tool/src/archive.rs: zip and tar(.gz) extraction that never leaves ``dest``.

The same three walls as the native module: names and link targets checked before anything is
written; extraction into a staging folder beside ``dest`` that never writes through a symlink;
every staged symlink resolved physically before the staged files are renamed into ``dest``.
"""

from __future__ import annotations

import itertools
import os
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from typing import IO

from ..errors import IronCodeError, from_os_error
from .paths import absolute
from .write import LEFTOVER_FOLDER, STAGING_MARKER, tidy_leftovers

DEFAULT_FILE_MODE = 0o644
MAX_LINK_HOPS = 40
_staging_counter = itertools.count()

# Entry kinds, as in the native EntryKind enum.
FILE, DIR, SYMLINK, HARDLINK, SKIP = "file", "dir", "symlink", "hardlink", "skip"


def extract(archive: str, dest: str) -> dict:
    """Extracts ``archive`` into ``dest`` (created if missing); unsafe entries raise ``unsafe_path``."""
    archive = absolute(archive)
    dest = absolute(dest)
    fmt = detect_format(archive)
    if os.path.lexists(dest) and not os.path.isdir(dest):
        raise IronCodeError("not_a_directory", f"Destination is not a directory: {dest}")
    for name, kind, _mode, target, _open in entries(archive, fmt):
        rel = safe_relative(name)
        if rel is not None:
            check_link_target(rel, kind, target)
    parent = os.path.dirname(dest) or "/"
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as e:
        raise from_os_error(e, parent) from None
    staging = _create_staging(parent, dest)
    try:
        links: list[str] = []
        for name, kind, mode, target, opener in entries(archive, fmt):
            stage_entry(staging, name, kind, mode, target, opener, links)
        for rel in links:
            if not resolves_inside(staging, rel):
                raise _unsafe(rel, "is a symlink that resolves outside the destination")
        files = count_files(staging)
        promote(staging, dest)
        return {"files": files, "dest": dest}
    except OSError as e:
        raise from_os_error(e, dest) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _create_staging(parent: str, dest: str) -> str:
    """A staging folder beside ``dest``; first removes those of killed extractions there."""
    prefix = f".{os.path.basename(dest)}{STAGING_MARKER}"
    tidy_leftovers(parent, LEFTOVER_FOLDER)
    while True:
        path = os.path.join(parent, f"{prefix}{os.getpid()}-{next(_staging_counter)}")
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            continue
        except OSError as e:
            raise from_os_error(e, parent) from None


def detect_format(archive: str) -> str:
    if os.path.isdir(archive):
        raise IronCodeError("is_directory", f"Archive path is a directory: {archive}")
    try:
        with open(archive, "rb") as f:
            head = f.read(512)
    except OSError as e:
        raise from_os_error(e, archive) from None
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "tar.gz"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    raise IronCodeError("invalid_argument", f"Not a zip, tar or tar.gz archive: {archive}")


Entry = tuple[str, str, int, str, Callable[[], IO[bytes]] | None]


def entries(archive: str, fmt: str) -> Iterator[Entry]:
    """(name, kind, mode, link target, opener of the data) for every entry, in archive order."""
    try:
        if fmt == "zip":
            yield from _zip_entries(archive)
        else:
            yield from _tar_entries(archive, fmt)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, ValueError, OSError) as e:
        if isinstance(e, OSError) and not isinstance(e, (EOFError,)) and e.errno is not None:
            raise from_os_error(e, archive) from None
        raise IronCodeError("io", f"Corrupt archive {archive}: {e}") from None


def _zip_entries(archive: str) -> Iterator[Entry]:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            mode = zip_unix_mode(info)
            opener = lambda info=info: zf.open(info)  # noqa: E731
            if info.filename.endswith("/"):  # ZipInfo.is_dir() fails on an empty name
                yield info.filename, DIR, 0, "", None
            elif mode is not None and stat.S_IFMT(mode) == stat.S_IFLNK:
                target = zf.read(info).decode("utf-8", "replace")
                yield info.filename, SYMLINK, 0, target, None
            else:
                yield info.filename, FILE, file_mode(mode), "", opener


def zip_unix_mode(info: zipfile.ZipInfo) -> int | None:
    """The entry's mode as the zip crate computes it (DOS attributes become 0o664 / 0o444)."""
    ext = info.external_attr
    if ext == 0:
        return None
    if info.create_system == 3:  # Unix
        return (ext >> 16) & ~0o7000
    if info.create_system == 0:  # MS-DOS
        dos = ext & 0xFF
        mode = (stat.S_IFDIR | 0o775) if dos & 0x10 else (stat.S_IFREG | 0o664)
        return mode & ~0o222 if dos & 0x01 else mode
    return None


def _tar_entries(archive: str, fmt: str) -> Iterator[Entry]:
    with tarfile.open(archive, "r:gz" if fmt == "tar.gz" else "r:") as tf:
        for info in tf:
            if info.isreg():
                yield info.name, FILE, file_mode(info.mode), "", lambda info=info: tf.extractfile(info)
            elif info.isdir():
                yield info.name, DIR, 0, "", None
            elif info.issym():
                yield info.name, SYMLINK, 0, info.linkname, None
            elif info.islnk():
                yield info.name, HARDLINK, 0, info.linkname, None
            else:
                yield info.name, SKIP, 0, "", None


def file_mode(mode: int | None) -> int:
    """The archive's permission bits without set-id and sticky bits; 0o644 when it gives none."""
    bits = (mode or 0) & 0o777
    return bits if bits else DEFAULT_FILE_MODE


def _unsafe(name: str, why: str) -> IronCodeError:
    return IronCodeError("unsafe_path", f"Archive entry '{name}' {why}; nothing was extracted")


def safe_relative(name: str) -> str | None:
    """The entry's path relative to ``dest`` (None for the root); absolute or ``..`` is unsafe."""
    if "\0" in name:
        raise _unsafe(name, "has a NUL byte in its name")
    if name.startswith("/"):
        raise _unsafe(name, "is an absolute path")
    parts = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            raise _unsafe(name, "climbs out of the destination with '..'")
        parts.append(part)
    return "/".join(parts) if parts else None


def check_link_target(rel: str, kind: str, target: str) -> None:
    if kind == SYMLINK:
        if target.startswith("/"):
            raise _unsafe(rel, "is a symlink to an absolute path")
        stack = rel.split("/")[:-1]
        for part in target.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not stack:
                    raise _unsafe(rel, "is a symlink that points outside the destination")
                stack.pop()
            else:
                stack.append(part)
    elif kind == HARDLINK:
        try:
            ok = safe_relative(target) is not None
        except IronCodeError:
            ok = False
        if not ok:
            raise _unsafe(rel, "is a hard link to a path outside the destination")


def ensure_no_symlink_parent(root: str, rel: str) -> None:
    current = root
    for part in rel.split("/")[:-1]:
        current = os.path.join(current, part)
        if os.path.islink(current):
            raise _unsafe(rel, "would be written through a symlink")


def stage_entry(root, name, kind, mode, target, opener, links) -> None:
    rel = safe_relative(name)
    if rel is None or kind == SKIP:
        return
    ensure_no_symlink_parent(root, rel)
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if kind != DIR:
        _remove_existing(path)
    if kind == DIR:
        os.makedirs(path, exist_ok=True)
    elif kind == FILE:
        with opener() as src, open(path, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        os.chmod(path, mode)
    elif kind == SYMLINK:
        os.symlink(target, path)
        links.append(rel)
    elif kind == HARDLINK:
        source = os.path.join(root, safe_relative(target) or "")
        if not (os.path.lexists(source) and stat.S_ISREG(os.lstat(source).st_mode)):
            raise _unsafe(rel, "is a hard link to a file the archive does not hold")
        shutil.copy(source, path)


def _remove_existing(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


def resolves_inside(root: str, rel: str) -> bool:
    """Follows ``rel`` inside ``root`` physically, link by link; False if it leaves or loops."""
    pending = list(reversed(rel.split("/")))
    stack: list[str] = []
    hops = 0
    while pending:
        part = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            if not stack:
                return False
            stack.pop()
            continue
        stack.append(part)
        current = os.path.join(root, *stack)
        if os.path.islink(current):
            hops += 1
            target = os.readlink(current)
            if hops > MAX_LINK_HOPS or target.startswith("/"):
                return False
            stack.pop()
            pending.extend(reversed(target.split("/")))
    return True


def count_files(root: str) -> int:
    count = 0
    for entry in os.scandir(root):
        count += count_files(entry.path) if entry.is_dir(follow_symlinks=False) else 1
    return count


def promote(staging: str, dest: str) -> None:
    """Renames the staged tree into ``dest``: whole when ``dest`` is new, else file by file."""
    if not os.path.lexists(dest):
        os.rename(staging, dest)
        return
    check_merge(staging, dest, "")
    merge(staging, dest)


def check_merge(staged: str, dest: str, rel: str) -> None:
    for entry in os.scandir(staged):
        child_rel = f"{rel}/{entry.name}" if rel else entry.name
        target = os.path.join(dest, entry.name)
        staged_is_dir = entry.is_dir(follow_symlinks=False)
        if not os.path.lexists(target):
            continue
        if os.path.islink(target) and staged_is_dir:
            raise _unsafe(child_rel, "would be written through a symlink in the destination")
        target_is_dir = os.path.isdir(target) and not os.path.islink(target)
        if target_is_dir and not staged_is_dir:
            raise IronCodeError(
                "is_directory",
                f"Cannot replace folder {target} with a file from the archive; nothing was extracted",
            )
        if not target_is_dir and staged_is_dir:
            raise IronCodeError(
                "not_a_directory",
                f"Cannot replace file {target} with a folder from the archive; nothing was extracted",
            )
        if staged_is_dir:
            check_merge(entry.path, target, child_rel)


def merge(staged: str, dest: str) -> None:
    for entry in os.scandir(staged):
        target = os.path.join(dest, entry.name)
        if entry.is_dir(follow_symlinks=False) and os.path.lexists(target):
            merge(entry.path, target)
        else:
            os.rename(entry.path, target)
