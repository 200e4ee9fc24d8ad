"""Twin of native/tool/src/patch/seek.rs: an Update's chunks applied to a file's text — Codex's
four matching passes from a cursor, ``*** End of File`` anchoring, the trailing-empty-line retry,
``@@ TEXT`` as an insertion point, line endings kept, all within a search budget."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import IronCodeError
from .edit_file import MAX_HINT_LINES, closest_region
from .edit_text import JS_WHITESPACE
from .patch_parse import Chunk, quote

#: The search budget of one apply_patch call, in lines examined (see seek.rs) ...
MIN_SEARCH_LINES = 50_000_000
#: ... or this many times the line count of the largest file the call updates.
SEARCH_LINES_PER_FILE_LINE = 8

EXACT, TRIM_END, TRIM, TYPOGRAPHIC = range(4)
#: The passes in the order a search tries them; the first that finds a position wins.
PASSES = (EXACT, TRIM_END, TRIM, TYPOGRAPHIC)

_TYPOGRAPHIC = str.maketrans(
    {
        **{chr(c): "-" for c in (*range(0x2010, 0x2016), 0x2212)},
        **{chr(c): "'" for c in range(0x2018, 0x201C)},
        **{chr(c): '"' for c in range(0x201C, 0x2020)},
        **{chr(c): " " for c in (0xA0, *range(0x2002, 0x200B), 0x202F, 0x205F, 0x3000)},
    }
)


def typographic(s: str) -> str:
    """``s`` with typographic dashes, quotes and spaces read as their ASCII forms (see seek.rs)."""
    return s if s.isascii() else s.translate(_TYPOGRAPHIC)


def key(pass_: int, line: str) -> str:
    """What a line is compared by in a pass."""
    if pass_ == EXACT:
        return line
    if pass_ == TRIM_END:
        return line.rstrip(JS_WHITESPACE)
    if pass_ == TRIM:
        return line.strip(JS_WHITESPACE)
    return typographic(line.strip(JS_WHITESPACE))


class Budget:
    """What one call may still spend; see :data:`MIN_SEARCH_LINES`."""

    def __init__(self) -> None:
        self.used = 0
        self.limit = MIN_SEARCH_LINES

    def allow_file(self, lines: int) -> None:
        self.limit = max(self.limit, SEARCH_LINES_PER_FILE_LINE * lines)

    def charge(self, lines: int) -> None:
        self.used += lines
        if self.used > self.limit:
            raise IronCodeError(
                "search_too_large",
                f"The patch needs too much searching (more than {self.limit} lines examined): its "
                "chunks' lines occur all over the file without matching, or it updates the same "
                "large file many times. Give each chunk a few distinctive context lines, or split "
                "the patch.",
            )


@dataclass
class FileLines:
    texts: list[str]
    #: each line's own ending (``\\n`` or ``\\r\\n``); None for a last line without one
    ends: list[str | None]
    final_newline: bool
    crlf: bool


def split_file(body: str) -> FileLines:
    """``body`` (a file's text without its BOM) as lines, a ``\\r`` before ``\\n`` set aside."""
    parts = body.split("\n")
    last = parts.pop()
    texts: list[str] = []
    ends: list[str | None] = []
    for part in parts:
        if part.endswith("\r"):
            texts.append(part[:-1])
            ends.append("\r\n")
        else:
            texts.append(part)
            ends.append("\n")
    final_newline = True
    if last:
        texts.append(last)
        ends.append(None)
        final_newline = False
    return FileLines(texts, ends, final_newline, "\r\n" in body)


class _Keys:
    """The file's lines keyed for each pass (on first use) and each pass's set of keys."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.passes: list[tuple[list[str], set[str]] | None] = [None, None, None, None]

    def get(self, pass_: int, budget: Budget) -> tuple[list[str], set[str]]:
        found = self.passes[pass_]
        if found is None:
            budget.charge(len(self.texts))
            if pass_ == EXACT:
                keys = self.texts
            elif pass_ == TRIM_END:
                keys = [t.rstrip(JS_WHITESPACE) for t in self.texts]
            elif pass_ == TRIM:
                keys = [t.strip(JS_WHITESPACE) for t in self.texts]
            else:
                keys = [typographic(t.strip(JS_WHITESPACE)) for t in self.texts]
            found = self.passes[pass_] = (keys, set(keys))
        return found


def _seek(keys: _Keys, pattern: list[str], start: int, eof: bool, budget: Budget) -> int | None:
    """The first position at or after ``start`` where ``pattern`` occurs, by the first pass that
    finds one; with ``eof``, only the position that ends at the file's end."""
    n = len(keys.texts)
    m = len(pattern)
    if m == 0 or m > n or start > n - m:
        return None
    last = n - m
    for pass_ in PASSES:
        wanted = [key(pass_, line) for line in pattern]
        budget.charge(m)
        file, present = keys.get(pass_, budget)
        if eof:
            if file[last:] == wanted:
                return last
            continue
        if not all(w in present for w in wanted):
            continue
        first = wanted[0]
        at = start
        found = None
        while at <= last:
            try:
                i = file.index(first, at, last + 1)
            except ValueError:
                at = last + 1
                break
            budget.charge(m)
            at = i + 1
            if file[i : i + m] == wanted:
                found = i
                break
        budget.charge(at - start)
        if found is not None:
            return found
    return None


@dataclass
class _Replacement:
    start: int
    old_len: int
    chunk: int
    new_len: int


@dataclass
class Applied:
    body: str
    regions: list[tuple[int, int, int, int]]


def apply_chunks(shown: str, body: str, chunks: list[Chunk], budget: Budget) -> Applied:
    """Applies ``chunks`` to ``body`` in order from a cursor; ``shown`` names the file in errors."""
    file = split_file(body)
    n = len(file.texts)
    budget.allow_file(n)
    budget.charge(n)
    keys = _Keys(file.texts)
    cursor = 0
    placed: list[_Replacement] = []
    for number, chunk in enumerate(chunks):
        if chunk.context is not None:
            at = _seek(keys, [chunk.context], cursor, False, budget)
            if at is None:
                raise _context_failed(shown, number + 1, chunk, chunk.context, body, cursor)
            cursor = at + 1
        if not chunk.old:
            start = cursor if chunk.context is not None else n
            placed.append(_Replacement(start, 0, number, len(chunk.new)))
            continue
        old_len, new_len = len(chunk.old), len(chunk.new)
        while True:
            found = _seek(keys, chunk.old[:old_len], cursor, chunk.eof, budget)
            if found is not None or old_len < 2 or chunk.old[old_len - 1] != "":
                break
            old_len -= 1
            if new_len > 0 and chunk.new[new_len - 1].text == "":
                new_len -= 1
        if found is None:
            raise _chunk_failed(shown, number + 1, chunk, body, cursor)
        placed.append(_Replacement(found, old_len, number, new_len))
        cursor = found + old_len
    return _assemble(file, chunks, placed)


def _assemble(file: FileLines, chunks: list[Chunk], placed: list[_Replacement]) -> Applied:
    placed.sort(key=lambda r: r.start)
    default_end = "\r\n" if file.crlf else "\n"
    texts, ends = file.texts, file.ends
    out_texts: list[str] = []
    out_ends: list[str | None] = []
    regions: list[tuple[int, int, int, int]] = []
    at = 0
    for r in placed:
        out_texts.extend(texts[at : r.start])
        out_ends.extend(ends[at : r.start])
        new_start = len(out_texts)
        for line in chunks[r.chunk].new[: r.new_len]:
            out_texts.append(line.text)
            j = line.old
            out_ends.append(ends[r.start + j] if j is not None and j < r.old_len else None)
        before = 1 if r.start > 0 and new_start > 0 else 0
        regions.append((r.start - before, r.start + r.old_len, new_start - before, len(out_texts)))
        at = r.start + r.old_len
    out_texts.extend(texts[at:])
    out_ends.extend(ends[at:])
    parts: list[str] = []
    count = len(out_texts)
    for i in range(count):
        parts.append(out_texts[i])
        if i + 1 < count or file.final_newline:
            end = out_ends[i]
            parts.append(default_end if end is None else end)
    return Applied("".join(parts), regions)


def _after(cursor: int) -> str:
    return "" if cursor == 0 else f" after line {cursor}"


def _context_failed(
    shown: str, number: int, chunk: Chunk, text: str, body: str, cursor: int
) -> IronCodeError:
    message = (
        f"Could not apply chunk {number} of {shown} (patch line {chunk.line}): its line '@@ {text}' "
        f"names a line that was not found{_after(cursor)}, even ignoring whitespace and typographic "
        "quotes and dashes."
    )
    return IronCodeError("patch_failed", message + _region_hint(body, text, cursor))


def _chunk_failed(shown: str, number: int, chunk: Chunk, body: str, cursor: int) -> IronCodeError:
    if chunk.eof:
        place = (
            " at the end of the file (the chunk ends with '*** End of File', so its lines must be "
            "the file's last lines)"
        )
    else:
        place = _after(cursor)
    message = (
        f"Could not apply chunk {number} of {shown} (patch line {chunk.line}): its lines were not "
        f"found{place}, even ignoring whitespace and typographic quotes and dashes. Its first old "
        f"line: {quote(chunk.old[0])}."
    )
    wanted = chunk.old
    while len(wanted) > 1 and wanted[-1] == "":
        wanted = wanted[:-1]
    return IronCodeError("patch_failed", message + _region_hint(body, "\n".join(wanted), cursor))


def _region_hint(body: str, wanted: str, cursor: int) -> str:
    region = closest_region(body, wanted)
    if region is None:
        return " Re-read the file and copy its exact lines into the chunk."
    lines = body.split("\n")
    last = region.first + region.count - 1
    place = f"line {last + 1}" if region.count == 1 else f"lines {region.first + 1}-{last + 1}"
    out = [f" The most similar region is {place} ({math.floor(region.similarity * 100.0)}% similar):\n"]
    for i in range(region.first, region.first + min(region.count, MAX_HINT_LINES)):
        line = lines[i]
        out.append(f"{i + 1}: {line[:-1] if line.endswith(chr(13)) else line}\n")
    if region.count > MAX_HINT_LINES:
        out.append("...\n")
    if region.first < cursor:
        out.append(
            f"That region is above line {cursor + 1}, where this chunk's search started: chunks must "
            "follow the file's order.\n"
        )
    out.append("Copy the file's exact lines into the chunk's context (' ') and '-' lines.")
    return "".join(out)
