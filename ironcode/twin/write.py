"""Twin of native/tool/src/write.rs: whole-file writes that are atomic."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import stat
import threading
import time

from ..errors import IronCodeError, from_os_error
from .confine import DIRECTORY, Located, Root
from .paths import absolute

NEW_FILE_MODE = 0o666
#: What a temporary file's name holds between the target's name and its process id, and its end.
TEMP_MARKER = ".ironcode-"
TEMP_SUFFIX = ".tmp"
#: What a staging folder's name of ``extract`` holds between ``.{dest name}`` and the process id.
STAGING_MARKER = ".ironcode-extract-"
#: What a killed process may have left behind (``Leftover`` in write.rs), with the marker before
#: the process id and the end of the name.
LEFTOVER_FILE, LEFTOVER_FOLDER = "file", "folder"
_LEFTOVER_NAMES = {LEFTOVER_FILE: (TEMP_MARKER, TEMP_SUFFIX), LEFTOVER_FOLDER: (STAGING_MARKER, "")}
#: A process looks for leftovers in a folder the first time it changes something there, then at
#: most this often (seconds): listing a big folder costs more than the write (see write.rs).
LEFTOVER_SCAN_INTERVAL = 60.0
_LEFTOVER_SCANS_KEPT = 4096
_leftover_scans: dict[tuple[str, str], float] = {}
_leftover_scans_lock = threading.Lock()
_temp_counter = itertools.count()
_LEFTOVER_COUNTERS = re.compile(r"[0-9a-fA-F-]+")


def write(path: str, content: str | bytes, *, root: str | None = None) -> dict:
    """Writes ``content`` to ``path`` atomically, creating missing parent directories; with
    ``root``, beneath it (leaving it is ``outside_root``)."""
    if isinstance(content, str):
        try:
            data = content.encode("utf-8")
        except UnicodeEncodeError as e:
            raise IronCodeError("invalid_argument", f"content is not valid Unicode: {e}") from None
    elif isinstance(content, (bytes, bytearray, memoryview)):
        data = bytes(content)
    else:
        raise IronCodeError("invalid_argument", f"content must be str or bytes, got {type(content).__name__}")
    if root is not None:
        with Root.open(root) as confined:
            return write_beneath(confined, path, data)
    abs_path = absolute(path)
    target = resolve_symlink(abs_path)
    if os.path.isdir(target):
        raise IronCodeError("is_directory", f"Path is a directory, not a file: {abs_path}")
    created = not os.path.exists(target)
    create_parents(os.path.dirname(target))
    write_atomic(target, data)
    return {"path": abs_path, "bytes": len(data), "created": created}


def write_beneath(root: Root, path: str, data: bytes) -> dict:
    """:func:`write` beneath a root: parents created and the file replaced through descriptors."""
    place = root.place(path)
    with root.locate(place, create=True, follow_last=True) as target:
        if target.kind == DIRECTORY:
            raise IronCodeError("is_directory", f"Path is a directory, not a file: {place.shown}")
        write_atomic_located(target, data)
        return {"path": place.shown, "bytes": len(data), "created": target.kind is None}


def create_parents(directory: str) -> None:
    """Creates ``directory`` and its missing parents; an ancestor that is a file is ``not_a_directory``."""
    blocker = directory
    while not os.path.exists(blocker) and os.path.dirname(blocker) != blocker:
        blocker = os.path.dirname(blocker)
    if os.path.exists(blocker) and not os.path.isdir(blocker):
        raise IronCodeError("not_a_directory", f"Cannot create folder {directory}: {blocker} is a file")
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as e:
        raise from_os_error(e, directory) from None


def resolve_symlink(path: str) -> str:
    """Follows a chain of symlinks at ``path`` to the file it names (which may not exist yet)."""
    current = path
    for _ in range(40):
        try:
            if not stat.S_ISLNK(os.lstat(current).st_mode):
                return current
            link = os.readlink(current)
        except OSError:
            return current
        current = os.path.normpath(os.path.join(os.path.dirname(current), link))
    raise IronCodeError("io", f"Too many levels of symbolic links: {path}")


def write_atomic(target: str, data: bytes) -> None:
    """Temp file beside ``target``, fsync, original permission bits, rename, fsync the folder."""
    directory = os.path.dirname(target) or "/"
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mode = None
    try:
        dir_fd = os.open(directory, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise from_os_error(e, directory) from None
    try:
        write_atomic_in(dir_fd, os.fsencode(os.path.basename(target)), target, mode, data)
    finally:
        os.close(dir_fd)


def write_atomic_located(target: Located, data: bytes) -> None:
    """:func:`write_atomic` of what ``Root.locate`` found: the permission bits of the file it
    replaces (never of a symlink's target: the walk has resolved those)."""
    try:
        info = os.stat(target.name, dir_fd=target.dir, follow_symlinks=False)
        mode = None if stat.S_ISLNK(info.st_mode) else stat.S_IMODE(info.st_mode)
    except OSError:
        mode = None
    write_atomic_in(target.dir, target.name, target.shown, mode, data)


def write_atomic_in(dir_fd: int, name: bytes, target: str, mode: int | None, data: bytes) -> None:
    """The atomic write in the open folder ``dir_fd``: a temporary file created there, fsynced,
    given ``mode``, renamed over ``name``, then the folder fsynced (see write.rs)."""
    directory = os.path.dirname(target) or "/"
    if scan_due(directory, LEFTOVER_FILE):
        remove_leftover_files_in(dir_fd)
    temp, fd = _create_temp(dir_fd, directory, os.fsdecode(name))
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if mode is not None:
                os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except OSError as e:
        _remove_quietly(dir_fd, temp)
        raise from_os_error(e, target) from None
    except BaseException:
        _remove_quietly(dir_fd, temp)
        raise
    try:
        listing = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return
    try:
        os.fsync(listing)
    except OSError:
        pass
    finally:
        os.close(listing)


def _create_temp(dir_fd: int, directory: str, name: str) -> tuple[bytes, int]:
    pid = os.getpid()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    while True:
        n = next(_temp_counter)
        temp = os.fsencode(f".{name}{TEMP_MARKER}{pid}-{n}-{time.time_ns() % 10**9:x}{TEMP_SUFFIX}")
        try:
            return temp, os.open(temp, flags, NEW_FILE_MODE, dir_fd=dir_fd)
        except FileExistsError:
            continue
        except OSError as e:
            raise from_os_error(e, directory) from None


def tidy_leftovers(directory: str, kind: str) -> None:
    """:func:`remove_leftovers` of ``kind`` in ``directory``, unless this process did it there
    within :data:`LEFTOVER_SCAN_INTERVAL`."""
    if scan_due(directory, kind):
        remove_leftovers(directory, kind)


def scan_due(directory: str, kind: str) -> bool:
    """Whether this process should look for leftovers of ``kind`` in ``directory`` now; a yes
    counts as the look."""
    now = time.monotonic()
    key = (directory, kind)
    with _leftover_scans_lock:
        last = _leftover_scans.get(key)
        if last is not None and now - last < LEFTOVER_SCAN_INTERVAL:
            return False
        if len(_leftover_scans) >= _LEFTOVER_SCANS_KEPT:
            for old in [k for k, t in _leftover_scans.items() if now - t >= LEFTOVER_SCAN_INTERVAL]:
                del _leftover_scans[old]
        _leftover_scans[key] = now
    return True


def remove_leftovers(directory: str, kind: str) -> None:
    """Removes entries of ``kind`` named ``.{any name}{marker}{pid}-{counters}{suffix}`` whose
    process is gone: what a SIGKILL'd write or extraction left (see write.rs). Best effort, never
    raises."""
    if kind == LEFTOVER_FILE:
        try:
            dir_fd = os.open(directory, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            return
        try:
            remove_leftover_files_in(dir_fd)
        finally:
            os.close(dir_fd)
        return
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        owner = leftover_of(entry.name, kind)
        if owner is None or process_exists(owner):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
        except OSError:
            pass


def remove_leftover_files_in(dir_fd: int) -> None:
    """The temporary files of dead processes in the open folder ``dir_fd``, removed through it."""
    try:
        listing = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return
    try:
        with os.scandir(listing) as it:
            names = [e.name for e in it]
    except OSError:
        return
    finally:
        os.close(listing)
    for name in names:
        owner = leftover_of(name, LEFTOVER_FILE)
        if owner is None or process_exists(owner):
            continue
        try:
            if stat.S_ISREG(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
                os.unlink(name, dir_fd=dir_fd)
        except OSError:
            pass


def leftover_of(name: str, kind: str) -> int | None:
    """The process that made the entry ``name``, when it is shaped like a leftover of ``kind``
    (the last marker counts: a target's own name may hold one)."""
    marker, suffix = _LEFTOVER_NAMES[kind]
    if not (name.startswith(".") and name.endswith(suffix)):
        return None
    at = name.rfind(marker, 1, len(name) - len(suffix))
    if at < 0:
        return None
    return leftover_owner(name[at + len(marker) : len(name) - len(suffix)])


def leftover_owner(middle: str) -> int | None:
    """The process id at the start of ``{pid}-{counters}``, if the whole has that shape."""
    pid, dash, counters = middle.partition("-")
    if not dash or not _LEFTOVER_COUNTERS.fullmatch(counters) or not (pid.isascii() and pid.isdigit()):
        return None
    value = int(pid)
    return value if value < 2**31 else None


def process_exists(pid: int) -> bool:
    """Whether process ``pid`` exists (``kill(pid, 0)``; EPERM means it exists but is not ours)."""
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _remove_quietly(dir_fd: int, name: bytes) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError:
        pass
