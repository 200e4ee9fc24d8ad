"""The ls tool: the files below a folder as an indented tree, dependency and build folders skipped."""

from __future__ import annotations

from ..agent import Tool, ToolResult, hints

#: Files one call lists; the note says when there are more.
MAX_FILES = 100

INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "path": {
            "type": "string",
            "description": "The folder to list (default: the project's first folder).",
        },
        "ignore": {
            "type": "array",
            "items": {"type": "string"},
            "description": 'Glob patterns of files and folders to leave out, e.g. ["*.log", "fixtures/"].',
        },
    },
}

OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "root": {"type": "string"},
        "files": {"type": "array", "items": {"type": "string"}},
        "truncated": {"type": "boolean"},
    },
    "required": ["root", "files", "truncated"],
}

DESCRIPTION = f"""Lists the files below a folder as a tree (recursive, sorted).

Usage:
- path defaults to the project's first folder; it must be a folder inside the project.
- Dependency, build and cache folders (node_modules, .git, __pycache__, dist, build, target,
  vendor, .venv, ...) are never entered; leave out more with ignore globs.
- At most {MAX_FILES} files are listed; list a subfolder to see more.
- Prefer glob or grep when you know what you are looking for."""

TOOL = Tool(
    name="ls",
    title="List files",
    description=DESCRIPTION,
    input_schema=INPUT_SCHEMA,
    output_schema=OUTPUT_SCHEMA,
    annotations=hints(read_only=True, idempotent=True),
)


def run(box, args: dict) -> ToolResult:
    located = box.roots.folder(args.get("path"))
    result = box.engine("ls", located.path, args.get("ignore"), MAX_FILES, root=located.root)
    return ToolResult(format_ls(result), result)


def format_ls(result: dict) -> str:
    """``root/`` then one line per folder and file, two spaces of indent per level."""
    lines = [f"{result['root']}/"]
    seen_dirs: set[str] = set()
    for rel in result["files"]:
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder not in seen_dirs:
                seen_dirs.add(folder)
                lines.append(f"{'  ' * depth}{parts[depth - 1]}/")
        lines.append(f"{'  ' * len(parts)}{parts[-1]}")
    if result["truncated"]:
        lines.append(
            f"\n(Showing the first {len(result['files'])} files. Narrow the path or raise the limit.)"
        )
    return "\n".join(lines)
