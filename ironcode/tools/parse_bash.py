"""The parse_bash tool: what a command line would run and which folders it touches, without running it.

>>> print(format_analysis({"commands": [{"name": "rm", "args": ["-rf", "build"], "text": "rm -rf build",
...     "redirects": []}], "directories": ["/r/build"], "patterns": ["rm -rf build"],
...     "always": ["rm *"], "outside": []}))
commands:
  rm -rf build
directories:
  /r/build
patterns:
  rm -rf build
always:
  rm *
The bash tool would run it (nothing outside the project is named).
"""

from __future__ import annotations

from ..agent import Tool, ToolResult, hints
from ..agent_guard import outside_paths

INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "command": {"type": "string", "description": "The bash command line to analyse."},
        "cwd": {
            "type": "string",
            "description": "The folder it would run in (default: the project's first folder).",
        },
    },
    "required": ["command"],
}

OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "commands": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "args": {"type": "array", "items": {"type": "string"}},
                    "text": {"type": "string"},
                    "redirects": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["name", "args", "text"],
            },
        },
        "directories": {"type": "array", "items": {"type": "string"}},
        "patterns": {"type": "array", "items": {"type": "string"}},
        "always": {"type": "array", "items": {"type": "string"}},
        "outside": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["commands", "directories", "patterns", "always", "outside"],
}

DESCRIPTION = """Analyses a bash command line without running it: every command in it (pipelines, lists, subshells, substitutions included) with its arguments and redirections, the folders its file commands touch, and the permission patterns ("git log *") a user could allow.

Usage:
- Use it to check what a complex command line would do before running it with bash.
- "outside" lists the paths it names outside the project: the bash tool refuses such a command
  (unless the session runs in a sandbox)."""

TOOL = Tool(
    name="parse_bash",
    title="Analyse a command line",
    description=DESCRIPTION,
    input_schema=INPUT_SCHEMA,
    output_schema=OUTPUT_SCHEMA,
    annotations=hints(read_only=True, idempotent=True),
)


def run(box, args: dict) -> ToolResult:
    import ironcode

    cwd = box.roots.folder(args.get("cwd"), "cwd")
    result = ironcode.parse_bash(args["command"], cwd.path)
    result["outside"] = outside_paths(args["command"], cwd.path, box.roots)
    return ToolResult(format_analysis(result, box.sandbox is not None), result)


def format_analysis(result: dict, sandboxed: bool = False) -> str:
    lines = ["commands:"]
    for command in result["commands"]:
        lines.append(f"  {command['text']}")
    for key in ("directories", "patterns", "always"):
        lines.append(f"{key}:")
        lines += [f"  {item}" for item in result[key]]
    if result["outside"]:
        lines.append("outside the project:")
        lines += [f"  {path}" for path in result["outside"]]
        if sandboxed:
            lines.append("The bash tool would run it in the sandbox, where those paths are read-only.")
        else:
            lines.append("The bash tool would refuse it.")
    else:
        lines.append("The bash tool would run it (nothing outside the project is named).")
    return "\n".join(lines)
