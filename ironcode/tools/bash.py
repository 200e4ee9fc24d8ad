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
  group that a timeout or Ctrl-C kills as a whole: TERM, then KILL after :data:`KILL_GRACE_S`
  (the machinery is :mod:`ironcode.tools.bash_process`).
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
import signal
import time
from collections.abc import Callable

from ..agent import Tool, ToolResult, hints
from ..errors import IronCodeError

# The machinery, and the limits callers read here (tests, the CLI, bash_output's tail).
from .bash_process import (  # noqa: F401 - re-exported
    KILL_GRACE_S,
    MAX_OUTPUT_BYTES,
    MAX_OUTPUT_LINES,
    OUTPUT_FILE_PREFIX,
    SHELL,
    Output,
    group_alive,
    run_process,
    tail,
)

#: Timeout when none is given: two minutes.
DEFAULT_TIMEOUT_MS = 120_000
#: What `ironcode bash` exits with when the command timed out (as coreutils `timeout`).
TIMEOUT_EXIT_STATUS = 124


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
    output = Output()
    try:
        exit_code, timed_out = run_process(command, workdir, timeout_s, output, wrap, started)
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
    begin = time.monotonic()
    patch = _intercepted_patch(box, command, cwd.path)
    if patch is not None:
        return _as_bash_result(patch, cwd.path, begin)
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
    from . import patch as apply_patch

    if not any(word in command for word in apply_patch.PATCH_COMMANDS):
        return None  # the common case, without parsing the line again
    found = apply_patch.patch_in_command(command)
    if found is None:
        return None
    patch, folder = found
    if folder is not None:
        cwd = box.roots.folder(box.roots.absolute(folder, "command", base=cwd), "command").path
    return apply_patch.apply(box, patch, cwd)


def _as_bash_result(patch, cwd: str, begin: float):
    """An applied patch answered in bash's shape (the model asked bash): Codex's summary as the
    output, exit code 0, and the patch's ``files``. A patch that fails stays the patch's error
    (``invalid_patch``, ``patch_failed``, ...), which says how to fix it."""
    if patch.is_error:
        return patch
    data = {
        "exit_code": 0,
        "signal": None,
        "timed_out": False,
        "output": patch.text,
        "truncated": False,
        "spill_path": None,
        "duration_ms": round((time.monotonic() - begin) * 1000),
        "cwd": cwd,
        "files": patch.data["files"],
    }
    return ToolResult(text=f"{patch.text}\n\nExit code: 0", data=data)


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
