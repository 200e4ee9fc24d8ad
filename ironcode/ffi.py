"""The native backend: ctypes bindings to the Rust library ``native/tool`` (``libironcode_tool``).

Every export returns a heap C string of JSON — ``{"ok": value}`` or ``{"error": {"kind",
"message"}}`` — that :func:`_call` copies, frees with ``free_string`` and unwraps. Signatures are one
table (:data:`SIGNATURES`); the wrappers below only convert Python arguments.

The library is loaded on first use, from the first of:

1. ``$IRONCODE_LIB`` (a path to the shared library);
2. the copy inside the installed package (``ironcode/_native.so`` from a wheel; any
   ``_native<EXTENSION_SUFFIX>`` is taken, and ``.so`` is one for every Python), unless the source
   checkout holds a newer ``native/tool/target/release`` build (so ``make native`` takes effect
   in an editable install);
3. ``native/tool/target/release/libironcode_tool.so`` of the source checkout.
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import json
import os
import sys
import threading
from ctypes import c_char_p, c_int64, c_size_t, c_void_p
from pathlib import Path
from typing import Any

import orjson

from .errors import IronCodeError

_PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT_LIB_DIR = _PACKAGE_DIR.parent / "native" / "tool" / "target" / "release"
_LIB_NAMES = {"darwin": "libironcode_tool.dylib", "win32": "ironcode_tool.dll"}
CHECKOUT_LIB = _CHECKOUT_LIB_DIR / _LIB_NAMES.get(sys.platform, "libironcode_tool.so")

#: symbol -> argument types. Every symbol returns ``c_void_p`` (never ``c_char_p``: that would
#: copy the string and lose the pointer ``free_string`` needs).
SIGNATURES: dict[str, tuple[Any, ...]] = {
    # The file and search exports end with the confinement root (NULL: none; issue 19).
    "read_ffi": (c_char_p, c_int64, c_int64, c_char_p),
    "write_ffi": (c_char_p, c_char_p, c_size_t, c_char_p),
    "ls_ffi": (c_char_p, c_char_p, c_int64, c_char_p),
    # edit (issue 3)
    "edit_replace_ffi": (c_char_p, c_size_t, c_char_p, c_size_t, c_char_p, c_size_t, c_int64),
    "edit_candidates_ffi": (c_char_p, c_char_p, c_size_t, c_char_p, c_size_t),
    "levenshtein_ffi": (c_char_p, c_size_t, c_char_p, c_size_t),
    "edit_file_ffi": (c_char_p, c_char_p, c_size_t, c_char_p, c_size_t, c_int64, c_char_p),
    # patch (issue 17)
    "apply_patch_ffi": (c_char_p, c_size_t, c_char_p, c_int64, c_char_p),
    # search (issue 4)
    "file_list_ffi": (c_char_p, c_char_p, c_int64, c_int64, c_int64, c_char_p),
    "glob_ffi": (c_char_p, c_char_p, c_int64, c_char_p),
    "grep_ffi": (c_char_p, c_char_p, c_char_p),
    "grep_types_ffi": (),
    # git (issue 5)
    "vcs_info_ffi": (c_char_p, c_char_p),
    "git_status_ffi": (c_char_p, c_char_p),
    "git_diff_ffi": (c_char_p, c_char_p, c_int64),
    "git_branches_ffi": (c_char_p,),
    "git_stage_ffi": (c_char_p, c_char_p),
    "git_unstage_ffi": (c_char_p, c_char_p),
    "git_commit_ffi": (c_char_p, c_char_p, c_size_t),
    # shell (issue 6)
    "parse_bash_ffi": (c_char_p, c_size_t, c_char_p),
    "command_prefix_ffi": (c_char_p,),
    # terminal (issue 7)
    "terminal_create_ffi": (c_char_p, c_char_p, c_int64, c_int64, c_char_p),
    "terminal_write_ffi": (c_char_p, c_char_p, c_size_t),
    "terminal_read_ffi": (c_char_p, ctypes.c_double, c_void_p, c_size_t),
    "terminal_wait_ffi": (c_char_p, ctypes.c_double),
    "terminal_resize_ffi": (c_char_p, c_int64, c_int64),
    "terminal_info_ffi": (c_char_p,),
    "terminal_buffer_ffi": (c_char_p,),
    "terminal_drain_ffi": (c_char_p,),
    "terminal_clear_ffi": (c_char_p,),
    "terminal_close_ffi": (c_char_p,),
    "terminals_ffi": (),
    "terminal_cleanup_idle_ffi": (ctypes.c_double,),
    # fuzzy (issue 8)
    "fuzzy_search_ffi": (c_char_p, c_size_t, c_char_p, c_size_t, c_size_t, ctypes.c_int, c_int64, c_char_p),
    "fuzzy_index_new_ffi": (c_char_p, c_size_t, c_size_t, ctypes.c_int, c_char_p),
    "fuzzy_index_search_ffi": (ctypes.c_uint64, c_char_p, c_size_t, c_int64),
    "fuzzy_index_close_ffi": (ctypes.c_uint64,),
    "fuzzy_index_count_ffi": (),
    # watcher (issue 9)
    "watcher_open_ffi": (c_char_p, c_char_p, c_int64),
    "watcher_poll_ffi": (ctypes.c_uint64,),
    "watcher_wait_ffi": (ctypes.c_uint64, ctypes.c_double),
    "watcher_info_ffi": (ctypes.c_uint64,),
    "watcher_close_ffi": (ctypes.c_uint64,),
    # lock (issue 10)
    "lock_try_ffi": (c_char_p, c_char_p, c_int64),
    "lock_wait_ffi": (c_int64, c_int64),
    "lock_release_ffi": (c_int64,),
    "lock_stats_ffi": (),
    "lock_channel_open_ffi": (),
    "lock_channel_take_ffi": (c_int64,),
    "lock_channel_close_ffi": (c_int64,),
    "stats_ffi": (),
    "extract_ffi": (c_char_p, c_char_p),
}
#: Probes of the crossing itself, measured by script/bench-ffi.py.
PROBE_SIGNATURES: dict[str, tuple[Any, ...]] = {
    "probe_noop_ffi": (),
    "probe_ints_ffi": (c_int64, c_int64),
    "probe_echo_ffi": (c_char_p,),
    "probe_barrier_ffi": (c_int64, c_int64),
}
#: Exports built only with the crate's ``test-exports`` feature (``make native``).
OPTIONAL_SIGNATURES: dict[str, tuple[Any, ...]] = {
    "debug_panic_ffi": (c_char_p,),
    "confine_force_walk_ffi": (c_int64,),
    "vcs_cache_ffi": (c_int64,),
}

_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_lib_path: Path | None = None


def library_candidates() -> list[Path]:
    """Where the library is looked for, in order (see the module docstring)."""
    override = os.environ.get("IRONCODE_LIB")
    if override:
        return [Path(override)]
    packaged = [
        _PACKAGE_DIR / f"_native{suffix}"
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
        if (_PACKAGE_DIR / f"_native{suffix}").exists()
    ]
    candidates = packaged + [CHECKOUT_LIB]
    if packaged and CHECKOUT_LIB.exists():
        if CHECKOUT_LIB.stat().st_mtime > packaged[0].stat().st_mtime:
            candidates = [CHECKOUT_LIB, *packaged]
    return candidates


def library() -> ctypes.CDLL:
    """The loaded library, loading it on first use. Raises kind ``native_unavailable``."""
    global _lib, _lib_path
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            tried = library_candidates()
            for path in tried:
                if path.exists():
                    lib = ctypes.CDLL(str(path))
                    _declare(lib)
                    _lib_path = path
                    _lib = lib
                    break
            else:
                shown = ", ".join(str(p) for p in tried)
                raise IronCodeError(
                    "native_unavailable",
                    f"ironcode's native library was not found (looked in: {shown}). "
                    "Run `make native` in the source checkout, reinstall with `pip install .`, "
                    "set IRONCODE_LIB, or use the Python backend (IRONCODE_BACKEND=python).",
                )
    return _lib


def library_path() -> Path:
    """The file the library was loaded from."""
    library()
    assert _lib_path is not None
    return _lib_path


def available() -> bool:
    """True if the native library can be loaded."""
    try:
        library()
    except IronCodeError:
        return False
    return True


def has_symbol(name: str) -> bool:
    """True if the loaded library exports ``name`` (optional exports come and go with features)."""
    return hasattr(library(), name)


def _declare(lib: ctypes.CDLL) -> None:
    lib.free_string.argtypes = (c_void_p,)
    lib.free_string.restype = None
    for table, required in ((SIGNATURES, True), (PROBE_SIGNATURES, True), (OPTIONAL_SIGNATURES, False)):
        for name, argtypes in table.items():
            if not hasattr(lib, name):
                if required:
                    raise IronCodeError(
                        "native_unavailable",
                        f"the native library lacks {name}; it is older than this package: "
                        "rebuild it with `make native`",
                    )
                continue
            fn = getattr(lib, name)
            fn.argtypes = argtypes
            fn.restype = c_void_p


def _call(symbol: str, *args: Any) -> Any:
    """Calls ``symbol``, frees the returned string, and returns ``ok`` or raises the error."""
    lib = _lib if _lib is not None else library()
    ptr = getattr(lib, symbol)(*args)
    if not ptr:
        raise IronCodeError("panic", f"{symbol} returned NULL (an unserialisable result)")
    try:
        raw = ctypes.string_at(ptr)
    finally:
        lib.free_string(ptr)
    # orjson decodes the envelope 1.5-2.4x faster than json (script/bench-ffi.py).
    envelope = orjson.loads(raw)
    if "ok" in envelope:
        return envelope["ok"]
    error = envelope["error"]
    raise IronCodeError(error["kind"], error["message"])


def _cstr(value: Any, name: str) -> bytes:
    """A NUL-terminated UTF-8 argument; a NUL inside would silently cut it, so it is refused."""
    if not isinstance(value, (str, bytes)) and isinstance(value, os.PathLike):
        value = os.fspath(value)  # (PathLike is an ABC: its check is the slow one, so it goes second)
    if isinstance(value, str):
        try:
            data = value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise IronCodeError("invalid_argument", f"{name} is not valid Unicode: {e}") from None
    elif isinstance(value, bytes):
        data = value
    else:
        raise IronCodeError("invalid_argument", f"{name} must be a string, got {type(value).__name__}")
    if b"\0" in data:
        raise IronCodeError("invalid_argument", f"{name} contains a NUL byte")
    return data


def _buffer(value: str | bytes, name: str) -> tuple[bytes, int]:
    """Pointer + length for content that may hold NUL bytes."""
    if isinstance(value, str):
        try:
            value = value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise IronCodeError("invalid_argument", f"{name} is not valid Unicode: {e}") from None
    elif not isinstance(value, (bytes, bytearray, memoryview)):
        raise IronCodeError("invalid_argument", f"{name} must be str or bytes, got {type(value).__name__}")
    data = bytes(value)
    return data, len(data)


def _json(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


def _int(value: int | None, name: str) -> int:
    """An integer argument; None becomes -1 ("not given")."""
    if value is None:
        return -1
    if isinstance(value, bool) or not isinstance(value, int):
        raise IronCodeError("invalid_argument", f"{name} must be an integer, got {value!r}")
    if not -(2**63) <= value < 2**63:
        raise IronCodeError("invalid_argument", f"{name} is out of range: {value}")
    return value


# ---- confinement (issue 19) -------------------------------------------------------------------


def _root(root: Any) -> bytes | None:
    """The confinement root argument: None (not confined) or a path."""
    return None if root is None else _cstr(root, "root")


def confine_force_walk(on: bool) -> dict:
    """Test hook (a ``make native`` build only): resolve confined paths by the component walk
    (``True``) or by ``openat2`` where the kernel has it. Returns ``{"previous", "kernel_path"}``."""
    return _call("confine_force_walk_ffi", int(bool(on)))


def vcs_cache(clear: bool = False) -> dict:
    """Test hook (a ``make native`` build only): ``{"kept": n}``, the repositories git_status and
    git_diff keep open between calls, after dropping them all if ``clear``."""
    return _call("vcs_cache_ffi", int(bool(clear)))


# ---- files -----------------------------------------------------------------------------------


def read(path: str, offset: int = 1, limit: int = 2000, *, root: str | None = None) -> dict:
    return _call("read_ffi", _cstr(path, "path"), _int(offset, "offset"), _int(limit, "limit"), _root(root))


def write(path: str, content: str | bytes, *, root: str | None = None) -> dict:
    return _call("write_ffi", _cstr(path, "path"), *_buffer(content, "content"), _root(root))


def ls(
    path: str = ".", ignore: list[str] | None = None, limit: int | None = 100, *, root: str | None = None
) -> dict:
    return _call("ls_ffi", _cstr(path, "path"), _json(list(ignore or [])), _int(limit, "limit"), _root(root))


# ---- edit (issue 3) -----------------------------------------------------------


_utf8_of = ctypes.pythonapi.PyUnicode_AsUTF8AndSize
_utf8_of.argtypes = (ctypes.py_object, ctypes.POINTER(ctypes.c_ssize_t))
_utf8_of.restype = c_void_p


def _text(value: Any, name: str) -> tuple[Any, int]:
    """Pointer + length of a ``str``'s UTF-8 form, without copying an ASCII string.

    CPython keeps an ASCII ``str`` as its UTF-8 bytes, and ``PyUnicode_AsUTF8AndSize`` hands out
    that buffer (for other text it builds and caches the UTF-8 form once), valid while ``value``
    lives — the caller holds it for the whole call. Only ``str`` is accepted: the offsets that
    come back count its code points.
    """
    if not isinstance(value, str):
        raise IronCodeError("invalid_argument", f"{name} must be a string, got {type(value).__name__}")
    size = ctypes.c_ssize_t()
    try:
        pointer = _utf8_of(value, ctypes.byref(size))
    except UnicodeEncodeError as e:
        raise IronCodeError("invalid_argument", f"{name} is not valid Unicode: {e}") from None
    return ctypes.cast(pointer, c_char_p), size.value


def edit_replace(content: str, old: str, new: str, replace_all: bool = False) -> str:
    # The library answers with a patch (code-point spans, all of one text, replaced by one
    # text), so the edited file is not copied through JSON. Every span holds the same text and
    # the first span is its first occurrence, so one str.replace applies it.
    patch = _call(
        "edit_replace_ffi",
        *_text(content, "content"),
        *_text(old, "old"),
        *_text(new, "new"),
        int(bool(replace_all)),
    )
    spans = patch["spans"]
    start, end = spans[0]
    return content.replace(content[start:end], patch["text"], 1 if len(spans) == 1 else -1)


def edit_candidates(strategy: str, content: str, find: str) -> list[str]:
    return _call(
        "edit_candidates_ffi", _cstr(strategy, "strategy"), *_text(content, "content"), *_text(find, "find")
    )


def levenshtein(a: str, b: str) -> int:
    return _call("levenshtein_ffi", *_text(a, "a"), *_text(b, "b"))


def edit_file(path: str, old: str, new: str, replace_all: bool = False, *, root: str | None = None) -> dict:
    return _call(
        "edit_file_ffi",
        _cstr(path, "path"),
        *_text(old, "old"),
        *_text(new, "new"),
        int(bool(replace_all)),
        _root(root),
    )


# ---- patch (issue 17) ---------------------------------------------------------


def apply_patch(
    patch: str | bytes, cwd: str = ".", dry_run: bool = False, *, root: str | None = None
) -> dict:
    # A str that cannot be UTF-8 (lone surrogates) crosses as the bytes surrogatepass gives, so
    # the library calls it what the twin does: a patch that is not UTF-8 (invalid_patch).
    if isinstance(patch, str):
        data = patch.encode("utf-8", "surrogatepass")
    elif isinstance(patch, (bytes, bytearray, memoryview)):
        data = bytes(patch)
    else:
        raise IronCodeError("invalid_argument", f"patch must be str or bytes, got {type(patch).__name__}")
    return _call("apply_patch_ffi", data, len(data), _cstr(cwd, "cwd"), int(bool(dry_run)), _root(root))


# ---- search (issue 4) ---------------------------------------------------------


def _search_flag(value: bool, name: str) -> int:
    """A boolean argument as 0/1; anything but a bool is refused rather than guessed."""
    if not isinstance(value, bool):
        raise IronCodeError("invalid_argument", f"{name} must be True or False, got {value!r}")
    return int(value)


def _search_globs(globs: list[str] | None) -> bytes:
    if globs is None:
        return _json([])
    if isinstance(globs, str) or not all(isinstance(g, str) for g in globs):
        raise IronCodeError("invalid_argument", f"globs must be a list of strings, got {globs!r}")
    return _json(list(globs))


def file_list(
    path: str = ".",
    globs: list[str] | None = None,
    hidden: bool = True,
    follow: bool = False,
    max_depth: int | None = None,
    *,
    root: str | None = None,
) -> list[str]:
    return _call(
        "file_list_ffi",
        _cstr(path, "path"),
        _search_globs(globs),
        _search_flag(hidden, "hidden"),
        _search_flag(follow, "follow"),
        _int(max_depth, "max_depth"),
        _root(root),
    )


def glob(pattern: str, path: str = ".", limit: int | None = 100, *, root: str | None = None) -> dict:
    return _call(
        "glob_ffi", _cstr(pattern, "pattern"), _cstr(path, "path"), _int(limit, "limit"), _root(root)
    )


#: grep's output modes (OPERATIONS.md).
GREP_MODES = ("content", "files", "count")


def _grep_count(value: int | None, name: str) -> int | None:
    """An optional count of lines or characters: None, or an integer >= 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise IronCodeError("invalid_argument", f"{name} must be None or an integer >= 0, got {value!r}")
    return value


def grep(
    pattern: str,
    path: str = ".",
    include: str | None = None,
    limit: int | None = 100,
    ignore_case: bool = False,
    *,
    output_mode: str = "content",
    before: int | None = None,
    after: int | None = None,
    context: int | None = None,
    multiline: bool = False,
    file_type: str | None = None,
    max_line_chars: int | None = None,
    root: str | None = None,
) -> dict:
    if output_mode not in GREP_MODES:
        raise IronCodeError(
            "invalid_argument", f"output_mode must be one of {', '.join(GREP_MODES)}, got {output_mode!r}"
        )
    limit_value = _int(limit, "limit")
    options = {
        "include": None if include is None else _cstr(include, "include").decode("utf-8"),
        "limit": limit_value if limit_value >= 0 else None,
        "ignore_case": bool(_search_flag(ignore_case, "ignore_case")),
        "output_mode": output_mode,
        "before": _grep_count(before, "before"),
        "after": _grep_count(after, "after"),
        "context": _grep_count(context, "context"),
        "multiline": bool(_search_flag(multiline, "multiline")),
        "file_type": None if file_type is None else _cstr(file_type, "file_type").decode("utf-8"),
        "max_line_chars": _grep_count(max_line_chars, "max_line_chars"),
        "root": None if root is None else _cstr(root, "root").decode("utf-8"),
    }
    return _call("grep_ffi", _cstr(pattern, "pattern"), _cstr(path, "path"), _json(options))


def grep_types() -> list[dict]:
    """The file types ``grep``'s ``file_type`` knows: ``[{"name", "globs"}]``, sorted (the
    ``ignore`` crate's built-in table)."""
    return _call("grep_types_ffi")


# ---- git (issue 5) ------------------------------------------------------------


def vcs_info(path: str = ".", engine: str = "auto") -> dict:
    return _call("vcs_info_ffi", _cstr(path, "path"), _cstr(engine, "engine"))


def git_status(path: str = ".", engine: str = "auto") -> dict:
    return _call("git_status_ffi", _cstr(path, "path"), _cstr(engine, "engine"))


def git_diff(path: str = ".", file: str | None = None, staged: bool = False) -> str:
    file_arg = None if file is None else _cstr(file, "file")
    if not isinstance(staged, bool):
        raise IronCodeError("invalid_argument", f"staged must be a bool, got {staged!r}")
    return _call("git_diff_ffi", _cstr(path, "path"), file_arg, int(staged))


def git_branches(path: str = ".") -> dict:
    return _call("git_branches_ffi", _cstr(path, "path"))


def _paths_json(files: list[str]) -> bytes:
    if isinstance(files, (str, bytes)) or not isinstance(files, (list, tuple)):
        raise IronCodeError("invalid_argument", "files must be a list of paths")
    return _json(list(files))


def git_stage(path: str, files: list[str]) -> dict:
    return _call("git_stage_ffi", _cstr(path, "path"), _paths_json(files))


def git_unstage(path: str, files: list[str]) -> dict:
    return _call("git_unstage_ffi", _cstr(path, "path"), _paths_json(files))


def git_commit(path: str, message: str) -> str:
    if not isinstance(message, str):
        raise IronCodeError("invalid_argument", f"message must be a string, got {type(message).__name__}")
    return _call("git_commit_ffi", _cstr(path, "path"), *_buffer(message, "message"))


# ---- shell (issue 6) ----------------------------------------------------------


def parse_bash(command: str | bytes, cwd: str = ".") -> dict:
    # The common case first, without the generic argument checks: an agent's guard calls this
    # before every shell command, so the few microseconds show (script/bench-bash-parse.py).
    if type(command) is str and type(cwd) is str and "\0" not in cwd:
        try:
            data, where = command.encode(), cwd.encode()
        except UnicodeEncodeError:
            pass  # the generic path names the argument
        else:
            return _call("parse_bash_ffi", data, len(data), where)
    return _call("parse_bash_ffi", *_buffer(command, "command"), _cstr(cwd, "cwd"))


def command_prefix(tokens: list[str]) -> str:
    return _call("command_prefix_ffi", _json(_str_list(tokens, "tokens")))


def _str_list(value: Any, name: str) -> list[str]:
    """A list of strings for a JSON argument; anything else is ``invalid_argument`` here, as the
    twin says, instead of a TypeError from ``json.dumps``."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise IronCodeError(
            "invalid_argument", f"{name} must be a list of strings, got {type(value).__name__}"
        )
    for item in value:
        if not isinstance(item, str):
            raise IronCodeError("invalid_argument", f"{name} must be strings, got {type(item).__name__}")
    return list(value)


# ---- terminal (issue 7) -------------------------------------------------------
# A session lives in the library's registry, keyed by id; `Terminal` is a handle on it. read()
# output is copied into a buffer of the calling thread's (buffer() and drain(), snapshots, come
# back as base64 text); read() and wait() block inside the library, GIL released.

#: The most one read can return (the library's ring buffer, RING_BUFFER_BYTES in terminal.rs):
#: each thread that reads gets one buffer this large, once, so a read never comes back in parts.
TERMINAL_READ_BUFFER_BYTES = 2 * 1024 * 1024
_terminal_read_buffers = threading.local()


def _terminal_read_buffer() -> ctypes.Array:
    buffer = getattr(_terminal_read_buffers, "buffer", None)
    if buffer is None:
        buffer = _terminal_read_buffers.buffer = ctypes.create_string_buffer(TERMINAL_READ_BUFFER_BYTES)
    return buffer


def _terminal_seconds(value: float, name: str) -> float:
    """A duration in seconds; the library checks the range (finite, 0 to a day)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise IronCodeError("invalid_argument", f"{name} must be a number of seconds, got {value!r}")
    return float(value)


def _terminal_argv(command: list[str] | None) -> bytes:
    if command is not None and (
        isinstance(command, (str, bytes)) or not all(isinstance(a, str) for a in command)
    ):
        raise IronCodeError(
            "invalid_argument", f"command must be a list of strings (an argv), got {command!r}"
        )
    return _json(None if command is None else list(command))


def _terminal_env(env: dict[str, str] | None) -> bytes:
    if env is not None and (
        not isinstance(env, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
    ):
        raise IronCodeError("invalid_argument", f"env must map names to strings, got {env!r}")
    return _json(env)


def _terminal_output(text: str) -> bytes:
    import binascii  # here, not at the top: the shared import block is not this section's

    return binascii.a2b_base64(text)


class Terminal:
    """A program on a native pseudo-terminal (see :class:`ironcode.Terminal`)."""

    backend = "native"

    def __init__(
        self,
        command: list[str] | None = None,
        cwd: str = ".",
        rows: int = 24,
        cols: int = 80,
        env: dict[str, str] | None = None,
    ) -> None:
        _close_terminals_at_exit()
        info = _call(
            "terminal_create_ffi",
            _terminal_argv(command),
            _cstr(cwd, "cwd"),
            _int(rows, "rows"),
            _int(cols, "cols"),
            _terminal_env(env),
        )
        self.id: str = info["id"]
        self.pid: int = info["pid"]
        self._key = _cstr(self.id, "id")
        self._final: dict | None = None

    def write(self, data: str | bytes) -> int:
        return _call("terminal_write_ffi", self._key, *_buffer(data, "data"))

    def read(self, timeout: float = 0.0) -> bytes:
        buffer = _terminal_read_buffer()
        seconds = _terminal_seconds(timeout, "timeout")
        return ctypes.string_at(buffer, _call("terminal_read_ffi", self._key, seconds, buffer, len(buffer)))

    def wait(self, timeout: float) -> int | None:
        return _call("terminal_wait_ffi", self._key, _terminal_seconds(timeout, "timeout"))

    def resize(self, rows: int, cols: int) -> None:
        _call("terminal_resize_ffi", self._key, _int(rows, "rows"), _int(cols, "cols"))

    def info(self) -> dict:
        return _call("terminal_info_ffi", self._key)

    def status(self) -> str:
        return self.info()["status"]

    @property
    def exit_code(self) -> int | None:
        return self.info()["exit_code"]

    def buffer(self) -> bytes:
        return _terminal_output(_call("terminal_buffer_ffi", self._key))

    def drain(self) -> bytes:
        return _terminal_output(_call("terminal_drain_ffi", self._key))

    def clear(self) -> None:
        _call("terminal_clear_ffi", self._key)

    def close(self) -> dict | None:
        if self._final is None:
            try:
                self._final = _call("terminal_close_ffi", self._key)
            except IronCodeError as e:
                if e.kind != "not_found":  # closed elsewhere (cleanup_idle): nothing left to do
                    raise
                return None
        return self._final

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ironcode.ffi.Terminal {self.id} pid={self.pid}>"


def terminals() -> list[dict]:
    return _call("terminals_ffi")


def cleanup_idle(seconds: float) -> list[str]:
    return _call("terminal_cleanup_idle_ffi", _terminal_seconds(seconds, "seconds"))


_terminal_exit_hook = False


def _close_terminals_at_exit() -> None:
    """Closes the sessions still open when Python exits, so no program outlives it."""
    global _terminal_exit_hook
    if not _terminal_exit_hook:
        import atexit

        _terminal_exit_hook = True
        atexit.register(_close_all_terminals)


def _close_all_terminals() -> None:
    for session in terminals():
        try:
            _call("terminal_close_ffi", _cstr(session["id"], "id"))
        except IronCodeError:
            pass  # closed meanwhile by another thread


# ---- fuzzy (issue 8) ----------------------------------------------------------


def _fuzzy_items(items: Any) -> tuple[list[str], tuple[bytes, int, int, int]]:
    """The items, and their transport: joined by NUL (fast), or JSON if an item holds NUL."""
    from .twin.fuzzy import join_items

    items, joined = join_items(items)
    if joined.count("\0") == max(len(items) - 1, 0):
        data, size = _buffer(joined, "items")
        return items, (data, size, len(items), 0)
    data = _json(items)
    return items, (data, len(data), len(items), 1)


def _fuzzy_query(query: Any) -> tuple[bytes, int]:
    from .twin.fuzzy import check_query

    return _buffer(check_query(query), "query")


def _fuzzy_algorithm(algorithm: Any) -> bytes | None:
    return None if algorithm is None else _cstr(algorithm, "algorithm")


def _fuzzy_limit(limit: Any) -> int:
    from .twin.fuzzy import check_limit

    return _int(check_limit(limit), "limit")


def fuzzy_search(query: str, items: Any, limit: int | None = 50, algorithm: str | None = None) -> list[str]:
    items, packed = _fuzzy_items(items)
    indices = _call(
        "fuzzy_search_ffi", *_fuzzy_query(query), *packed, _fuzzy_limit(limit), _fuzzy_algorithm(algorithm)
    )
    return [items[i] for i in indices]


class FuzzyIndex:
    """The items sent to the native side once; ``search`` then sends only the query."""

    def __init__(self, items: Any, algorithm: str | None = None) -> None:
        self._items, packed = _fuzzy_items(items)
        info = _call("fuzzy_index_new_ffi", *packed, _fuzzy_algorithm(algorithm))
        self.id: int = info["id"]
        self.algorithm: str = info["algorithm"]
        self._closed = False

    def search(self, query: str, limit: int | None = 50) -> list[str]:
        if self._closed:
            raise IronCodeError("invalid_argument", "this FuzzyIndex was closed (create a new one)")
        indices = _call("fuzzy_index_search_ffi", self.id, *_fuzzy_query(query), _fuzzy_limit(limit))
        return [self._items[i] for i in indices]

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            _call("fuzzy_index_close_ffi", self.id)

    def __len__(self) -> int:
        return len(self._items)

    def __enter__(self) -> FuzzyIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may already be gone
            pass


def fuzzy_index_count() -> int:
    """How many native fuzzy indexes are open (tests check that closing frees them)."""
    return _call("fuzzy_index_count_ffi")


# ---- watcher (issue 9) --------------------------------------------------------


def _globs(value: Any, name: str) -> list:
    """A list of glob strings; a lone string is refused (``list("a*")`` would be three globs)."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise IronCodeError("invalid_argument", f"{name} must be a list of glob strings, got {value!r}")
    return list(value)


def _seconds(value: Any, name: str) -> float:
    """A number of seconds; the library checks the range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise IronCodeError("invalid_argument", f"{name} must be a number of seconds, got {value!r}")
    return float(value)


class Watcher:
    """A native watcher: a handle on an entry of the library's watcher registry.

    Same API as :class:`ironcode.Watcher`. ``wait`` blocks inside the library on a condition
    variable; ctypes releases the GIL for the call, so other threads run meanwhile.
    """

    def __init__(self, path: str, ignore: list[str] | None = None, max_queue: int = 1000) -> None:
        self._closed = True  # until open succeeds, so __del__ has nothing to do
        self._close_lock = threading.Lock()
        opened = _call(
            "watcher_open_ffi",
            _cstr(path, "path"),
            _json(_globs(ignore, "ignore")),
            _int(max_queue, "max_queue"),
        )
        self.id: int = opened["id"]
        self.path: str = opened["path"]
        self._closed = False

    def poll(self) -> list[dict]:
        return _call("watcher_poll_ffi", self._handle())

    def wait(self, timeout: float) -> list[dict]:
        return _call("watcher_wait_ffi", self._handle(), _seconds(timeout, "timeout"))

    def info(self) -> dict:
        return _call("watcher_info_ffi", self._handle())

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        _call("watcher_close_ffi", self.id)

    def _handle(self) -> int:
        if self._closed:
            raise IronCodeError("invalid_argument", f"the watcher of {self.path} is closed")
        return self.id

    def __enter__(self) -> Watcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            try:
                self.close()
            except Exception:  # interpreter shutdown: the library may be gone already
                pass

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"id={self.id}"
        return f"<ironcode.ffi.Watcher {getattr(self, 'path', '?')} {state}>"


# ---- lock (issue 10) ----------------------------------------------------------

import time as _time  # noqa: E402
import weakref as _weakref  # noqa: E402

from .rwlock import RWLock as _RWLockFrontEnd  # noqa: E402

_LOCK_MODES = {"read": b"read", "write": b"write"}
#: A blocked native wait returns to Python this often, only so that Ctrl-C reaches the main thread
#: (signal handlers run between bytecodes, never inside a C call); it is a Condvar wait, not a poll.
LOCK_WAIT_SLICE_S = 0.25


def lock_try(key: str | bytes, mode: str, channel: int = -1) -> dict:
    """``{"ticket", "granted"}``: ``mode`` on ``key``, granted now or queued (for ``channel``)."""
    mode_arg = _LOCK_MODES.get(mode) if isinstance(mode, str) else None
    return _call("lock_try_ffi", _cstr(key, "key"), mode_arg or _cstr(mode, "mode"), _int(channel, "channel"))


def lock_wait(ticket: int, timeout_us: int | None) -> bool:
    """True once ``ticket`` is granted, False after ``timeout_us`` µs (None: no limit)."""
    return _call("lock_wait_ffi", _int(ticket, "ticket"), _int(timeout_us, "timeout_us"))


def lock_release(ticket: int) -> None:
    """Releases a held ticket or withdraws a waiting one."""
    _call("lock_release_ffi", _int(ticket, "ticket"))


def lock_stats() -> dict:
    return _call("lock_stats_ffi")


def lock_channel_open() -> dict:
    """``{"channel", "fd"}``: an asyncio notification channel (the library owns ``fd``)."""
    return _call("lock_channel_open_ffi")


def lock_channel_take(channel: int) -> list[int]:
    """Ticket ids of ``channel`` granted since the last call, in grant order."""
    return _call("lock_channel_take_ffi", _int(channel, "channel"))


def lock_channel_close(channel: int) -> None:
    _call("lock_channel_close_ffi", _int(channel, "channel"))


class _LoopChannel:
    """One event loop's channel: the loop watches its descriptor and resolves the futures of the
    tickets the library reports granted.

    Only the loop holds it (through the reader callback), so closing or dropping the loop frees
    it, and its finalizer closes the library side, withdrawing tickets no task can be told about.
    """

    __slots__ = ("id", "fd", "futures", "__weakref__")

    def __init__(self, loop: Any) -> None:
        opened = lock_channel_open()
        self.id: int = opened["channel"]
        self.fd: int = opened["fd"]
        self.futures: dict[int, Any] = {}
        _weakref.finalize(self, _close_channel_quietly, self.id)
        loop.add_reader(self.fd, self._on_ready)

    def _on_ready(self) -> None:
        for ticket in lock_channel_take(self.id):
            future = self.futures.pop(ticket, None)
            if future is not None and not future.done():
                future.set_result(None)


def _close_channel_quietly(channel: int) -> None:
    try:
        lock_channel_close(channel)
    except IronCodeError:  # already closed, or the library is being unloaded at exit
        pass


class NativeLockCore:
    """The Rust registry as the core of :mod:`ironcode.rwlock`. Threads block in ``lock_wait``
    (the GIL is released); tasks are woken through their event loop's channel."""

    def __init__(self) -> None:
        # loop -> weak reference to its channel: a strong one would keep every loop with a waiting
        # future alive (future -> loop), so an abandoned loop's tickets would never be withdrawn.
        self._channels: _weakref.WeakKeyDictionary[Any, _weakref.ref[_LoopChannel]] = (
            _weakref.WeakKeyDictionary()
        )
        self._channels_lock = threading.Lock()

    def prepare_key(self, key: str) -> bytes:
        return _cstr(key, "key")

    def try_acquire(self, key: bytes, mode: str, loop: Any) -> tuple[int, bool]:
        channel = -1 if loop is None else self._channel(loop).id
        mode_arg = _LOCK_MODES.get(mode) if isinstance(mode, str) else None
        answer = _call("lock_try_ffi", key, mode_arg or _cstr(mode, "mode"), channel)
        return answer["ticket"], answer["granted"]

    def wait(self, ticket: int, timeout: float | None) -> bool:
        deadline = None if timeout is None else _time.monotonic() + timeout
        while True:
            slice_s = LOCK_WAIT_SLICE_S
            if deadline is not None:
                slice_s = min(slice_s, max(0.0, deadline - _time.monotonic()))
            if _call("lock_wait_ffi", ticket, int(slice_s * 1e6)):
                return True
            if deadline is not None and _time.monotonic() >= deadline:
                return False

    def granted(self, ticket: int, loop: Any) -> Any:
        future = loop.create_future()
        self._channel(loop).futures[ticket] = future
        return future

    def release(self, ticket: int) -> None:
        _call("lock_release_ffi", ticket)

    def withdraw(self, ticket: int, loop: Any) -> None:
        channel = self._live_channel(loop)
        if channel is not None:
            channel.futures.pop(ticket, None)
        try:
            _call("lock_release_ffi", ticket)
        except IronCodeError:
            if channel is not None:
                raise
            # else the loop's channel closed, and withdrew the ticket with it

    def stats(self) -> dict:
        return lock_stats()

    def _live_channel(self, loop: Any) -> _LoopChannel | None:
        ref = self._channels.get(loop)
        return None if ref is None else ref()

    def _channel(self, loop: Any) -> _LoopChannel:
        channel = self._live_channel(loop)
        if channel is None:
            if loop.is_closed():
                raise IronCodeError("invalid_argument", "the event loop is closed")
            with self._channels_lock:
                channel = self._live_channel(loop)
                if channel is None:
                    channel = _LoopChannel(loop)
                    self._channels[loop] = _weakref.ref(channel)
        return channel


class RWLock(_RWLockFrontEnd):
    """:class:`ironcode.rwlock.RWLock` on the Rust registry."""

    core = NativeLockCore()
    __slots__ = ()


# ---- system ----------------------------------------------------------------------------------


def stats() -> dict:
    return _call("stats_ffi")


def extract(archive: str, dest: str) -> dict:
    return _call("extract_ffi", _cstr(archive, "archive"), _cstr(dest, "dest"))


# ---- the boundary itself ---------------------------------------------------------------------


def debug_panic(message: str) -> None:
    """Makes the library panic (test builds only), to prove panics come back as kind ``panic``."""
    if not has_symbol("debug_panic_ffi"):
        raise IronCodeError(
            "native_unavailable", "debug_panic_ffi needs a build with `--features test-exports`"
        )
    _call("debug_panic_ffi", _cstr(message, "message"))
