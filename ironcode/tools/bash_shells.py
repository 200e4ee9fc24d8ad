"""bash_output, bash_input and bash_kill: the background shells that ``bash`` with
``run_in_background`` starts (one family, one module: they share the shell registry and its text).

>>> print(format_output({"shell_id": "shell-1", "output": "ready\\n", "status": "running",
...                      "exit_code": None, "signal": None, "lost_bytes": 0, "truncated": False}))
ready
<BLANKLINE>
(shell-1 is still running.)
"""

from __future__ import annotations

from ..agent import Tool, ToolResult, hints
from ..agent_shells import MAX_SHELLS
from .bash import MAX_OUTPUT_BYTES, MAX_OUTPUT_LINES, tail

#: The longest bash_output waits for new output.
MAX_WAIT_MS = 600_000

SHELL_ID = {"type": "string", "description": 'The id bash returned for the background shell, e.g. "shell-1".'}

OUTPUT_INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "shell_id": SHELL_ID,
        "wait_ms": {
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_WAIT_MS,
            "description": "Wait up to this long for new output when there is none yet (default 0).",
        },
    },
    "required": ["shell_id"],
}
INPUT_INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "shell_id": SHELL_ID,
        "text": {
            "type": "string",
            "description": 'The keystrokes to send, e.g. "yes\\n" (a newline is Enter; "\\u0003" is Ctrl-C).',
        },
    },
    "required": ["shell_id", "text"],
}
KILL_INPUT_SCHEMA = {"type": "object", "properties": {"shell_id": SHELL_ID}, "required": ["shell_id"]}

ENDING = {"exit_code": {"type": ["integer", "null"]}, "signal": {"type": ["string", "null"]}}
OUTPUT_OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "shell_id": {"type": "string"},
        "output": {"type": "string"},
        "status": {"type": "string", "enum": ["running", "exited"]},
        **ENDING,
        "lost_bytes": {"type": "integer"},
        "truncated": {"type": "boolean"},
    },
    "required": ["shell_id", "output", "status", "exit_code"],
}
INPUT_OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {"shell_id": {"type": "string"}, "bytes": {"type": "integer"}},
    "required": ["shell_id", "bytes"],
}
KILL_OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "shell_id": {"type": "string"},
        "status": {"type": "string"},
        "was": {"type": "string"},
        **ENDING,
    },
    "required": ["shell_id", "status"],
}

OUTPUT_DESCRIPTION = f"""Returns the new output of a background shell (started by bash with run_in_background) since the last look, and whether it is still running.

Usage:
- Each call returns only output that arrived since the previous call for that shell_id.
- wait_ms waits (up to {MAX_WAIT_MS} ms) for output when there is none yet: use it instead of
  sleeping in bash. It returns as soon as some output arrives or the shell exits.
- Output is kept in a bounded buffer; a shell that prints more than it holds between two looks
  loses the oldest part, and the answer says how much. The text shows at most the last
  {MAX_OUTPUT_LINES} lines / {MAX_OUTPUT_BYTES // 1024} KB.
- An exited shell keeps its final output and exit code until bash_kill."""

INPUT_DESCRIPTION = """Types text into a background shell's terminal, as keystrokes.

Usage:
- Use it to answer a prompt or drive an interactive program started with bash run_in_background.
- End a line with "\\n" (Enter). Control characters work as on a keyboard: "\\u0003" is Ctrl-C,
  "\\u0004" Ctrl-D.
- Then read the answer with bash_output (wait_ms helps)."""

KILL_DESCRIPTION = f"""Stops a background shell: kills its whole process group (everything it started) and forgets its id.

Usage:
- Stop servers and watchers when you are done with them: at most {MAX_SHELLS} background shells
  may be open at once, and exited ones count until killed.
- Read the last output with bash_output first if you still need it."""


def run_output(box, args: dict) -> ToolResult:
    found = box.shells.output(args["shell_id"], args.get("wait_ms", 0) / 1000, box.context().cancelled)
    output = found["output"]
    data = output.encode("utf-8")
    kept = tail(data, len(data)).decode("utf-8", "replace")
    found["truncated"] = len(kept) < len(output)
    found["output"] = kept
    return ToolResult(format_output(found), found)


def run_input(box, args: dict) -> ToolResult:
    written = box.shells.send(args["shell_id"], args["text"])
    data = {"shell_id": args["shell_id"], "bytes": written}
    return ToolResult(f"Sent {written} bytes to {args['shell_id']}. Read the answer with bash_output.", data)


def run_kill(box, args: dict) -> ToolResult:
    data = box.shells.kill(args["shell_id"])
    if data["was"] == "exited":
        ended = f"signal {data['signal']}" if data["signal"] else f"exit code {data['exit_code']}"
        text = f"Removed {data['shell_id']} (it had already exited with {ended})."
    else:
        text = f"Killed {data['shell_id']} and every process it started."
    return ToolResult(text, data)


TOOLS = [
    (
        Tool(
            name="bash_output",
            title="Read a background shell's output",
            description=OUTPUT_DESCRIPTION,
            input_schema=OUTPUT_INPUT_SCHEMA,
            output_schema=OUTPUT_OUTPUT_SCHEMA,
            annotations=hints(read_only=True, idempotent=True),
        ),
        run_output,
    ),
    (
        Tool(
            name="bash_input",
            title="Type into a background shell",
            description=INPUT_DESCRIPTION,
            input_schema=INPUT_INPUT_SCHEMA,
            output_schema=INPUT_OUTPUT_SCHEMA,
            annotations=hints(destructive=True),
        ),
        run_input,
    ),
    (
        Tool(
            name="bash_kill",
            title="Stop a background shell",
            description=KILL_DESCRIPTION,
            input_schema=KILL_INPUT_SCHEMA,
            output_schema=KILL_OUTPUT_SCHEMA,
            annotations=hints(destructive=True),
        ),
        run_kill,
    ),
]


def format_output(data: dict) -> str:
    parts = []
    if data["lost_bytes"]:
        parts.append(
            f"({data['lost_bytes']} bytes of output were lost before this look: the buffer keeps the newest.)"
        )
    if data["truncated"]:
        parts.append(
            f"(Showing the last {MAX_OUTPUT_LINES} lines / {MAX_OUTPUT_BYTES // 1024} KB of the new output.)"
        )
    parts.append(data["output"].rstrip("\n") if data["output"] else "(no new output)")
    parts.append("")
    if data["status"] == "running":
        parts.append(f"({data['shell_id']} is still running.)")
    elif data["signal"]:
        parts.append(f"({data['shell_id']} was killed by signal {data['signal']}.)")
    else:
        parts.append(f"({data['shell_id']} exited with code {data['exit_code']}.)")
    return "\n".join(parts)
