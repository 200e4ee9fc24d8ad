"""Twin of native/tool/src/grep.rs: the lines matching a regex in the files ripgrep would search.

The native side runs ripgrep's ``grep-searcher``; this twin reproduces what it reads and how:

- the Rust regex is translated to ``re`` by :mod:`ironcode.twin.rust_regex` (same patterns
  accepted and refused, matches never crossing a line);
- a UTF-16 byte-order mark makes the file UTF-16 (transcoded), a UTF-8 one is dropped;
- binary files: the searcher reads a file in chunks into a 64 KiB line buffer (the first read is
  the 3 bytes it peeks at for a BOM) and stops at the first chunk holding a NUL byte, keeping the
  lines of earlier chunks. :func:`searched_length` replays those reads, so the twin keeps and
  drops exactly the same lines.
"""

from __future__ import annotations

import os
import stat

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
) -> dict:
    """``{"matches": [{"path", "line", "text"}], "total", "truncated"}``: files newest first,
    lines in order."""
    check_text(pattern, "pattern")
    if include is not None:
        check_text(include, "include")
    limit = optional_count(limit, "limit")
    if not isinstance(ignore_case, bool):
        raise IronCodeError("invalid_argument", f"ignore_case must be True or False, got {ignore_case!r}")
    regex = build_matcher(pattern, ignore_case)
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
    sort_newest_first(files)
    total = sum(len(lines) for _, (_, lines) in files)
    matches = []
    for _, (file_path, lines) in files:
        for line, text in lines:
            if limit is not None and len(matches) == limit:
                break
            matches.append({"path": file_path, "line": line, "text": text})
    return {"matches": matches, "total": total, "truncated": total > len(matches)}


def build_matcher(pattern: str, ignore_case: bool):
    """The Rust pattern as a compiled ``re`` pattern; ``invalid_pattern`` when it does not parse."""
    try:
        return rust_regex.compile(pattern, ignore_case)
    except rust_regex.RegexError as e:
        raise IronCodeError("invalid_pattern", f"Invalid regex '{pattern}': {e}") from None


def search_file(regex, path: bytes) -> tuple[int, tuple[str, list[tuple[int, str]]]] | None:
    """(modification time, (path, matching lines)) or None when nothing matched or the file
    could not be read."""
    try:
        with open(path, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode):
                return None
            data = f.read()
    except OSError:
        return None
    stream, first_read = decoded_stream(data)
    lines = search_text(regex, stream[: searched_length(stream, first_read)])
    if not lines:
        return None
    return info.st_mtime_ns, (walk.display(path), lines)


def decoded_stream(data: bytes) -> tuple[bytes, int | None]:
    """What the searcher reads from a file (encoding_rs_io's BOM sniffing), and the size of its
    first read when that is the peeked bytes (None: reads go straight to the file)."""
    if data.startswith(UTF8_BOM):
        return data[len(UTF8_BOM) :], None
    encoding = UTF16_BOMS.get(data[:2])
    if encoding is not None:
        if len(data) < BOM_PEEK_BYTES:
            return b"", None
        text = data[2:].decode(encoding, "replace")
        if text.startswith("\ufeff"):
            text = text[1:]
        return text.encode("utf-8", "surrogatepass"), None
    return data, min(BOM_PEEK_BYTES, len(data))


def searched_length(stream: bytes, first_read: int | None) -> int:
    """How much of ``stream`` grep-searcher searches before binary detection stops it.

    Replays ``LineBuffer::fill``: each fill keeps the unfinished last line, reads into the free
    space (growing the buffer threefold when full), and stops at a read that brings a line end.
    A read that brings a NUL byte ends the search *without* searching that fill's lines.
    """
    capacity = SEARCHER_BUFFER_BYTES
    start = end = searched = 0  # absolute offsets: unfinished data is stream[start:end]
    reads = 0
    while True:
        start = searched
        while True:
            if end - start == capacity:
                capacity *= 3
            want = capacity - (end - start)
            if reads == 0 and first_read is not None:
                want = min(want, first_read)
            chunk = stream[end : end + want]
            reads += 1
            if not chunk:
                return end  # EOF: the rest, unfinished line included, is searched
            old_end, end = end, end + len(chunk)
            if BINARY_BYTE in chunk:
                return searched
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                searched = old_end + newline + 1
                break


def search_text(regex, data: bytes) -> list[tuple[int, str]]:
    """(line number, text) of every line of ``data`` that ``regex`` matches."""
    if not data:
        return []
    # surrogateescape, not "replace": the regex must see bytes that are not UTF-8 as characters
    # nothing matches (as in Rust), while the text shown has U+FFFD for them.
    text = data.decode("utf-8", "surrogateescape")
    body = text[:-1] if text.endswith("\n") else text
    found: list[tuple[int, str]] = []
    pos = cursor = 0
    line = 1
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
    UTF-8 shown as U+FFFD (as Rust's ``from_utf8_lossy`` does)."""
    if line.endswith("\r"):
        line = line[:-1]
    return line.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
