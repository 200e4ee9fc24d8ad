"""Twin of native/tool/src/grep.rs: the lines matching a regex in the files ripgrep would search.

The native side runs ripgrep's ``grep-searcher``; this twin reproduces what it reads and how:

- the Rust regex is translated to ``re`` by :mod:`ironcode.twin.rust_regex` (same patterns
  accepted and refused, matches never crossing a line);
- a UTF-16 byte-order mark makes the file UTF-16 (transcoded), a UTF-8 one is dropped;
- binary files: the searcher reads a file in chunks into a 64 KiB line buffer (the first read is
  the 3 bytes it peeks at for a BOM) and stops at the first chunk holding a NUL byte, keeping the
  lines of earlier chunks. :class:`searched_segments` replays those reads, so the twin keeps and
  drops exactly the same lines;
- memory stays bounded: the file is read as the searcher reads it, never whole (except UTF-16),
  the buffer stops growing at :data:`MAX_LINE_BYTES` (a longer line ends the search of its file,
  named in ``long_lines``), and a match's text is cut to :data:`MAX_MATCH_TEXT_CHARS`.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable, Iterator

from ..errors import IronCodeError, from_os_error
from . import rust_regex, walk
from .file_list import optional_count
from .glob import check_text, sort_newest_first
from .walk import WalkOptions

#: Matches returned when the caller gives no limit.
DEFAULT_LIMIT = 100
#: The searcher's line buffer starts this big (grep-searcher's DEFAULT_BUFFER_CAPACITY).
SEARCHER_BUFFER_BYTES = 64 * 1024
#: The byte that marks a file as binary, as in ripgrep.
BINARY_BYTE = b"\0"
#: How big the line buffer may grow: the longest line searched, its newline included (see
#: grep.rs: a longer one ends the search of its file; the file is in long_lines).
MAX_LINE_BYTES = 8 << 20
#: A match's text is cut to this many characters, with TEXT_TRUNCATED_SUFFIX.
MAX_MATCH_TEXT_CHARS = 1 << 18
TEXT_TRUNCATED_SUFFIX = "... (line truncated to 262144 chars)"
#: How many bytes the BOM sniffer peeks at, and so returns by the first read.
BOM_PEEK_BYTES = 3
UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}


def grep(
    pattern: str,
    path: str = ".",
    include: str | None = None,
    limit: int | None = DEFAULT_LIMIT,
    ignore_case: bool = False,
    *,
    root: str | None = None,
) -> dict:
    """``{"matches": [{"path", "line", "text"}], "total", "truncated"}``: files newest first,
    lines in order; with ``root``, the path is resolved beneath it and the walk never leaves it."""
    check_text(pattern, "pattern")
    if include is not None:
        check_text(include, "include")
    limit = optional_count(limit, "limit")
    if not isinstance(ignore_case, bool):
        raise IronCodeError("invalid_argument", f"ignore_case must be True or False, got {ignore_case!r}")
    regex = build_matcher(pattern, ignore_case)
    if root is not None:
        files = search_beneath(regex, path, include, root)
        return _answer(files, limit)
    target = walk.search_target(path)
    if os.path.isdir(target):
        options = WalkOptions(globs=[] if include is None else [include])
        files = walk.collect_files(target, options, lambda p: search_file(regex, p))
    elif os.path.isfile(target):
        try:  # a file named directly that cannot be read is an error (see grep.rs)
            open(target, "rb").close()
        except OSError as e:
            raise from_os_error(e, target) from None
        found = search_file(regex, os.fsencode(target))
        files = [] if found is None else [found]
    else:
        files = []  # a FIFO or device given by name: reading it could block forever
    return _answer(files, limit)


def search_beneath(regex, path: str, include: str | None, root: str) -> list:
    """The files :func:`grep` found, confined to ``root``: a folder walked beneath it, or the one
    file opened beneath it."""
    with walk.search_target_beneath(path, root) as (kind, shown, opened):
        if kind == "folder":
            options = WalkOptions(globs=[] if include is None else [include], beneath=opened)
            return walk.collect_files(shown, options, lambda p: search_file(regex, p))
        if kind == "file":
            found = search_file(regex, os.fsencode(shown), os.dup(opened))
            return [] if found is None else [found]
        return []  # a FIFO or device given by name: reading it could block forever


def _answer(files: list, limit: int | None) -> dict:
    long_lines = sorted(file_path for _, (file_path, _, cut) in files if cut)
    files = [entry for entry in files if entry[1][1]]
    sort_newest_first(files)
    total = sum(len(lines) for _, (_, lines, _) in files)
    matches = []
    for _, (file_path, lines, _) in files:
        for line, text in lines:
            if limit is not None and len(matches) == limit:
                break
            matches.append({"path": file_path, "line": line, "text": text})
    result = {"matches": matches, "total": total, "truncated": total > len(matches)}
    if long_lines:
        result["long_lines"] = long_lines
    return result


def build_matcher(pattern: str, ignore_case: bool):
    """The Rust pattern as a compiled ``re`` pattern; ``invalid_pattern`` when it does not parse."""
    try:
        return rust_regex.compile(pattern, ignore_case)
    except rust_regex.RegexError as e:
        raise IronCodeError("invalid_pattern", f"Invalid regex '{pattern}': {e}") from None


def search_file(
    regex, path: bytes, fd: int | None = None
) -> tuple[int, tuple[str, list[tuple[int, str]], bool]] | None:
    """(modification time, (path, matching lines, cut)) or None when nothing matched (and no line
    was too long) or the file could not be read. ``cut``: the search stopped at a line longer
    than :data:`MAX_LINE_BYTES`. ``fd``: the file already open (it is closed)."""
    try:
        with open(walk.open_entry(path) if fd is None else fd, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode):
                return None
            lines: list[tuple[int, str]] = []
            line = 1
            segments = searched_segments(*decoded_reader(f))
            for segment in segments:
                lines += search_text(regex, segment, line)
                line += segment.count(b"\n")
            cut = segments.cut
    except OSError:
        return None
    if not lines and not cut:
        return None
    return info.st_mtime_ns, (walk.display(path), lines, cut)


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


class searched_segments:  # noqa: N801 - used as a generator function that also tells if it was cut
    """The complete lines grep-searcher searches, one fill at a time, read as it reads them.

    Replays ``LineBuffer::fill``: each fill keeps the unfinished last line, reads into the free
    space, and stops at a read that brings a line end; the complete lines are then searched. A
    full buffer grows by twice its size (threefold) but never past :data:`MAX_LINE_BYTES` in all
    (grep-searcher's ``heap_limit``); when it cannot grow, the search stops (``cut``). A
    read that brings a NUL byte ends the search *without* searching that fill's lines. At the
    end of the file the rest, an unfinished line included, is searched.
    """

    def __init__(self, read: Callable[[int], bytes], first_read: int | None) -> None:
        self.read = read
        self.first_read = first_read
        self.cut = False

    def __iter__(self) -> Iterator[bytes]:
        capacity = SEARCHER_BUFFER_BYTES
        unfinished = b""
        reads = 0
        while True:
            while True:
                if len(unfinished) == capacity:
                    grow = min(capacity * 2, MAX_LINE_BYTES - capacity)
                    if grow == 0:
                        self.cut = True
                        return
                    capacity += grow
                want = capacity - len(unfinished)
                if reads == 0 and self.first_read is not None:
                    want = min(want, self.first_read)
                chunk = self.read(want)
                reads += 1
                if not chunk:
                    if unfinished:
                        yield unfinished
                    return
                if BINARY_BYTE in chunk:
                    return
                newline = chunk.rfind(b"\n")
                unfinished += chunk
                if newline >= 0:
                    done = len(unfinished) - (len(chunk) - newline - 1)
                    complete, unfinished = unfinished[:done], unfinished[done:]
                    yield complete
                    break


def search_text(regex, data: bytes, first_line: int = 1) -> list[tuple[int, str]]:
    """(line number, text) of every line of ``data`` that ``regex`` matches; ``data`` starts at
    line ``first_line``."""
    if not data:
        return []
    # surrogateescape, not "replace": the regex must see bytes that are not UTF-8 as characters
    # nothing matches (as in Rust), while the text shown has U+FFFD for them.
    text = data.decode("utf-8", "surrogateescape")
    body = text[:-1] if text.endswith("\n") else text
    found: list[tuple[int, str]] = []
    pos = cursor = 0
    line = first_line
    while pos <= len(body):
        match = regex.search(body, pos)
        if match is None:
            break
        at = match.start()
        line += body.count("\n", cursor, at)
        cursor = at
        line_start = body.rfind("\n", 0, at) + 1
        line_end = body.find("\n", at)
        if line_end < 0:
            line_end = len(body)
        found.append((line, line_text(body[line_start:line_end])))
        pos = line_end + 1
    return found


def line_text(line: str) -> str:
    """A matched line as text: a trailing ``\\r`` (of ``\\r\\n``) removed, bytes that are not
    UTF-8 shown as U+FFFD (as Rust's ``from_utf8_lossy`` does), cut to
    :data:`MAX_MATCH_TEXT_CHARS`."""
    if line.endswith("\r"):
        line = line[:-1]
    text = line.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if len(text) > MAX_MATCH_TEXT_CHARS:
        return text[:MAX_MATCH_TEXT_CHARS] + TEXT_TRUNCATED_SUFFIX
    return text
