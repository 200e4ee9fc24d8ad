"""Twin of native/tool/src/patch/parse.rs: the ``*** Begin Patch`` grammar, read leniently as
Codex reads it, and the heredoc a patch (or a shell command line) may be wrapped in."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import IronCodeError
from .edit_text import JS_WHITESPACE, trim, trim_end, trim_start

BEGIN_MARKER = "*** Begin Patch"
END_MARKER = "*** End Patch"
ADD_HEADER = "*** Add File:"
DELETE_HEADER = "*** Delete File:"
UPDATE_HEADER = "*** Update File:"
MOVE_HEADER = "*** Move to:"
EOF_MARKER = "*** End of File"
CHUNK_MARKER = "@@"
#: A line quoted in an error message is cut to this many characters.
MAX_QUOTED_CHARS = 120

_TAG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


@dataclass
class NewLine:
    """A line of a chunk's result; ``old`` is its index in the old lines for a context line."""

    text: str
    old: int | None


@dataclass
class Chunk:
    line: int  #: 1-based patch line of the chunk's first line
    context: str | None  #: the TEXT of ``@@ TEXT``
    old: list[str] = field(default_factory=list)
    new: list[NewLine] = field(default_factory=list)
    eof: bool = False  #: ended by ``*** End of File``

    def push_context(self, text: str) -> None:
        self.new.append(NewLine(text, len(self.old)))
        self.old.append(text)


@dataclass
class Section:
    """One file section: ``kind`` is ``add``, ``delete`` or ``update``."""

    kind: str
    path: str
    line: int
    content: str = ""  #: add: the ``+`` lines, each ending in ``\\n``
    move_to: str | None = None
    chunks: list[Chunk] = field(default_factory=list)


@dataclass
class Heredoc:
    command: str | None  #: the word before ``<<``, if any
    tag: str
    body: str  #: the lines between the first and the last


def decode_patch(data: bytes) -> str:
    """The patch as UTF-8 text; anything else is ``invalid_patch`` naming the bad byte's line."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise _invalid(
            f"The patch is not valid UTF-8 (byte {e.start}, line {line}). Send the patch as UTF-8 text."
        ) from None


def normalize_newlines(patch: str) -> str:
    """``patch`` with every ``\\r\\n`` read as ``\\n``."""
    return patch.replace("\r\n", "\n") if "\r\n" in patch else patch


def unwrap_heredoc(text: str) -> Heredoc | None:
    """The text inside a heredoc, if ``text`` (blank lines around it aside) is one: a first line
    ``[command] <<[-]['"]TAG['"]`` and a last line ``TAG`` (see parse.rs)."""
    lines = text.split("\n")
    bounds = _content_bounds(lines)
    if bounds is None:
        return None
    first, last = bounds
    if last <= first:
        return None
    opener = _heredoc_opener(trim(lines[first]))
    if opener is None or trim(lines[last]) != opener[1]:
        return None
    start = _line_offset(lines, first + 1)
    end = _line_offset(lines, last) - 1
    body = "" if start > end else text[start:end]
    return Heredoc(opener[0], opener[1], body)


def _line_offset(lines: list[str], index: int) -> int:
    return sum(len(line) + 1 for line in lines[:index])


def _heredoc_opener(line: str) -> tuple[str | None, str] | None:
    at = line.find("<<")
    if at < 0:
        return None
    before = trim_end(line[:at])
    if not before:
        command = None
    elif any(c in JS_WHITESPACE for c in before) or "<" in before:
        return None
    else:
        command = before
    rest = line[at + 2 :]
    if rest.startswith("-"):
        rest = rest[1:]
    rest = trim_start(rest)
    if rest[:1] in ("'", '"'):
        quote = rest[0]
        if len(rest) < 2 or not rest.endswith(quote):
            return None
        tag = rest[1:-1]
    else:
        tag = rest
    if not tag or not all(c in _TAG_CHARS for c in tag):
        return None
    return command, tag


def _content_bounds(lines: list[str]) -> tuple[int, int] | None:
    first = next((i for i, line in enumerate(lines) if trim(line)), None)
    if first is None:
        return None
    last = next(i for i in range(len(lines) - 1, -1, -1) if trim(lines[i]))
    return first, last


def parse_patch(patch: str) -> list[Section]:
    """The file sections of ``patch`` (its ``\\r\\n`` already read as ``\\n``)."""
    lines = patch.split("\n")
    bounds = _content_bounds(lines)
    if bounds is None:
        raise _invalid(f"The patch is empty. {_expected_shape()}")
    first, last = bounds
    heredoc_hint = ""
    opener = _heredoc_opener(trim(lines[first]))
    if opener is not None:
        if last > first and trim(lines[last]) == opener[1]:
            inner = _content_bounds(lines[first + 1 : last])
            if inner is None:
                raise _invalid(f"The heredoc on line {first + 1} holds no patch. {_expected_shape()}")
            first, last = first + 1 + inner[0], first + 1 + inner[1]
        else:
            heredoc_hint = " (a heredoc opened with <<TAG must end with a line TAG)"
    if trim(lines[first]) != BEGIN_MARKER:
        raise _at_line(
            first, lines[first], f"the first line of a patch must be '{BEGIN_MARKER}'{heredoc_hint}"
        )
    if last == first or trim(lines[last]) != END_MARKER:
        raise _at_line(last, lines[last], f"the last line of a patch must be '{END_MARKER}'")
    sections = _Parser(lines, first + 1, last).sections()
    if not sections:
        raise _invalid(f"The patch has no file section. {_expected_shape()}")
    return sections


#: What a line that trims to a ``***`` marker is: (kind, path); kind "other" for an unknown one.
def _marker(trimmed: str) -> tuple[str, str] | None:
    if not trimmed.startswith("***"):
        return None
    for kind, header in (
        ("add", ADD_HEADER),
        ("delete", DELETE_HEADER),
        ("update", UPDATE_HEADER),
        ("move", MOVE_HEADER),
    ):
        if trimmed.startswith(header):
            return kind, trim(trimmed[len(header) :])
    return "other", ""


def _is_file_header(line: str) -> bool:
    found = _marker(trim(line))
    return found is not None and found[0] in ("add", "delete", "update")


class _Parser:
    """A walk over the lines between the patch markers."""

    def __init__(self, lines: list[str], at: int, end: int) -> None:
        self.lines = lines
        self.at = at
        self.end = end

    def sections(self) -> list[Section]:
        sections: list[Section] = []
        while self.at < self.end:
            index = self.at
            line = self.lines[index]
            trimmed = trim(line)
            self.at += 1
            if not trimmed:
                continue
            found = _marker(trimmed)
            if found is None:
                raise _stray_line(index, line)
            kind, path = found
            if kind == "add":
                path = _section_path(index, line, path)
                sections.append(Section("add", path, index + 1, content=self.add_lines()))
            elif kind == "delete":
                sections.append(Section("delete", _section_path(index, line, path), index + 1))
            elif kind == "update":
                sections.append(self.update(index, line, path))
            elif kind == "move":
                raise _at_line(
                    index, line, f"'{MOVE_HEADER} PATH' must come right after its '{UPDATE_HEADER} PATH' line"
                )
            else:
                raise _unknown_marker(index, line)
        return sections

    def add_lines(self) -> str:
        parts: list[str] = []
        while self.at < self.end:
            line = self.lines[self.at]
            if not line.startswith("+"):
                break
            parts.append(line[1:])
            parts.append("\n")
            self.at += 1
        return "".join(parts)

    def update(self, index: int, line: str, path: str) -> Section:
        path = _section_path(index, line, path)
        move_to = None
        if self.at < self.end:
            following = self.lines[self.at]
            found = _marker(trim(following))
            if found is not None and found[0] == "move":
                move_to = _section_path(self.at, following, found[1])
                self.at += 1
        chunks = self.chunks()
        if not chunks:
            what = (
                "is a move with no chunk: a move needs at least one chunk"
                if move_to is not None
                else "has no chunk"
            )
            raise _at_line(
                index,
                line,
                f"this Update {what}; follow it with '@@' and the lines to change (' ' for "
                "context, '-' for removed, '+' for added)",
            )
        return Section("update", path, index + 1, move_to=move_to, chunks=chunks)

    def chunks(self) -> list[Chunk]:
        chunks: list[Chunk] = []
        while self.at < self.end:
            index = self.at
            line = self.lines[index]
            trimmed = trim(line)
            if not trimmed:
                self.at += 1
                continue
            if trimmed.startswith("***"):
                break
            if line.startswith(CHUNK_MARKER):
                self.at += 1
                rest = line[2:]
                if not trim(rest):
                    context = None
                elif rest.startswith(" "):
                    context = rest[1:]
                else:
                    raise _at_line(
                        index, line, "a chunk starts with '@@' or '@@ TEXT' (a space between '@@' and TEXT)"
                    )
            elif not chunks:
                context = None
            else:
                raise _at_line(
                    index,
                    line,
                    f"the chunk before ended with '{EOF_MARKER}', so this line needs a new chunk: "
                    "every chunk after a file's first starts with '@@' or '@@ TEXT'",
                )
            chunks.append(self.chunk_body(index, context))
        return chunks

    def chunk_body(self, first: int, context: str | None) -> Chunk:
        chunk = Chunk(first + 1, context)
        lines = self.lines
        while self.at < self.end:
            index = self.at
            line = lines[index]
            if line.startswith(CHUNK_MARKER):
                break
            if trim_end(line) == EOF_MARKER:
                self.at += 1
                chunk.eof = True
                break
            trimmed = trim(line)
            if trimmed.startswith("***") and (_is_file_header(line) or trimmed == END_MARKER):
                break
            head = line[:1]
            if head == " ":
                chunk.push_context(line[1:])
            elif head == "-":
                chunk.old.append(line[1:])
            elif head == "+":
                chunk.new.append(NewLine(line[1:], None))
            elif not trimmed:
                chunk.push_context("")
            elif trimmed.startswith("***"):
                break
            else:
                raise _at_line(
                    index,
                    line,
                    "every line of a chunk starts with ' ' (context), '-' (removed) or '+' (added); "
                    "an empty line is an empty context line",
                )
            self.at += 1
        if not chunk.old and not chunk.new:
            raise _at_line(
                first,
                lines[first],
                "this chunk has no lines; give its context (' '), removed ('-') and added ('+') lines",
            )
        return chunk


def _section_path(index: int, line: str, path: str) -> str:
    if not path:
        raise _at_line(index, line, "the header names no path")
    if "\0" in path:
        raise _at_line(index, line, "the path holds a NUL byte")
    return path


def _expected_shape() -> str:
    return (
        f"A patch starts with '{BEGIN_MARKER}', holds one or more file sections ('{ADD_HEADER} PATH' "
        f"with '+' lines, '{DELETE_HEADER} PATH', or '{UPDATE_HEADER} PATH' with '@@' chunks) and "
        f"ends with '{END_MARKER}'."
    )


def _unknown_marker(index: int, line: str) -> IronCodeError:
    if trim(line) == END_MARKER:
        what = f"'{END_MARKER}' may only be the last line"
    else:
        what = (
            f"this is not a file header; a section starts with '{ADD_HEADER} PATH', "
            f"'{DELETE_HEADER} PATH' or '{UPDATE_HEADER} PATH'"
        )
    return _at_line(index, line, what)


def _stray_line(index: int, line: str) -> IronCodeError:
    hint = (
        " (every line of an Add File section starts with '+'; an empty line of the file is a lone '+')"
        if line.startswith("+")
        else ""
    )
    return _at_line(
        index,
        line,
        f"this line is outside any file section; expected '{ADD_HEADER} PATH', '{DELETE_HEADER} PATH', "
        f"'{UPDATE_HEADER} PATH' or '{END_MARKER}'{hint}",
    )


def _at_line(index: int, line: str, what: str) -> IronCodeError:
    return _invalid(f"Invalid patch, line {index + 1}: {quote(line)}: {what}.")


def quote(line: str) -> str:
    """``line`` in single quotes, cut to :data:`MAX_QUOTED_CHARS` characters."""
    if len(line) <= MAX_QUOTED_CHARS:
        return f"'{line}'"
    return f"'{line[:MAX_QUOTED_CHARS]}...'"


def _invalid(message: str) -> IronCodeError:
    return IronCodeError("invalid_patch", message)
