"""Twin of native/tool/src/terminal.rs: programs on pseudo-terminals (ptyprocess), output in a ring buffer.

Sessions live in a registry keyed by id. Each session owns two daemon threads:

- the *pump* blocks in ``poll`` on the PTY master and copies output into a ring buffer of
  :data:`RING_BUFFER_BYTES` (the oldest bytes are dropped and counted), waking readers through a
  condition variable;
- the *watcher* blocks in ``waitid(WEXITED | WNOWAIT)``, so the exit is recorded the moment it
  happens, without anyone polling. It leaves the child a zombie until :func:`close`: while the
  zombie exists its pid cannot be reused, so killing its process group and session at close can
  never hit a stranger. Only then does it reap the child (through ptyprocess's ``isalive``).

One file for the whole tool, as every tool has, so it is long: it has the sections of
native/tool/src/terminal.rs in the same order (the ring buffer, one session, the registry,
operations, arguments, the PTY and the child, killing a session, errors), then the handle.

ptyprocess starts the program (fork, ``setsid``, the PTY as controlling terminal) and closes the
master; its 100 ms sleep in ``close()`` is turned off (``delayafterclose = 0``): the child is
already reaped when it runs, so the sleep would only slow every close down.
"""

from __future__ import annotations

import errno
import itertools
import os
import select
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import ptyprocess

from ..errors import IronCodeError

#: Output bytes each session keeps; older bytes are dropped and counted in ``dropped``.
RING_BUFFER_BYTES = 2 * 1024 * 1024
#: Bytes asked for per read of the PTY master.
READ_CHUNK_BYTES = 64 * 1024
#: The program run when no command is given and ``$SHELL`` is unset.
FALLBACK_SHELL = "/bin/sh"
#: ``TERM`` given to programs unless ``env`` sets it: what an agent's terminal emulates.
DEFAULT_TERM = "xterm-256color"
#: ``PATH`` searched for a command when neither ``env`` nor this process sets one.
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
#: Longest a ``write`` waits for the program to make room in the terminal's input queue.
WRITE_TIMEOUT_S = 10.0
#: Longest ``close`` waits for the killed program to be reaped and the pump to stop.
CLOSE_TIMEOUT_S = 5.0
#: Longest single ``read``/``wait`` accepted (a day): every wait is bounded.
MAX_WAIT_SECONDS = 86_400.0
#: Largest number of rows or columns (the kernel stores them as 16-bit values).
MAX_DIMENSION = 65_535
#: Passes over /proc when killing a session: the second catches anything forked during the first.
SESSION_SWEEPS = 2
#: Which backend made a session (the native library says "native").
BACKEND = "python"

# ---- the ring buffer ---------------------------------------------------------------------------


class Ring:
    """The last ``capacity`` bytes of output, with counts of all bytes received and dropped.

    Positions are absolute: byte ``n`` is the ``n``-th byte ever received, so a reader remembers
    where it stopped even while old bytes fall off the front. Kept as a deque of chunks, so
    dropping the oldest bytes never moves the rest.
    """

    def __init__(self, capacity: int) -> None:
        self.chunks: deque[bytes] = deque()
        self.capacity = capacity
        self.length = 0
        self.received = 0
        self.dropped = 0

    def push(self, data: bytes) -> None:
        """Appends ``data``, dropping (and counting) the oldest bytes beyond the capacity."""
        self.received += len(data)
        kept = data[max(0, len(data) - self.capacity) :]
        self.dropped += len(data) - len(kept)
        if kept:
            self.chunks.append(kept)
            self.length += len(kept)
        overflow = self.length - self.capacity
        while overflow > 0:
            first = self.chunks[0]
            if len(first) <= overflow:
                self.chunks.popleft()
                cut = len(first)
            else:
                self.chunks[0] = first[overflow:]
                cut = overflow
            self.length -= cut
            self.dropped += cut
            overflow -= cut

    def since(self, position: int) -> bytes:
        """The retained bytes from absolute ``position`` on (all of them if it fell off)."""
        wanted = self.received - max(position, self.received - self.length)
        if wanted <= 0:
            return b""
        parts: list[bytes] = []
        for chunk in reversed(self.chunks):  # newest first: a read usually wants only the tail
            if wanted <= len(chunk):
                parts.append(chunk[len(chunk) - wanted :])
                break
            parts.append(chunk)
            wanted -= len(chunk)
        return b"".join(reversed(parts))

    def contents(self) -> bytes:
        """All retained bytes."""
        return self.since(0)

    def clear(self) -> None:
        """Forgets the retained bytes (they are not counted as dropped)."""
        self.chunks.clear()
        self.length = 0


# ---- one session -------------------------------------------------------------------------------


class State:
    """What the pump, the watcher and callers share, behind one condition variable."""

    def __init__(self, rows: int, cols: int) -> None:
        self.ring = Ring(RING_BUFFER_BYTES)
        #: Absolute position up to which ``read`` has returned output.
        self.read_position = 0
        #: Callers blocked in ``read`` now: output wakes only them (see :meth:`Shared.push_output`).
        self.output_waiters = 0
        self.rows = rows
        self.cols = cols
        self.exited = False
        #: The exit status, or minus the signal that killed the program; None while running.
        self.exit_code: int | None = None
        #: The pump has stopped: no more output will arrive.
        self.output_closed = False
        #: ``close`` has killed the session: the watcher may reap the child.
        self.closing = False
        self.reaped = False
        self.last_activity = time.monotonic()


class Shared:
    def __init__(self, rows: int, cols: int) -> None:
        self.state = State(rows, cols)
        self.changed = threading.Condition()

    def wait_until(self, deadline: float, done: Callable[[State], bool]) -> State:
        """Waits until ``done(state)`` or the monotonic ``deadline``; returns the state.

        The caller holds ``changed`` (``with shared.changed:``)."""
        while not done(self.state):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.changed.wait(left)
        return self.state

    def update(self, change: Callable[[State], None]) -> None:
        """Runs ``change`` on the state and wakes every waiter."""
        with self.changed:
            change(self.state)
            self.changed.notify_all()

    def wait_for_output(self, deadline: float) -> State:
        """:meth:`wait_until` output after ``read_position`` (or its end), counted in
        ``output_waiters`` meanwhile so the pump knows to wake it. The caller holds ``changed``."""

        def has_output(s: State) -> bool:
            return s.ring.received > s.read_position or s.output_closed

        state = self.state
        if has_output(state) or time.monotonic() >= deadline:
            return state
        state.output_waiters += 1
        try:
            return self.wait_until(deadline, has_output)
        finally:
            state.output_waiters -= 1

    def push_output(self, chunk: bytes) -> None:
        """Appends output to the ring, waking only callers blocked in ``read``: a ``wait`` (for
        the exit) woken on every chunk costs a thread switch per 4 KB (bench-pty, bulk case)."""
        with self.changed:
            self.state.ring.push(chunk)
            self.state.last_activity = time.monotonic()
            if self.state.output_waiters:
                self.changed.notify_all()


class Session:
    def __init__(
        self, seq: int, process: ptyprocess.PtyProcess, command: list[str], cwd: str, shared: Shared
    ) -> None:
        self.id = f"{BACKEND}-{seq}"
        self.seq = seq
        self.process = process
        self.pid: int = process.pid
        self.command = command
        self.cwd = cwd
        self.created = time.time()
        self.master: int = process.fd
        #: The pipe the pump also polls: a byte written to ``wake`` stops it.
        self.wake_read, self.wake = os.pipe()
        self.shared = shared
        self.threads: list[threading.Thread] = []

    def info(self) -> dict:
        with self.shared.changed:
            state = self.shared.state
            return {
                "id": self.id,
                "backend": BACKEND,
                "pid": self.pid,
                "command": list(self.command),
                "cwd": self.cwd,
                "rows": state.rows,
                "cols": state.cols,
                "status": "exited" if state.exited else "running",
                "exit_code": state.exit_code,
                "created": self.created,
                "idle_seconds": time.monotonic() - state.last_activity,
                "buffered": state.ring.length,
                "received": state.ring.received,
                "dropped": state.ring.dropped,
                "output_closed": state.output_closed,
            }

    def shutdown(self) -> None:
        """Kills every process of the session, lets the watcher reap the child, stops the pump,
        joins both threads and closes the PTY. Bounded by :data:`CLOSE_TIMEOUT_S`."""
        # The child is still unreaped here (the watcher waits for `closing`), so its pid, group
        # id and session id all still name this session.
        kill_session(self.pid)
        deadline = time.monotonic() + CLOSE_TIMEOUT_S
        self.shared.update(lambda s: setattr(s, "closing", True))
        with self.shared.changed:
            reaped = self.shared.wait_until(deadline, lambda s: s.reaped).reaped
        try:
            os.write(self.wake, b"\1")
        except OSError:
            pass  # the pump may already have stopped
        with self.shared.changed:
            pumped = self.shared.wait_until(deadline, lambda s: s.output_closed).output_closed
        if reaped and pumped:
            for thread in self.threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            # The process is reaped, so ptyprocess's close() only closes the master.
            self.process.close()
            os.close(self.wake_read)
            os.close(self.wake)
        # else: a thread still uses the descriptors (a process stuck in the kernel): leave them.
        self.touch()

    def touch(self) -> None:
        with self.shared.changed:
            self.shared.state.last_activity = time.monotonic()


# ---- the registry ------------------------------------------------------------------------------

_sessions: dict[str, Session] = {}
_sessions_lock = threading.Lock()
_next_seq = itertools.count(1)


def lookup(id: str) -> Session:
    if not isinstance(id, str):
        raise IronCodeError("invalid_argument", f"id must be a string, got {id!r}")
    with _sessions_lock:
        session = _sessions.get(id)
    if session is None:
        raise unknown_session(id)
    return session


# ---- operations --------------------------------------------------------------------------------


def create(
    command: list[str] | None = None,
    cwd: str = ".",
    rows: int = 24,
    cols: int = 80,
    env: dict[str, str] | None = None,
) -> dict:
    """Starts ``command`` on a new PTY and registers the session; returns its info.

    Errors: a command that does not exist → ``not_found`` naming it; a missing ``cwd`` →
    ``not_found``; bad dimensions, an empty command, NUL bytes, or ``=`` in a variable name →
    ``invalid_argument``.
    """
    rows = dimension(rows, "rows")
    cols = dimension(cols, "cols")
    command = command_argv(command)
    env = check_env(env)
    directory = working_directory(cwd)
    program = resolve_command(command[0], directory, search_path(env))
    process = spawn_on(program, command, directory, env, rows, cols)
    _close_all_at_exit()
    # Non-blocking, so `write` can give up at its deadline (the pump polls before reading).
    os.set_blocking(process.fd, False)
    process.delayafterclose = 0
    process.delayafterterminate = 0
    shared = Shared(rows, cols)
    session = Session(next(_next_seq), process, command, directory, shared)
    watcher = threading.Thread(
        target=watch_exit, args=(session, shared), name=f"ironcode-pty-{session.seq}-exit", daemon=True
    )
    pump = threading.Thread(
        target=pump_output,
        args=(session.master, session.wake_read, shared),
        name=f"ironcode-pty-{session.seq}-pump",
        daemon=True,
    )
    session.threads = [watcher, pump]
    try:
        watcher.start()
    except RuntimeError as e:  # no thread, so nobody would reap the child: do it here
        kill_session(session.pid)
        process.wait()
        process.close()
        os.close(session.wake_read)
        os.close(session.wake)
        raise IronCodeError("io", f"Could not start a thread: {e}") from None
    try:
        pump.start()
    except RuntimeError as e:
        shared.update(lambda s: setattr(s, "output_closed", True))
        session.shutdown()
        raise IronCodeError("io", f"Could not start a thread: {e}") from None
    with _sessions_lock:
        _sessions[session.id] = session
    return session.info()


def write(id: str, data: str | bytes) -> int:
    """Writes ``data`` to the program's terminal; returns the number of bytes written.

    Errors: the program has exited → ``invalid_argument``; the program does not read its input
    for :data:`WRITE_TIMEOUT_S` → ``timeout``.
    """
    payload = input_bytes(data)
    session = lookup(id)
    with session.shared.changed:
        if session.shared.state.exited:
            raise exited_error(session)
    deadline = time.monotonic() + WRITE_TIMEOUT_S
    written = 0
    view = memoryview(payload)
    while written < len(payload):
        try:
            written += os.write(session.master, view[written:])
        except BlockingIOError:
            if not wait_writable(session.master, deadline):
                raise IronCodeError(
                    "timeout",
                    f"terminal {id} did not take its input: wrote {written} of {len(payload)} bytes in "
                    f"{WRITE_TIMEOUT_S:.0f} s; is the program reading?",
                ) from None
        except OSError as e:
            # EIO: nothing holds the terminal's other side any more — the program is gone.
            if e.errno == errno.EIO:
                raise exited_error(session) from None
            raise os_error(e, "write to the terminal") from None
    session.touch()
    return written


def read(id: str, timeout: float = 0.0) -> bytes:
    """Output received since the last ``read``, waiting up to ``timeout`` seconds for some.

    Returns at once when output is waiting, and empty-handed as soon as no more can come (the
    program and all it started have exited).
    """
    seconds = wait_duration(timeout, "timeout")
    session = lookup(id)
    deadline = time.monotonic() + seconds
    with session.shared.changed:
        state = session.shared.wait_for_output(deadline)
        output = state.ring.since(state.read_position)
        state.read_position = state.ring.received
        state.last_activity = time.monotonic()
    return output


def wait(id: str, timeout: float) -> int | None:
    """Waits up to ``timeout`` seconds for the program to exit and its output to end; returns the
    exit code (minus the signal number if a signal killed it), or None if it is still running."""
    seconds = wait_duration(timeout, "timeout")
    session = lookup(id)
    with session.shared.changed:
        state = session.shared.wait_until(time.monotonic() + seconds, lambda s: s.exited and s.output_closed)
        return state.exit_code


def resize(id: str, rows: int, cols: int) -> None:
    """Changes the terminal's size; the kernel tells the program with SIGWINCH."""
    rows = dimension(rows, "rows")
    cols = dimension(cols, "cols")
    session = lookup(id)
    try:
        session.process.setwinsize(rows, cols)
    except OSError as e:
        raise os_error(e, "resize the terminal") from None

    def change(state: State) -> None:
        state.rows, state.cols = rows, cols
        state.last_activity = time.monotonic()

    session.shared.update(change)


def info(id: str) -> dict:
    """The session's id, program, size, status, exit code and buffer counters."""
    return lookup(id).info()


def buffer(id: str) -> bytes:
    """The retained output (the last ≤ :data:`RING_BUFFER_BYTES`), whatever ``read`` returned."""
    session = lookup(id)
    with session.shared.changed:
        session.shared.state.last_activity = time.monotonic()
        return session.shared.state.ring.contents()


def drain(id: str) -> bytes:
    """The retained output, emptying the buffer."""
    session = lookup(id)
    with session.shared.changed:
        output = session.shared.state.ring.contents()
        forget_output(session.shared.state)
    return output


def clear(id: str) -> None:
    """Empties the buffer; ``read`` then returns only output that arrives afterwards."""
    session = lookup(id)
    with session.shared.changed:
        forget_output(session.shared.state)


def close(id: str) -> dict:
    """Kills every process of the session, reaps the program, releases the PTY and forgets the
    session; returns its final info."""
    if not isinstance(id, str):
        raise IronCodeError("invalid_argument", f"id must be a string, got {id!r}")
    with _sessions_lock:
        session = _sessions.pop(id, None)
    if session is None:
        raise unknown_session(id)
    session.shutdown()
    return session.info()


def terminals() -> list[dict]:
    """Every open session, oldest first."""
    with _sessions_lock:
        open_sessions = sorted(_sessions.values(), key=lambda s: s.seq)
    return [session.info() for session in open_sessions]


def cleanup_idle(seconds: float) -> list[str]:
    """Closes the sessions whose program has exited and that have been idle for more than
    ``seconds``; returns their ids, oldest first."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise IronCodeError("invalid_argument", f"seconds must be a number of seconds, got {seconds!r}")
    if not (seconds >= 0 and seconds != float("inf")):
        raise IronCodeError("invalid_argument", f"seconds must be a number ≥ 0, got {seconds}")
    with _sessions_lock:
        candidates = sorted(_sessions.values(), key=lambda s: s.seq)
    now = time.monotonic()
    idle = []
    for session in candidates:
        with session.shared.changed:
            state = session.shared.state
            if state.exited and now - state.last_activity > seconds:
                idle.append(session)
    closed = []
    for session in idle:
        with _sessions_lock:
            # Another thread may have closed it meanwhile; then it is not ours to report.
            mine = _sessions.pop(session.id, None) is not None
        if mine:
            session.shutdown()
            closed.append(session.id)
    return closed


# ---- arguments ---------------------------------------------------------------------------------


def dimension(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise IronCodeError("invalid_argument", f"{name} must be an integer, got {value!r}")
    if not 1 <= value <= MAX_DIMENSION:
        raise IronCodeError("invalid_argument", f"{name} must be between 1 and {MAX_DIMENSION}, got {value}")
    return value


def wait_duration(seconds: float, name: str) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise IronCodeError("invalid_argument", f"{name} must be a number of seconds, got {seconds!r}")
    if not 0 <= seconds <= MAX_WAIT_SECONDS:  # also refuses NaN
        raise IronCodeError(
            "invalid_argument", f"{name} must be between 0 and {MAX_WAIT_SECONDS} seconds, got {seconds}"
        )
    return float(seconds)


def command_argv(command: list[str] | None) -> list[str]:
    """The argv to run: ``command``, or the user's shell."""
    if command is None:
        command = [os.environ.get("SHELL") or FALLBACK_SHELL]
    if isinstance(command, (str, bytes)) or not all(isinstance(a, str) for a in command):
        raise IronCodeError(
            "invalid_argument", f"command must be a list of strings (an argv), got {command!r}"
        )
    command = list(command)
    if not command or not command[0]:
        raise IronCodeError("invalid_argument", "command must name a program: got an empty command")
    for arg in command:
        if "\0" in arg:
            raise IronCodeError("invalid_argument", f"command argument contains a NUL byte: {arg!r}")
    return command


def check_env(env: dict[str, str] | None) -> dict[str, str]:
    if env is None:
        return {}
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        raise IronCodeError("invalid_argument", f"env must map names to strings, got {env!r}")
    for name, value in env.items():
        if not name or "=" in name or "\0" in name:
            raise IronCodeError(
                "invalid_argument",
                f"environment variable name must be non-empty without '=' or NUL: {name!r}",
            )
        if "\0" in value:
            raise IronCodeError("invalid_argument", f"environment variable {name} contains a NUL byte")
    return dict(env)


def working_directory(cwd: str) -> str:
    """``cwd`` made absolute; it must be an existing directory."""
    if isinstance(cwd, os.PathLike):
        cwd = os.fspath(cwd)
    if not isinstance(cwd, str):
        raise IronCodeError("invalid_argument", f"cwd must be a string, got {type(cwd).__name__}")
    if "\0" in cwd:
        raise IronCodeError("invalid_argument", "cwd contains a NUL byte")
    path = os.path.abspath(cwd or ".")
    try:
        if not os.path.isdir(path):
            os.stat(path)  # raises for a missing path; a file falls through
            raise IronCodeError("not_a_directory", f"Working directory is not a directory: {cwd}")
    except FileNotFoundError:
        raise IronCodeError("not_found", f"Working directory not found: {cwd}") from None
    except OSError as e:
        raise os_error(e, f"use the working directory {cwd}") from None
    return path


def search_path(env: dict[str, str]) -> str:
    """The ``PATH`` the program will see: from ``env``, else this process's, else the default."""
    if "PATH" in env:
        return env["PATH"]
    return os.environ.get("PATH", DEFAULT_PATH)


def resolve_command(name: str, cwd: str, path: str) -> str:
    """Finds the program as ``execvp`` would, so a missing command is reported by name before
    anything is started. A name with a ``/`` is taken relative to ``cwd``."""
    if "/" in name:
        candidate = os.path.join(cwd, name)
        if os.path.isdir(candidate):
            raise IronCodeError("is_directory", f"Command is a directory: {name}")
        if not os.path.isfile(candidate):
            raise command_not_found(name)
        if os.access(candidate, os.X_OK):
            return candidate
        raise command_not_executable(name)
    not_executable = False
    for directory in filter(None, path.split(":")):
        candidate = os.path.join(cwd, directory, name)
        if os.path.isfile(candidate):
            if os.access(candidate, os.X_OK):
                return candidate
            not_executable = True
    raise command_not_executable(name) if not_executable else command_not_found(name)


def input_bytes(data: str | bytes) -> bytes:
    if isinstance(data, str):
        try:
            return data.encode("utf-8")
        except UnicodeEncodeError as e:
            raise IronCodeError("invalid_argument", f"data is not valid Unicode: {e}") from None
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise IronCodeError("invalid_argument", f"data must be str or bytes, got {type(data).__name__}")


# ---- the PTY and the child ---------------------------------------------------------------------


def spawn_on(
    program: str, command: list[str], cwd: str, env: dict[str, str], rows: int, cols: int
) -> ptyprocess.PtyProcess:
    """Starts ``program`` on a new PTY, as the leader of a new session (so of a new process group)
    whose controlling terminal is that PTY (ptyprocess: ``forkpty`` + exec)."""
    environment = {**os.environ, "TERM": DEFAULT_TERM, **env}
    try:
        return ptyprocess.PtyProcess.spawn(
            [program, *command[1:]], cwd=cwd, env=environment, dimensions=(rows, cols)
        )
    except OSError as e:
        if e.errno == errno.ENOENT or isinstance(e, FileNotFoundError):
            raise command_not_found(command[0]) from None
        if e.errno in (errno.EACCES, errno.EPERM) or isinstance(e, PermissionError):
            raise command_not_executable(command[0]) from None
        raise IronCodeError("io", f"Could not start {command[0]}: {e}") from None


def pump_output(master: int, wake: int, shared: Shared) -> None:
    """The pump: PTY output into the ring buffer until the terminal closes or ``wake`` is written.

    What the terminal has is read at once, up to one chunk, and handed over with one wake-up of
    the readers (terminal.rs has the measurement)."""
    poller = select.poll()
    poller.register(master, select.POLLIN)
    poller.register(wake, select.POLLIN)
    while True:
        try:
            events = dict(poller.poll())  # no timeout: close() wakes it through the pipe
        except OSError:
            break
        if wake in events:
            break
        if master not in events:
            continue
        chunk, still_open = read_available(master)
        if chunk:
            shared.push_output(chunk)
        if not still_open:
            break
    shared.update(lambda s: setattr(s, "output_closed", True))


def read_available(master: int) -> tuple[bytes, bool]:
    """What the terminal has now, up to one chunk (the master is non-blocking): (the bytes,
    whether the terminal is still open). EIO or end of file: every process has closed the
    terminal's slave side."""
    parts: list[bytes] = []
    filled = 0
    while filled < READ_CHUNK_BYTES:
        try:
            part = os.read(master, READ_CHUNK_BYTES - filled)
        except (BlockingIOError, InterruptedError):
            break
        except OSError:
            return b"".join(parts), False
        if not part:
            return b"".join(parts), False
        parts.append(part)
        filled += len(part)
    return b"".join(parts), True


def watch_exit(session: Session, shared: Shared) -> None:
    """The watcher: records the exit as it happens, then reaps the child once ``close`` asks."""
    try:
        # WNOWAIT: look, do not reap — the zombie keeps the pid (and group) reserved.
        status = os.waitid(os.P_PID, session.pid, os.WEXITED | os.WNOWAIT)
        code = exit_code(status)
    except ChildProcessError:
        code = None  # someone else reaped it (e.g. SIGCHLD ignored); the code is unknown

    def exited(state: State) -> None:
        state.exited = True
        state.exit_code = code
        state.last_activity = time.monotonic()

    shared.update(exited)
    with shared.changed:
        shared.changed.wait_for(lambda: shared.state.closing)
    try:
        session.process.isalive()  # waitpid(WNOHANG) on an exited child: reaps it
    except ptyprocess.PtyProcessError:
        pass  # already reaped by someone else
    shared.update(lambda s: setattr(s, "reaped", True))


def exit_code(status: os.waitid_result | None) -> int | None:
    if status is None:
        return None
    if status.si_code == os.CLD_EXITED:
        return status.si_status
    return -status.si_status


def wait_writable(master: int, deadline: float) -> bool:
    """True once ``master`` can take more input, False at ``deadline``."""
    poller = select.poll()
    poller.register(master, select.POLLOUT)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if poller.poll(left * 1000):
            return True


def forget_output(state: State) -> None:
    state.ring.clear()
    state.read_position = state.ring.received
    state.last_activity = time.monotonic()


# ---- killing a session -------------------------------------------------------------------------


def kill_session(leader: int) -> None:
    """SIGKILL to the process group led by ``leader``, and to every other process of its session
    (an interactive shell puts each job in a group of its own). Processes that left the session
    with ``setsid`` (daemons) are out of reach, as they are meant to be."""
    try:
        os.killpg(leader, 9)
    except OSError:
        pass  # ESRCH when the whole group has already exited
    for _ in range(SESSION_SWEEPS):
        members = session_members(leader)
        if not members:
            break
        for pid in members:
            try:
                os.kill(pid, 9)
            except OSError:
                pass


def session_members(leader: int) -> list[int]:
    """Live (non-zombie) processes whose session id is ``leader``, read from /proc (empty elsewhere)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    me = os.getpid()
    members = []
    for name in names:
        if not name.isdigit() or int(name) == me:
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp session ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 1 :].split()
        if len(fields) > 3 and fields[0] != "Z" and fields[3] == str(leader):
            members.append(int(name))
    return members


# ---- errors ------------------------------------------------------------------------------------


def unknown_session(id: str) -> IronCodeError:
    return IronCodeError("not_found", f"No terminal session with id {id!r} (closed, or never opened)")


def exited_error(session: Session) -> IronCodeError:
    with session.shared.changed:
        code = session.shared.state.exit_code
    shown = f" with code {code}" if code is not None else ""
    return IronCodeError(
        "invalid_argument",
        f"terminal {session.id} has exited{shown}: it takes no more input; read its output or close it",
    )


def command_not_found(name: str) -> IronCodeError:
    return IronCodeError("not_found", f"Command not found: {name}")


def command_not_executable(name: str) -> IronCodeError:
    return IronCodeError("permission_denied", f"Command is not executable: {name}")


def os_error(err: OSError, doing: str) -> IronCodeError:
    if err.errno == errno.ENOENT:
        kind = "not_found"
    elif err.errno in (errno.EACCES, errno.EPERM):
        kind = "permission_denied"
    else:
        kind = "io"
    return IronCodeError(kind, f"Could not {doing}: {err.strerror or err}")


# ---- the handle --------------------------------------------------------------------------------


class Terminal:
    """A program on a pseudo-terminal, served by this twin (see :class:`ironcode.Terminal`)."""

    backend = BACKEND

    def __init__(
        self,
        command: list[str] | None = None,
        cwd: str = ".",
        rows: int = 24,
        cols: int = 80,
        env: dict[str, str] | None = None,
    ) -> None:
        created = create(command, cwd, rows, cols, env)
        self.id: str = created["id"]
        self.pid: int = created["pid"]
        self._final: dict | None = None

    def write(self, data: str | bytes) -> int:
        return write(self.id, data)

    def read(self, timeout: float = 0.0) -> bytes:
        return read(self.id, timeout)

    def wait(self, timeout: float) -> int | None:
        return wait(self.id, timeout)

    def resize(self, rows: int, cols: int) -> None:
        resize(self.id, rows, cols)

    def info(self) -> dict:
        return info(self.id)

    def status(self) -> str:
        return info(self.id)["status"]

    @property
    def exit_code(self) -> int | None:
        return info(self.id)["exit_code"]

    def buffer(self) -> bytes:
        return buffer(self.id)

    def drain(self) -> bytes:
        return drain(self.id)

    def clear(self) -> None:
        clear(self.id)

    def close(self) -> dict | None:
        if self._final is None:
            try:
                self._final = close(self.id)
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
        return f"<ironcode.twin.terminal.Terminal {self.id} pid={self.pid}>"


_exit_hook_registered = False


def _close_all_at_exit() -> None:
    """Closes the sessions still open when Python exits, so no program outlives it."""
    global _exit_hook_registered
    if not _exit_hook_registered:
        import atexit

        _exit_hook_registered = True
        atexit.register(_close_all)


def _close_all() -> None:
    for session in terminals():
        try:
            close(session["id"])
        except IronCodeError:
            pass  # closed meanwhile by another thread
