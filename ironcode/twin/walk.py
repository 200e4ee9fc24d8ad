"""Twin of native/tool/src/walk.rs: the one directory walk behind file_list, glob and grep.

The native side applies the ``ignore`` crate's own matchers as ripgrep's walker does (its port of the
crate's ``dir.rs`` is ``native/tool/src/walk/ripgrep_ignore.rs``) in its own traversal; here the same
rules come from :mod:`ironcode.twin.ripgrep_ignore`, a port of that crate, walked with
``os.scandir``: ignore files inside a git repository and in parent folders with ripgrep's
precedence, globs as ripgrep ``--glob`` overrides, ``.git`` never entered, symlinks skipped unless
followed (loops detected), unreadable folders skipped.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from ..errors import IronCodeError, from_os_error
from . import ripgrep_ignore
from .paths import absolute

T = TypeVar("T")
S = TypeVar("S")

#: The override appended after the caller's globs: `.git` is never entered or listed.
NEVER_GIT = "!.git"
#: ripgrep's own ignore file, read with the highest precedence of all ignore files.
RG_IGNORE_FILE = ".rgignore"


@dataclass
class WalkOptions:
    """What to walk and how; the defaults are ripgrep's with ``--hidden``."""

    globs: list[str] = field(default_factory=list)
    skip_hidden: bool = False
    follow: bool = False
    max_depth: int | None = None


def search_root(path: str) -> str:
    """``path`` made absolute; ``not_found`` when missing, ``not_a_directory`` for a file."""
    root = search_target(path)
    if not os.path.isdir(root):
        raise IronCodeError(
            "not_a_directory", f"Path is not a directory: {root} (pass the folder that contains it)"
        )
    return root


def search_target(path: str) -> str:
    """Like :func:`search_root` but a single file is accepted too (grep searches one file)."""
    root = absolute(path)
    try:
        os.stat(root)
    except OSError as e:
        raise from_os_error(e, root) from None
    return root


def overrides(root: str, globs: list[str]) -> ripgrep_ignore.Override:
    """The caller's globs plus :data:`NEVER_GIT` as ripgrep's override matcher rooted at ``root``."""
    for glob in globs:
        if not isinstance(glob, str):
            raise IronCodeError("invalid_argument", f"globs must be strings, got {glob!r}")
    try:
        return ripgrep_ignore.Override(os.fsencode(root), [*globs, NEVER_GIT])
    except ripgrep_ignore.GlobError as e:
        raise IronCodeError("invalid_pattern", f"Invalid glob '{e.glob}': {e}") from None


def builder(root: str, options: WalkOptions) -> ripgrep_ignore.Walk:
    """The walk of ``root`` as ``rg --hidden -g GLOB... -g '!.git'`` configures it, with global
    gitignore patterns relative to ``root``; pruned to :func:`literal_prefix` when there is one."""
    prefix = literal_prefix(options.globs)
    return ripgrep_ignore.Walk(
        root=os.fsencode(root),
        overrides=overrides(root, options.globs),
        skip_hidden=options.skip_hidden,
        follow=options.follow,
        max_depth=options.max_depth,
        only_towards=None if prefix is None else os.path.join(os.fsencode(root), os.fsencode(prefix)),
    )


def literal_prefix(globs: list[str]) -> str | None:
    """The folder, relative to the root, below which every file the globs can keep must lie: the
    literal leading folders shared by all positive globs when each is anchored (``src/**/*.rs``
    -> ``src``). None when some positive glob can match anywhere, or there is none."""
    common: list[str] | None = None
    for glob in globs:
        if not glob or glob.startswith(("!", "#")):
            continue
        if glob.startswith("\\") or glob.endswith(" "):
            return None
        anchored = glob.startswith("/")
        line = glob.lstrip("/").rstrip("/")
        if not anchored and "/" not in line:
            return None
        parts = line.split("/")
        literal = []
        for part in parts[:-1]:
            if not is_literal_folder(part):
                break
            literal.append(part)
        if common is None:
            common = literal
        else:
            shared = []
            for a, b in zip(common, literal, strict=False):
                if a != b:
                    break
                shared.append(a)
            common = shared
    return "/".join(common) if common else None


def is_literal_folder(name: str) -> bool:
    return bool(name) and name not in (".", "..") and not any(c in GLOB_META for c in name)


#: Characters with a meaning in a glob; a folder name without them is matched literally.
GLOB_META = "*?[]{}\\"


def collect_files(root: str, options: WalkOptions, keep: Callable[[bytes], T | None]) -> list[T]:
    """``keep(path)`` for every regular file the walk visits (``path`` as bytes, the name's own
    encoding); entries the walk cannot read are skipped. The order is unspecified."""
    return collect_files_with(root, options, lambda: None, lambda _state, path: keep(path))


def collect_files_with(
    root: str, options: WalkOptions, init: Callable[[], S], keep: Callable[[S, bytes], T | None]
) -> list[T]:
    """Like :func:`collect_files` with state from ``init`` lent to every call (one walk thread
    here, so one state)."""
    walk = builder(root, options)
    state = init()
    found: list[T] = []

    def visit(path: bytes) -> None:
        value = keep(state, path)
        if value is not None:
            found.append(value)

    walk.run(visit)
    return found


def is_file(path: bytes) -> bool:
    """Whether ``path`` is a regular file (following symlinks)."""
    return os.path.isfile(path)


def relative(root: str, path: bytes) -> str:
    """``path`` relative to ``root``, ``/``-separated, lossy for names that are not UTF-8."""
    prefix = os.fsencode(root)
    if not prefix.endswith(b"/"):
        prefix += b"/"
    rel = path[len(prefix) :] if path.startswith(prefix) else path
    return display(rel)


def display(path: bytes) -> str:
    """A path as text; undecodable bytes become U+FFFD, as Rust's ``to_string_lossy`` does."""
    return path.decode("utf-8", "replace")
