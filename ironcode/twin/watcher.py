"""Twin of native/tool/src/watcher.rs: watchdog's inotify emitter feeding the same bounded queue.

watchdog reads inotify on its own thread and hands events to an emitter thread; the emitter's
"event queue" here is :class:`OsEventHandler`, which translates each event, applies the ignore
globs and pushes it into an :class:`EventQueue` guarded by a ``threading.Condition`` that
:meth:`Watcher.wait` sleeps on (no polling interval, like the native side).

Differences from the native watcher, none visible in the events: watchdog watches every folder,
ignored ones included (the native side never watches an ignored folder, so ``node_modules`` costs
no inotify watch there), and it scans a new folder itself (the native side has a scanner thread).
"""

from __future__ import annotations

import errno
import os
import re
import stat
import threading
import time
import warnings
from collections import deque
from typing import NamedTuple

import pathspec
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
)
from watchdog.observers.api import ObservedWatch

try:  # watchdog >= 7: emitters accept the inotify instance they read from
    from watchdog.observers.inotify import InotifyEmitter
    from watchdog.observers.inotify_c import InotifyFD
except ImportError:  # pragma: no cover - not Linux, or an old watchdog
    InotifyEmitter = InotifyFD = None  # type: ignore[assignment,misc]

from ..errors import IronCodeError, from_os_error
from .paths import absolute

DEFAULT_MAX_QUEUE = 1000
MAX_QUEUE_LIMIT = 1_000_000
MAX_WAIT_SECONDS = 86_400.0
WATCHES_SYSCTL = "fs.inotify.max_user_watches"
INSTANCES_SYSCTL = "fs.inotify.max_user_instances"
#: How long close() waits for each of watchdog's threads (they stop at once; this bounds a bug).
JOIN_TIMEOUT_S = 5.0
#: At most this many globs after expanding {a,b} alternatives.
MAX_EXPANDED_GLOBS = 10_000
#: The watchdog events we use: no open / close / folder-modified events (fewer inotify wake-ups).
EVENT_FILTER: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    DirCreatedEvent,
    FileModifiedEvent,
    FileAttribEvent,
    FileDeletedEvent,
    DirDeletedEvent,
    FileMovedEvent,
    DirMovedEvent,
]

ADD, CHANGE, UNLINK = "add", "change", "unlink"


# ---- the queue (watcher/queue.rs) ------------------------------------------------------------


class EventQueue:
    """A bounded queue of events that merges repeats (see ``EventQueue`` in watcher.rs).

    An event is merged away when the newest pending event for the same path already says it: the
    same kind again, or a ``change`` after a pending ``add``. When more than ``max_queue`` events
    are pending, the oldest are dropped and counted.
    """

    def __init__(self, max_queue: int) -> None:
        self.events: deque[tuple[int, dict]] = deque()
        self.latest: dict[str, tuple[int, str]] = {}
        self.next_seq = 0
        self.max_queue = max(1, max_queue)
        self.dropped = 0

    def push(self, path: str, kind: str, timestamp: float) -> bool:
        pending = self.latest.get(path)
        if pending is not None and merges_into(pending[1], kind):
            return False
        seq = self.next_seq
        self.next_seq += 1
        self.latest[path] = (seq, kind)
        self.events.append((seq, {"path": path, "kind": kind, "timestamp": timestamp}))
        while len(self.events) > self.max_queue:
            old_seq, old = self.events.popleft()
            self.dropped += 1
            if self.latest.get(old["path"], (None,))[0] == old_seq:
                del self.latest[old["path"]]
        return True

    def has_pending(self, path: str) -> bool:
        return path in self.latest

    def drain(self) -> list[dict]:
        self.latest.clear()
        events = [event for _, event in self.events]
        self.events.clear()
        return events

    def __len__(self) -> int:
        return len(self.events)


def merges_into(pending: str, new: str) -> bool:
    return pending == new or (pending == ADD and new == CHANGE)


# ---- one watcher -----------------------------------------------------------------------------


class Shared:
    """What watchdog's threads and the caller share (``Shared`` in watcher.rs)."""

    def __init__(self, root: str, matcher: list[Glob] | None, max_queue: int) -> None:
        self.root = root
        self.prefix = root.rstrip("/") + "/"
        self.matcher = matcher
        self.ready = threading.Condition()
        self.queue = EventQueue(max_queue)
        self.error: IronCodeError | None = None
        self.closed = False

    def push(self, path: str, kind: str) -> None:
        with self.ready:
            if not self.closed and self.queue.push(path, kind, time.time()):
                self.ready.notify_all()

    def fail(self, error: IronCodeError) -> None:
        with self.ready:
            if self.error is None and not self.closed:
                self.error = error
                self.ready.notify_all()

    def is_ignored(self, path: str, is_dir: bool | None) -> bool:
        if self.matcher is None or not path.startswith(self.prefix):
            return False
        return is_ignored(self.matcher, path[len(self.prefix) :], is_dir)


class Watcher:
    """Watches the folder ``path`` and everything below it (see :class:`ironcode.Watcher`)."""

    def __init__(
        self, path: str, ignore: list[str] | None = None, max_queue: int = DEFAULT_MAX_QUEUE
    ) -> None:
        self._closed = True  # until started, so __del__ has nothing to do
        if InotifyFD is None:  # pragma: no cover
            raise IronCodeError("io", "the Python watcher needs Linux (inotify) and watchdog >= 7")
        max_queue = check_max_queue(max_queue)
        globs = _globs(ignore)
        root = absolute(path)
        try:
            mode = os.stat(root).st_mode
        except OSError as e:
            raise from_os_error(e, root) from None
        if not stat.S_ISDIR(mode):
            raise IronCodeError(
                "not_a_directory",
                f"Path is not a directory: {root} (watch its folder and filter the events by path)",
            )
        # inotify accepts a watch on a folder it cannot list (and watchdog ignores EACCES).
        try:
            os.scandir(root).close()
        except OSError as e:
            raise from_os_error(e, root) from None
        self.path = root
        self._shared = Shared(root, build_matcher(globs), max_queue)
        self._emitter = None
        shared = self._shared  # the threads must not hold the Watcher, or __del__ never runs
        try:
            self._inotify = _LimitAwareInotifyFD(lambda: shared.fail(watch_limit_error(root)))
        except OSError as e:
            raise start_error(e, root) from None
        self._inotify.start()
        watch = ObservedWatch(root, recursive=True, event_filter=EVENT_FILTER)
        emitter = InotifyEmitter(
            OsEventHandler(self._shared), watch, event_filter=EVENT_FILTER, inotify_fd=self._inotify
        )
        try:
            emitter.start()  # adds the watches, synchronously, then starts the emitter thread
        except OSError as e:
            self._stop_threads()
            raise start_error(e, root) from None
        self._emitter = emitter
        self._closed = False
        if self._shared.error is not None:  # watches ran out below the root
            error = self._shared.error
            self.close()
            raise error

    def poll(self) -> list[dict]:
        with self._shared.ready:
            self._check_open()
            return take(self._shared)

    def wait(self, timeout: float) -> list[dict]:
        seconds = wait_seconds(timeout)
        shared = self._shared
        with shared.ready:
            self._check_open()
            shared.ready.wait_for(lambda: len(shared.queue) or shared.error or shared.closed, seconds)
            return take(shared)

    def info(self) -> dict:
        with self._shared.ready:
            self._check_open()
            error = self._shared.error
            return {
                "path": self.path,
                "pending": len(self._shared.queue),
                "dropped": self._shared.queue.dropped,
                "error": error.message if error else None,
            }

    def close(self) -> None:
        shared = self._shared if hasattr(self, "_shared") else None
        if shared is None:
            return
        with shared.ready:
            if shared.closed:
                return
            shared.closed = True
            self._closed = True
            shared.ready.notify_all()
        self._stop_threads()

    def _stop_threads(self) -> None:
        if self._emitter is not None:
            self._emitter.stop()  # removes the watches and wakes the emitter thread
            if self._emitter.is_alive():
                self._emitter.join(JOIN_TIMEOUT_S)
        self._inotify.stop()  # closes the inotify instance and wakes its reader thread
        if self._inotify.is_alive():
            self._inotify.join(JOIN_TIMEOUT_S)

    def _check_open(self) -> None:
        if self._shared.closed:
            raise IronCodeError("invalid_argument", f"the watcher of {self.path} is closed")

    def __enter__(self) -> Watcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            try:
                self.close()
            except Exception:  # interpreter shutdown
                pass

    def __repr__(self) -> str:
        return f"<ironcode.twin.watcher.Watcher {getattr(self, 'path', '?')}>"


def take(shared: Shared) -> list[dict]:
    if not len(shared.queue) and shared.error is not None:
        error, shared.error = shared.error, None
        raise error
    return shared.queue.drain()


def check_max_queue(max_queue: object) -> int:
    if isinstance(max_queue, bool) or not isinstance(max_queue, int) or not 1 <= max_queue <= MAX_QUEUE_LIMIT:
        raise IronCodeError(
            "invalid_argument", f"max_queue must be from 1 to {MAX_QUEUE_LIMIT}, got {max_queue}"
        )
    return max_queue


def wait_seconds(timeout: object) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise IronCodeError("invalid_argument", f"timeout must be a number of seconds, got {timeout!r}")
    if timeout != timeout or timeout < 0:  # NaN or negative
        raise IronCodeError("invalid_argument", f"timeout must be a number of seconds >= 0, got {timeout}")
    return min(float(timeout), MAX_WAIT_SECONDS)


def _globs(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise IronCodeError("invalid_argument", f"ignore must be a list of glob strings, got {value!r}")
    return list(value)


# ---- ignore globs (watcher/globs.rs) ---------------------------------------------------------


class Glob(NamedTuple):
    """One compiled ignore line: pathspec's regex, whether it ignores (False: a ``!`` line), and
    whether it matches folders only (a trailing ``/``)."""

    regex: re.Pattern
    ignores: bool
    folders_only: bool


def build_matcher(globs: list[str]) -> list[Glob] | None:
    """The globs compiled by pathspec (brace alternatives expanded first), in order."""
    if not globs:
        return None
    lines: list[str] = []
    for glob in globs:
        if not isinstance(glob, str):
            raise IronCodeError("invalid_argument", f"ignore globs must be strings, got {glob!r}")
        lines.extend(expand_braces(glob))
        if len(lines) > MAX_EXPANDED_GLOBS:
            raise IronCodeError(
                "invalid_pattern", f"Invalid ignore glob '{glob}': too many {{a,b}} alternatives"
            )
    return [glob for line in lines for glob in compile_line(line)]


def compile_line(line: str) -> list[Glob]:
    """pathspec's regex for one line. A trailing ``/`` (folders only) is taken off first and kept
    as a flag, as the native side's glob engine does: pathspec would turn ``lib/**/`` into
    ``lib/``, which also matches ``lib`` itself."""
    text = line.rstrip(" ")
    folders_only = text.endswith("/") and text.lstrip("!") != "/"
    try:
        patterns = pathspec.GitIgnoreSpec.from_lines([text[:-1] if folders_only else line]).patterns
    except Exception as e:  # pathspec raises several types for a bad pattern
        raise IronCodeError("invalid_pattern", f"Invalid ignore glob '{line}': {e}") from None
    return [
        Glob(p.regex, bool(p.include), folders_only)
        for p in patterns
        if p.include is not None and p.regex is not None
    ]


def expand_braces(glob: str) -> list[str]:
    """``*.{log,tmp}`` -> ``*.log``, ``*.tmp``: the native side's glob engine reads ``{a,b}`` as
    alternatives (pathspec, like git, reads braces literally). An unclosed ``{`` is an error there."""
    start = _find_open_brace(glob)
    if start is None:
        return [glob]
    depth, i, in_class, parts, part_start = 0, start, False, [], start + 1
    while i < len(glob):
        c = glob[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                parts.append(glob[part_start:i])
                head, tail = glob[:start], glob[i + 1 :]
                return [out for part in parts for out in expand_braces(head + part + tail)]
        elif c == "," and depth == 1:
            parts.append(glob[part_start:i])
            part_start = i + 1
        i += 1
    raise IronCodeError(
        "invalid_pattern", f"Invalid ignore glob '{glob}': unclosed alternate group; missing '}}'"
    )


def _find_open_brace(glob: str) -> int | None:
    i, in_class = 0, False
    while i < len(glob):
        c = glob[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "{":
            return i
        i += 1
    return None


def is_ignored(matcher: list[Glob], relative: str, is_dir: bool | None) -> bool:
    """Git's rule: ignored if a folder above is ignored, else if its own last matching glob
    ignores it; a path of unknown type (gone) is ignored if it matches as a file or a folder."""
    if not relative:
        return False
    parts = relative.split("/")
    for i in range(1, len(parts)):
        if matched(matcher, "/".join(parts[:i]), True):
            return True
    if is_dir is None:
        return matched(matcher, relative, False) or matched(matcher, relative, True)
    return matched(matcher, relative, is_dir)


def matched(matcher: list[Glob], relative: str, is_dir: bool) -> bool:
    """Whether the last glob matching the path *itself* ignores it (the ignore crate's
    ``Gitignore::matched``). pathspec's regexes also match everything below a matching folder
    (``build`` matches ``build/x``); such a match, which stops at the folder's ``/`` (group
    ``ps_d``), is left to the caller's check of the folders above."""
    verdict = False
    for glob in matcher:
        if glob.folders_only and not is_dir:
            continue
        found = glob.regex.match(relative)
        if found is None:
            continue
        if found.end() == len(relative) or found.groupdict().get("ps_d") is None:
            verdict = glob.ignores
    return verdict


# ---- OS events -------------------------------------------------------------------------------


class OsEventHandler:
    """Runs on watchdog's emitter thread, which calls ``put`` as if this were its event queue.

    A folder moved out of the tree keeps its inotify watch in watchdog, which goes on reporting
    its entries under the old path; the native side drops the watch. Here events below a folder
    reported as gone are dropped until that path is added again (nothing can be created below it
    before that). watchdog reports a deleted folder and one moved away alike, so both are
    remembered: one path per folder removed while watching.
    """

    def __init__(self, shared: Shared) -> None:
        self.shared = shared
        self.gone_folders: set[str] = set()

    def put(self, item: tuple[FileSystemEvent, object], *args: object, **kwargs: object) -> None:
        event = item[0]
        for path, kind, is_dir in classify(event):
            path = _text(path)
            if self.gone_folders and self.below_gone_folder(path):
                continue
            if kind == UNLINK:
                if is_dir:
                    self.gone_folders.add(path)
                is_dir = None
            else:
                self.gone_folders.discard(path)
            if not self.shared.is_ignored(path, is_dir):
                self.shared.push(path, kind)

    def below_gone_folder(self, path: str) -> bool:
        folder = os.path.dirname(path)
        while folder.startswith(self.shared.prefix):
            if folder in self.gone_folders:
                return True
            parent = os.path.dirname(folder)
            if parent == folder:  # "/": watching the root of the file system
                return False
            folder = parent
        return False


def classify(event: FileSystemEvent) -> list[tuple[str, str, bool]]:
    """Our (path, kind, is folder) for a watchdog event; a rename is unlink + add."""
    is_dir = event.is_directory
    if isinstance(event, (FileMovedEvent, DirMovedEvent)):
        # The entries of a renamed folder come as synthetic moves: their new names are new, and
        # their old names went with the folder's unlink (the native side reports them the same).
        out = [] if event.is_synthetic else [(event.src_path, UNLINK, is_dir)]
        return [*out, (event.dest_path, ADD, is_dir)]
    if isinstance(event, (FileCreatedEvent, DirCreatedEvent)):
        return [(event.src_path, ADD, is_dir)]
    if isinstance(event, (FileDeletedEvent, DirDeletedEvent)):
        return [(event.src_path, UNLINK, is_dir)]
    if isinstance(event, (FileModifiedEvent, FileAttribEvent)):
        return [(event.src_path, CHANGE, False)]
    return []


def _text(path: str | bytes) -> str:
    """A path as text, undecodable bytes replaced as Rust's ``to_string_lossy`` does."""
    return os.fsencode(path).decode("utf-8", "replace")


# ---- watches ---------------------------------------------------------------------------------


# watchdog warns when a folder created during its recursive walk gets its watch twice (it keeps
# one); the warning is about its own bookkeeping and would reach our callers.
warnings.filterwarnings(
    "ignore", message="Callback with id .* already exists", category=RuntimeWarning, module=__name__
)

if InotifyFD is not None:

    class _LimitAwareInotifyFD(InotifyFD):
        """watchdog's inotify instance, telling us when watches run out: watchdog itself skips a
        folder it cannot watch below the root without a word."""

        def __init__(self, on_watch_limit) -> None:
            super().__init__()
            self._on_watch_limit = on_watch_limit

        def add_callback(self, path, mask, callback, id_):
            try:
                return super().add_callback(path, mask, callback, id_)
            except OSError as e:
                if e.errno == errno.ENOSPC:
                    self._on_watch_limit()
                raise


# ---- errors ----------------------------------------------------------------------------------


def sysctl_value(name: str) -> str | None:
    try:
        with open("/proc/sys/" + name.replace(".", "/")) as f:
            return f.read().strip()
    except OSError:
        return None


def sysctl_now(name: str) -> str:
    value = sysctl_value(name)
    return f" (now {value})" if value is not None else ""


def watch_limit_error(root: str) -> IronCodeError:
    return IronCodeError(
        "io",
        f"Ran out of inotify watches while watching {root}: the per-user limit is the sysctl "
        f"{WATCHES_SYSCTL}{sysctl_now(WATCHES_SYSCTL)}. Raise it (sudo sysctl {WATCHES_SYSCTL}=524288) "
        "or ignore big folders such as node_modules with ignore globs.",
    )


def instance_limit_error(root: str, error: OSError) -> IronCodeError:
    return IronCodeError(
        "io",
        f"Cannot start an inotify instance to watch {root}: {error.strerror or error}. The per-user "
        f"limit is the sysctl {INSTANCES_SYSCTL}{sysctl_now(INSTANCES_SYSCTL)}: close watchers you no "
        f"longer need or raise it (sudo sysctl {INSTANCES_SYSCTL}=1024); the open-file limit "
        "(ulimit -n) also applies.",
    )


def start_error(error: OSError, root: str) -> IronCodeError:
    if error.errno in (errno.EMFILE, errno.ENFILE):
        return instance_limit_error(root, error)
    if error.errno == errno.ENOSPC:
        return watch_limit_error(root)
    return from_os_error(error, root)
