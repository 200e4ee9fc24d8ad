"""Twin of native/tool/src/paths.rs: absolute paths as ``os.path.abspath`` computes them."""

from __future__ import annotations

import os

from ..errors import IronCodeError


def absolute(path: str | os.PathLike) -> str:
    """``path`` joined to the current directory with ``.`` and ``..`` folded lexically."""
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if isinstance(path, bytes):
        try:
            path = path.decode("utf-8")
        except UnicodeDecodeError:
            raise IronCodeError("invalid_argument", "argument 'path' is not valid UTF-8") from None
    if not isinstance(path, str):
        raise IronCodeError("invalid_argument", f"path must be a string, got {type(path).__name__}")
    if not path:
        raise IronCodeError("invalid_argument", "path is empty")
    if "\0" in path:
        raise IronCodeError("invalid_argument", "path contains a NUL byte")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise IronCodeError("invalid_argument", "argument 'path' is not valid UTF-8") from None
    if not os.path.isabs(path):
        try:
            cwd = os.getcwd()
        except FileNotFoundError as e:
            raise IronCodeError(
                "not_found", f"the current directory is gone ({e}); pass an absolute path"
            ) from None
        path = os.path.join(cwd, path)
    normalized = os.path.normpath(path)
    # POSIX keeps a leading "//"; the native side (and most users) expect one slash.
    return "/" + normalized.lstrip("/")
