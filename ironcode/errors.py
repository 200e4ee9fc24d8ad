"""IronCodeError and its kinds: the one exception every operation raises, on both backends.

Constructing ``IronCodeError(kind, message)`` gives the subclass for that kind, so a
``not_found`` error is also a ``FileNotFoundError``, ``permission_denied`` a ``PermissionError``
and ``timeout`` a ``TimeoutError``: ordinary Python handling works.

>>> try:
...     raise IronCodeError("not_found", "File not found: /nope")
... except FileNotFoundError as e:
...     print(e.kind, "-", e)
not_found - File not found: /nope
"""

from __future__ import annotations

#: Every kind the native library and the twins may report (ARCHITECTURE.md, "Errors"), plus
#: ``native_unavailable`` for a native backend whose library cannot be loaded.
KINDS = frozenset(
    {
        "not_found",
        "is_directory",
        "not_a_directory",
        "permission_denied",
        "binary_file",
        "encoding",
        "invalid_argument",
        "invalid_pattern",
        "io",
        "git",
        "no_match",
        "multiple_matches",
        "same_strings",
        "empty_old_string",
        "disproportionate",
        "search_too_large",
        "unsafe_path",
        "outside_root",
        "timeout",
        "panic",
        "invalid_patch",
        "patch_failed",
        "native_unavailable",
    }
)


class IronCodeError(Exception):
    """An operation failed; ``kind`` says how (one of KINDS), ``message`` what to do next."""

    kind: str
    message: str

    def __new__(cls, kind: str = "io", message: str = "", *args: object) -> IronCodeError:
        if cls is IronCodeError:
            cls = _SUBCLASSES.get(kind, IronCodeError)
        return super().__new__(cls, kind, message)

    def __init__(self, kind: str = "io", message: str = "", *args: object) -> None:
        super().__init__(kind, message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"IronCodeError({self.kind!r}, {self.message!r})"

    def __reduce__(self):  # picklable across processes, keeping the kind
        return (IronCodeError, (self.kind, self.message))


class NotFoundError(IronCodeError, FileNotFoundError):
    """Kind ``not_found``."""


class PermissionDeniedError(IronCodeError, PermissionError):
    """Kind ``permission_denied``."""


class IronCodeTimeoutError(IronCodeError, TimeoutError):
    """Kind ``timeout``."""


class NativeUnavailableError(IronCodeError, ImportError):
    """Kind ``native_unavailable``: the native library could not be loaded."""


_SUBCLASSES: dict[str, type[IronCodeError]] = {
    "not_found": NotFoundError,
    "permission_denied": PermissionDeniedError,
    "timeout": IronCodeTimeoutError,
    "native_unavailable": NativeUnavailableError,
}


def from_os_error(err: OSError, path: object) -> IronCodeError:
    """Maps an OSError on ``path`` to the kind and message the native library uses."""
    import errno

    code = err.errno
    if code == errno.ENOENT:
        return IronCodeError("not_found", f"File not found: {path}")
    if code in (errno.EACCES, errno.EPERM):
        return IronCodeError("permission_denied", f"Permission denied: {path}")
    if code == errno.EISDIR:
        return IronCodeError("is_directory", f"Path is a directory: {path}")
    if code == errno.ENOTDIR:
        return IronCodeError("not_a_directory", f"A parent of the path is not a directory: {path}")
    return IronCodeError("io", f"{err.strerror or err}: {path}")
