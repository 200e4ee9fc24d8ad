"""The processes a toolbox starts: foreground commands' process groups, and background shells.

A foreground bash run is one process group (``ironcode/tools/bash.py``). The run ends when bash
exits, but whatever it left running (``server &``) stays in that group; the toolbox keeps the group
and kills it when it closes. A cancelled call kills its group at once.

A background shell is a command on a PTY (the terminal registry, :class:`ironcode.Terminal`), with
its output in the terminal's bounded ring buffer: a shell that prints a gigabyte costs 2 MiB, and
the reader gets the tail with a count of what was lost. At most :data:`MAX_SHELLS` not yet killed
(exited ones count: their id, output and exit code are kept until ``bash_kill``). Killing one kills
its whole process group and session, also a command that ignores hang-ups (``trap '' HUP``).
"""

from __future__ import annotations

import codecs
import os
import re
import signal
import threading
import time
from dataclasses import dataclass, field

from .errors import IronCodeError

#: Background shells alive at once (exited but not killed ones included).
MAX_SHELLS = 16
#: How long one wait of bash_output blocks before looking whether its call was cancelled.
WAIT_SLICE_S = 0.1
#: Longest wait for a killed group to be gone.
KILL_WAIT_S = 5.0
#: Set for background commands: a pager waiting for a key on the PTY would hang the shell.
BACKGROUND_ENV = {"PAGER": "cat", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0"}
#: Terminal escapes (colours, cursor moves, titles) mean nothing to a model.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


def kill_group(group: int) -> None:
    """SIGKILL to process group ``group`` (gone already: nothing to do)."""
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def group_alive(group: int) -> bool:
    from .tools.bash_process import group_alive as alive

    return alive(group)


class ProcessGroups:
    """The foreground process groups of one toolbox: running, or left running by a finished command."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: set[int] = set()
        self._closed = False

    def add(self, group: int) -> None:
        """A command started; after :meth:`kill_all` it is killed at once instead."""
        with self._lock:
            closed = self._closed
            if not closed:
                self._groups.add(group)
        if closed:
            kill_group(group)

    def finished(self, group: int) -> None:
        """The command's bash exited: forget the group unless something of it still runs."""
        if not group_alive(group):
            with self._lock:
                self._groups.discard(group)

    def alive(self) -> list[int]:
        """The groups still held: running commands, and finished ones that left processes behind."""
        with self._lock:
            return sorted(self._groups)

    def kill_all(self) -> None:
        with self._lock:
            self._closed = True
            groups = list(self._groups)
            self._groups.clear()
        for group in groups:
            kill_group(group)
        end = time.monotonic() + KILL_WAIT_S
        for group in groups:
            while group_alive(group) and time.monotonic() < end:
                time.sleep(0.01)


@dataclass
class Shell:
    id: str
    terminal: object
    command: str
    cwd: str
    started: float
    position: int = 0
    decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")("replace")
    )
    lock: threading.Lock = field(default_factory=threading.Lock)


class Shells:
    """The background shells of one toolbox, by id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shells: dict[str, Shell] = {}
        self._reserved = 0
        self._next = 1
        self._closed = False

    def start(self, command: str, argv: list[str], cwd: str) -> Shell:
        """Starts ``argv`` (bash -c command, maybe under the sandbox) on a PTY in ``cwd``."""
        import ironcode

        with self._lock:
            if self._closed:
                raise IronCodeError("closed", "This toolbox is closed: it starts no more shells.")
            if len(self._shells) + self._reserved >= MAX_SHELLS:
                raise IronCodeError(
                    "too_many_shells",
                    f"{MAX_SHELLS} background shells are open already (exited ones count until "
                    "killed): stop one with bash_kill first.",
                )
            self._reserved += 1
            shell_id = f"shell-{self._next}"
            self._next += 1
        try:
            terminal = ironcode.Terminal(argv, cwd=cwd, env=dict(BACKGROUND_ENV))
        except BaseException:
            with self._lock:
                self._reserved -= 1
            raise
        shell = Shell(shell_id, terminal, command, cwd, time.time())
        with self._lock:
            self._reserved -= 1
            closed = self._closed
            if not closed:
                self._shells[shell_id] = shell
        if closed:
            _kill_shell(shell)
            raise IronCodeError("closed", "This toolbox is closed: it starts no more shells.")
        return shell

    def get(self, shell_id: str) -> Shell:
        with self._lock:
            shell = self._shells.get(shell_id)
        if shell is None:
            known = ", ".join(self.ids()) or "none"
            raise IronCodeError(
                "not_found",
                f"No background shell with id {shell_id!r} (killed, or never started). Open shells: {known}.",
            )
        return shell

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._shells)

    def output(self, shell_id: str, wait_s: float, cancelled: threading.Event) -> dict:
        """The output since the last look (waiting up to ``wait_s`` for some), its status and exit
        code, and how many bytes the ring buffer lost before this look."""
        shell = self.get(shell_id)
        terminal = shell.terminal
        with shell.lock:
            end = time.monotonic() + wait_s
            received_before = terminal.info()["received"]
            chunks = [terminal.read(0.0)]
            while not chunks[-1] and not cancelled.is_set():
                left = end - time.monotonic()
                if left <= 0 or terminal.status() == "exited":
                    break
                received_before = terminal.info()["received"]
                chunks.append(terminal.read(min(WAIT_SLICE_S, left)))
            data = b"".join(chunks)
            lost = max(0, received_before - shell.position - len(data))
            shell.position += lost + len(data)
            text = shell.decoder.decode(data)
        status = terminal.status()
        code = terminal.exit_code if status == "exited" else None
        return {
            "shell_id": shell_id,
            "output": clean(text),
            "status": status,
            "lost_bytes": lost,
            **ending(code),
        }

    def send(self, shell_id: str, text: str) -> int:
        return self.get(shell_id).terminal.write(text)

    def kill(self, shell_id: str) -> dict:
        """Kills the shell's process group and session, forgets the id; its final status."""
        shell = self.get(shell_id)
        with self._lock:
            if self._shells.pop(shell_id, None) is None:
                raise IronCodeError(
                    "not_found", f"No background shell with id {shell_id!r} (killed already)."
                )
        was = shell.terminal.status()
        code = shell.terminal.exit_code if was == "exited" else None
        _kill_shell(shell)
        return {"shell_id": shell_id, "status": "killed", "was": was, **ending(code)}

    def close_all(self) -> None:
        with self._lock:
            self._closed = True
            shells = list(self._shells.values())
            self._shells.clear()
        for shell in shells:
            _kill_shell(shell)


def _kill_shell(shell: Shell) -> None:
    """The process group first (a command ignoring SIGHUP outlives the PTY), then the terminal,
    which kills the rest of its session and reaps it."""
    kill_group(shell.terminal.pid)
    try:
        shell.terminal.close()
    except IronCodeError:
        pass


def ending(code: int | None) -> dict:
    """``exit_code`` and ``signal`` from a status where a signal is a negative number."""
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"SIG{-code}"
        return {"exit_code": None, "signal": name}
    return {"exit_code": code, "signal": None}


def clean(text: str) -> str:
    """Terminal output as a model reads it: CRLF as LF, escape sequences removed."""
    return ANSI_ESCAPE.sub("", text).replace("\r\n", "\n")
