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


def write(path: str, content: str | bytes) -> dict:
    """Writes ``content`` to ``path`` atomically, creating missing parent directories."""
    if isinstance(content, str):
        try:
            data = content.encode("utf-8")
        except UnicodeEncodeError as e:
            raise IronCodeError("invalid_argument", f"content is not valid Unicode: {e}") from None
    elif isinstance(content, (bytes, bytearray, memoryview)):
        data = bytes(content)
    else:
        raise IronCodeError("invalid_argument", f"content must be str or bytes, got {type(content).__name__}")
    abs_path = absolute(path)
    target = resolve_symlink(abs_path)
    if os.path.isdir(target):
        raise IronCodeError("is_directory", f"Path is a directory, not a file: {abs_path}")
    created = not os.path.exists(target)
    create_parents(os.path.dirname(target))
    write_atomic(target, data)
    return {"path": abs_path, "bytes": len(data), "created": created}


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
    name = os.path.basename(target)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mode = None
    tidy_leftovers(directory, LEFTOVER_FILE)
    temp, fd = _create_temp(directory, name)
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
        os.rename(temp, target)
    except OSError as e:
        _remove_quietly(temp)
        raise from_os_error(e, target) from None
    except BaseException:
        _remove_quietly(temp)
        raise
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _create_temp(directory: str, name: str) -> tuple[str, int]:
    pid = os.getpid()
    while True:
        n = next(_temp_counter)
        temp = os.path.join(
            directory, f".{name}{TEMP_MARKER}{pid}-{n}-{time.time_ns() % 10**9:x}{TEMP_SUFFIX}"
        )
        try:
            return temp, os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, NEW_FILE_MODE)
        except FileExistsError:
            continue
        except OSError as e:
            raise from_os_error(e, directory) from None


def tidy_leftovers(directory: str, kind: str) -> None:
    """:func:`remove_leftovers` of ``kind`` in ``directory``, unless this process did it there
    within :data:`LEFTOVER_SCAN_INTERVAL`."""
    now = time.monotonic()
    key = (directory, kind)
    with _leftover_scans_lock:
        last = _leftover_scans.get(key)
        if last is not None and now - last < LEFTOVER_SCAN_INTERVAL:
            return
        if len(_leftover_scans) >= _LEFTOVER_SCANS_KEPT:
            for old in [k for k, t in _leftover_scans.items() if now - t >= LEFTOVER_SCAN_INTERVAL]:
                del _leftover_scans[old]
        _leftover_scans[key] = now
    remove_leftovers(directory, kind)


def remove_leftovers(directory: str, kind: str) -> None:
    """Removes entries of ``kind`` named ``.{any name}{marker}{pid}-{counters}{suffix}`` whose
    process is gone: what a SIGKILL'd write or extraction left (see write.rs). Best effort, never
    raises."""
    marker, suffix = _LEFTOVER_NAMES[kind]
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if not (name.startswith(".") and name.endswith(suffix)):
            continue
        at = name.rfind(marker, 1, len(name) - len(suffix))  # the last: a name may hold one
        if at < 0:
            continue
        owner = leftover_owner(name[at + len(marker) : len(name) - len(suffix)])
        if owner is None or process_exists(owner):
            continue
        try:
            if kind == LEFTOVER_FILE and entry.is_file(follow_symlinks=False):
                os.remove(entry.path)
            elif kind == LEFTOVER_FOLDER and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
        except OSError:
            pass


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


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
