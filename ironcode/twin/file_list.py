"""Twin of native/tool/src/file_list.rs: every file a ripgrep search of a folder would look at.

The set equals ``rg --files --hidden [-g GLOB ...] -g '!.git' PATH`` run from ``PATH``; see
:mod:`ironcode.twin.walk` for the rules.
"""

from __future__ import annotations

from ..errors import IronCodeError
from . import walk
from .walk import WalkOptions


def file_list(
    path: str = ".",
    globs: list[str] | None = None,
    hidden: bool = True,
    follow: bool = False,
    max_depth: int | None = None,
    *,
    root: str | None = None,
) -> list[str]:
    """Files below ``path`` that ripgrep would search, relative, ``/``-separated and sorted; with
    ``root``, the folder is resolved beneath it and the walk never leaves it."""
    for name, flag in (("hidden", hidden), ("follow", follow)):
        if not isinstance(flag, bool):
            raise IronCodeError("invalid_argument", f"{name} must be True or False, got {flag!r}")
    globs = check_globs(globs)
    max_depth = optional_count(max_depth, "max_depth")
    with walk.searching(path, root) as (folder, beneath):
        options = WalkOptions(
            globs=globs, skip_hidden=not hidden, follow=follow, max_depth=max_depth, beneath=beneath
        )
        files = walk.collect_files(folder, options, lambda p: walk.relative(folder, p))
    files.sort()
    return files


def check_globs(globs: list[str] | None) -> list[str]:
    if globs is None:
        return []
    if isinstance(globs, str) or not all(isinstance(g, str) for g in globs):
        raise IronCodeError("invalid_argument", f"globs must be a list of strings, got {globs!r}")
    return list(globs)


def optional_count(value: int | None, name: str) -> int | None:
    """An optional limit as the native side reads it: None or negative means no limit."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise IronCodeError("invalid_argument", f"{name} must be an integer, got {value!r}")
    if not -(2**63) <= value < 2**63:
        raise IronCodeError("invalid_argument", f"{name} is out of range: {value}")
    return value if value >= 0 else None
