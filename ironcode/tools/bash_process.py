"""How the bash tool runs a command: one process group, stdin /dev/null, the end found when bash
exits (not when the pipe closes), output merged in order and kept as a bounded tail plus a spill
file. The rules and the bugs they prevent are in :mod:`ironcode.tools.bash`; this module is the
machinery, kept apart so the tool reads top to bottom.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from typing import IO

from ..errors import IronCodeError

#: The shell every command runs in.
SHELL = "/bin/bash"
#: The output a model sees: its last 2000 lines, at most 50 KB.
MAX_OUTPUT_LINES = 2000
MAX_OUTPUT_BYTES = 50 * 1024
#: Between TERM and KILL on timeout or Ctrl-C.
KILL_GRACE_S = 1.0
#: After bash exits, how long to keep reading output that is already in the pipe.
DRAIN_AFTER_EXIT_S = 0.2
#: Longest wait for a killed process to be reaped (SIGKILL is not ignorable; this only bounds it).
REAP_TIMEOUT_S = 5.0
#: Longest single wait of the read loop: a huge timeout is waited for in slices (select cannot
#: take one past the platform's time_t).
MAX_WAIT_SLICE_S = 3600.0
#: One read from the pipe, and how many reads before the loop checks the clock again.
READ_CHUNK = 64 * 1024
READS_PER_WAKE = 16
#: Where the full output of a truncated run is saved.
OUTPUT_FILE_PREFIX = "ironcode-bash-"


def run_process(
    command: str,
    workdir: str,
    timeout_s: float,
    output: Output,
    wrap: Callable[[list[str], str], list[str]] | None = None,
    started: Callable[[int], None] | None = None,
) -> tuple[int, bool]:
    """Runs bash, feeding ``output``; returns (exit code, timed out)."""
    argv = [SHELL, "-c", command]
    if wrap is not None:
        argv = wrap(argv, workdir)
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise IronCodeError("not_found", f"{SHELL} not found: the bash tool needs bash") from None
    except PermissionError as e:
        raise IronCodeError("permission_denied", f"cannot run {SHELL}: {e}") from None
    assert proc.stdout is not None
    pipe = proc.stdout
    exited = threading.Event()
    timed_out = False
    wake_read: int | None = None
    waiter: threading.Thread | None = None
    # From here on bash runs: any exception (KeyboardInterrupt above all) must kill its group.
    try:
        if started is not None:
            started(proc.pid)  # the session leader: its pid is the group id
        wake_read, wake_write = os.pipe()
        # proc.wait() blocks without polling; the pipe makes "bash exited" something select sees.
        waiter = threading.Thread(target=_wait_and_wake, args=(proc, exited, wake_write), daemon=True)
        waiter.start()
        os.set_blocking(pipe.fileno(), False)
        with selectors.DefaultSelector() as selector:
            selector.register(pipe, selectors.EVENT_READ, "output")
            selector.register(wake_read, selectors.EVENT_READ, "exit")
            deadline = time.monotonic() + timeout_s
            while not exited.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    _kill_group(proc, exited)
                    break
                for key, _ in selector.select(min(remaining, MAX_WAIT_SLICE_S)):
                    if key.data == "output" and not _read_available(pipe, output):
                        selector.unregister(pipe)
    except BaseException:
        _kill_group(proc, exited)
        raise
    finally:
        _drain(pipe, output)
        pipe.close()
        _reap(proc, waiter)
        if wake_read is not None:
            os.close(wake_read)
    return proc.returncode if proc.returncode is not None else -signal.SIGKILL, timed_out


def _reap(proc: subprocess.Popen, waiter: threading.Thread | None) -> None:
    """Waits (bounded) for bash to be reaped: by the waiter thread if it started, else here."""
    if waiter is not None:
        waiter.join(REAP_TIMEOUT_S)
        return
    try:
        proc.wait(REAP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pass


def _wait_and_wake(proc: subprocess.Popen, exited: threading.Event, wake_write: int) -> None:
    """Reaps bash and wakes the reading loop. Owns ``wake_write``: closing it here, not in the
    loop, means a late wake-up can never write into a file descriptor number reused meanwhile."""
    try:
        proc.wait()
        exited.set()
        os.write(wake_write, b"x")
    except OSError:
        pass
    finally:
        os.close(wake_write)


def _read_available(pipe: IO[bytes], output: Output) -> bool:
    """Reads what the pipe holds (a bounded number of chunks); False at end of file."""
    for _ in range(READS_PER_WAKE):
        try:
            chunk = os.read(pipe.fileno(), READ_CHUNK)
        except BlockingIOError:
            return True
        if not chunk:
            return False
        output.add(chunk)
    return True


def _drain(pipe: IO[bytes], output: Output) -> None:
    """Reads the output already in the pipe once bash is gone, without waiting for an end of file
    that a background child may hold back forever."""
    deadline = time.monotonic() + DRAIN_AFTER_EXIT_S
    while time.monotonic() < deadline:
        try:
            chunk = os.read(pipe.fileno(), READ_CHUNK)
        except (BlockingIOError, OSError):
            return
        if not chunk:
            return
        output.add(chunk)


def _kill_group(proc: subprocess.Popen, exited: threading.Event) -> None:
    """TERM to the whole process group, KILL to whatever is left after the grace period."""
    group = proc.pid  # the session leader: its pid is the group id
    if not _signal_group(group, signal.SIGTERM):
        return
    grace_end = time.monotonic() + KILL_GRACE_S
    exited.wait(KILL_GRACE_S)  # bash itself usually goes first: wait for it without polling
    if _wait_group_gone(group, grace_end - time.monotonic()):
        return
    _signal_group(group, signal.SIGKILL)
    _wait_group_gone(group, REAP_TIMEOUT_S)


def _wait_group_gone(group: int, seconds: float) -> bool:
    """Waits up to ``seconds`` for ``group`` to have no running process, checking at growing
    intervals (there is no way to block on a whole group); True once it is gone."""
    end = time.monotonic() + seconds
    pause = 0.005
    while group_alive(group):
        left = end - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(pause, left))
        pause = min(pause * 2, 0.2)
    return True


def _signal_group(group: int, sig: int) -> bool:
    try:
        os.killpg(group, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def group_alive(group: int) -> bool:
    """True while a process of ``group`` is still running (zombies waiting to be reaped by init
    do not count: they cannot do anything, and some init processes never reap them)."""
    try:
        os.killpg(group, 0)
    except (ProcessLookupError, PermissionError):
        return False
    proc_dir = "/proc"
    if not os.path.isdir(proc_dir):
        return True
    for entry in os.listdir(proc_dir):
        if not entry.isdigit():
            continue
        try:
            with open(f"{proc_dir}/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after it
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) >= 3 and int(fields[2]) == group and fields[0] not in (b"Z", b"X"):
            return True
    return False


class Output:
    """The merged output: all of it in memory while it is small, then its tail in memory and the
    whole in a temporary file."""

    def __init__(self) -> None:
        self.total = 0
        self.lines = 0
        self._newlines = 0
        self._ends_with_newline = False
        self._buffer = bytearray()
        self._file: IO[bytes] | None = None
        self._path: str | None = None

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        self._newlines += chunk.count(b"\n")
        self._ends_with_newline = chunk.endswith(b"\n")
        self._buffer += chunk
        if self._file is not None:
            self._file.write(chunk)
        elif self.total > MAX_OUTPUT_BYTES or self._newlines >= MAX_OUTPUT_LINES:
            fd, self._path = tempfile.mkstemp(prefix=OUTPUT_FILE_PREFIX, suffix=".log")
            self._file = os.fdopen(fd, "wb")
            self._file.write(self._buffer)
        if self._file is not None and len(self._buffer) > 2 * (MAX_OUTPUT_BYTES + 1):
            del self._buffer[: len(self._buffer) - (MAX_OUTPUT_BYTES + 1)]

    def finish(self) -> tuple[bytes, str | None]:
        """The kept tail, and the file holding the full output if the tail is not all of it."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self.lines = self._newlines + (1 if self.total and not self._ends_with_newline else 0)
        kept = tail(bytes(self._buffer), self.total)
        if len(kept) == self.total and self._path is not None:
            os.unlink(self._path)  # spilled to be safe, but everything fits after all
            self._path = None
        return kept, self._path


def tail(data: bytes, total: int) -> bytes:
    """The end of an output whose last bytes are ``data`` (``total`` bytes in all): at most
    :data:`MAX_OUTPUT_BYTES` bytes and :data:`MAX_OUTPUT_LINES` lines, starting at a line start
    (for one line longer than the limit, at a character start)."""
    cut = data[-MAX_OUTPUT_BYTES:]
    starts_mid_line = total > len(cut) and data[-len(cut) - 1 : -len(cut)] != b"\n"
    if starts_mid_line:
        newline = cut.find(b"\n")
        if newline != -1 and newline + 1 < len(cut):
            cut = cut[newline + 1 :]
        else:
            while cut and 0x80 <= cut[0] < 0xC0:  # do not start inside a UTF-8 character
                cut = cut[1:]
    return last_lines(cut, MAX_OUTPUT_LINES)


def last_lines(data: bytes, count: int) -> bytes:
    """The last ``count`` lines of ``data`` (a final newline ends the last line)."""
    position = len(data) - 1 if data.endswith(b"\n") else len(data)
    for _ in range(count):
        newline = data.rfind(b"\n", 0, position)
        if newline == -1:
            return data
        position = newline
    return data[position + 1 :]
