"""Twin of native/tool/src/grep.rs: the lines matching a regex in the files ripgrep would search.

The native side runs ripgrep's ``grep-searcher``; this twin reproduces what it reads and how:

- the Rust regex is translated to ``re`` by :mod:`ironcode.twin.rust_regex` (same patterns
  accepted and refused, matches never crossing a line unless ``multiline``);
- a UTF-16 byte-order mark makes the file UTF-16 (transcoded), a UTF-8 one is dropped;
- binary files, context lines and multi-line matching: :mod:`ironcode.twin.grep_search` replays
  the searcher's reads and strategies, so the twin keeps and drops exactly the same lines;
- memory stays bounded: the file is read as the searcher reads it, never whole (except UTF-16
  and multi-line searches), the buffer stops growing at :data:`MAX_LINE_BYTES` (a longer line
  ends the search of its file, named in ``long_lines``), and a match's text is cut to
  :data:`MAX_MATCH_TEXT_CHARS`;
- the keyword extensions (output modes, context, multiline, file types, max_line_chars) follow
  OPERATIONS.md as grep.rs does; file types come from :mod:`ironcode.twin.grep_types`.
"""

from __future__ import annotations

import os

from ..errors import IronCodeError, from_os_error
from . import rust_regex, walk
from .file_list import optional_count
from .glob import check_text, sort_newest_first
from .grep_search import (
    AFTER,
    MATCH,
    MAX_LINE_BYTES,
    MAX_MATCH_TEXT_CHARS,
    TEXT_TRUNCATED_SUFFIX,
    SearchPlan,
    search_file,
)
from .grep_types import select as select_type
from .grep_types import type_table
from .ripgrep_ignore import RESOURCE_ERRNOS
from .walk import WalkOptions

__all__ = ["MAX_LINE_BYTES", "MAX_MATCH_TEXT_CHARS", "TEXT_TRUNCATED_SUFFIX", "grep", "grep_types"]

#: Matches returned when the caller gives no limit.
DEFAULT_LIMIT = 100
#: grep's output modes (OPERATIONS.md).
GREP_MODES = ("content", "files", "count")


def grep(
    pattern: str,
    path: str = ".",
    include: str | None = None,
    limit: int | None = DEFAULT_LIMIT,
    ignore_case: bool = False,
    *,
    output_mode: str = "content",
    before: int | None = None,
    after: int | None = None,
    context: int | None = None,
    multiline: bool = False,
    file_type: str | None = None,
    max_line_chars: int | None = None,
    root: str | None = None,
) -> dict:
    """``{"matches": [{"path", "line", "text"}], "total", "truncated"}``: files newest first,
    lines in order; the other modes and keywords as grep.rs ``grep_with``. With ``root``, the
    path is resolved beneath it and the walk never leaves it."""
    check_text(pattern, "pattern")
    if include is not None:
        check_text(include, "include")
    limit = optional_count(limit, "limit")
    _flag(ignore_case, "ignore_case")
    if output_mode not in GREP_MODES:
        raise IronCodeError(
            "invalid_argument", f"output_mode must be one of {', '.join(GREP_MODES)}, got {output_mode!r}"
        )
    before, after, context, max_line_chars = (
        _count(value, name)
        for value, name in [
            (before, "before"),
            (after, "after"),
            (context, "context"),
            (max_line_chars, "max_line_chars"),
        ]
    )
    _flag(multiline, "multiline")
    if file_type is not None:
        check_text(file_type, "file_type")
    regex, multi_line, reads_before = build_matcher(pattern, ignore_case, multiline)
    selected = None if file_type is None else select_type(file_type)
    with_context = output_mode == "content" and (before, after, context) != (None, None, None)
    plan = SearchPlan(
        collect={"content": "lines", "files": "first", "count": "count"}[output_mode],
        keep_matches=limit,
        max_chars=max_line_chars,
        before=(before if before is not None else context or 0) if with_context else 0,
        after=(after if after is not None else context or 0) if with_context else 0,
        multi_line=multi_line,
        reads_before=reads_before,
        binary_drops_file=output_mode == "count",
    )
    if root is not None:
        files = search_beneath(regex, path, include, root, selected, plan)
    elif os.path.isdir(target := walk.search_target(path)):
        options = WalkOptions(globs=[] if include is None else [include])

        def keep(file_path: bytes):
            if selected is not None and not selected.keeps(file_path):
                return None
            return _search_or_skip(regex, file_path, plan)

        files = walk.collect_files(target, options, keep)
    elif os.path.isfile(target):
        try:  # a file named directly that cannot be read is an error (see grep.rs)
            open(target, "rb").close()
        except OSError as e:
            raise from_os_error(e, target) from None
        found = _search_or_skip(regex, os.fsencode(target), plan)
        files = [] if found is None else [found]
    else:
        files = []  # a FIFO or device given by name: reading it could block forever
    long_lines = sorted(file_path for _, (file_path, _, _, cut) in files if cut)
    files = [entry for entry in files if entry[1][1]]
    sort_newest_first(files)
    if output_mode == "files":
        shown = [file_path for _, (file_path, _, _, _) in files[:limit]]
        result = {"files": shown, "total": len(files), "truncated": len(files) > len(shown)}
    elif output_mode == "count":
        counts = [{"path": file_path, "count": n} for _, (file_path, n, _, _) in files[:limit]]
        total = sum(n for _, (_, n, _, _) in files)
        result = {
            "counts": counts,
            "total": total,
            "truncated": len(files) > len(counts),
            "matched_files": len(files),
        }
    else:
        result = _content(files, limit, with_context)
    if long_lines:
        result["long_lines"] = long_lines
    return result


def search_beneath(regex, path: str, include: str | None, root: str, selected, plan: SearchPlan) -> list:
    """The files :func:`grep` found, confined to ``root``: a folder walked beneath it, or the one
    file opened beneath it."""
    with walk.search_target_beneath(path, root) as (kind, shown, opened):
        if kind == "folder":

            def keep(file_path: bytes):
                if selected is not None and not selected.keeps(file_path):
                    return None
                return _search_or_skip(regex, file_path, plan)

            options = WalkOptions(globs=[] if include is None else [include], beneath=opened)
            return walk.collect_files(shown, options, keep)
        if kind == "file":
            found = _search_or_skip(regex, os.fsencode(shown), plan, os.dup(opened))
            return [] if found is None else [found]
        return []  # a FIFO or device given by name: reading it could block forever


def grep_types() -> list[dict]:
    """The file types ``file_type`` knows: ``[{"name", "globs"}]``, sorted."""
    return type_table()


def _flag(value: object, name: str) -> None:
    if not isinstance(value, bool):
        raise IronCodeError("invalid_argument", f"{name} must be True or False, got {value!r}")


def _count(value: object, name: str) -> int | None:
    """An optional count of lines or characters: None, or an integer >= 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise IronCodeError("invalid_argument", f"{name} must be None or an integer >= 0, got {value!r}")
    return value


def _search_or_skip(regex, path: bytes, plan: SearchPlan, fd: int | None = None):
    """:func:`search_file`, with a file that cannot be read skipped (ripgrep reports it and goes
    on) and running out of descriptors or memory an error that ends the search."""
    try:
        return search_file(regex, path, plan, fd)
    except OSError as e:
        if e.errno in RESOURCE_ERRNOS:
            raise from_os_error(e, walk.display(path)) from None
        return None
    except MemoryError:
        raise IronCodeError("io", f"Out of memory while searching {walk.display(path)}") from None


def _content(files: list, limit: int | None, with_context: bool) -> dict:
    """The lines of the newest files first, ``limit`` match lines at most (the last one kept
    still gets its after-context, up to the next match line)."""
    total = sum(n for _, (_, n, _, _) in files)
    matches = []
    kept = 0
    for _, (file_path, _, lines, _) in files:
        for number, text, chars, kind in lines:
            if kept == limit and kind != AFTER:
                break
            if kind == MATCH:
                kept += 1
            entry = {"path": file_path, "line": number, "text": text}
            if with_context:
                entry["kind"] = "match" if kind == MATCH else "context"
            if chars is not None:
                entry["cut"] = True
                entry["chars"] = chars
            matches.append(entry)
        if kept == limit:
            break
    return {"matches": matches, "total": total, "truncated": total > kept}


def build_matcher(pattern: str, ignore_case: bool, multiline: bool = False):
    """The Rust pattern as a compiled ``re`` pattern, whether the search runs multi-line with
    it (``multiline`` asked and the pattern can match a line end, as grep-searcher's
    ``multi_line_with_matcher`` decides) and whether its assertions read before where they are
    tried; ``invalid_pattern`` when it does not parse."""
    try:
        if multiline:
            compiled = rust_regex.MultiLinePattern(pattern, ignore_case)
            if compiled.may_match_newline:
                return compiled.regex, True, compiled.reads_before
            # It cannot match a line end: searched line by line, as without -U.
        return rust_regex.compile(pattern, ignore_case), False, False
    except rust_regex.RegexError as e:
        raise IronCodeError("invalid_pattern", f"Invalid regex '{pattern}': {e}") from None
