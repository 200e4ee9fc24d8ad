"""Twin of native/tool/src/read.rs: a text file as numbered lines for a model."""

from __future__ import annotations

import codecs
import os
import stat

from ..errors import IronCodeError, from_os_error
from .confine import Root
from .paths import absolute

DEFAULT_LIMIT = 2000
MAX_LINE_CHARS = 2000
LINE_TRUNCATED_SUFFIX = "... (line truncated to 2000 chars)"
MAX_BYTES = 50 * 1024
CHUNK_BYTES = 1 << 20  # read and decoded at a time: a read's memory, whatever the file's size
SNIFF_BYTES = 4096
CONTROL_BYTE_RATIO = 0.30
BINARY_EXTENSIONS = frozenset(
    "zip tar gz exe dll so class jar war 7z doc docx xls xlsx ppt pptx odt ods odp bin dat obj o a "
    "lib wasm pyc pyo".split()
)
_CONTROL_BYTES = bytes(list(range(0x01, 0x09)) + list(range(0x0E, 0x20)))


def read(path: str, offset: int = 1, limit: int = DEFAULT_LIMIT, *, root: str | None = None) -> dict:
    """Reads ``path`` as UTF-8 text and returns ``limit`` lines from the 1-based ``offset``;
    with ``root``, beneath it (leaving it is ``outside_root``)."""
    _check_int(offset, "offset")
    _check_int(limit, "limit")
    if root is None:
        abs_path, fd = open_by_name(path)
    else:
        with Root.open(root) as confined:
            abs_path, fd = open_beneath(confined, path)
    try:
        with open(fd, "rb") as f:
            head = f.read(SNIFF_BYTES)
            if looks_binary(head):
                raise _binary_error(abs_path)
            window = LineWindow(offset, limit)
            decoder = codecs.getincrementaldecoder("utf-8")("strict")
            chunk, at_start = head, True
            while True:
                more = f.read(CHUNK_BYTES)
                try:
                    text = decoder.decode(chunk + more if chunk else more, final=not more)
                except UnicodeDecodeError as e:
                    raise IronCodeError(
                        "encoding", f"File is not valid UTF-8 ({e.reason}): {abs_path}"
                    ) from None
                if at_start:
                    at_start = not text
                    text = text.removeprefix("\ufeff")
                window.feed(text)
                chunk = b""
                if not more:
                    break
    except OSError as e:
        raise from_os_error(e, abs_path) from None
    lines, total_lines, truncated_by_bytes = window.finish()
    if offset > total_lines and not (offset == 1 and total_lines == 0):
        raise IronCodeError(
            "invalid_argument", f"Offset {offset} is out of range for this file ({total_lines} lines)"
        )
    truncated = offset - 1 + len(lines) < total_lines
    return {
        "path": abs_path,
        "lines": lines,
        "offset": offset,
        "total_lines": total_lines,
        "truncated": truncated,
        "truncated_by_bytes": truncated_by_bytes,
    }


class LineWindow:
    """Collects the requested window of lines from text fed in pieces, keeping memory bounded:
    lines outside the window are only counted, and a line inside it keeps at most
    ``MAX_LINE_CHARS + 1`` characters however long it is."""

    def __init__(self, offset: int, limit: int) -> None:
        self.first = offset - 1
        self.end = offset - 1 + limit
        self.index = 0  # 0-based index of the line being read
        self.current: list[str] = []
        self.current_chars = 0
        self.current_dropped = False
        self.lines: list[str] = []
        self.bytes_used = 0
        self.collecting = True
        self.truncated_by_bytes = False
        self.last_char = ""

    def in_window(self) -> bool:
        return self.collecting and self.first <= self.index < self.end

    def feed(self, text: str) -> None:
        if text:
            self.last_char = text[-1]
        pos, size = 0, len(text)
        while pos < size:
            if not self.in_window() and (self.index >= self.end or not self.collecting):
                self.index += text.count("\n", pos)  # past the window: only count what is left
                return
            nl = text.find("\n", pos)
            if nl == -1:
                if self.in_window():
                    self.keep(text[pos:])
                return
            if self.in_window():
                self.keep(text[pos:nl])
            self.finish_line(True)
            pos = nl + 1

    def keep(self, piece: str) -> None:
        room = MAX_LINE_CHARS + 1 - self.current_chars
        if len(piece) > room:
            self.current.append(piece[:room])
            self.current_chars += room
            self.current_dropped = True
        else:
            self.current.append(piece)
            self.current_chars += len(piece)

    def finish_line(self, terminated: bool) -> None:
        if self.in_window():
            line = "".join(self.current)
            if terminated and not self.current_dropped and line.endswith("\r"):
                line = line[:-1]
            line = truncate_line(line)
            size = len(line.encode("utf-8")) + 1
            if self.bytes_used + size > MAX_BYTES:
                self.truncated_by_bytes = True
                self.collecting = False
            else:
                self.bytes_used += size
                self.lines.append(line)
        self.current = []
        self.current_chars = 0
        self.current_dropped = False
        self.index += 1

    def finish(self) -> tuple[list[str], int, bool]:
        """The collected lines, the total line count, and whether the byte cap ended the window."""
        if self.last_char and self.last_char != "\n":
            self.finish_line(False)
        return self.lines, self.index, self.truncated_by_bytes


def open_by_name(path: str) -> tuple[str, int]:
    """The file to read, by its name: a folder or a binary extension is refused before it is opened."""
    abs_path = absolute(path)
    if os.path.isdir(abs_path):
        raise _directory_error(abs_path)
    if has_binary_extension(abs_path) and os.path.exists(abs_path):
        raise _binary_error(abs_path)
    try:
        return abs_path, os.open(abs_path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise from_os_error(e, abs_path) from None


def open_beneath(root: Root, path: str) -> tuple[str, int]:
    """The file to read, opened beneath ``root``; a folder or a binary extension is refused once
    it is open (there is no name to look at first)."""
    place = root.place(path)
    fd = root.open_file(place, os.O_RDONLY)
    try:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise _directory_error(place.shown)
        if has_binary_extension(place.shown):
            raise _binary_error(place.shown)
    except BaseException:
        os.close(fd)
        raise
    return place.shown, fd


def _directory_error(path: str) -> IronCodeError:
    return IronCodeError("is_directory", f"Path is a directory, not a file: {path} (use ls to list it)")


def _check_int(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise IronCodeError("invalid_argument", f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise IronCodeError("invalid_argument", f"{name} must be 1 or more, got {value}")


def _binary_error(path: str) -> IronCodeError:
    return IronCodeError("binary_file", f"Cannot read binary file: {path}")


def has_binary_extension(path: str) -> bool:
    """True for a known binary extension, compared case-insensitively."""
    ext = os.path.splitext(path)[1]
    return ext[1:].lower() in BINARY_EXTENSIONS if ext else False


def looks_binary(data: bytes) -> bool:
    """A NUL byte in the head, or too many control bytes (0x01–0x08, 0x0E–0x1F) there."""
    head = data[:SNIFF_BYTES]
    if not head:
        return False
    if b"\0" in head:
        return True
    control = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return control / len(head) > CONTROL_BYTE_RATIO


def truncate_line(line: str) -> str:
    if len(line) > MAX_LINE_CHARS:
        return line[:MAX_LINE_CHARS] + LINE_TRUNCATED_SUFFIX
    return line
