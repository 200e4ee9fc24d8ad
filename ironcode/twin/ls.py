"""Twin of native/tool/src/ls.rs: every file below a folder as sorted relative paths."""

from __future__ import annotations

import os
import stat

from ..errors import IronCodeError, from_os_error
from .confine import Root
from .globset import GlobError
from .paths import absolute
from .ripgrep_ignore import IGNORE, Gitignore, GitignoreBuilder

DEFAULT_LIMIT = 100
IGNORED_FOLDERS = frozenset(
    "node_modules __pycache__ .git dist build target vendor bin obj .idea .vscode .zig-cache "
    "zig-out .coverage coverage tmp temp .cache cache logs .venv venv env".split()
)


def ls(
    path: str = ".",
    ignore: list[str] | None = None,
    limit: int | None = DEFAULT_LIMIT,
    *,
    root: str | None = None,
) -> dict:
    """Lists files below ``path`` recursively; ``ignore`` holds gitignore-style globs. With
    ``root``, the folder is resolved beneath it and the walk never leaves it: a symlink is listed
    only when it leads to a file inside the root."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
        raise IronCodeError("invalid_argument", f"limit must be an integer, got {limit!r}")
    if root is None:
        shown = absolute(path)
        try:
            is_dir = os.path.isdir(shown)
            os.stat(shown)
        except OSError as e:
            raise from_os_error(e, shown) from None
        if not is_dir:
            raise _not_a_folder(shown)
        try:  # an unreadable folder lists as empty, as one below it is skipped
            dir_fd = os.open(shown, LIST_FLAGS)
        except OSError:
            dir_fd = None
        return _listing(shown, dir_fd, list(ignore or []), limit, None)
    with Root.open(root) as confined:
        place = confined.place(path)
        dir_fd = confined.open_file(place, os.O_RDONLY | os.O_NONBLOCK)
        if not stat.S_ISDIR(os.fstat(dir_fd).st_mode):
            os.close(dir_fd)
            raise _not_a_folder(place.shown)
        return _listing(place.shown, dir_fd, list(ignore or []), limit, (confined, place.rel))


#: How a folder is opened to be listed.
LIST_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


def _not_a_folder(path: str) -> IronCodeError:
    return IronCodeError("not_a_directory", f"Path is not a directory: {path} (use read for a file)")


def _listing(shown: str, dir_fd: int | None, ignore: list[str], limit: int | None, below) -> dict:
    try:
        matcher = build_matcher(shown, ignore)
        files: list[str] = []
        if dir_fd is not None:
            collect(dir_fd, "", b"", matcher, below, files)
    finally:
        if dir_fd is not None:
            os.close(dir_fd)
    files.sort()
    truncated = False
    if limit is not None and limit >= 0:
        truncated = len(files) > limit
        del files[limit:]
    return {"root": shown, "files": files, "truncated": truncated}


def build_matcher(root: str, globs: list[str]) -> Gitignore | None:
    """The globs as one gitignore (the `ignore` crate's rules, as ls.rs builds them)."""
    if not globs:
        return None
    builder = GitignoreBuilder(os.fsencode(root))
    for glob in globs:
        if not isinstance(glob, str):
            raise IronCodeError("invalid_argument", f"ignore globs must be strings, got {glob!r}")
        try:
            builder.add_line(glob)
        except GlobError as e:
            raise IronCodeError("invalid_pattern", f"Invalid ignore glob '{glob}': {e}") from None
    return builder.build()


def ignored(matcher: Gitignore | None, rel: str, is_dir: bool) -> bool:
    return matcher is not None and matcher.matched(rel.encode(), is_dir) == IGNORE


def collect(dir_fd: int, prefix: str, raw: bytes, matcher: Gitignore | None, below, out: list[str]) -> None:
    """Depth-first walk of the open folder ``dir_fd``, every subfolder opened relative to it
    without following a symlink; unreadable folders are skipped, symlinked folders are not
    entered. A symlink is listed when it leads to a file (inside the root, with one)."""
    try:
        with os.scandir(dir_fd) as it:
            entries = [(entry.name, entry) for entry in it]
    except OSError:
        return
    for name, entry in entries:
        shown = _display_name(name)
        rel = f"{prefix}/{shown}" if prefix else shown
        raw_rel = os.path.join(raw, os.fsencode(name)) if raw else os.fsencode(name)
        try:
            if entry.is_dir(follow_symlinks=False):
                if shown in IGNORED_FOLDERS or ignored(matcher, rel, True):
                    continue
                try:
                    sub = os.open(name, LIST_FLAGS | os.O_NOFOLLOW, dir_fd=dir_fd)
                except OSError:
                    continue
                try:
                    collect(sub, rel, raw_rel, matcher, below, out)
                finally:
                    os.close(sub)
            elif entry.is_file(follow_symlinks=False) or (
                entry.is_symlink() and _link_is_file(dir_fd, name, below, raw_rel)
            ):
                if not ignored(matcher, rel, False):
                    out.append(rel)
        except OSError:
            continue


def _link_is_file(dir_fd: int, name: str, below, raw_rel: bytes) -> bool:
    """Whether a symlink leads to a file (beneath the root when ``below`` is one)."""
    if below is None:
        try:
            return stat.S_ISREG(os.stat(name, dir_fd=dir_fd).st_mode)
        except OSError:
            return False
    root, rel = below
    fd = root.open_below_or_none(os.path.join(rel, raw_rel) if rel else raw_rel, os.O_PATH)
    if fd is None:
        return False
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode)
    finally:
        os.close(fd)


def _display_name(name: str) -> str:
    """Undecodable bytes become U+FFFD, as Rust's to_string_lossy does."""
    return os.fsencode(name).decode("utf-8", "replace")
