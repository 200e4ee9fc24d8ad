"""Twin of native/tool/src/edit/diff.rs: unified diffs of an edit, built from its patch.

Each region the patch touched is diffed on its own (common end lines dropped, Myers' algorithm
on the rest, bounded by :data:`MAX_DIFF_WORK`); untouched lines between regions are context.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .edit import Patch

#: Lines of context around each change.
CONTEXT_LINES = 3
#: Diagonals plus snake steps Myers' algorithm may take in one region.
MAX_DIFF_WORK = 1_000_000
#: Printed after a last line that has no newline.
NO_NEWLINE_MARKER = "\\ No newline at end of file"

#: A line: its text (``\r\n`` read as ``\n``) and whether a newline ends it.
Line = tuple[str, bool]


@dataclass
class Change:
    """Old lines ``a_start:a_end`` became new lines ``b_start:b_end``."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int


@dataclass
class Diff:
    text: str
    additions: int
    deletions: int


def _split_lines(text: str) -> tuple[list[Line], list[int]]:
    lines: list[Line] = []
    starts: list[int] = []
    at = 0
    parts = text.split("\n")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if last and not part:
            break
        starts.append(at)
        at += len(part) + 1
        if last:
            lines.append((part, False))
        else:
            lines.append((part[:-1] if part.endswith("\r") else part, True))
    if not text or text.endswith("\n"):
        # The end of the text starts one more (empty) line: an edit there maps past the last.
        starts.append(len(text))
    return lines, starts


def _line_of(starts: list[int], at: int) -> int:
    return max(bisect_right(starts, at) - 1, 0)


def unified(path: str, before: str, after: str, patch: Patch) -> Diff:
    """The unified diff from ``before`` to ``after`` (``patch`` applied to ``before``)."""
    a, a_starts = _split_lines(before)
    b, b_starts = _split_lines(after)
    changes: list[Change] = []
    for region in _touched_regions(a_starts, len(a), b_starts, len(b), patch):
        _diff_region(a, b, region, changes)
    return _render(path, path, a, b, changes)


def unified_lines(
    old_name: str, new_name: str, before: str, after: str, regions: list[tuple[int, int, int, int]]
) -> Diff:
    """The unified diff from ``before`` to ``after`` given the line ranges that may differ
    (``(old_start, old_end, new_start, new_end)`` each, in order, merged where they overlap);
    the headers name ``old_name`` and ``new_name`` (see diff.rs)."""
    a, _ = _split_lines(before)
    b, _ = _split_lines(after)
    merged: list[Change] = []
    for a_start, a_end, b_start, b_end in regions:
        region = Change(min(a_start, len(a)), min(a_end, len(a)), min(b_start, len(b)), min(b_end, len(b)))
        if merged and region.a_start <= merged[-1].a_end:
            last = merged[-1]
            last.a_end = max(last.a_end, region.a_end)
            last.b_end = max(last.b_end, region.b_end)
        else:
            merged.append(region)
    changes: list[Change] = []
    for region in merged:
        _diff_region(a, b, region, changes)
    return _render(old_name, new_name, a, b, changes)


def _touched_regions(
    a_starts: list[int], a_len: int, b_starts: list[int], b_len: int, patch: Patch
) -> list[Change]:
    regions: list[Change] = []
    shift = 0
    for start, end in patch.spans:
        new_start = start + shift
        new_end = new_start + len(patch.text)
        shift += len(patch.text) - (end - start)
        region = Change(
            min(_line_of(a_starts, start), a_len),
            min(_line_of(a_starts, end) + 1, a_len),
            min(_line_of(b_starts, new_start), b_len),
            min(_line_of(b_starts, new_end) + 1, b_len),
        )
        if regions and region.a_start < regions[-1].a_end:
            last = regions[-1]
            last.a_end = max(last.a_end, region.a_end)
            last.b_end = max(last.b_end, region.b_end)
        else:
            regions.append(region)
    return regions


def _diff_region(a: list[Line], b: list[Line], region: Change, changes: list[Change]) -> None:
    a_start, b_start, a_end, b_end = region.a_start, region.b_start, region.a_end, region.b_end
    while a_start < a_end and b_start < b_end and a[a_start] == b[b_start]:
        a_start += 1
        b_start += 1
    while a_start < a_end and b_start < b_end and a[a_end - 1] == b[b_end - 1]:
        a_end -= 1
        b_end -= 1
    if a_start == a_end and b_start == b_end:
        return
    if a_start == a_end or b_start == b_end:
        changes.append(Change(a_start, a_end, b_start, b_end))
        return
    found = _myers(a[a_start:a_end], b[b_start:b_end])
    if found is None:
        changes.append(Change(a_start, a_end, b_start, b_end))
        return
    for c in found:
        changes.append(Change(a_start + c.a_start, a_start + c.a_end, b_start + c.b_start, b_start + c.b_end))


def _myers(a: list[Line], b: list[Line]) -> list[Change] | None:
    """The changes of a shortest edit script (Myers), or None past :data:`MAX_DIFF_WORK`."""
    n, m = len(a), len(b)
    top = n + m
    offset = top
    v = [0] * (2 * top + 2)
    trace: list[list[int]] = []
    work = 0
    done = False
    for d in range(top + 1):
        trace.append(v[offset - d : offset + d + 1])
        for k in range(-d, d + 1, 2):
            work += 1
            if k == -d or (k != d and v[offset + k - 1] < v[offset + k + 1]):
                x = v[offset + k + 1]
            else:
                x = v[offset + k - 1] + 1
            y = x - k
            while x < n and y < m and a[x] == b[y]:
                x += 1
                y += 1
                work += 1
            v[offset + k] = x
            if x >= n and y >= m:
                done = True
                break
            if work > MAX_DIFF_WORK:
                return None
        if done:
            break
    edits: list[tuple[int, int, int, int]] = []
    x, y = n, m
    for d in range(len(trace) - 1, 0, -1):
        snapshot = trace[d]
        k = x - y
        if k == -d or (k != d and snapshot[k - 1 + d] < snapshot[k + 1 + d]):
            prev_k = k + 1
        else:
            prev_k = k - 1
        prev_x = snapshot[prev_k + d]
        prev_y = prev_x - prev_k
        while x > prev_x and y > prev_y:
            x -= 1
            y -= 1
        edits.append((prev_x, prev_y, x, y))
        x, y = prev_x, prev_y
    edits.reverse()
    changes: list[Change] = []
    for from_x, from_y, to_x, to_y in edits:
        if changes and changes[-1].a_end == from_x and changes[-1].b_end == from_y:
            changes[-1].a_end = to_x
            changes[-1].b_end = to_y
        else:
            changes.append(Change(from_x, to_x, from_y, to_y))
    return changes


def _push_line(out: list[str], prefix: str, line: Line) -> None:
    out.append(prefix + line[0] + "\n")
    if not line[1]:
        out.append(NO_NEWLINE_MARKER + "\n")


def _range_header(start: int, length: int) -> str:
    return f"{start if length == 0 else start + 1},{length}"


def _render(old_name: str, new_name: str, a: list[Line], b: list[Line], changes: list[Change]) -> Diff:
    additions = sum(c.b_end - c.b_start for c in changes)
    deletions = sum(c.a_end - c.a_start for c in changes)
    if not changes:
        return Diff("", additions, deletions)
    out = [f"--- {old_name}\n+++ {new_name}\n"]
    first = 0
    while first < len(changes):
        last = first
        while (
            last + 1 < len(changes) and changes[last + 1].a_start - changes[last].a_end <= 2 * CONTEXT_LINES
        ):
            last += 1
        head, tail = changes[first], changes[last]
        a_from = max(head.a_start - CONTEXT_LINES, 0)
        b_from = head.b_start - (head.a_start - a_from)
        a_to = min(tail.a_end + CONTEXT_LINES, len(a))
        b_to = tail.b_end + (a_to - tail.a_end)
        out.append(f"@@ -{_range_header(a_from, a_to - a_from)} +{_range_header(b_from, b_to - b_from)} @@\n")
        at = a_from
        for change in changes[first : last + 1]:
            for line in a[at : change.a_start]:
                _push_line(out, " ", line)
            for line in a[change.a_start : change.a_end]:
                _push_line(out, "-", line)
            for line in b[change.b_start : change.b_end]:
                _push_line(out, "+", line)
            at = change.a_end
        for line in a[at:a_to]:
            _push_line(out, " ", line)
        first = last + 1
    return Diff("".join(out), additions, deletions)
