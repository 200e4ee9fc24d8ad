"""Twin of native/tool/src/edit/strategies.rs: the nine replacer strategies.

Each proposes, in file order, the text in the content that ``find`` probably means; windows of
whole lines are spans ``(start, end)`` of the content (not copies), other proposals are strings.
"""

from __future__ import annotations

import re

from ..errors import IronCodeError
from .edit_text import (
    Budget,
    Proposal,
    Text,
    find_runs,
    levenshtein_counted,
    normalize_whitespace,
    normalize_whitespace_mapped,
    search_lines,
    trim,
    trim_end,
    trim_start,
    utf8_len,
)

#: block_anchor: the average middle-line similarity a block needs to be proposed.
BLOCK_ANCHOR_MIN_SIMILARITY = 0.65
#: block_anchor: a block may differ from the search by this share of its lines (at least 1).
BLOCK_ANCHOR_SIZE_TOLERANCE_DIVISOR = 4
#: block_anchor and context_aware need a first anchor, a last anchor and something between.
MIN_ANCHORED_LINES = 3

#: Every strategy's public name, in chain order.
STRATEGIES = (
    "simple",
    "line_trimmed",
    "block_anchor",
    "whitespace_normalized",
    "indentation_flexible",
    "escape_normalized",
    "trimmed_boundary",
    "context_aware",
    "multi_occurrence",
)


def parse(name: object) -> str:
    """``name`` if it is a strategy; else ``invalid_argument`` listing the known ones."""
    if name not in STRATEGIES:
        raise IronCodeError(
            "invalid_argument", f"unknown strategy {name!r}; use one of: {', '.join(STRATEGIES)}"
        )
    return name  # type: ignore[return-value]


def propose(strategy: str, text: Text, find: str, budget: Budget) -> list[Proposal]:
    """What ``strategy`` proposes for ``find`` in ``text``, in file order. ``find`` is not empty."""
    if strategy == "simple":
        return simple(find)
    if strategy == "line_trimmed":
        return line_trimmed(text, find)
    if strategy == "multi_occurrence":
        return multi_occurrence(text, find)
    return _WITH_BUDGET[strategy](text, find, budget)


def simple(find: str) -> list[Proposal]:
    return [find]


def line_trimmed(text: Text, find: str) -> list[Proposal]:
    pattern = [trim(line) for line in search_lines(find)]
    return [text.window(first, len(pattern)) for first in find_runs(text.trimmed, pattern)]


def _anchor_lines(trimmed: list[str], anchor: str) -> list[int]:
    return [i for i, line in enumerate(trimmed) if line == anchor]


def _anchored_blocks(trimmed: list[str], first: str, last: str) -> list[tuple[int, int]]:
    closers = _anchor_lines(trimmed, last)
    following = 0
    blocks = []
    for opener in _anchor_lines(trimmed, first):
        while following < len(closers) and closers[following] < opener + 2:
            following += 1
        if following == len(closers):
            break
        blocks.append((opener, closers[following]))
    return blocks


def block_anchor(text: Text, find: str, budget: Budget) -> list[Proposal]:
    search = search_lines(find)
    m = len(search)
    if m < MIN_ANCHORED_LINES:
        return []
    trimmed = text.trimmed
    tolerance = max(1, m // BLOCK_ANCHOR_SIZE_TOLERANCE_DIVISOR)
    budget.start_run()
    best: tuple[float, int, int] | None = None
    for first, last in _anchored_blocks(trimmed, trim(search[0]), trim(search[m - 1])):
        count = last - first + 1
        if abs(count - m) > tolerance:
            continue
        pairs = min(m, count) - 2
        budget.charge_pairs(pairs)
        total = 0.0
        for k in range(1, pairs + 1):
            total += _line_similarity(trimmed[first + k], trim(search[k]), budget)
        similarity = total / pairs
        if best is None or similarity > best[0]:
            best = (similarity, first, last)
    if best is not None and best[0] >= BLOCK_ANCHOR_MIN_SIMILARITY:
        return [text.block(best[1], best[2])]
    return []


def _line_similarity(a: str, b: str, budget: Budget) -> float:
    longest = max(len(a), len(b))
    if longest == 0:
        return 1.0
    return 1.0 - levenshtein_counted(a, b, budget) / longest


def whitespace_normalized(text: Text, find: str, budget: Budget) -> list[Proposal]:
    wanted = normalize_whitespace(find)
    if not wanted:
        return []
    normalized = text.normalized
    out: list[Proposal] = []
    for i, norm in enumerate(normalized):
        if norm == wanted:
            out.append(text.window(i, 1))
        elif len(norm) > len(wanted) and wanted in norm:
            out.append(_matching_span(text, i, wanted))
    m = find.count("\n") + 1
    n = len(text.lines)
    if m < 2 or m > n:
        return out
    wanted_size = utf8_len(wanted)
    # Lines that can open a matching window: collapsed, a word-aligned prefix of ``wanted``.
    heads = [i for i, norm in enumerate(normalized) if norm and _opens(wanted, norm)]
    # The windows whose first non-blank line is ``head`` start among the blank lines above it.
    for head in heads:
        top = head
        while top > 0 and not normalized[top - 1]:
            top -= 1
        for first in range(max(top, head + 1 - m), min(head, n - m) + 1):
            budget.charge_search(wanted_size)
            if " ".join(part for part in normalized[first : first + m] if part) == wanted:
                out.append(text.window(first, m))
    return out


def _opens(wanted: str, norm: str) -> bool:
    return wanted.startswith(norm) and (len(wanted) == len(norm) or wanted[len(norm)] == " ")


def _matching_span(text: Text, i: int, wanted: str) -> Proposal:
    line = text.lines[i]
    norm, index = normalize_whitespace_mapped(line)
    at = norm.find(wanted)
    if at < 0:
        return ""
    start = text.starts[i]
    return start + index[at], start + index[at + len(wanted) - 1] + 1


def indentation_flexible(text: Text, find: str, budget: Budget) -> list[Proposal]:
    find_lines = find.split("\n")
    m = len(find_lines)
    wanted = _remove_indentation(find_lines)
    pattern = [trim(line) for line in find_lines]
    find_size = utf8_len(find)
    out: list[Proposal] = []
    for first in find_runs(text.trimmed, pattern):
        budget.charge_search(find_size)
        if _remove_indentation(text.lines[first : first + m]) == wanted:
            out.append(text.window(first, m))
    return out


def _remove_indentation(lines: list[str]) -> list[str]:
    indents = [len(line) - len(trim_start(line)) for line in lines if trim(line)]
    if not indents:
        return list(lines)
    indent = min(indents)
    return [line[indent:] if trim(line) else line for line in lines]


_ESCAPE = re.compile(r"\\([ntr'\"`\\\n$])")
_UNESCAPED = {"n": "\n", "t": "\t", "r": "\r"}


def unescape(s: str) -> str:
    """``\\n \\t \\r \\' \\" \\` \\\\ \\$`` and backslash-newline replaced, left to right."""
    if "\\" not in s:
        return s
    return _ESCAPE.sub(lambda m: _UNESCAPED.get(m.group(1), m.group(1)), s)


def _unescapes_to(line: str, expected: str, last: bool) -> bool:
    """True if ``line`` unescapes to ``expected`` as a window's ``last`` line (keeping a dangling
    backslash) or an earlier one (where that backslash and the newline became a newline)."""
    if "\\" not in line:
        return line == expected
    unescaped = unescape(line)
    # A backslash ends the line unconsumed when the trailing run of backslashes is odd.
    dangling = (len(line) - len(line.rstrip("\\"))) % 2 == 1
    if dangling and not last:
        return unescaped[:-1] == expected
    return unescaped == expected


def escape_normalized(text: Text, find: str, budget: Budget) -> list[Proposal]:
    wanted = unescape(find)
    out: list[Proposal] = []
    if wanted in text.content:
        out.append(wanted)
    wanted_lines = wanted.split("\n")
    m = len(wanted_lines)
    lines = text.lines
    n = len(lines)
    if m > n:
        return out
    head = wanted_lines[0]
    wanted_size = utf8_len(wanted)
    for first in range(n - m + 1):
        line = lines[first]
        if not (_unescapes_to(line, head, m == 1) if "\\" in line else line == head):
            continue
        budget.charge_search(wanted_size)
        if all(_unescapes_to(lines[first + k], wanted_lines[k], k + 1 == m) for k in range(1, m)):
            out.append(text.window(first, m))
    return out


def trimmed_boundary(text: Text, find: str, budget: Budget) -> list[Proposal]:
    wanted = trim(find)
    if wanted == find or not wanted:
        return []
    out: list[Proposal] = []
    if wanted in text.content:
        out.append(wanted)
    m = find.count("\n") + 1
    n = len(text.lines)
    if m > n:
        return out
    # The window's first non-blank line ``top`` trims to ``wanted``'s first line, its last
    # ``bottom`` is ``wanted``'s line count further down, and blank lines pad it around them.
    wanted_lines = wanted.split("\n")
    r = len(wanted_lines)
    trimmed = text.trimmed
    lines = text.lines
    head = trim_end(wanted_lines[0])
    wanted_size = utf8_len(wanted)
    for top in [i for i, line in enumerate(trimmed) if line == head]:
        bottom = top + r - 1
        if bottom >= n or not trimmed[bottom]:
            continue
        above = top
        while above > 0 and not trimmed[above - 1]:
            above -= 1
        below = bottom + 1
        while below < n and not trimmed[below]:
            below += 1
        if below < m:
            continue
        start, stop = max(above, bottom + 1 - m), min(below - m, top)
        if start > stop:
            continue
        matches = r == 1 or (
            trim_start(lines[top]) == wanted_lines[0]
            and trim_end(lines[bottom]) == wanted_lines[r - 1]
            and lines[top + 1 : bottom] == wanted_lines[1 : r - 1]
        )
        for first in range(start, stop + 1):
            budget.charge_search(wanted_size)
            if matches:
                out.append(text.window(first, m))
    return out


def context_aware(text: Text, find: str, budget: Budget) -> list[Proposal]:
    search = search_lines(find)
    m = len(search)
    if m < MIN_ANCHORED_LINES:
        return []
    trimmed = text.trimmed
    budget.start_run()
    out: list[Proposal] = []
    for first, last in _anchored_blocks(trimmed, trim(search[0]), trim(search[m - 1])):
        if last - first + 1 != m:
            continue
        budget.charge_pairs(m - 2)
        compared = 0
        equal = 0
        for k in range(1, m - 1):
            a, b = trimmed[first + k], trim(search[k])
            if a or b:
                compared += 1
                equal += a == b
        if compared == 0 or 2 * equal >= compared:
            out.append(text.block(first, last))
    return out


def multi_occurrence(text: Text, find: str) -> list[Proposal]:
    return [find] * text.content.count(find)


_WITH_BUDGET = {
    "block_anchor": block_anchor,
    "whitespace_normalized": whitespace_normalized,
    "indentation_flexible": indentation_flexible,
    "escape_normalized": escape_normalized,
    "trimmed_boundary": trimmed_boundary,
    "context_aware": context_aware,
}
