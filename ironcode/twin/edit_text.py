"""Twin of native/tool/src/edit/text.rs: JavaScript's whitespace set, content split into lines
once per call, the search budget, levenshtein and line-sequence matching."""

from __future__ import annotations

import re
from functools import cached_property
from itertools import accumulate

from ..errors import IronCodeError

#: Middle-line pairs one run of block_anchor or of context_aware may score.
MAX_PAIRS_PER_RUN = 250_000
#: Levenshtein table cells (length × length after dropping the common prefix and suffix) one
#: call may compute, over every table it computes.
MAX_LEVENSHTEIN_CELLS = 4_000_000
#: The search budget of one call, in UTF-8 bytes examined (see text.rs) ...
MIN_SEARCH_BYTES = 100_000_000
#: ... or this many times the content's UTF-8 length, whichever is larger.
SEARCH_BYTES_PER_CONTENT_BYTE = 16

#: What JavaScript's ``trim()`` and regex ``\s`` treat as whitespace. Python's ``str.strip()``
#: differs (it strips U+001C–U+001F and U+0085, keeps U+FEFF), so the set is spelled out.
JS_WHITESPACE = (
    "\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_WHITESPACE_RUN = re.compile("[" + re.escape(JS_WHITESPACE) + "]+")
_WHITESPACE_RUN_IN_LINE = re.compile("[" + re.escape(JS_WHITESPACE.replace("\n", "")) + "]+")

#: A proposal: a span ``(start, end)`` of the content (a window of lines, not copied), or text.
Proposal = tuple[int, int] | str


def is_js_whitespace(c: str) -> bool:
    """True for a character of :data:`JS_WHITESPACE`."""
    return c in JS_WHITESPACE


def trim(s: str) -> str:
    return s.strip(JS_WHITESPACE)


def trim_start(s: str) -> str:
    return s.lstrip(JS_WHITESPACE)


def trim_end(s: str) -> str:
    return s.rstrip(JS_WHITESPACE)


def char_len(s: str) -> int:
    return len(s)


def utf8_len(s: str) -> int:
    """Length in UTF-8 bytes (the search budget's unit); O(1) for ASCII text."""
    return len(s) if s.isascii() else len(s.encode("utf-8"))


def search_lines(find: str) -> list[str]:
    """``find``'s lines for the line-window strategies, one trailing empty line dropped."""
    lines = find.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def normalize_whitespace(s: str) -> str:
    """Every run of JavaScript whitespace collapsed to one space, ends trimmed."""
    return _WHITESPACE_RUN.sub(" ", s).strip(" ")


def normalize_whitespace_mapped(s: str) -> tuple[str, list[int]]:
    """:func:`normalize_whitespace` plus, per character of the result, its index in ``s``."""
    out: list[str] = []
    index: list[int] = []
    pending_space: int | None = None
    for at, c in enumerate(s):
        if c in JS_WHITESPACE:
            if out and pending_space is None:
                pending_space = at
        else:
            if pending_space is not None:
                out.append(" ")
                index.append(pending_space)
                pending_space = None
            out.append(c)
            index.append(at)
    return "".join(out), index


class Text:
    """The content of one call, split on ``\\n`` once and shared by every strategy."""

    def __init__(self, content: str) -> None:
        self.content = content
        self.lines = content.split("\n")
        self.starts = list(accumulate((len(line) + 1 for line in self.lines[:-1]), initial=0))
        self.ascii = content.isascii()

    @cached_property
    def trimmed(self) -> list[str]:
        return [line.strip(JS_WHITESPACE) for line in self.lines]

    @cached_property
    def normalized(self) -> list[str]:
        collapsed = _WHITESPACE_RUN_IN_LINE.sub(" ", self.content).split("\n")
        return [line.strip(" ") for line in collapsed]

    def block(self, first: int, last: int) -> tuple[int, int]:
        """The span of lines ``first ..= last``, without the final newline."""
        return self.starts[first], self.starts[last] + len(self.lines[last])

    def window(self, first: int, count: int) -> tuple[int, int]:
        return self.block(first, first + count - 1)

    def text_of(self, proposal: Proposal) -> str:
        if isinstance(proposal, str):
            return proposal
        return self.content[proposal[0] : proposal[1]]


def proposal_len(text: Text, proposal: Proposal) -> int:
    """A proposal's UTF-8 length (what the search budget charges for it)."""
    if isinstance(proposal, str):
        return utf8_len(proposal)
    if text.ascii:
        return proposal[1] - proposal[0]
    return utf8_len(text.text_of(proposal))


class Budget:
    """What one call may still spend; see the limits at the top of this module."""

    def __init__(self, content_bytes: int) -> None:
        self.search_left = max(MIN_SEARCH_BYTES, SEARCH_BYTES_PER_CONTENT_BYTE * content_bytes)
        self.cells_used = 0
        self.pairs_used = 0

    def charge_search(self, size: int) -> None:
        if size > self.search_left:
            raise _too_large(
                "the fuzzy search would examine too much text (the file repeats the same lines many times)"
            )
        self.search_left -= size

    def start_run(self) -> None:
        self.pairs_used = 0

    def charge_pairs(self, pairs: int) -> None:
        self.pairs_used += pairs
        if self.pairs_used > MAX_PAIRS_PER_RUN:
            raise _too_large(f"more than {MAX_PAIRS_PER_RUN} candidate line pairs to score")

    def charge_cells(self, cells: int) -> None:
        self.cells_used += cells
        if self.cells_used > MAX_LEVENSHTEIN_CELLS:
            raise _too_large(f"more than {MAX_LEVENSHTEIN_CELLS} levenshtein cells to compute")


def _too_large(why: str) -> IronCodeError:
    return IronCodeError(
        "search_too_large",
        f"The fuzzy search for old_string is too large: {why}. Give old_string exactly as it "
        "appears in the file, with enough surrounding lines to make it unique.",
    )


def levenshtein_counted(a: str, b: str, budget: Budget) -> int:
    """Levenshtein distance in code points, charging the table it computes to ``budget``."""
    limit = min(len(a), len(b))
    prefix = 0
    while prefix < limit and a[prefix] == b[prefix]:
        prefix += 1
    limit -= prefix
    suffix = 0
    while suffix < limit and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    a = a[prefix : len(a) - suffix]
    b = b[prefix : len(b) - suffix]
    if not a or not b:
        return max(len(a), len(b))
    budget.charge_cells(len(a) * len(b))
    long, short = (a, b) if len(a) >= len(b) else (b, a)
    row = list(range(len(short) + 1))
    for i, lc in enumerate(long):
        diagonal = row[0]
        row[0] = i + 1
        for j, sc in enumerate(short):
            above = row[j + 1]
            best = diagonal + (lc != sc)
            if above + 1 < best:
                best = above + 1
            if row[j] + 1 < best:
                best = row[j] + 1
            row[j + 1] = best
            diagonal = above
    return row[-1]


def find_runs(items: list[str], pattern: list[str]) -> list[int]:
    """Start indices of every (possibly overlapping) run of ``pattern`` in ``items`` (KMP)."""
    m = len(pattern)
    if m == 0 or m > len(items):
        return []
    failure = [0] * m
    k = 0
    for i in range(1, m):
        while k > 0 and pattern[i] != pattern[k]:
            k = failure[k - 1]
        if pattern[i] == pattern[k]:
            k += 1
        failure[i] = k
    found = []
    k = 0
    first_item = pattern[0]
    for i, item in enumerate(items):
        if k == 0 and item != first_item:
            continue
        while k > 0 and item != pattern[k]:
            k = failure[k - 1]
        if item == pattern[k]:
            k += 1
        if k == m:
            found.append(i + 1 - m)
            k = failure[k - 1]
    return found
