"""Twin of native/tool/src/edit/mod.rs: the replacer chain, levenshtein, and ``edit_file``.

- :func:`edit_replace` runs the chain: the exact ``old`` first (ambiguous → ``multiple_matches``,
  no fuzzy fall-through), then each fuzzy strategy's proposals in order; the first proposal that
  occurs exactly once (or, with ``replace_all``, at all) is replaced by ``new``, literally —
  except that after a tolerant match of whole lines ``new`` takes on the indentation the file has
  and ``old`` lacks, or loses what ``old`` has and the file lacks (:mod:`.edit_reindent`, issue 22).
- Every call is bounded: a size guard refuses proposals much larger than ``old``
  (``disproportionate``) and a search budget stops pathological inputs (``search_too_large``).

The strategies live in :mod:`.edit_strategies`, the shared text helpers in :mod:`.edit_text`,
the re-indenting in :mod:`.edit_reindent`, the file tool in :mod:`.edit_file` and its diff in
:mod:`.edit_diff`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import IronCodeError
from .edit_reindent import reindent
from .edit_strategies import parse, propose
from .edit_text import Budget, Text, levenshtein_counted, proposal_len, trim, utf8_len

#: Size guard: a proposal with at least ``old``'s line count plus this many lines is refused ...
GUARD_EXTRA_LINES = 3
#: ... as is one with at least this many times ``old``'s line count (whichever is larger).
GUARD_LINE_FACTOR = 2
#: Size guard for a multi-line ``old``: trimmed length past ``old``'s plus this many code points
GUARD_EXTRA_CHARS = 500
#: ... and this many times it (whichever is larger) is refused.
GUARD_CHAR_FACTOR = 4
#: ``multiple_matches`` lists at most this many line numbers.
MAX_LISTED_LINES = 50

#: What the driver runs after the exact check (simple and multi_occurrence only ever propose
#: ``old`` itself, which the exact check has already decided on).
FUZZY_CHAIN = (
    "line_trimmed",
    "block_anchor",
    "whitespace_normalized",
    "indentation_flexible",
    "escape_normalized",
    "trimmed_boundary",
    "context_aware",
)


@dataclass
class Patch:
    """An edit as spans of the content (code points) replaced by one text."""

    spans: list[tuple[int, int]]
    text: str

    @classmethod
    def one(cls, start: int, end: int, text: str) -> Patch:
        return cls([(start, end)], text)

    @classmethod
    def every(cls, content: str, needle: str, text: str) -> Patch:
        return cls([(at, at + len(needle)) for at in _non_overlapping(content, needle)], text)

    def apply(self, content: str) -> str:
        """The content with every span replaced. Every span of a patch holds the same text and
        the first is its first occurrence, so one ``str.replace`` does it (one copy, not three)."""
        start, end = self.spans[0]
        return content.replace(content[start:end], self.text, 1 if len(self.spans) == 1 else -1)


def edit_replace(content: str, old: str, new: str, replace_all: bool = False) -> str:
    """Replaces the text ``old`` means in ``content`` by ``new``."""
    return replace_patch(content, old, new, replace_all).apply(content)


def exact_replace(content: str, old: str, new: str, replace_all: bool = False) -> str | None:
    """The exact step alone: the edited content, or None if ``old`` does not occur at all."""
    _check_text(content, "content")
    _check_text(old, "old")
    _check_text(new, "new")
    patch = exact_patch(content, old, new, bool(replace_all))
    return None if patch is None else patch.apply(content)


def replace_patch(content: str, old: str, new: str, replace_all: bool = False) -> Patch:
    """:func:`edit_replace` as a :class:`Patch` of ``content``."""
    _check_text(content, "content")
    _check_text(old, "old")
    _check_text(new, "new")
    replace_all = bool(replace_all)
    patch = exact_patch(content, old, new, replace_all)
    if patch is not None:
        return patch
    text = Text(content)
    content_size = utf8_len(content)
    budget = Budget(content_size)
    seen: set[str] = set()
    refused: str | None = None
    ambiguous: str | None = None
    for strategy in FUZZY_CHAIN:
        for proposal in propose(strategy, text, old, budget):
            size = proposal_len(text, proposal)
            if size == 0:
                continue
            budget.charge_search(size)
            value = text.text_of(proposal)
            if value in seen:
                continue
            seen.add(value)
            budget.charge_search(content_size)
            first = content.find(value)
            if first < 0:
                continue
            if _guard_refuses(old, value):
                if refused is None:
                    refused = value
                continue
            if replace_all:
                starts = _non_overlapping(content, value)
            elif content.find(value, first + 1) < 0:
                starts = [first]
            else:
                if ambiguous is None:
                    ambiguous = value
                continue
            replacement = _adjust_new(old, value, reindent(content, starts, old, value, new))
            return Patch([(at, at + len(value)) for at in starts], replacement)
    if refused is not None:
        raise _disproportionate(old, refused)
    if ambiguous is not None:
        raise _multiple_matches(content, ambiguous, fuzzy=True)
    raise _no_match()


def exact_patch(content: str, old: str, new: str, replace_all: bool) -> Patch | None:
    """None if ``old`` does not occur; a patch if once (or at all, with ``replace_all``)."""
    _check_strings(old, new)
    first = content.find(old)
    if first < 0:
        return None
    replacement = _adjust_new(old, old, new)
    if replace_all:
        return Patch.every(content, old, replacement)
    if content.find(old, first + 1) >= 0:
        raise _multiple_matches(content, old, fuzzy=False)
    return Patch.one(first, first + len(old), replacement)


def _non_overlapping(content: str, needle: str) -> list[int]:
    """Where the non-overlapping occurrences of ``needle`` start, left to right."""
    starts = []
    at = content.find(needle)
    while at >= 0:
        starts.append(at)
        at = content.find(needle, at + len(needle))
    return starts


def edit_candidates(strategy: str, content: str, find: str) -> list[str]:
    """What one strategy proposes for ``find`` in ``content``, in file order."""
    strategy = parse(strategy)
    _check_text(content, "content")
    _check_text(find, "find")
    if not find:
        raise _empty_old_string()
    text = Text(content)
    budget = Budget(utf8_len(content))
    out = []
    for proposal in propose(strategy, text, find, budget):
        budget.charge_search(proposal_len(text, proposal))
        out.append(text.text_of(proposal))
    return out


def levenshtein(a: str, b: str) -> int:
    """Levenshtein distance in code points, in memory linear in the shorter string."""
    _check_text(a, "a")
    _check_text(b, "b")
    return levenshtein_counted(a, b, Budget(0))


def edit_file(path: str, old: str, new: str, replace_all: bool = False, *, root: str | None = None) -> dict:
    """Replaces the text ``old`` means in the file at ``path`` (see :mod:`.edit_file`)."""
    from .edit_file import edit_file as run

    return run(path, old, new, replace_all, root=root)


def _check_text(value: object, name: str) -> None:
    """Text must be ``str`` and encodable as UTF-8 (no lone surrogates), as on the C side."""
    if not isinstance(value, str):
        raise IronCodeError("invalid_argument", f"{name} must be a string, got {type(value).__name__}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise IronCodeError("invalid_argument", f"{name} is not valid Unicode: {e}") from None


def _check_strings(old: str, new: str) -> None:
    if old == new:
        raise _same_strings()
    if not old:
        raise _empty_old_string()


def _line_count(s: str) -> int:
    return s.count("\n") + 1


def _guard_refuses(old: str, proposal: str) -> bool:
    old_lines = _line_count(old)
    if _line_count(proposal) >= max(old_lines + GUARD_EXTRA_LINES, GUARD_LINE_FACTOR * old_lines):
        return True
    if "\n" in old:
        wanted = len(trim(old))
        return len(trim(proposal)) > max(wanted + GUARD_EXTRA_CHARS, GUARD_CHAR_FACTOR * wanted)
    return False


def _adjust_new(old: str, proposal: str, new: str) -> str:
    """``new`` fitted to the line ends around ``proposal`` (see mod.rs ``adjust_new``)."""
    if old.endswith("\n") and not proposal.endswith("\n"):
        if new.endswith("\r\n"):
            new = new[:-2]
        elif new.endswith("\n"):
            new = new[:-1]
    if proposal.endswith("\r") and not new.endswith("\r"):
        new += "\r"
    return new


def _same_strings() -> IronCodeError:
    return IronCodeError("same_strings", "No changes to apply: old_string and new_string are identical.")


def _empty_old_string() -> IronCodeError:
    return IronCodeError(
        "empty_old_string",
        "old_string is empty, so there is nothing to find. Give the text to replace; to write a "
        "whole file, use write.",
    )


def _no_match() -> IronCodeError:
    return IronCodeError(
        "no_match",
        "Could not find old_string in the content, even ignoring differences in whitespace, "
        "indentation and escaping. Re-read the file and copy the exact lines to change.",
    )


def _disproportionate(old: str, proposal: str) -> IronCodeError:
    return IronCodeError(
        "disproportionate",
        f"The closest match for old_string spans {_line_count(proposal)} lines where old_string "
        f"has {_line_count(old)}, so it was not replaced: a fuzzy match that much larger could "
        "replace code you did not mean to change. Give the exact text to replace.",
    )


def occurrence_lines(content: str, needle: str) -> tuple[int, list[int]]:
    """How often ``needle`` occurs (non-overlapping, plus the next occurrence overlapping the last
    of those) and the distinct 1-based lines they start on."""
    starts = []
    at = content.find(needle)
    while at >= 0:
        starts.append(at)
        at = content.find(needle, at + len(needle))
    if starts:
        overlapping = content.find(needle, starts[-1] + 1)
        if overlapping >= 0:
            starts.append(overlapping)
    line, at = 1, 0
    lines: list[int] = []
    for start in starts:
        line += content.count("\n", at, start)
        at = start
        if not lines or lines[-1] != line:
            lines.append(line)
    return len(starts), lines


def _multiple_matches(content: str, needle: str, fuzzy: bool) -> IronCodeError:
    count, lines = occurrence_lines(content, needle)
    shown = [str(line) for line in lines[:MAX_LISTED_LINES]]
    if len(lines) > MAX_LISTED_LINES:
        shown.append(f"and {len(lines) - MAX_LISTED_LINES} more")
    what = (
        "old_string is not in the content exactly, and its closest match occurs"
        if fuzzy
        else "old_string occurs"
    )
    at = "line" if len(lines) == 1 else "lines"
    return IronCodeError(
        "multiple_matches",
        f"{what} {count} times (at {at} {', '.join(shown)}). Add surrounding lines to make it "
        "unique, or set replace_all to change every occurrence.",
    )
