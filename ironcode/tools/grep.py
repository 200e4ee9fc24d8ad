"""The grep tool's text for a model: ripgrep's own output, bounded.

Each output mode prints what ``rg`` prints for it, from the engine's answer (OPERATIONS.md
``grep``), so a model trained on ripgrep reads it without a legend:

- content: ``path:line:text`` for match lines and ``path-line-text`` for context lines, ``--``
  between groups that are not adjacent (only when context lines were asked for, as rg);
- files: the paths, newest first; count: ``path:count``.

A line longer than :data:`MAX_LINE_CHARS` shows its start and how much was left out (a minified
bundle matched once must not flood the context); the whole text stays under
:data:`MAX_OUTPUT_BYTES`, with a note saying what was left out and how to narrow the search.
Nothing found is not an error: "No files found".

>>> print(format_grep({"matches": [{"path": "/r/a.py", "line": 3, "text": "import os"}],
...                    "total": 1, "truncated": False}))
/r/a.py:3:import os
"""

from __future__ import annotations

#: A line's text is shown up to this many characters, then "… [N more characters]".
MAX_LINE_CHARS = 500
#: The whole text stays under this many bytes (UTF-8), its notes included (as the read tool's 50 KB).
MAX_OUTPUT_BYTES = 50 * 1024
#: Room kept under MAX_OUTPUT_BYTES for the notes that follow the lines.
NOTES_RESERVE_BYTES = 2 * 1024
#: The longest line grep searches (both backends: native MAX_LINE_BYTES, twin the same), in MiB.
MAX_SEARCHED_LINE_MIB = 8
#: What rg prints between groups of lines that are not adjacent.
CONTEXT_SEPARATOR = "--"
#: The empty answer, in every mode.
NO_FILES = "No files found"
#: How to narrow a search, said in every note about what was left out.
NARROW_HINT = "Use a more specific pattern, path, glob or type to narrow the search"


def mode_of(result: dict) -> str:
    """The output mode an engine answer was made in, from its keys."""
    if "files" in result:
        return "files"
    if "counts" in result:
        return "count"
    return "content"


def format_grep(result: dict, mode: str | None = None) -> str:
    """The text for ``result``, an answer of ``grep`` in ``mode`` (found from its keys when not
    given): rg's lines, then notes on what the limit, the size cap or a line too long to search
    left out."""
    mode = mode or mode_of(result)
    if mode == "files":
        lines = list(result["files"])
        unit = "files"
    elif mode == "count":
        lines = [f"{c['path']}:{c['count']}" for c in result["counts"]]
        unit = "files"
    else:
        lines = content_lines(result["matches"])
        unit = "matches"
    long_lines = result.get("long_lines", [])
    if not lines and not long_lines:
        return NO_FILES
    shown, cut_at = bounded(lines)
    notes = []
    if cut_at is not None:
        notes.append(
            f"(Output cut at {MAX_OUTPUT_BYTES // 1024} KB: showing {cut_at} of {len(lines)} lines. {NARROW_HINT}, "
            "or ask for fewer context lines or for files only.)"
        )
    if result["truncated"]:
        if mode == "content":
            kept = sum(1 for m in result["matches"] if m.get("kind", "match") == "match")
            total = result["total"]
        else:
            kept, total = len(result["counts" if mode == "count" else "files"]), _matched_files(result)
        notes.append(
            f"(Results are truncated: showing {kept} of {total} {unit}, {total - kept} hidden. "
            f"{NARROW_HINT}, or raise the limit.)"
        )
    if mode == "count" and result["counts"]:
        files = _matched_files(result)
        notes.append(f"({result['total']} matches in {files} {'file' if files == 1 else 'files'})")
    if long_lines:
        notes.append(
            f"(Searched only up to a line longer than {MAX_SEARCHED_LINE_MIB} MiB in: "
            + ", ".join(long_lines)
            + ". Matches after that line are not shown; read those files in parts instead.)"
        )
    return "\n".join([*shown, *([""] if shown and notes else []), *notes])


def _matched_files(result: dict) -> int:
    """How many files matched, in files mode (``total``) or count mode (``matched_files``)."""
    if "counts" in result:
        return result.get("matched_files", len(result["counts"]))
    return result["total"]


def content_lines(matches: list[dict]) -> list[str]:
    """rg's lines for content-mode entries: ``path:line:text`` for a match, ``path-line-text``
    for context, ``--`` between non-adjacent groups when the entries carry a ``kind`` (context
    lines were asked for)."""
    out = []
    previous = None
    for match in matches:
        kind = match.get("kind")
        if kind is not None and previous is not None:
            if match["path"] != previous[0] or match["line"] != previous[1] + 1:
                out.append(CONTEXT_SEPARATOR)
        previous = (match["path"], match["line"])
        mark = "-" if kind == "context" else ":"
        out.append(f"{match['path']}{mark}{match['line']}{mark}{line_preview(match)}")
    return out


def line_preview(match: dict) -> str:
    """A line's text, at most :data:`MAX_LINE_CHARS` characters of it, then how many characters
    were left out (counting what the engine already cut, whose full length is in ``chars``)."""
    text = match["text"]
    full = match.get("chars", len(text))
    shown = text[:MAX_LINE_CHARS]
    more = full - len(shown)
    return f"{shown}… [{more} more characters]" if more > 0 else shown


def bounded(lines: list[str]) -> tuple[list[str], int | None]:
    """The first lines that fit under the size cap (room kept for the notes), and how many fit
    when not all did."""
    budget = MAX_OUTPUT_BYTES - NOTES_RESERVE_BYTES
    used = 0
    for i, line in enumerate(lines):
        used += len(line.encode("utf-8", "replace")) + 1
        if used > budget:
            return lines[:i], i
    return lines, None
