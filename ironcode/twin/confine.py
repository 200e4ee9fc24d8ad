"""Twin of native/tool/src/confine.rs: the paths of a confined operation (``root=``), resolved
beneath the root folder's descriptor.

The root is opened once (:meth:`Root.open`, the only by-name open of this module); every later
open, create and listing goes through ``os.open(..., dir_fd=...)`` and friends from a descriptor
obtained beneath it. Python has no ``openat2``, so the twin always takes the walk the native side
falls back to: one component at a time from the folder reached so far, with ``O_NOFOLLOW``; a
symlink is read with ``os.readlink(name, dir_fd=...)`` and its target walked the same way (an
absolute target must name the root, as given or by its real path); ``..`` returns to the folder
the walk came from, and above the root it is ``outside_root``.

Functions of a ``*_beneath`` code path take folder descriptors and never open by name, which
``test/test_confine_lint.py`` checks (and ``test/test_confine_syscalls.py``, under strace).
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass

from ..errors import IronCodeError, from_os_error
from .paths import absolute

#: Symlinks followed in one resolution before it is a loop (the kernel's limit too).
MAX_SYMLINKS = 40
#: Times a component may change under the walk before the call gives up with ``io``.
MAX_CHANGES = 100
#: Folders created below a root get these bits before the umask, as ``mkdir -p``.
NEW_FOLDER_MODE = 0o777
#: Components of the path argument carry this instead of the index of the symlink they came from.
FROM_ARGUMENT = -1

DIRECTORY, FILE, SYMLINK, OTHER = "dir", "file", "symlink", "other"
_PATH_DIR = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_LISTABLE = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


def kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return DIRECTORY
    if stat.S_ISREG(mode):
        return FILE
    if stat.S_ISLNK(mode):
        return SYMLINK
    return OTHER


@dataclass
class Place:
    """A path argument taken apart: ``rel`` below the root as given (``.``/``..`` kept), ``shown``
    as results spell it, ``given`` as the caller wrote it."""

    rel: bytes
    shown: str
    given: str


@dataclass
class Located:
    """Where a path ends: the folder holding it (an open descriptor the caller closes), its name
    there (``.`` for the folder itself), what it is (None: missing) and how results spell it."""

    dir: int
    name: bytes
    kind: str | None
    shown: str

    def dir_shown(self) -> str:
        return os.path.dirname(self.shown) or "/"

    def open(self, flags: int) -> int:
        """Opens the located file (never through a symlink: one swapped in since is ``io``)."""
        try:
            return os.open(self.name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self.dir)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise changed_error(self.shown) from None
            raise os_error(e, self.shown) from None

    def close(self) -> None:
        os.close(self.dir)

    def __enter__(self) -> Located:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Root:
    """A root folder, opened once: the descriptor every confined path is resolved beneath."""

    def __init__(self, fd: int, shown: str) -> None:
        self.fd = fd
        self.shown = shown
        self._real: str | None = None

    @classmethod
    def open(cls, root: str) -> Root:
        """Opens the root: made absolute, a symlink resolved once. Missing is ``not_found``, not a
        folder ``not_a_directory``."""
        shown = absolute(root)
        try:
            try:
                fd = os.open(shown, _LISTABLE)
            except PermissionError:  # one may enter it without listing it
                fd = os.open(shown, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as e:
            if e.errno == errno.ENOENT:
                raise IronCodeError("not_found", f"Root not found: {shown}") from None
            if e.errno == errno.ENOTDIR:
                raise IronCodeError("not_a_directory", f"Root is not a folder: {shown}") from None
            raise os_error(e, shown) from None
        return cls(fd, shown)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Root:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def real(self) -> str:
        """Where the root really is, from its descriptor (``/proc/self/fd``), else its name."""
        if self._real is None:
            try:
                self._real = os.readlink(f"/proc/self/fd/{self.fd}")
            except OSError:
                self._real = os.path.realpath(self.shown)
        return self._real

    def place(self, path: str) -> Place:
        """A path argument: relative paths from the root; an absolute one must start with the root
        (as given, else its real path, compared by components); else ``outside_root``."""
        path = _text_path(path)
        if not path:
            raise IronCodeError("invalid_argument", "path is empty")
        if "\0" in path:
            raise IronCodeError("invalid_argument", "path contains a NUL byte")
        try:
            raw = path.encode("utf-8")
        except UnicodeEncodeError:
            raise IronCodeError("invalid_argument", "argument 'path' is not valid UTF-8") from None
        if path.startswith("/"):
            rest = self.strip_root(raw)
            if rest is None:
                raise self.outside(path, "give a path inside the root")
            rel = rest
        else:
            rel = raw
        return Place(rel, _normalize(self.shown, rel), path)

    def place_below(self, rel: bytes) -> Place:
        """A place below the root found by a walk (``rel`` relative to the root)."""
        shown = _normalize(self.shown, rel)
        return Place(rel, shown, shown)

    def strip_root(self, path: bytes) -> bytes | None:
        """What follows the root in the absolute ``path``: the root as given, else its real path."""
        rest = _strip_prefix(path, os.fsencode(self.shown))
        if rest is None:  # the real path is looked up only when needed (a readlink of /proc)
            rest = _strip_prefix(path, os.fsencode(self.real))
        return rest

    def open_file(self, place: Place, flags: int) -> int:
        """Opens what ``place`` names, following symlinks that stay inside; the caller closes it."""
        fd = self._straight(place.rel, flags)
        if fd is not None:
            return fd
        return _Walker(self, place).run(("open", flags))

    def _straight(self, rel: bytes, flags: int) -> int | None:
        """The twin's ``openat2`` (confine.rs ``beneath``): a path of plain names opened one by one
        with ``O_NOFOLLOW``, in a few calls and no bookkeeping. None, having opened nothing, when a
        component is ``.``, ``..``, a symlink or anything else the walk must decide."""
        parts = rel.split(b"/")
        if not rel or b"." in parts or b".." in parts:
            return None
        fd = self.fd
        try:
            for part in parts[:-1]:
                if part:
                    inner = os.open(part, _PATH_DIR, dir_fd=fd)
                    if fd != self.fd:
                        os.close(fd)
                    fd = inner
            found = os.open(parts[-1] or b".", flags | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        except OSError:
            return None
        finally:
            if fd != self.fd:
                os.close(fd)
        if flags & os.O_PATH and stat.S_ISLNK(os.fstat(found).st_mode):
            os.close(found)
            return None
        return found

    def open_below(self, rel: bytes, flags: int) -> int:
        return self.open_file(self.place_below(rel), flags)

    def open_below_or_none(self, rel: bytes, flags: int) -> int | None:
        """:meth:`open_below` for a walk: None where it cannot be opened or leads out. Running out
        of descriptors or memory still raises (the answer would silently lack what it skipped)."""
        try:
            return self.open_below(rel, flags)
        except IronCodeError as e:
            if getattr(e, "errno", None) in RESOURCE_ERRNOS:
                raise
            return None

    def locate(self, place: Place, create: bool, follow_last: bool) -> Located:
        """The folder holding what ``place`` names and its name there (see confine.rs ``Locate``)."""
        return _Walker(self, place).run(("locate", create, follow_last))

    def outside(self, given: str, why: str) -> IronCodeError:
        return IronCodeError("outside_root", f"Path is outside the root {self.shown}: {given} ({why})")


#: Running out of these is not "unreadable": a walk that meets them fails instead of skipping.
RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM})


def _text_path(path: object) -> str:
    """A path argument as text (str, bytes in UTF-8, or os.PathLike), as paths.absolute takes it."""
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if isinstance(path, bytes):
        try:
            path = path.decode("utf-8")
        except UnicodeDecodeError:
            raise IronCodeError("invalid_argument", "argument 'path' is not valid UTF-8") from None
    if not isinstance(path, str):
        raise IronCodeError("invalid_argument", f"path must be a string, got {type(path).__name__}")
    return path


def os_error(err: OSError, path: str) -> IronCodeError:
    """``from_os_error``, keeping the errno on the error (a walk tells resources from the rest)."""
    error = from_os_error(err, path)
    error.errno = err.errno
    return error


def _strip_prefix(path: bytes, prefix: bytes) -> bytes | None:
    """``Path::strip_prefix``: by components, ``.`` and empty parts dropped."""
    if path.startswith(prefix) and path[len(prefix) : len(prefix) + 1] in (b"/", b"") and b"/." not in prefix:
        return path[len(prefix) :].lstrip(b"/")  # the common case: the prefix spelled alike
    parts = [p for p in path.split(b"/") if p not in (b"", b".")]
    head = [p for p in prefix.split(b"/") if p not in (b"", b".")]
    if parts[: len(head)] != head:
        return None
    return b"/".join(parts[len(head) :])


def _normalize(base: str, rel: bytes) -> str:
    """``base`` joined with ``rel``, folded lexically (paths.rs ``normalize``)."""
    out: list[str] = []
    for part in [*base.split("/"), *os.fsdecode(rel).split("/")]:
        if part in ("", "."):
            continue
        if part == "..":
            if out:
                out.pop()
        else:
            out.append(part)
    return "/" + "/".join(out)


class _Walker:
    """One resolution: the folders entered below the root and what is left to resolve."""

    def __init__(self, root: Root, place: Place) -> None:
        self.root = root
        self.place = place
        self.dirs: list[tuple[int, bytes]] = []  # innermost last, with their names
        self.todo: list[tuple[bytes, int]] = []  # next last, with the symlink it came from
        self.links: list[tuple[str, bytes]] = []
        self.changes = 0
        self.final_via_link = False
        self.push_path(place.rel, FROM_ARGUMENT)

    def run(self, want: tuple):
        try:
            return self._run(want)
        finally:
            self._pop_all()

    def push_path(self, path: bytes, origin: int) -> None:
        parts = [p for p in path.split(b"/") if p]
        self.todo.extend((p, origin) for p in reversed(parts))

    def top(self) -> int:
        return self.dirs[-1][0] if self.dirs else self.root.fd

    def here(self) -> str:
        return os.path.join(self.root.shown, *(os.fsdecode(n) for _, n in self.dirs))

    def _pop(self) -> None:
        fd, _ = self.dirs.pop()
        os.close(fd)

    def _pop_all(self) -> None:
        while self.dirs:
            self._pop()

    def _run(self, want: tuple):
        while True:
            if not self.todo:
                return self.reached_folder(want)
            name, origin = self.todo.pop()
            if name == b".":
                continue
            if name == b"..":
                if not self.dirs:
                    raise self.climbs_out(origin)
                self._pop()
                continue
            last = not self.todo
            if not last:
                self.enter(name, origin, want[0] == "locate" and want[1])
                continue
            done = (
                self.open_last(name, origin, want[1])
                if want[0] == "open"
                else self.locate_last(name, origin, want)
            )
            if done is not None:
                return done

    def reached_folder(self, want: tuple):
        if want[0] == "open":
            try:
                return os.open(".", want[1] | os.O_CLOEXEC, dir_fd=self.top())
            except OSError as e:
                raise os_error(e, self.place.shown) from None
        return Located(self.top_copy(), b".", DIRECTORY, self.place.shown)

    def enter(self, name: bytes, origin: int, create: bool) -> None:
        try:
            fd = os.open(name, _PATH_DIR, dir_fd=self.top())
        except FileNotFoundError:
            if not create:
                raise os_error(FileNotFoundError(errno.ENOENT, ""), self.place.shown) from None
            if not self.skip_balanced():
                try:
                    os.mkdir(name, NEW_FOLDER_MODE, dir_fd=self.top())
                except FileExistsError:
                    pass
                except OSError as e:
                    raise os_error(e, os.path.join(self.here(), os.fsdecode(name))) from None
                self.todo.append((name, origin))  # entered at the next step
            return
        except NotADirectoryError:
            kind = self.classify(name)
            if kind == SYMLINK:
                self.follow(name, origin, False)
            elif kind in (DIRECTORY, None):
                self.changed(name, origin)
            else:
                raise os_error(NotADirectoryError(errno.ENOTDIR, ""), self.place.shown) from None
            return
        except OSError as e:
            raise os_error(e, self.place.shown) from None
        self.dirs.append((fd, name))

    def skip_balanced(self) -> bool:
        """A missing folder followed by a ``..`` returning from it needs no creating."""
        depth = 1
        for at in range(len(self.todo) - 1, -1, -1):
            part = self.todo[at][0]
            if part == b".":
                continue
            if part == b"..":
                depth -= 1
                if depth == 0:
                    del self.todo[at:]
                    return True
            else:
                depth += 1
        return False

    def open_last(self, name: bytes, origin: int, flags: int) -> int | None:
        try:
            fd = os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self.top())
            if not flags & os.O_PATH or not stat.S_ISLNK(os.fstat(fd).st_mode):
                return fd
            os.close(fd)  # with O_PATH, O_NOFOLLOW opens a symlink itself: follow it
            code = errno.ELOOP
        except OSError as e:
            if e.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise os_error(e, self.final_shown(name)) from None
            code = e.errno
        kind = self.classify(name)
        if kind == SYMLINK:
            self.follow(name, origin, True)
        elif code == errno.ENOTDIR and kind not in (None, DIRECTORY):
            raise os_error(NotADirectoryError(errno.ENOTDIR, ""), self.place.shown)
        else:
            self.changed(name, origin)
        return None

    def locate_last(self, name: bytes, origin: int, want: tuple) -> Located | None:
        _, _create, follow_last = want
        try:
            kind = kind_of(os.stat(name, dir_fd=self.top(), follow_symlinks=False).st_mode)
        except FileNotFoundError:
            kind = None
        except OSError as e:
            raise os_error(e, self.place.shown) from None
        if kind == SYMLINK:
            if follow_last:
                self.follow(name, origin, True)
                return None
            return self.locate_link(name, origin)
        return Located(self.top_copy(), name, kind, self.final_shown(name))

    def locate_link(self, name: bytes, origin: int) -> Located:
        """A last-component symlink the operation acts on itself: located if where it leads stays
        inside the root, ``outside_root`` otherwise."""
        fd = self.top_copy()
        shown = self.final_shown(name)
        try:
            self.follow(name, origin, True)
            found = self._run(("locate", False, True))
        except IronCodeError as e:
            if e.kind == "outside_root":
                os.close(fd)
                raise
        else:
            found.close()
        return Located(fd, name, SYMLINK, shown)

    def final_shown(self, name: bytes) -> str:
        if self.final_via_link:
            return os.path.join(self.here(), os.fsdecode(name))
        return self.place.shown

    def classify(self, name: bytes) -> str | None:
        try:
            return kind_of(os.stat(name, dir_fd=self.top(), follow_symlinks=False).st_mode)
        except OSError:
            return None

    def follow(self, name: bytes, origin: int, last: bool) -> None:
        if len(self.links) >= MAX_SYMLINKS:
            raise os_error(OSError(errno.ELOOP, os.strerror(errno.ELOOP)), self.place.shown)
        try:
            target = os.readlink(name, dir_fd=self.top())
        except OSError as e:
            if e.errno in (errno.EINVAL, errno.ENOENT):  # no longer a symlink: look again
                self.changed(name, origin)
                return
            raise os_error(e, self.place.shown) from None
        self.links.append((os.path.join(self.here(), os.fsdecode(name)), target))
        index = len(self.links) - 1
        if last:
            self.final_via_link = True
        if target.startswith(b"/"):
            rest = self.root.strip_root(target)
            if rest is None:
                raise self.link_out(index)
            self._pop_all()
            self.push_path(rest, index)
        else:
            self.push_path(target, index)

    def changed(self, name: bytes, origin: int) -> None:
        self.changes += 1
        if self.changes > MAX_CHANGES:
            raise changed_error(self.place.shown)
        self.todo.append((name, origin))

    def top_copy(self) -> int:
        """A readable descriptor of the current folder that outlives the walk."""
        try:
            return os.open(".", _LISTABLE, dir_fd=self.top())
        except OSError:
            try:
                return os.dup(self.top())
            except OSError as e:
                raise os_error(e, self.here()) from None

    def climbs_out(self, origin: int) -> IronCodeError:
        if origin == FROM_ARGUMENT:
            return self.root.outside(self.place.given, "`..` climbs above the root")
        return self.link_out(origin)

    def link_out(self, index: int) -> IronCodeError:
        at, target = self.links[index]
        why = f"the symlink {at} points to {target.decode('utf-8', 'replace')}, outside the root"
        return self.root.outside(self.place.given, why)


def changed_error(path: str) -> IronCodeError:
    return IronCodeError(
        "io",
        "The path kept changing while it was resolved (a folder or symlink on the way was replaced); "
        f"try again: {path}",
    )
