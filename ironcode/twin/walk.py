"""Twin of native/tool/src/walk.rs: the one directory walk behind file_list, glob and grep.

The native side applies the ``ignore`` crate's own matchers as ripgrep's walker does (its port of the
crate's ``dir.rs`` is ``native/tool/src/walk/ripgrep_ignore.rs``) in its own traversal; here the same
rules come from :mod:`ironcode.twin.ripgrep_ignore`, a port of that crate, walked with
``os.scandir``: ignore files inside a git repository and in parent folders with ripgrep's
precedence, globs as ripgrep ``--glob`` overrides, ``.git`` never entered, symlinks skipped unless
followed (loops detected), unreadable folders skipped.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from ..errors import IronCodeError, from_os_error
from . import ripgrep_ignore
from .confine import RESOURCE_ERRNOS, Place, Root
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
    #: Confined to a root: where the walk starts and what it may open (:class:`Beneath`).
    beneath: Beneath | None = None


class Beneath:
    """A walk confined to a root (walk.rs ``Beneath``): it starts from a folder opened beneath the
    root, opens every folder relative to its open parent without following a symlink, and reaches
    what a symlink names (with ``follow``) only through the root. Rule files of the folders between
    the root and the walked folder are read beneath the root too; those above it, as without one."""

    def __init__(self, root: Root, place: Place, start: int) -> None:
        self.root = root
        self.start = start
        self.rel = place.rel
        try:
            real = os.readlink(f"/proc/self/fd/{start}")
        except OSError:
            real = os.path.join(root.real, os.fsdecode(place.rel))
        self.real = os.fsencode(os.path.normpath(real))

    def below_root(self, relative: bytes) -> bytes:
        return os.path.join(self.rel, relative) if self.rel else relative

    def open(self, relative: bytes, flags: int) -> int | None:
        """Opens what a walked path names through the root; None where it cannot or leads out."""
        return self.root.open_below_or_none(self.below_root(relative), flags)

    def rule_files_of(self, folder: bytes):
        real = os.fsencode(self.root.real)
        if ripgrep_ignore._starts_with(folder, real):
            return RuleFilesBelow(self.root, folder[len(real) :].lstrip(b"/"))
        return ripgrep_ignore.ByPath(folder)


class RuleFilesBelow:
    """The rule files of a folder reached through the root's resolver, by its path below the root."""

    def __init__(self, root: Root, rel: bytes) -> None:
        self.root, self.rel = root, rel

    def _open(self, name: bytes, flags: int) -> int | None:
        return self.root.open_below_or_none(os.path.join(self.rel, name) if self.rel else name, flags)

    def read(self, name: bytes) -> bytes | None:
        return _read_fd(self._open(name, os.O_RDONLY))

    def is_file(self, name: bytes) -> bool | None:
        fd = self._open(name, os.O_PATH)
        if fd is None:
            return None
        try:
            return stat.S_ISREG(os.fstat(fd).st_mode)
        finally:
            os.close(fd)


class RuleFilesIn:
    """The rule files of a folder a confined walk has open: looked up in it without following a
    symlink; a symlink, or a name with ``/``, goes through the root's resolver."""

    def __init__(self, dir_fd: int, beneath: Beneath, relative: bytes) -> None:
        self.dir_fd, self.beneath, self.relative = dir_fd, beneath, relative

    def _below(self, name: bytes) -> bytes:
        return os.path.join(self.relative, name) if self.relative else name

    def read(self, name: bytes) -> bytes | None:
        if b"/" in name:
            return _read_fd(self.beneath.open(self._below(name), os.O_RDONLY))
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self.dir_fd)
        except OSError as e:
            if e.errno == errno.ELOOP:
                return _read_fd(self.beneath.open(self._below(name), os.O_RDONLY))
            return None
        return _read_fd(fd)

    def is_file(self, name: bytes) -> bool | None:
        try:
            info = os.stat(name, dir_fd=self.dir_fd, follow_symlinks=False)
        except OSError:
            return None
        if stat.S_ISLNK(info.st_mode):
            fd = self.beneath.open(self._below(name), os.O_PATH)
            if fd is None:
                return None
            try:
                info = os.fstat(fd)
            finally:
                os.close(fd)
        return stat.S_ISREG(info.st_mode)


def _read_fd(fd: int | None) -> bytes | None:
    if fd is None:
        return None
    try:
        with open(fd, "rb") as f:
            return f.read()
    except OSError:
        return None


class EntryPath(bytes):
    """A file a confined walk found: its path, plus what opening it beneath the root takes (its
    open folder, its name there, whether it is a followed symlink). Plain ``bytes`` elsewhere."""

    dir_fd: int
    name: str
    via_link: bool
    beneath: Beneath
    relative: bytes


def open_entry(path: bytes) -> int:
    """Opens a walked file for reading (a confined one never through a symlink out of the root);
    raises OSError."""
    if not isinstance(path, EntryPath):
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    if path.via_link:
        fd = path.beneath.open(path.relative, os.O_RDONLY)
        if fd is None:
            raise OSError(errno.ENOENT, "not beneath the root")
        return fd
    return os.open(path.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=path.dir_fd)


def stat_entry(path: bytes) -> os.stat_result:
    """``os.stat`` of a walked file, following symlinks (a confined one beneath the root)."""
    if not isinstance(path, EntryPath):
        return os.stat(path)
    if path.via_link:
        fd = path.beneath.open(path.relative, os.O_PATH)
        if fd is None:
            raise OSError(errno.ENOENT, "not beneath the root")
        try:
            return os.fstat(fd)
        finally:
            os.close(fd)
    return os.stat(path.name, dir_fd=path.dir_fd, follow_symlinks=False)


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


@contextlib.contextmanager
def searching(path: str, root: str | None) -> Iterator[tuple[str, Beneath | None]]:
    """:func:`search_root`, or with ``root`` the folder opened beneath it: its path as results
    spell it and the :class:`Beneath` a walk of it needs (closed after the ``with``)."""
    if root is None:
        yield search_root(path), None
        return
    with search_target_beneath(path, root) as (kind, shown, opened):
        if kind != "folder":
            raise IronCodeError(
                "not_a_directory", f"Path is not a directory: {shown} (pass the folder that contains it)"
            )
        yield shown, opened


@contextlib.contextmanager
def search_target_beneath(path: str, root: str):
    """What a confined search was pointed at: ``("folder", shown, Beneath)``, ``("file", shown,
    fd)`` or ``("other", shown, None)`` (a FIFO or device: never read, it could block)."""
    with Root.open(root) as confined:
        place = confined.place(path)
        fd = confined.open_file(place, os.O_RDONLY | os.O_NONBLOCK)
        try:
            mode = os.fstat(fd).st_mode
            if stat.S_ISDIR(mode):
                yield "folder", place.shown, Beneath(confined, place, fd)
            elif stat.S_ISREG(mode):
                yield "file", place.shown, fd
            else:
                yield "other", place.shown, None
        finally:
            os.close(fd)


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

    if options.beneath is None:
        walk.run(visit)
    else:
        run_beneath(walk, options.beneath, visit)
    return found


class _Shared:
    """An open folder shared by the subfolders queued from it, closed when the last is opened."""

    def __init__(self, fd: int, users: int) -> None:
        self.fd, self.users = fd, users

    def release(self) -> None:
        self.users -= 1
        if self.users == 0:
            os.close(self.fd)


def run_beneath(walk: ripgrep_ignore.Walk, beneath: Beneath, visit_file: Callable[[bytes], None]) -> None:
    """``Walk.run`` confined to a root (walk.rs's confined walk): folders opened by name in their
    open parent with ``O_NOFOLLOW``, followed symlinks only through the root, never a link out."""
    root_ig = walk.add_parents(ripgrep_ignore.base_ignore(), beneath.real, beneath.rule_files_of)
    ancestors = root_ancestors_beneath(beneath) if walk.follow else ()
    # (path, relative to the walked folder, depth, rules, parent (None: open through the root or
    # the start), via a followed link, folders it lies in (with follow))
    stack: list[tuple] = [(walk.root, b"", 0, root_ig, None, False, ancestors)]
    start = True
    try:
        while stack:
            path, relative, depth, ig, parent, via_link, ancestors = stack.pop()
            if start:
                fd, start = os.dup(beneath.start), False
            else:
                fd = _open_dir_beneath(beneath, parent, relative, via_link)
            if fd is None:
                continue
            try:
                if walk.max_depth is not None and depth >= walk.max_depth:
                    continue
                _read_dir_beneath(walk, beneath, fd, path, relative, depth, ig, ancestors, stack, visit_file)
            finally:
                os.close(fd)
    finally:
        for item in stack:
            if item[4] is not None:
                item[4].release()


def _open_dir_beneath(
    beneath: Beneath, parent: _Shared | None, relative: bytes, via_link: bool
) -> int | None:
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
    try:
        if parent is not None and not via_link:
            try:
                return os.open(os.path.basename(relative), flags | os.O_NOFOLLOW, dir_fd=parent.fd)
            except OSError as e:
                if e.errno in RESOURCE_ERRNOS:
                    raise from_os_error(e, os.fsdecode(relative)) from None
                return None
        return beneath.open(relative, flags)
    finally:
        if parent is not None:
            parent.release()


def _read_dir_beneath(walk, beneath, fd, path, relative, depth, ig, ancestors, stack, visit_file) -> None:
    try:
        with os.scandir(fd) as it:
            entries = list(it)
    except OSError as e:
        if e.errno in RESOURCE_ERRNOS:
            raise from_os_error(e, os.fsdecode(path)) from None
        return
    ig = ripgrep_ignore.add_child_path(
        ig, path, {os.fsencode(e.name) for e in entries}, RuleFilesIn(fd, beneath, relative)
    )
    if walk.follow:
        info = os.fstat(fd)
        ancestors = (*ancestors, (info.st_dev, info.st_ino))
    subfolders = []
    for entry in entries:
        name = os.fsencode(entry.name)
        child_path = os.path.join(path, name)
        child_relative = os.path.join(relative, name) if relative else name
        try:
            is_symlink = entry.is_symlink()
            is_dir = entry.is_dir(follow_symlinks=False)
            is_file = entry.is_file(follow_symlinks=False)
        except OSError:
            continue
        via_link = False
        if walk.follow and is_symlink:
            target = beneath.open(child_relative, os.O_PATH)
            if target is None:
                continue  # broken, a loop of links, or out of the root: skipped
            try:
                info = os.fstat(target)
            finally:
                os.close(target)
            is_dir, is_file, via_link = stat.S_ISDIR(info.st_mode), stat.S_ISREG(info.st_mode), True
            if is_dir and (info.st_dev, info.st_ino) in ancestors:
                continue
        elif is_symlink:
            continue
        if walk.should_skip_entry(ig, child_path, name, is_dir):
            continue
        if walk.only_towards is not None and not ripgrep_ignore._on_the_way(walk.only_towards, child_path):
            continue
        if is_dir:
            subfolders.append((child_path, child_relative, depth + 1, ig, via_link, ancestors))
        elif is_file:
            found = EntryPath(child_path)
            found.dir_fd, found.name, found.via_link = fd, entry.name, via_link
            found.beneath, found.relative = beneath, child_relative
            visit_file(found)
    if subfolders:
        shared = _Shared(os.dup(fd), len(subfolders))
        for child_path, child_relative, child_depth, child_ig, via_link, child_ancestors in subfolders:
            stack.append(
                (child_path, child_relative, child_depth, child_ig, shared, via_link, child_ancestors)
            )


def root_ancestors_beneath(beneath: Beneath) -> tuple:
    """The folders between the root and the walked one (device, inode), found beneath the root: a
    followed link to one of them is a loop (one above the root leads out and is never followed)."""
    real_root = os.fsencode(beneath.root.real)
    if not ripgrep_ignore._starts_with(beneath.real, real_root):
        return ()
    inside = [p for p in beneath.real[len(real_root) :].split(b"/") if p]
    found = []
    for depth in range(len(inside)):
        fd = beneath.root.open_below_or_none(b"/".join(inside[:depth]), os.O_PATH)
        if fd is None:
            return tuple(found)
        try:
            info = os.fstat(fd)
        finally:
            os.close(fd)
        found.append((info.st_dev, info.st_ino))
    return tuple(found)


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
