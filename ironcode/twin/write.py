"""Twin of native/tool/src/write.rs: whole-file writes that are atomic."""

from __future__ import annotations

import itertools
import os
import stat
import time

from ..errors import IronCodeError, from_os_error
from .paths import absolute

NEW_FILE_MODE = 0o666
_temp_counter = itertools.count()


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
        temp = os.path.join(directory, f".{name}.ironcode-{pid}-{n}-{time.time_ns() % 10**9:x}.tmp")
        try:
            return temp, os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, NEW_FILE_MODE)
        except FileExistsError:
            continue
        except OSError as e:
            raise from_os_error(e, directory) from None


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
