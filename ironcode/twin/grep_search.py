"""Twin of native/tool/src/grep/file.rs and sink.rs: one file's search, as grep-searcher runs it.

The native side hands each file to ripgrep's ``grep-searcher``; this module replays what that
searcher does, step for step where the answer depends on it:

- line by line (``ReadByLine``): the file is read in fills of a line buffer (:class:`LineBuffer`,
  ``LineBuffer::fill``): the first read is the 3 bytes the BOM sniffer peeked at, a fill stops at
  a read that brings a line end, a read that brings a NUL byte ends the search without searching
  that fill, and the buffer grows threefold when full but never past ``MAX_LINE_BYTES`` (a longer
  line ends the search: ``cut``). Between fills the searcher keeps the unsearched last line, and
  with context lines also the lines before-context may still need (``Core::roll``), which moves
  where later reads fall;
- multi-line (``MultiLine``), when ``-U`` is asked and the pattern can match a line end: the
  whole file at once (files of ``MAX_LINE_BYTES`` or more are not searched: ``cut``); binary data
  is looked for in the first 64 KiB and in every line the search reports, and each match is
  sought in the rest of the text as a text of its own (so ``^`` matches where the previous match
  ended). That costs a copy of the rest per match for patterns whose assertions read before the
  search start (``^``, ``\\A``, word boundaries), after a match that ended mid-line;
- context lines (``Core::before_context_by_line`` / ``after_context_by_line``), and what the
  collector keeps (grep/sink.rs ``Collector``): lines, a first match, or a count (one per
  matching line; in multi-line mode one per match inside the matched lines, as ``rg -U -c``).
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field

from . import walk

#: The searcher's line buffer starts this big (grep-searcher's DEFAULT_BUFFER_CAPACITY); the
#: multi-line search looks for binary data in this much of a file.
SEARCHER_BUFFER_BYTES = 64 * 1024
#: The byte that marks a file as binary, as in ripgrep.
BINARY_BYTE = b"\0"
#: How big the line buffer may grow: the longest line searched, its newline included (grep.rs:
#: a longer one ends the search of its file; the file is in long_lines). In multi-line mode,
#: files of this size or more are not searched.
MAX_LINE_BYTES = 8 << 20
#: A match's text is cut to this many characters, with TEXT_TRUNCATED_SUFFIX.
MAX_MATCH_TEXT_CHARS = 1 << 18
TEXT_TRUNCATED_SUFFIX = "... (line truncated to 262144 chars)"
#: How many bytes the BOM sniffer peeks at, and so returns by the first read.
BOM_PEEK_BYTES = 3
#: How far past the matched lines a multi-line count looks for the end of a match, in bytes
#: (grep-printer's MAX_LOOK_AHEAD).
MAX_LOOK_AHEAD = 128
UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}

MATCH, BEFORE, AFTER = "match", "before", "after"


class LineTooLong(Exception):
    """The line buffer would have to grow past MAX_LINE_BYTES (grep-searcher: "allocation limit")."""


@dataclass(frozen=True)
class SearchPlan:
    """What to keep of each file and how the searcher runs (grep/file.rs ``SearchPlan`` and
    ``SearcherSettings``)."""

    #: "lines", "first" (files mode) or "count"
    collect: str = "lines"
    keep_matches: int | None = None
    max_chars: int | None = None
    before: int = 0
    after: int = 0
    #: the searcher runs multi-line with this pattern (it can match a line end)
    multi_line: bool = False
    #: for multi-line: some assertion reads the text before where it is tried
    reads_before: bool = False
    binary_drops_file: bool = False


@dataclass
class Collector:
    """What one file's search kept (grep/sink.rs ``Collector``): ``lines`` as (number, text,
    kind, full length when cut), ``matched`` lines or matches found."""

    plan: SearchPlan
    lines: list[tuple[int, str, str, int | None]] = field(default_factory=list)
    matched: int = 0
    kept_matches: int = 0
    after_open: bool = False

    def match(self, first_line: int, data: str, regex, buffer: str, start: int, end: int) -> None:
        plan = self.plan
        if plan.collect == "first":
            self.matched = 1
        elif plan.collect == "count":
            self.matched += count_matches(regex, buffer, start, end) if plan.multi_line else 1
        else:
            keep = plan.keep_matches
            for i, line in enumerate(split_lines(data)):
                self.matched += 1
                if keep is None or self.kept_matches < keep:
                    self.kept_matches += 1
                    self.after_open = True
                    self.lines.append((first_line + i, *line_text(line, plan.max_chars), MATCH))
                else:
                    self.after_open = False

    def context(self, number: int, line: str, kind: str) -> None:
        if self.plan.collect != "lines":
            return
        keep = self.plan.keep_matches
        under_limit = keep is None or self.kept_matches < keep
        if kind == BEFORE and not under_limit:
            self.after_open = False
        if under_limit or (kind == AFTER and self.after_open):
            text, chars = line_text(line, self.plan.max_chars)
            self.lines.append((number, text, chars, kind))


def search_file(regex, path: bytes, plan: SearchPlan, fd: int | None = None) -> tuple[int, tuple] | None:
    """(modification time, (path, matched, lines, cut)) or None when nothing matched (and
    nothing was too long). ``lines`` hold (number, text, full length when cut, kind). Errors
    reading the file are raised (the caller skips the file, or ends the walk when the process
    ran out of descriptors or memory). ``fd``: the file already open (it is closed); a file a
    confined walk found is opened beneath its root (``walk.open_entry``)."""
    with open(walk.open_entry(path) if fd is None else fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            return None
        sink = Collector(plan)
        if plan.multi_line:
            binary, cut = search_multi_line(regex, f, plan, sink)
        else:
            binary, cut = search_by_line(regex, f, plan, sink)
    if plan.binary_drops_file and binary:
        sink.matched = 0
    if not sink.matched and not cut:
        return None
    return info.st_mtime_ns, (walk.display(path), sink.matched, sink.lines, cut)


# ---- reading -----------------------------------------------------------------------------------


def decoded_reader(f) -> tuple[Callable[[int], bytes], int | None]:
    """What the searcher reads from a file (encoding_rs_io's BOM sniffing) as a read function,
    and the size of its first read when that is the peeked bytes (None: reads go straight to the
    file). A UTF-16 file is transcoded whole (the one case whose memory follows the file)."""
    head = b""
    while len(head) < BOM_PEEK_BYTES:
        more = f.read(BOM_PEEK_BYTES - len(head))
        if not more:
            break
        head += more
    if head.startswith(UTF8_BOM):
        return f.read, None
    encoding = UTF16_BOMS.get(head[:2])
    if encoding is not None:
        data = head + f.read()
        if len(data) < BOM_PEEK_BYTES:
            return io.BytesIO(b"").read, None
        text = data[2:].decode(encoding, "replace")
        if text.startswith("\ufeff"):
            text = text[1:]
        return io.BytesIO(text.encode("utf-8", "surrogatepass")).read, None
    pending = [head]

    def read(size: int) -> bytes:
        if pending:
            return pending.pop()  # the first read returns the peeked bytes only
        return f.read(size)

    return read, min(BOM_PEEK_BYTES, len(head))


class LineBuffer:
    """grep-searcher's ``LineBuffer`` with binary detection ``quit(NUL)`` and a heap limit of
    MAX_LINE_BYTES: ``data`` holds the bytes from the consumed position on, ``searchable`` of
    them end with the last line end read (all of them at the end of the input)."""

    def __init__(self, read: Callable[[int], bytes], first_read: int | None) -> None:
        self.read = read
        self.first_read = first_read
        self.reads = 0
        self.capacity = SEARCHER_BUFFER_BYTES
        self.data = b""
        self.searchable = 0
        self.binary = False
        #: the input's end was met: it is final (a file rewritten meanwhile would otherwise go on
        #: from where that read stopped, and a line cut there would count as two)
        self.ended = False

    def buffer(self) -> bytes:
        return self.data[: self.searchable]

    def consume(self, amount: int) -> None:
        self.data = self.data[amount:]
        self.searchable -= amount

    def fill(self) -> bool:
        """Reads until a line end, a NUL or the end; False when nothing is left to search.
        Raises :class:`LineTooLong`."""
        if self.binary:
            return self.searchable > 0
        self.searchable = len(self.data)
        while True:
            if len(self.data) == self.capacity:
                grow = min(self.capacity * 2, MAX_LINE_BYTES - self.capacity)
                if grow == 0:
                    raise LineTooLong
                self.capacity += grow
            want = self.capacity - len(self.data)
            if self.reads == 0 and self.first_read is not None:
                want = min(want, self.first_read)
            chunk = b"" if self.ended else self.read(want)
            self.reads += 1
            if not chunk:
                self.ended = True
                self.searchable = len(self.data)
                return self.searchable > 0
            nul = chunk.find(BINARY_BYTE)
            if nul >= 0:
                self.data += chunk[:nul]
                self.searchable = len(self.data)
                self.binary = True
                return self.searchable > 0
            self.data += chunk
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                self.searchable = len(self.data) - (len(chunk) - newline - 1)
                return True


def split_lines(data):
    """``data`` (bytes or str) as its lines, each with its line end (the last may have none)."""
    end = b"\n" if isinstance(data, bytes) else "\n"
    parts = data.split(end)
    lines = [part + end for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


# ---- line by line ------------------------------------------------------------------------------


def search_by_line(regex, f, plan: SearchPlan, sink: Collector) -> tuple[bool, bool]:
    """``ReadByLine`` with the fast line searcher; returns (binary data met, cut)."""
    buffer = LineBuffer(*decoded_reader(f))
    context = plan.before > 0 or plan.after > 0
    state = _ByLine(regex, plan, sink)
    lines: list[bytes] = []
    try:
        while True:
            # Core::roll: what the buffer keeps for the next fill.
            old_length = buffer.searchable
            if context:
                kept_from = max(max(0, len(lines) - 1 - plan.before) if lines else 0, state.visited)
            else:
                kept_from = len(lines)
            consumed = sum(len(line) for line in lines[:kept_from])
            state.first_line += kept_from
            state.visited = 0
            start = len(lines) - kept_from
            buffer.consume(consumed)
            if not buffer.fill() or buffer.binary:
                break
            if consumed == 0 and old_length == buffer.searchable:
                break
            lines = split_lines(buffer.buffer())
            if not state.match_lines(lines, start):
                break
    except LineTooLong:
        return buffer.binary, True
    return buffer.binary, False


class _ByLine:
    """``Core``'s line-by-line state across fills, in lines of the current buffer."""

    def __init__(self, regex, plan: SearchPlan, sink: Collector) -> None:
        self.regex = regex
        self.plan = plan
        self.sink = sink
        #: the number of the buffer's first line
        self.first_line = 1
        #: lines of the buffer already reported (match or context)
        self.visited = 0
        self.after_left = 0

    def match_lines(self, lines: list[bytes], start: int) -> bool:
        """``match_by_line_fast`` over ``lines[start:]``; False to stop the search."""
        plan = self.plan
        context = plan.before > 0 or plan.after > 0
        for i in matching_lines(self.regex, lines, start):
            if context:
                self.after_context(lines, i)
                self.before_context(lines, i)
            self.sink.match(self.first_line + i, lines[i].decode("utf-8", "surrogateescape"), None, "", 0, 0)
            self.visited = i + 1
            self.after_left = plan.after
            if plan.collect == "first":
                return False
        self.after_context(lines, len(lines))
        return True

    def after_context(self, lines: list[bytes], upto: int) -> None:
        for i in range(self.visited, upto):
            if self.after_left == 0:
                break
            self.sink.context(self.first_line + i, _text(lines[i]), AFTER)
            self.after_left -= 1
            self.visited = i + 1

    def before_context(self, lines: list[bytes], upto: int) -> None:
        if self.plan.before == 0:
            return
        for i in range(max(self.visited, upto - self.plan.before), upto):
            self.sink.context(self.first_line + i, _text(lines[i]), BEFORE)
            self.visited = i + 1


def _text(line: bytes) -> str:
    return line.decode("utf-8", "surrogateescape")


def matching_lines(regex, lines: list[bytes], start: int) -> list[int]:
    """Indexes of the lines from ``start`` on that ``regex`` (which never matches a line end)
    matches."""
    if start >= len(lines):
        return []
    # surrogateescape, not "replace": the regex must see bytes that are not UTF-8 as characters
    # nothing matches (as in Rust), while the text shown has U+FFFD for them.
    text = b"".join(lines[start:]).decode("utf-8", "surrogateescape")
    body = text[:-1] if text.endswith("\n") else text
    found = []
    pos = cursor = 0
    index = start
    while pos <= len(body):
        match = regex.search(body, pos)
        if match is None:
            break
        at = match.start()
        index += body.count("\n", cursor, at)
        cursor = at
        found.append(index)
        line_end = body.find("\n", at)
        if line_end < 0:
            break
        pos = line_end + 1
    return found


# ---- multi-line --------------------------------------------------------------------------------


def search_multi_line(regex, f, plan: SearchPlan, sink: Collector) -> tuple[bool, bool]:
    """``MultiLine`` over the whole file; returns (binary data met, cut)."""
    head = f.read(MAX_LINE_BYTES)
    if len(head) >= MAX_LINE_BYTES:
        return False, True  # grep/file.rs read_bounded: not searched
    read, _ = decoded_reader(io.BytesIO(head))
    data = b"".join(iter(lambda: read(1 << 20), b""))
    if len(data) >= MAX_LINE_BYTES:
        return False, True  # a transcoded file the searcher's buffer cannot hold
    if BINARY_BYTE in data[:SEARCHER_BUFFER_BYTES]:
        return True, False
    search = _MultiLine(regex, plan, sink, data.decode("utf-8", "surrogateescape"))
    search.run()
    return search.binary, False


class _MultiLine:
    """grep-searcher's ``MultiLine`` with ``Core``'s context lines, in characters of ``text``."""

    def __init__(self, regex, plan: SearchPlan, sink: Collector, text: str) -> None:
        self.regex = regex
        self.plan = plan
        self.sink = sink
        self.text = text
        self.pos = 0
        self.found = 0
        self.visited = 0
        self.after_left = 0
        self.binary = False
        self.counted_to = 0
        self.line = 1

    def run(self) -> None:
        last: tuple[int, int] | None = None
        going = True
        while self.pos < len(self.text) and going:
            mat = self.find()
            if mat is None:
                self.pos = len(self.text)
                break
            start, end = mat
            self.pos = end + 1 if start == end and end < len(self.text) else end
            line = self.locate(start, end)
            if last is None:
                last = line
            elif last[1] >= line[0]:
                last = (last[0], line[1])
            else:
                previous, last = last, line
                going = self.sink_context(previous[0]) and self.sink_matched(previous)
        if not going:
            return
        if last is not None and self.sink_context(last[0]):
            self.sink_matched(last)
        self.after_context(len(self.text))

    def find(self) -> tuple[int, int] | None:
        """The next match in the rest of the text, searched as a text of its own."""
        if self.plan.collect == "first" and self.found >= 1:
            return None  # max_matches(1)
        pos, text = self.pos, self.text
        if pos and self.plan.reads_before and (text[pos - 1] != "\n" or "\\A" in self.regex.pattern):
            match = self.regex.search(text[pos:])
            span = None if match is None else (match.start() + pos, match.end() + pos)
        else:
            match = self.regex.search(text, pos)
            span = None if match is None else match.span()
        if span is not None:
            self.found += 1
        return span

    def locate(self, start: int, end: int) -> tuple[int, int]:
        """``lines::locate``: the lines holding ``start..end`` (a match ending in a line end
        does not reach the next line)."""
        text = self.text
        line_start = text.rfind("\n", 0, start) + 1
        if end > line_start and text[end - 1] == "\n":
            return line_start, end
        line_end = text.find("\n", end)
        return line_start, len(text) if line_end < 0 else line_end + 1

    def number(self, at: int) -> int:
        """The number of the line starting at ``at`` (counted as the searcher counts)."""
        if at > self.counted_to:
            self.line += self.text.count("\n", self.counted_to, at)
            self.counted_to = at
        return self.line

    def is_binary(self, start: int, end: int) -> bool:
        """``Core::detect_binary`` on a range about to be reported: True to stop."""
        if not self.binary and "\0" in self.text[start:end]:
            self.binary = True
        return self.binary

    def sink_matched(self, span: tuple[int, int]) -> bool:
        start, end = span
        if start == end or self.is_binary(start, end):
            return False
        self.sink.match(self.number(start), self.text[start:end], self.regex, self.text, start, end)
        self.visited = end
        self.after_left = self.plan.after
        return True

    def sink_context(self, upto: int) -> bool:
        return self.after_context(upto) and self.before_context(upto)

    def after_context(self, upto: int) -> bool:
        at = self.visited
        while self.after_left and at < upto:
            end = self.text.find("\n", at, upto)
            end = upto if end < 0 else end + 1
            if self.is_binary(at, end):
                return False
            self.sink.context(self.number(at), self.text[at:end], AFTER)
            self.visited = at = end
            self.after_left -= 1
        return True

    def before_context(self, upto: int) -> bool:
        if self.plan.before == 0 or self.visited >= upto:
            return True
        start = preceding(self.text, self.visited, upto, self.plan.before - 1)
        at = start
        while at < upto:
            end = self.text.find("\n", at, upto)
            end = upto if end < 0 else end + 1
            if self.is_binary(at, end):
                return False
            self.sink.context(self.number(at), self.text[at:end], BEFORE)
            self.visited = at = end
        return True


def preceding(text: str, start: int, end: int, count: int) -> int:
    """``lines::preceding`` of ``text[start:end]``: where the line ``count`` lines before its last
    one starts (a line end at the very end belongs to the last line)."""
    pos = end
    if pos == start:
        return start
    if text[pos - 1] == "\n":
        pos -= 1
    while True:
        i = text.rfind("\n", start, pos)
        if i < 0:
            return start
        if count == 0:
            return i + 1
        if i == start:
            return start
        count -= 1
        pos = i


def count_matches(regex, text: str, start: int, end: int) -> int:
    """How many matches start in ``text[start:end]``, found again with what lies around them
    (grep-printer's ``find_iter_at_in_context`` and grep-matcher's ``find_iter_at``: after an
    empty match the next search starts one *byte* further on, and an empty match right where the
    previous match ended is skipped). Rust also finds empty matches inside a character's UTF-8
    bytes where the pattern matches empty between two bytes that are not text; the twin counts
    those from the character's length."""
    limit = end
    budget = MAX_LOOK_AHEAD
    while limit < len(text) and budget >= _utf8_length(text[limit]):
        budget -= _utf8_length(text[limit])
        limit += 1
    inside = None  # whether the pattern matches empty inside a character (asked once)
    count = 0
    last_end = start
    last_match = None
    while last_end <= limit:
        match = regex.search(text, last_end, limit)
        if match is None or match.start() >= end:
            break
        at = match.end()
        if match.start() == at:
            last_end = at + 1
            if at != last_match:
                count += 1
                last_match = at
            width = _utf8_length(text[at]) if at < len(text) else 1
            if width > 1:
                if inside is None:
                    inside = regex.match(BETWEEN_BYTES, 1) is not None
                if inside:
                    count += width - 1
                    last_match = None  # the last one ended inside the character
            continue
        last_end = last_match = at
        count += 1
    return count


#: Two bytes that are not UTF-8 as the twin decodes them: what the regex sees around a position
#: inside a character's bytes.
BETWEEN_BYTES = "\udc80\udc80"


def _utf8_length(char: str) -> int:
    """How many bytes ``char`` stands for (a surrogate escape: one byte that is not UTF-8)."""
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return 1
    return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4


# ---- text --------------------------------------------------------------------------------------


def line_text(line, max_chars: int | None = None) -> tuple[str, int | None]:
    """A line as text: its ``\\n`` and a ``\\r`` before it removed, bytes that are not UTF-8
    shown as U+FFFD (as Rust's ``from_utf8_lossy`` does). With ``max_chars`` a longer text is
    cut to that many characters and its full length returned; without, it is cut to
    :data:`MAX_MATCH_TEXT_CHARS` followed by :data:`TEXT_TRUNCATED_SUFFIX`."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", "surrogateescape")
    if line.endswith("\n"):
        line = line[:-1]
    if line.endswith("\r"):
        line = line[:-1]
    text = line.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    cap = MAX_MATCH_TEXT_CHARS if max_chars is None else min(max_chars, MAX_MATCH_TEXT_CHARS)
    if len(text) <= cap:
        return text, None
    if max_chars is not None:
        return text[:cap], len(text)
    return text[:cap] + TEXT_TRUNCATED_SUFFIX, None
