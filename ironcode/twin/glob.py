"""Twin of native/tool/src/glob.rs: the files below a folder matching one ripgrep glob, newest first."""

from __future__ import annotations

from ..errors import IronCodeError
from . import walk
from .file_list import optional_count
from .walk import WalkOptions

#: Files returned when the caller gives no limit.
DEFAULT_LIMIT = 100


def glob(
    pattern: str, path: str = ".", limit: int | None = DEFAULT_LIMIT, *, root: str | None = None
) -> dict:
    """``{"files": [absolute paths, newest first], "total", "truncated"}``; with ``root``, the
    folder is resolved beneath it and the walk never leaves it."""
    check_text(pattern, "pattern")
    limit = optional_count(limit, "limit")
    if pattern == "":
        raise IronCodeError("invalid_pattern", 'The glob pattern is empty (try "**/*" for every file)')

    def keep(path: bytes) -> tuple[int, str] | None:
        modified = modified_ns(path)
        return None if modified is None else (modified, walk.display(path))

    with walk.searching(path, root) as (folder, beneath):
        found = walk.collect_files(folder, WalkOptions(globs=[pattern], beneath=beneath), keep)
    sort_newest_first(found)
    total = len(found)
    files = [p for _, p in (found if limit is None else found[:limit])]
    return {"files": files, "total": total, "truncated": total > len(files)}


def modified_ns(path: bytes) -> int | None:
    """Modification time in nanoseconds since the epoch, following symlinks; None if it vanished."""
    try:
        return walk.stat_entry(path).st_mtime_ns
    except OSError:
        return None


def sort_newest_first(items: list) -> None:
    """Newest first; equal times by path, so the order is the same on every run and backend."""
    items.sort(key=lambda item: (-item[0], item[1]))


def check_text(value: object, name: str) -> str:
    """A string argument as the native side accepts it: UTF-8 without NUL bytes."""
    if not isinstance(value, str):
        raise IronCodeError("invalid_argument", f"{name} must be a string, got {type(value).__name__}")
    if "\0" in value:
        raise IronCodeError("invalid_argument", f"{name} contains a NUL byte")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise IronCodeError("invalid_argument", f"{name} is not valid Unicode: {e}") from None
    return value
