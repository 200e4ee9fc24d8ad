"""Twin of native/tool/src/edit/reindent.rs: re-indenting ``new`` after a tolerant match (issue 22).

A model's ``old_string`` often lacks the indentation the code has in the file (or has more); the
tolerant strategies still find the lines, and inserting ``new`` as written would break the file's
indentation. After a tolerant match of whole lines, ``new`` takes on the one whitespace prefix the
matched lines and ``old``'s differ by (see reindent.rs for the rule):

>>> reindent("    if x:\\n        return 1\\n", [0], "if x:\\n    return 1",
...          "    if x:\\n        return 1", "if y:\\n    return 2")
'    if y:\\n        return 2'
"""

from __future__ import annotations

from .edit_text import JS_WHITESPACE, trim, trim_end


def reindent(content: str, starts: list[int], old: str, proposal: str, new: str) -> str:
    """``new`` re-indented for a tolerant match of ``old`` as ``proposal`` at code-point offsets
    ``starts`` of ``content``; ``new`` itself when the rule does not apply."""
    if not all(on_whole_lines(content, start, len(proposal)) for start in starts):
        return new
    found = shift(old, proposal)
    return new if found is None else shifted(new, found)


def on_whole_lines(content: str, start: int, length: int) -> bool:
    """True if ``content[start:start + length]`` starts at a line start and ends at a line end."""
    end = start + length
    starts_line = start == 0 or content[start - 1] == "\n"
    ends_line = (
        (length > 0 and content[end - 1] == "\n")
        or end == len(content)
        or content.startswith("\n", end)
        or content.startswith("\r\n", end)
    )
    return starts_line and ends_line


def shift(old: str, matched: str) -> tuple[str, str] | None:
    """``("indent", P)`` if every non-blank matched line is P + its old line, ``("dedent", P)`` if
    the reverse, for one non-empty whitespace P; else None."""
    old_lines = _non_blank_lines(old)
    matched_lines = _non_blank_lines(matched)
    if len(old_lines) != len(matched_lines) or not old_lines:
        return None
    if len(matched_lines[0]) > len(old_lines[0]):
        prefix = _common_prefix(matched_lines, old_lines)
        return None if prefix is None else ("indent", prefix)
    if len(old_lines[0]) > len(matched_lines[0]):
        prefix = _common_prefix(old_lines, matched_lines)
        return None if prefix is None else ("dedent", prefix)
    return None


def _common_prefix(longer: list[str], shorter: list[str]) -> str | None:
    """The whitespace P with ``longer[i] == P + shorter[i]`` for every i, if there is one."""
    prefix = longer[0][: len(longer[0]) - len(shorter[0])]
    if not prefix or any(c not in JS_WHITESPACE for c in prefix):
        return None
    if all(long == prefix + short for long, short in zip(longer, shorter, strict=True)):
        return prefix
    return None


def _non_blank_lines(s: str) -> list[str]:
    return [trim_end(line) for line in s.split("\n") if trim(line)]


def shifted(new: str, found: tuple[str, str]) -> str:
    """``new`` with the shift applied to each of its non-blank lines."""
    direction, prefix = found
    out = []
    for line in new.split("\n"):
        if not trim(line):
            out.append(line)
        elif direction == "indent":
            out.append(prefix + line)
        else:
            out.append(line[len(prefix) :] if line.startswith(prefix) else line)
    return "\n".join(out)
