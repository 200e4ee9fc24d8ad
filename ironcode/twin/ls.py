"""Twin of native/tool/src/ls.rs: every file below a folder as sorted relative paths."""

from __future__ import annotations

import os

from ..errors import IronCodeError, from_os_error
from .globset import GlobError
from .paths import absolute
from .ripgrep_ignore import IGNORE, Gitignore, GitignoreBuilder

DEFAULT_LIMIT = 100
IGNORED_FOLDERS = frozenset(
    "node_modules __pycache__ .git dist build target vendor bin obj .idea .vscode .zig-cache "
    "zig-out .coverage coverage tmp temp .cache cache logs .venv venv env".split()
)


def ls(path: str = ".", ignore: list[str] | None = None, limit: int | None = DEFAULT_LIMIT) -> dict:
    """Lists files below ``path`` recursively; ``ignore`` holds gitignore-style globs."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
        raise IronCodeError("invalid_argument", f"limit must be an integer, got {limit!r}")
    root = absolute(path)
    try:
        is_dir = os.path.isdir(root)
        os.stat(root)
    except OSError as e:
        raise from_os_error(e, root) from None
    if not is_dir:
        raise IronCodeError("not_a_directory", f"Path is not a directory: {root} (use read for a file)")
    matcher = build_matcher(root, list(ignore or []))
    files: list[str] = []
    collect(root, "", matcher, files)
    files.sort()
    truncated = False
    if limit is not None and limit >= 0:
        truncated = len(files) > limit
        del files[limit:]
    return {"root": root, "files": files, "truncated": truncated}


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


def collect(directory: str, prefix: str, matcher: Gitignore | None, out: list[str]) -> None:
    """Depth-first walk; unreadable folders are skipped, symlinked folders are not entered."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        name = _display_name(entry.name)
        rel = f"{prefix}/{name}" if prefix else name
        try:
            if entry.is_dir(follow_symlinks=False):
                if name in IGNORED_FOLDERS or ignored(matcher, rel, True):
                    continue
                collect(entry.path, rel, matcher, out)
            elif entry.is_file(follow_symlinks=True) and not ignored(matcher, rel, False):
                out.append(rel)
        except OSError:
            continue


def _display_name(name: str) -> str:
    """Undecodable bytes become U+FFFD, as Rust's to_string_lossy does."""
    return os.fsencode(name).decode("utf-8", "replace")
