"""The toolbox's roots: which root holds a path, and the few reads the toolbox does itself.

Every path a model gives is made absolute (relative paths from the first root; ``~`` is a name
like any other), resolved — ``..``, symlinks at any depth, the deepest existing ancestor of a path
that does not exist yet — and must land inside a root, compared by path components (``/a/b-evil``
is not inside ``/a/b``: a peer MCP server's string-prefix test lets it through). The engine is then
handed the resolved path *and the root that holds it* (``root=``, OPERATIONS "Confined
operations"): it opens beneath the root's descriptor, so a component swapped for a symlink after
this check still cannot lead out.

The toolbox reads bytes itself only for the read rule's versions and the text editor's folder view
and insert. Those opens follow links as the engine does, then check where the descriptor really
landed (``/proc/self/fd``) before reading a byte: a check on the open file, not on a name.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass

from .errors import IronCodeError, from_os_error

#: One read of a file the toolbox fingerprints.
READ_CHUNK_BYTES = 1024 * 1024
#: Where Linux shows what an open descriptor refers to.
PROC_FD = "/proc/self/fd"


@dataclass(frozen=True)
class Located:
    """A path argument, resolved: ``path`` (absolute, links followed) and the ``root`` holding it."""

    path: str
    root: str
    given: str


def is_within(path: str, folder: str) -> bool:
    """True when the absolute ``path`` is ``folder`` or below it, by whole path components
    (``os.path.commonpath`` splits on separators: ``/a/b-evil`` shares only ``/a`` with ``/a/b``)."""
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # one relative, one absolute: never inside
        return False


class Roots:
    """The folders a toolbox may touch, resolved once (a root given through a symlink is its target)."""

    def __init__(self, roots: list[str] | str) -> None:
        if isinstance(roots, (str, os.PathLike)):
            roots = [roots]
        folders: list[str] = []
        for root in roots:
            root = os.fspath(root)
            if not isinstance(root, str) or not root or "\0" in root:
                raise IronCodeError("invalid_argument", f"A root must be a folder path, got {root!r}")
            real = os.path.realpath(os.path.abspath(root))
            if not os.path.exists(real):
                raise IronCodeError("not_found", f"Root folder not found: {root}")
            if not os.path.isdir(real):
                raise IronCodeError("not_a_directory", f"A root must be a folder: {root}")
            if real not in folders:
                folders.append(real)
        if not folders:
            raise IronCodeError("invalid_argument", "A toolbox needs at least one root folder")
        self.folders: tuple[str, ...] = tuple(folders)
        self.first = folders[0]
        #: Files the toolbox itself wrote outside the roots that the model may read (bash's spill
        #: files, whose path the bash text gives), each with the folder to confine the read to.
        self._spills: dict[str, str] = {}

    # -- resolving -------------------------------------------------------------------------------

    def absolute(self, path: str, argument: str = "path", base: str | None = None) -> str:
        """``path`` made absolute from ``base`` (default: the first root), lexically."""
        if not isinstance(path, str):
            raise IronCodeError("invalid_argument", f"Invalid argument '{argument}': it must be a string.")
        if "\0" in path:
            raise IronCodeError(
                "invalid_argument",
                f"Invalid argument '{argument}': it contains a NUL byte, which no path can hold.",
            )
        if not path:
            raise IronCodeError(
                "invalid_argument", f"Invalid argument '{argument}': it is empty; give a path."
            )
        joined = path if path.startswith("/") else os.path.join(base or self.first, path)
        return "/" + os.path.normpath(joined).lstrip("/")

    def holder(self, real: str) -> str | None:
        """The root that holds the resolved path ``real`` (the deepest, when roots nest), or None."""
        holding = [root for root in self.folders if is_within(real, root)]
        return max(holding, key=len) if holding else None

    def resolve(
        self,
        path: str | None,
        argument: str = "path",
        *,
        base: str | None = None,
        follow_last: bool = True,
        writing: bool = False,
    ) -> Located:
        """``path`` (None: the first root) resolved and confined; ``outside_root`` otherwise.

        ``writing=True`` for a path about to be changed: bash's saved output (a spill file outside
        the roots) may be read, never changed.

        ``follow_last=False`` resolves the folders but keeps the last component as named (git
        stages a symlink as a link, not the file it points at)."""
        given = self.absolute(self.first if path is None else path, argument, base)
        if follow_last:
            real = os.path.realpath(given)
        else:
            parent, name = os.path.split(given)
            real = os.path.join(os.path.realpath(parent), name) if name else os.path.realpath(parent)
        root = self.holder(real)
        if root is None:
            spill_root = self._spills.get(real)
            if spill_root is not None and not writing:
                return Located(real, spill_root, given)
            raise outside_root(path if path is not None else given, real, self.folders)
        return Located(real, root, given)

    def folder(self, path: str | None, argument: str = "path") -> Located:
        """A folder argument: resolved, confined, and a folder (``not_found``/``not_a_directory``)."""
        located = self.resolve(path, argument)
        try:
            st = os.stat(located.path)
        except OSError as e:
            raise from_os_error(e, located.path) from None
        if not stat.S_ISDIR(st.st_mode):
            raise IronCodeError("not_a_directory", f"Not a folder: {located.path}")
        return located

    # -- the toolbox's own reads -----------------------------------------------------------------

    def open_confined(self, located: Located, flags: int = os.O_RDONLY) -> int | None:
        """A descriptor on ``located`` once the open file is known to be inside its root; None
        when nothing exists there. ``outside_root`` if what was opened lies outside."""
        try:
            fd = os.open(located.path, flags | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise from_os_error(e, located.path) from None
        try:
            landed = os.readlink(f"{PROC_FD}/{fd}")
        except OSError:
            landed = None
        if landed is None or not (
            is_within(landed, located.root) or self._spills.get(landed) == located.root
        ):
            os.close(fd)
            raise outside_root(located.given, landed or located.path, self.folders)
        return fd

    def read_bytes(self, located: Located, limit: int | None = None) -> bytes | None:
        """The file's bytes (None if missing); at most ``limit`` bytes when given."""
        fd = self.open_confined(located)
        if fd is None:
            return None
        try:
            _require_file(fd, located.path)
            chunks = []
            size = 0
            while limit is None or size < limit:
                want = READ_CHUNK_BYTES if limit is None else min(READ_CHUNK_BYTES, limit - size)
                chunk = os.read(fd, want)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            return b"".join(chunks)
        except OSError as e:
            raise from_os_error(e, located.path) from None
        finally:
            os.close(fd)

    def fingerprint(self, located: Located, keep_bytes: int) -> tuple[bytes, int, bytes | None] | None:
        """(digest of the whole content, size, the content if at most ``keep_bytes``), or None
        when there is no file; streamed, so a huge file costs no memory."""
        fd = self.open_confined(located)
        if fd is None:
            return None
        try:
            _require_file(fd, located.path)
            digest = hashlib.blake2b(digest_size=32)
            kept: list[bytes] | None = []
            size = 0
            while True:
                chunk = os.read(fd, READ_CHUNK_BYTES)
                if not chunk:
                    break
                digest.update(chunk)
                size += len(chunk)
                if kept is not None:
                    kept.append(chunk)
                    if size > keep_bytes:
                        kept = None
            return digest.digest(), size, (b"".join(kept) if kept is not None else None)
        except OSError as e:
            raise from_os_error(e, located.path) from None
        finally:
            os.close(fd)

    def exists(self, located: Located) -> bool:
        return os.path.lexists(located.path)

    # -- spill files -----------------------------------------------------------------------------

    def add_spill(self, path: str) -> None:
        """Lets the model read (and grep) ``path``, a file the toolbox wrote for it."""
        real = os.path.realpath(path)
        self._spills[real] = os.path.dirname(real)

    def is_spill(self, path: str) -> bool:
        return os.path.realpath(path) in self._spills

    def remove_spills(self) -> None:
        for path in list(self._spills):
            try:
                os.unlink(path)
            except OSError:
                pass
        self._spills.clear()


def digest_of(data: bytes) -> bytes:
    """The digest :meth:`Roots.fingerprint` computes, of bytes in memory."""
    return hashlib.blake2b(data, digest_size=32).digest()


def _require_file(fd: int, path: str) -> None:
    mode = os.fstat(fd).st_mode
    if stat.S_ISDIR(mode):
        raise IronCodeError("is_directory", f"Path is a directory, not a file: {path}")
    if not stat.S_ISREG(mode):
        raise IronCodeError("invalid_argument", f"Not a regular file: {path}")


def outside_root(given: str, real: str, roots: tuple[str, ...]) -> IronCodeError:
    where = f" (it resolves to {real})" if real != given else ""
    listed = ", ".join(roots)
    return IronCodeError(
        "outside_root",
        f"{given} is outside the project{where}. This toolbox works only inside: {listed}. "
        "Use a path inside one of them.",
    )
