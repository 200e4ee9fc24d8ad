"""str_replace_based_edit_tool: Anthropic's text editor contract (text_editor_20250728), on our engine.

``view`` shows a file as ``cat -n`` does (``f"{n:6}\\t{line}"``) or a folder two levels deep;
``create`` makes a new file; ``str_replace`` runs the edit engine; ``insert`` adds lines after a
line number. Changes are under the read rule, like write and edit. Claude models are trained on
this tool, so the parameter names and the view format are Anthropic's; ``insert`` also takes
``insert_text``, the name Anthropic's documentation gives its text, as well as ``new_str``.

>>> format_view_lines(["def f():", "    pass"], 9)
'     9\\tdef f():\\n    10\\t    pass'
"""

from __future__ import annotations

import os
import re
import stat

from ..agent import Tool, ToolResult, hints
from ..agent_reads import Version
from ..agent_roots import PROC_FD, digest_of, is_within, outside_root
from ..errors import IronCodeError, from_os_error

#: Lines one view shows at most (the engine's read limit); the note says how to see the rest.
MAX_VIEW_LINES = 2000
#: A folder view lists entries this many levels below the folder.
FOLDER_DEPTH = 2
#: Entries a folder view shows, and how many it collects before it stops looking.
MAX_FOLDER_ENTRIES = 1000
MAX_FOLDER_SCAN = 20_000
#: Lines of the file shown around a change.
SNIPPET_CONTEXT_LINES = 3
MAX_SNIPPET_LINES = 60
COMMANDS = ("view", "create", "str_replace", "insert")

INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "command": {
            "type": "string",
            "enum": list(COMMANDS),
            "description": "The command to run: view, create, str_replace or insert.",
        },
        "path": {
            "type": "string",
            "description": "The file or folder: absolute, or relative to the project's first folder.",
        },
        "view_range": {
            "type": "array",
            "items": {"type": "integer"},
            "minItems": 2,
            "maxItems": 2,
            "description": "view of a file only: [start, end], 1-based and inclusive; end -1 means "
            "the last line.",
        },
        "file_text": {"type": "string", "description": "create: the content of the new file."},
        "old_str": {
            "type": "string",
            "description": "str_replace: the text to replace; it must occur exactly once.",
        },
        "new_str": {
            "type": "string",
            "description": "str_replace: the text to put in its place (default: none). insert: the "
            "text to insert.",
        },
        "insert_text": {"type": "string", "description": "insert: the text to insert (same as new_str)."},
        "insert_line": {
            "type": "integer",
            "minimum": 0,
            "description": "insert: the line after which the text goes (0 = the top of the file).",
        },
    },
    "required": ["command", "path"],
}

OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "command": {"type": "string", "enum": list(COMMANDS)},
        "path": {"type": "string"},
        "kind": {"type": "string", "enum": ["file", "folder"]},
        "lines": {"type": "array", "items": {"type": "string"}},
        "start": {"type": "integer"},
        "total_lines": {"type": "integer"},
        "entries": {"type": "array", "items": {"type": "string"}},
        "truncated": {"type": "boolean"},
        "bytes": {"type": "integer"},
        "diff": {"type": "string"},
        "additions": {"type": "integer"},
        "deletions": {"type": "integer"},
        "insert_line": {"type": "integer"},
        "inserted_lines": {"type": "integer"},
    },
    "required": ["command", "path"],
}

DESCRIPTION = f"""Views, creates and edits text files in the project.

Commands:
- view: a file's lines as `cat -n` prints them (line number, tab, text), at most {MAX_VIEW_LINES}
  lines a call (view_range=[start, end] for a part; end -1 = the last line); or, for a folder,
  every non-hidden file and folder up to {FOLDER_DEPTH} levels below it, one absolute path a line.
- create: a new file holding file_text (missing folders are made). Refused if the path exists:
  to change an existing file, use str_replace or insert.
- str_replace: replaces old_str, which must occur exactly once in the file, by new_str. Include
  enough surrounding lines in old_str to make it unique. Small differences in indentation or
  surrounding whitespace are tolerated when the match is still unique, and then new_str is
  re-indented to the file's indentation. The file keeps its line endings.
- insert: inserts new_str after line insert_line (0 = the top of the file); a final newline of
  new_str adds no empty line. The file keeps its line endings.

Rules:
- The path must lie inside the project.
- Before str_replace or insert, view the file (or read it) in this session: a file you have not
  seen, or one that changed since you saw it, is refused and left untouched.
- The line numbers of view are not part of the file: leave them out of old_str."""

TOOL = Tool(
    name="str_replace_based_edit_tool",
    title="Text editor",
    description=DESCRIPTION,
    input_schema=INPUT_SCHEMA,
    output_schema=OUTPUT_SCHEMA,
    annotations=hints(destructive=True),
)


def run(box, args: dict) -> ToolResult:
    command = args["command"]
    if command == "view":
        return _view(box, args)
    if command == "create":
        return _create(box, args)
    if command == "str_replace":
        return _str_replace(box, args)
    return _insert(box, args)


# ---- view --------------------------------------------------------------------------------------


def _view(box, args: dict) -> ToolResult:
    located = box.roots.resolve(args["path"], "path")
    try:
        mode = os.stat(located.path).st_mode
    except OSError as e:
        raise from_os_error(e, located.path) from None
    view_range = args.get("view_range")
    if stat.S_ISDIR(mode):
        if view_range is not None:
            raise invalid("view_range", f"{located.path} is a folder; view_range applies to files only.")
        return _view_folder(box, located)
    start, end = 1, -1
    if view_range is not None:
        start, end = view_range
        if start < 1:
            raise invalid("view_range", f"the start line must be 1 or more, got {start}.")
        if end != -1 and end < start:
            raise invalid(
                "view_range", f"[{start}, {end}] runs backwards: the end must be ≥ the start, or -1."
            )
    limit = MAX_VIEW_LINES if end == -1 else min(end - start + 1, MAX_VIEW_LINES)
    version = box.version(located)
    try:
        result = box.engine("read", located.path, start, limit, root=located.root)
    except IronCodeError as e:
        if e.kind == "invalid_argument" and view_range is not None:
            total = box.engine("read", located.path, 1, 1, root=located.root)["total_lines"]
            raise invalid(
                "view_range", f"the start line {start} is past the end of {located.path} ({total} lines)."
            ) from None
        raise
    box.reads.remember(located.path, version)
    data = {
        "command": "view",
        "path": result["path"],
        "kind": "file",
        "lines": result["lines"],
        "start": start,
        "total_lines": result["total_lines"],
        "truncated": _view_truncated(result, start, end),
    }
    return ToolResult(format_view(data), data)


def _view_truncated(result: dict, start: int, end: int) -> bool:
    last_shown = start + len(result["lines"]) - 1
    wanted_last = result["total_lines"] if end == -1 else min(end, result["total_lines"])
    return last_shown < wanted_last


def _view_folder(box, located) -> ToolResult:
    entries, complete = list_folder(box, located)
    shown = entries[:MAX_FOLDER_ENTRIES]
    data = {
        "command": "view",
        "path": located.path,
        "kind": "folder",
        "entries": shown,
        "truncated": len(shown) < len(entries) or not complete,
    }
    return ToolResult(format_folder(data, len(entries), complete), data)


def list_folder(box, located) -> tuple[list[str], bool]:
    """Non-hidden entries up to :data:`FOLDER_DEPTH` levels below the folder, sorted, folders with a
    final ``/``; links leading outside the roots left out, links never entered. Opened by
    descriptor (the folder checked where it landed, each subfolder without following links), so
    a folder swapped for a link mid-listing lists nothing outside. Also whether the scan was complete."""
    fd = os.open(located.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        landed = os.readlink(f"{PROC_FD}/{fd}")
        if not is_within(landed, located.root):
            raise outside_root(located.given, landed, box.roots.folders)
        entries: list[str] = []
        complete = _walk(box, fd, located.path, 1, entries)
    finally:
        os.close(fd)
    return sorted(entries), complete


def _walk(box, fd: int, shown: str, depth: int, out: list[str]) -> bool:
    with os.scandir(fd) as items:
        children = sorted(items, key=lambda e: e.name)
    for entry in children:
        if entry.name.startswith("."):
            continue
        if len(out) >= MAX_FOLDER_SCAN:
            return False
        path = os.path.join(shown, entry.name)
        try:
            if entry.is_symlink():
                target = os.path.realpath(path)
                if box.roots.holder(target) is not None:
                    out.append(path + "/" if os.path.isdir(target) else path)
                continue
            if not entry.is_dir(follow_symlinks=False):
                out.append(path)
                continue
        except OSError:
            continue
        out.append(path + "/")
        if depth >= FOLDER_DEPTH:
            continue
        try:
            sub = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        except OSError:
            continue  # unreadable, or swapped for something else meanwhile
        try:
            if not _walk(box, sub, path, depth + 1, out):
                return False
        finally:
            os.close(sub)
    return True


# ---- create, str_replace, insert ---------------------------------------------------------------


def _create(box, args: dict) -> ToolResult:
    if "file_text" not in args:
        raise invalid("file_text", "create needs file_text, the content of the new file.")
    located = box.roots.resolve(args["path"], "path", writing=True)
    with box.reads.hold(located.path):
        if os.path.lexists(located.path):
            what = "folder" if os.path.isdir(located.path) else "file"
            raise IronCodeError(
                "already_exists",
                f"{located.path} already exists (a {what}): create makes new files only. To change "
                "a file, view it and use str_replace or insert.",
            )
        result = box.engine("write", located.path, args["file_text"], root=located.root)
        box.remember(located)
    data = {"command": "create", "path": result["path"], "bytes": result["bytes"]}
    return ToolResult(f"File created successfully at: {result['path']}", data)


def _str_replace(box, args: dict) -> ToolResult:
    if "old_str" not in args:
        raise invalid("old_str", "str_replace needs old_str, the text to replace.")
    if args["old_str"] == "":
        # the edit engine would create a missing file from an empty old string; the text editor
        # has create for that, and Anthropic's editor refuses an empty old_str
        raise invalid("old_str", "old_str is empty: quote the text to replace (create makes new files).")
    located = box.roots.resolve(args["path"], "path", writing=True)
    with box.reads.hold(located.path):
        box.reads.check(located.path, box.version(located))
        try:
            result = box.engine(
                "edit_file", located.path, args["old_str"], args.get("new_str", ""), False, root=located.root
            )
        except IronCodeError as e:
            raise IronCodeError(e.kind, _in_editor_terms(e.message)) from None
        box.remember(located)
    first, last = changed_lines(result["diff"])
    data = {"command": "str_replace", **result}
    return ToolResult(_edited(box, located, first, last), data)


def _in_editor_terms(message: str) -> str:
    """The edit engine's message with the text editor's parameter names: it has old_str, and no
    replace_all to offer."""
    message = message.replace(", or set replace_all to change every occurrence", "")
    return message.replace("old_string", "old_str").replace("new_string", "new_str")


def _insert(box, args: dict) -> ToolResult:
    if "insert_line" not in args:
        raise invalid("insert_line", "insert needs insert_line, the line after which the text goes.")
    text = args.get("new_str", args.get("insert_text"))
    if text is None:
        raise invalid("new_str", "insert needs new_str, the text to insert.")
    at = args["insert_line"]
    located = box.roots.resolve(args["path"], "path", writing=True)
    with box.reads.hold(located.path):
        raw = box.roots.read_bytes(located)
        if raw is None:
            raise IronCodeError(
                "not_found", f"File not found: {located.path}. Use create to make a new file."
            )
        box.reads.check(located.path, Version(digest_of(raw), len(raw), None))
        updated, inserted = insert_lines(raw, at, text, located.path)
        box.engine("write", located.path, updated, root=located.root)
        box.remember(located)
    data = {"command": "insert", "path": located.path, "insert_line": at, "inserted_lines": inserted}
    return ToolResult(_edited(box, located, at + 1, at + inserted), data)


def insert_lines(raw: bytes, at: int, text: str, path: str) -> tuple[str, int]:
    """The file's new text with ``text``'s lines after line ``at``, keeping the file's BOM, line
    endings (CRLF if it has any) and final-newline state; and how many lines went in."""
    if b"\0" in raw[:4096]:
        raise IronCodeError("binary_file", f"Cannot insert into a binary file: {path}")
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise IronCodeError(
            "encoding", f"File is not valid UTF-8 ({e.reason}), so it was not changed: {path}"
        ) from None
    bom = "\ufeff" if content.startswith("\ufeff") else ""
    body = content[len(bom) :]
    eol = "\r\n" if "\r\n" in body else "\n"
    plain = body.replace("\r\n", "\n")
    final_newline = plain.endswith("\n")
    lines = plain.split("\n") if plain else []
    if final_newline:
        lines.pop()
    if at > len(lines):
        raise invalid("insert_line", f"{at} is past the end of {path}, which has {len(lines)} lines.")
    new = text.replace("\r\n", "\n")
    if new.endswith("\n"):
        new = new[:-1]
    new_lines = new.split("\n")
    result = lines[:at] + new_lines + lines[at:]
    return bom + eol.join(result) + (eol if final_newline else ""), len(new_lines)


def changed_lines(diff: str) -> tuple[int, int]:
    """The first and last line of the new text that a unified diff's hunks cover."""
    spans = [
        (int(m.group(1)), int(m.group(1)) + int(m.group(2) or 1) - 1)
        for m in re.finditer(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", diff, re.MULTILINE)
    ]
    if not spans:
        return 1, 1
    return spans[0][0], max(end for _, end in spans)


def _edited(box, located, first: int, last: int) -> str:
    start = max(first - SNIPPET_CONTEXT_LINES, 1)
    limit = min(max(last, first) + SNIPPET_CONTEXT_LINES - start + 1, MAX_SNIPPET_LINES)
    head = f"The file {located.path} has been edited."
    try:
        snippet = box.engine("read", located.path, start, limit, root=located.root)
    except IronCodeError:
        return head
    return (
        f"{head} Here's the result of running `cat -n` on a snippet of it:\n"
        f"{format_view_lines(snippet['lines'], start)}\n"
        "Review the changes and make sure they are as expected. Edit the file again if necessary."
    )


def invalid(argument: str, why: str) -> IronCodeError:
    return IronCodeError(
        "invalid_argument", f"Invalid argument '{argument}' for str_replace_based_edit_tool: {why}"
    )


# ---- text --------------------------------------------------------------------------------------


def format_view_lines(lines: list[str], start: int) -> str:
    """``cat -n``: the line number right-aligned in six columns, a tab, the line."""
    return "\n".join(f"{start + i:6}\t{line}" for i, line in enumerate(lines))


def format_view(data: dict) -> str:
    if not data["lines"]:
        return (
            f"(The file {data['path']} is empty.)"
            if data["total_lines"] == 0
            else "(No lines in that range.)"
        )
    text = format_view_lines(data["lines"], data["start"])
    if data["truncated"]:
        last = data["start"] + len(data["lines"]) - 1
        text += (
            f"\n\n(Showing lines {data['start']}-{last} of {data['total_lines']}. "
            f"Use view_range=[{last + 1}, -1] to see more.)"
        )
    return text


def format_folder(data: dict, found: int, complete: bool) -> str:
    if not data["entries"]:
        return f"(The folder {data['path']} has no non-hidden entries.)"
    text = "\n".join(data["entries"])
    if data["truncated"]:
        more = f"{found - len(data['entries'])} more" if complete else "more"
        text += (
            f"\n\n(Showing {len(data['entries'])} entries; {more} not shown. View a subfolder to see them.)"
        )
    return text
