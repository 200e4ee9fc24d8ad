"""Twin of native/tool/src/read.rs: a text file as numbered lines for a model."""

from __future__ import annotations

import os

from ..errors import IronCodeError, from_os_error
from .paths import absolute

DEFAULT_LIMIT = 2000
MAX_LINE_CHARS = 2000
LINE_TRUNCATED_SUFFIX = "... (line truncated to 2000 chars)"
MAX_BYTES = 50 * 1024
SNIFF_BYTES = 4096
CONTROL_BYTE_RATIO = 0.30
BINARY_EXTENSIONS = frozenset(
    "zip tar gz exe dll so class jar war 7z doc docx xls xlsx ppt pptx odt ods odp bin dat obj o a "
    "lib wasm pyc pyo".split()
)
_CONTROL_BYTES = bytes(list(range(0x01, 0x09)) + list(range(0x0E, 0x20)))


def read(path: str, offset: int = 1, limit: int = DEFAULT_LIMIT) -> dict:
    """Reads ``path`` as UTF-8 text and returns ``limit`` lines from the 1-based ``offset``."""
    _check_int(offset, "offset")
    _check_int(limit, "limit")
    abs_path = absolute(path)
    if os.path.isdir(abs_path):
        raise IronCodeError(
            "is_directory", f"Path is a directory, not a file: {abs_path} (use ls to list it)"
        )
    if has_binary_extension(abs_path) and os.path.exists(abs_path):
        raise _binary_error(abs_path)
    try:
        with open(abs_path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise from_os_error(e, abs_path) from None
    if looks_binary(data):
        raise _binary_error(abs_path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise IronCodeError("encoding", f"File is not valid UTF-8 ({e.reason}): {abs_path}") from None
    text = text.removeprefix("\ufeff")
    total_lines = count_lines(text)
    if offset > total_lines and not (offset == 1 and total_lines == 0):
        raise IronCodeError(
            "invalid_argument", f"Offset {offset} is out of range for this file ({total_lines} lines)"
        )

    lines: list[str] = []
    bytes_used = 0
    truncated_by_bytes = False
    for line in split_lines(text, offset - 1 + limit)[offset - 1 : offset - 1 + limit]:
        line = truncate_line(line)
        size = len(line.encode("utf-8")) + 1
        if bytes_used + size > MAX_BYTES:
            truncated_by_bytes = True
            break
        bytes_used += size
        lines.append(line)
    truncated = offset - 1 + len(lines) < total_lines
    return {
        "path": abs_path,
        "lines": lines,
        "offset": offset,
        "total_lines": total_lines,
        "truncated": truncated,
        "truncated_by_bytes": truncated_by_bytes,
    }


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


def count_lines(text: str) -> int:
    """How many lines :func:`split_lines` yields, counted without splitting."""
    if not text:
        return 0
    newlines = text.count("\n")
    return newlines if text.endswith("\n") else newlines + 1


def split_lines(text: str, max_lines: int = -1) -> list[str]:
    """Splits on ``\\n`` only; a final ``\\n`` ends the last line; a ``\\r`` before ``\\n`` is dropped.

    With ``max_lines``, only the first ``max_lines`` lines are split off (the rest stays whole).
    """
    if not text:
        return []
    ends_with_newline = text.endswith("\n")
    body = text[:-1] if ends_with_newline else text
    pieces = body.split("\n", max_lines) if max_lines >= 0 else body.split("\n")
    if 0 <= max_lines < len(pieces):
        pieces = pieces[:max_lines]
        ends_with_newline = True  # every kept piece was followed by a newline
    lines = [line[:-1] if line.endswith("\r") else line for line in pieces[:-1]]
    last = pieces[-1]
    lines.append(last[:-1] if ends_with_newline and last.endswith("\r") else last)
    return lines


def truncate_line(line: str) -> str:
    if len(line) > MAX_LINE_CHARS:
        return line[:MAX_LINE_CHARS] + LINE_TRUNCATED_SUFFIX
    return line
