"""The bash tool: runs a command line for a model, and says what happened as text.

Process spawning stays in Python, as in the migration plan; the command is parsed first
(:func:`ironcode.parse_bash`, on the chosen backend) so a caller can see — and refuse, through
``approve`` — what it will run before it runs.

>>> result = run("echo hello; echo oops >&2; exit 3")
>>> result["output"], result["exit_code"]
('hello\\noops\\n', 3)
>>> print(format_bash(run("true")))
(no output)
<BLANKLINE>
Exit code: 0

How it runs (each rule prevents a bug seen in agents' bash tools):

- ``/bin/bash -c`` in a new session, so the command and everything it starts form one process
  group that a timeout or Ctrl-C kills as a whole: TERM, then KILL after :data:`KILL_GRACE_S`.
- stdin is ``/dev/null``: a command waiting for input ends instead of hanging.
- stdout and stderr are one pipe, read in order as they arrive.
- The run ends when bash exits, not when the pipe closes: a background child (``server &``)
  keeps the pipe open for as long as it lives, and waiting for that would hang until the timeout.
- Output keeps its last :data:`MAX_OUTPUT_LINES` lines / :data:`MAX_OUTPUT_BYTES` bytes (the end
  of a build log is where the error is); the full output goes to a temporary file whose path the
  text gives.
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

from ..agent import Tool, ToolResult, hints
from ..errors import IronCodeError

#: The shell every command runs in.
SHELL = "/bin/bash"
#: Timeout when none is given: two minutes.
DEFAULT_TIMEOUT_MS = 120_000
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
#: What `ironcode bash` exits with when the command timed out (as coreutils `timeout`).
TIMEOUT_EXIT_STATUS = 124
#: Where the full output of a truncated run is saved.
OUTPUT_FILE_PREFIX = "ironcode-bash-"


def run(
    command: str,
    timeout: float | None = None,
    workdir: str | None = None,
    approve: Callable[[dict], bool] | None = None,
    *,
    wrap: Callable[[list[str], str], list[str]] | None = None,
    started: Callable[[int], None] | None = None,
    parsed: dict | None = None,
) -> dict:
    """Runs ``command`` with ``/bin/bash -c`` in ``workdir`` (default: the current folder).

    ``timeout`` is in milliseconds (default :data:`DEFAULT_TIMEOUT_MS`); zero or negative is
    ``invalid_argument``. ``approve``, if given, sees :func:`ironcode.parse_bash` of the command
    first; returning False refuses it (``permission_denied``) and nothing runs.

    Returns ``{"command", "workdir", "exit_code", "timed_out", "timeout_ms", "output",
    "truncated", "output_path", "total_lines", "total_bytes", "parsed"}``: ``exit_code`` is negative when a
    signal ended bash (``-9`` for SIGKILL); ``output`` is the kept tail, decoded as UTF-8 with
    replacement; ``output_path`` is the file holding the full output when it was truncated.
    A Ctrl-C (KeyboardInterrupt) kills the process group and is raised again.

    For the toolbox: ``wrap(argv, workdir)`` returns the argv to run instead (the sandbox puts
    bwrap in front), ``started(group)`` learns the process group as soon as it exists (to kill it
    on cancel or close), and ``parsed`` is the command's :func:`ironcode.parse_bash` if already known.
    """
    import ironcode

    timeout_s = _timeout_seconds(timeout)
    workdir = _workdir(workdir)
    if not isinstance(command, str):
        raise IronCodeError("invalid_argument", f"command must be a string, got {type(command).__name__}")
    if "\0" in command:
        raise IronCodeError("invalid_argument", "command contains a NUL byte, which bash cannot receive")
    if parsed is None:
        parsed = ironcode.parse_bash(command, workdir)
    if approve is not None and not approve(parsed):
        raise IronCodeError("permission_denied", f"the command was not approved: {command}")
    output = _Output()
    try:
        exit_code, timed_out = _run_process(command, workdir, timeout_s, output, wrap, started)
    finally:
        kept, path = output.finish()
    return {
        "command": command,
        "workdir": workdir,
        "exit_code": exit_code,
        "timed_out": timed_out,
        "timeout_ms": round(timeout_s * 1000),
        "output": kept.decode("utf-8", "replace"),
        "truncated": path is not None,
        "output_path": path,
        "total_lines": output.lines,
        "total_bytes": output.total,
        "parsed": parsed,
    }


def format_bash(result: dict) -> str:
    """The text a model sees: a truncation note with the full output's path, the kept output (or
    ``(no output)``), a timeout note, and the exit code."""
    parts = []
    if result["truncated"]:
        parts.append(
            truncation_note(
                result["output"], result["total_lines"], result["total_bytes"], result["output_path"]
            )
        )
    parts.append(result["output"].rstrip("\n") if result["output"] else "(no output)")
    parts.append("")
    if result["timed_out"]:
        parts.append(f"(Command timed out after {result['timeout_ms']} ms; its process group was killed.)")
    parts.append(f"Exit code: {result['exit_code']}")
    return "\n".join(parts)


def truncation_note(output: str, total_lines: int, total_bytes: int, path: str | None) -> str:
    shown = output.count("\n") + (0 if output.endswith("\n") else 1)
    saved = f" Full output saved to {path} — read or grep that file for the rest." if path else ""
    return (
        f"(Output truncated: showing the last {shown} of {total_lines} lines ({total_bytes} bytes).{saved})\n"
    )


def format_parse(parsed: dict) -> str:
    """:func:`ironcode.parse_bash`'s result for a person: one section per list."""
    lines = ["commands:"]
    lines += [f"  {c['text']}    (name {c['name']!r}, args {c['args']!r})" for c in parsed["commands"]]
    for key in ("directories", "patterns", "always"):
        lines.append(f"{key}:")
        lines += [f"  {item}" for item in parsed[key]]
    return "\n".join(lines)


def exit_status(result: dict) -> int:
    """The exit status a shell would report for this run: 124 on timeout (as coreutils
    ``timeout``), 128 + N for a signal, else the command's own."""
    if result["timed_out"]:
        return TIMEOUT_EXIT_STATUS
    code = result["exit_code"]
    return 128 - code if code < 0 else code


def _timeout_seconds(timeout: float | None) -> float:
    if timeout is None:
        return DEFAULT_TIMEOUT_MS / 1000
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise IronCodeError("invalid_argument", f"timeout must be a number of milliseconds, got {timeout!r}")
    if not timeout > 0:
        raise IronCodeError(
            "invalid_argument", f"timeout must be a positive number of milliseconds, got {timeout}"
        )
    return timeout / 1000


def _workdir(workdir: str | None) -> str:
    path = os.path.abspath(workdir if workdir is not None else os.getcwd())
    if not os.path.exists(path):
        raise IronCodeError("not_found", f"Working directory not found: {path}")
    if not os.path.isdir(path):
        raise IronCodeError("not_a_directory", f"Working directory is not a directory: {path}")
    return path


def _run_process(
    command: str,
    workdir: str,
    timeout_s: float,
    output: _Output,
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


def _read_available(pipe: IO[bytes], output: _Output) -> bool:
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


def _drain(pipe: IO[bytes], output: _Output) -> None:
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
    while _group_alive(group):
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


def _group_alive(group: int) -> bool:
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


class _Output:
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


# ---- the toolbox's bash tool (AGENT.md) ----------------------------------------------------------
# The runner above does the running; this is the tool a model calls: its schema, its description,
# the checks before a run (working folder, outside-root guard, apply_patch interception), the
# sandbox, background shells, and the text.

#: The most a model may ask for: ten minutes, as Claude Code's bash tool.
MAX_TIMEOUT_MS = 600_000

TOOL_INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "command": {"type": "string", "description": "The bash command line to run."},
        "timeout_ms": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_TIMEOUT_MS,
            "description": f"Milliseconds before the command is killed (default {DEFAULT_TIMEOUT_MS}, "
            f"at most {MAX_TIMEOUT_MS}).",
        },
        "run_in_background": {
            "type": "boolean",
            "description": "Start it in the background and return its shell_id at once (for servers, "
            "watchers, long builds); read its output with bash_output.",
        },
        "description": {
            "type": "string",
            "description": "What the command does, in 5-10 words (for the person watching).",
        },
        "cwd": {
            "type": "string",
            "description": "The folder to run in (default: the project's first folder); a cd inside "
            "the command does not carry over to the next call.",
        },
    },
    "required": ["command"],
}

TOOL_OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "exit_code": {"type": ["integer", "null"]},
        "signal": {"type": ["string", "null"]},
        "timed_out": {"type": "boolean"},
        "output": {"type": "string"},
        "truncated": {"type": "boolean"},
        "spill_path": {"type": ["string", "null"]},
        "duration_ms": {"type": "integer"},
        "cwd": {"type": "string"},
        "shell_id": {"type": "string"},
        "pid": {"type": "integer"},
        "files": {"type": "array"},
    },
}

TOOL_DESCRIPTION = f"""Runs a bash command line in the project and returns its output (stdout and stderr merged, in order) and how it ended.

Usage:
- The command runs with /bin/bash -c in the project's first folder (or cwd), in a process group
  of its own, with no input (stdin is /dev/null: a command waiting for input ends at once).
- Each call is a fresh shell: cd, variables and aliases do not carry over. Use cwd, or
  `cd dir && command`.
- It is killed after timeout_ms (default {DEFAULT_TIMEOUT_MS} ms, at most {MAX_TIMEOUT_MS}).
  For servers, watchers and anything that does not end by itself, use run_in_background and
  read the output with bash_output; stop it with bash_kill.
- The call returns when bash exits, even if something it started in the background (`server &`)
  is still running; such leftovers are killed when the session ends.
- Output keeps its last {MAX_OUTPUT_LINES} lines / {MAX_OUTPUT_BYTES // 1024} KB; the full output is saved to a
  file that the text names (read or grep it).
- A command that names a path outside the project (`rm ../x`, `echo x > /etc/y`, `cd /`) is refused
  unless the session runs in a sandbox (then everything outside the project is read-only and the
  network is off unless allowed). This check reads the command line only.
- A command line `apply_patch <<'EOF' ... EOF` (also `applypatch`) is applied by the apply_patch
  tool instead of being run.
- Prefer the dedicated tools: read (not cat/head/tail), grep (not grep/rg), glob and find_files
  (not find/ls), edit/apply_patch (not sed/awk/echo >). Use bash for builds, tests, git commands
  without a tool of their own, and programs.
- A non-zero exit code is not an error of the tool: the answer says how the command ended."""


def run_tool(box, args: dict) -> ToolResult:
    """The bash tool: checks, then a foreground run or a background shell."""
    from ..agent_guard import outside_paths, refusal

    command = args["command"]
    if "\0" in command:
        raise IronCodeError(
            "invalid_argument",
            "Invalid argument 'command' for bash: it contains a NUL byte, which bash cannot receive.",
        )
    cwd = box.roots.folder(args.get("cwd"), "cwd")
    patch = _intercepted_patch(box, command, cwd.path)
    if patch is not None:
        return patch
    if box.sandbox is None:
        outside = outside_paths(command, cwd.path, box.roots)
        if outside:
            raise IronCodeError("outside_root", refusal(command, outside, box.roots))
    if args.get("run_in_background"):
        return _background(box, command, cwd.path)
    context = box.context()
    groups: list[int] = []

    def started(group: int) -> None:
        groups.append(group)
        box.groups.add(group)
        context.started(group)

    begin = time.monotonic()
    try:
        result = run(
            command,
            args.get("timeout_ms", DEFAULT_TIMEOUT_MS),
            cwd.path,
            wrap=box.sandbox.wrap if box.sandbox is not None else None,
            started=started,
        )
    finally:
        for group in groups:
            box.groups.finished(group)
    if result["output_path"] is not None:
        box.roots.add_spill(result["output_path"])
    code = result["exit_code"]
    data = {
        "exit_code": code if code >= 0 else None,
        "signal": _signal_name(-code) if code < 0 else None,
        "timed_out": result["timed_out"],
        "output": result["output"],
        "truncated": result["truncated"],
        "spill_path": result["output_path"],
        "duration_ms": round((time.monotonic() - begin) * 1000),
        "cwd": cwd.path,
        "total_lines": result["total_lines"],
        "total_bytes": result["total_bytes"],
        "timeout_ms": result["timeout_ms"],
    }
    return ToolResult(format_run(data, box), data)


def _background(box, command: str, cwd: str) -> ToolResult:
    argv = [SHELL, "-c", command]
    if box.sandbox is not None:
        argv = box.sandbox.wrap(argv, cwd)
    shell = box.shells.start(command, argv, cwd)
    data = {"shell_id": shell.id, "pid": shell.terminal.pid, "cwd": cwd}
    text = (
        f"Started in the background as {shell.id} (pid {shell.terminal.pid}, in {cwd}).\n"
        f'Read its output with bash_output (shell_id "{shell.id}"), type into it with bash_input, '
        "and stop it with bash_kill."
    )
    return ToolResult(text, data)


def _intercepted_patch(box, command: str, cwd: str):
    """An ``apply_patch <<'EOF' ... EOF`` command line, applied by the apply_patch tool; else None."""
    from . import apply_patch

    if not any(word in command for word in apply_patch.PATCH_COMMANDS):
        return None  # the common case, without parsing the line again
    found = apply_patch.patch_in_command(command)
    if found is None:
        return None
    patch, folder = found
    if folder is not None:
        cwd = box.roots.folder(box.roots.absolute(folder, "command", base=cwd), "command").path
    return apply_patch.apply(box, patch, cwd)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"SIG{number}"


def format_run(data: dict, box=None) -> str:
    """The output (its tail, with a note when cut), how the command ended, and what the sandbox
    did when the output shows it got in the way."""
    parts = []
    if data["truncated"]:
        parts.append(
            truncation_note(data["output"], data["total_lines"], data["total_bytes"], data["spill_path"])
        )
    parts.append(data["output"].rstrip("\n") if data["output"] else "(no output)")
    parts.append("")
    if data["timed_out"]:
        parts.append(f"(Command timed out after {data['timeout_ms']} ms; its process group was killed.)")
    if data["signal"] is not None:
        parts.append(f"Killed by signal {data['signal']}")
    else:
        parts.append(f"Exit code: {data['exit_code']}")
    sandbox = getattr(box, "sandbox", None)
    if sandbox is not None:
        from ..sandbox import sandbox_notes

        parts += sandbox_notes(data["output"], sandbox)
    return "\n".join(parts)


#: The registry's entry (``run`` is the runner's name here, so the tool's run is ``run_tool``).
TOOLS = [
    (
        Tool(
            name="bash",
            title="Run a shell command",
            description=TOOL_DESCRIPTION,
            input_schema=TOOL_INPUT_SCHEMA,
            output_schema=TOOL_OUTPUT_SCHEMA,
            annotations=hints(destructive=True),
        ),
        run_tool,
    )
]
