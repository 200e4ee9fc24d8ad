"""Twin of native/tool/src/edit/file.rs: the replacer chain applied to a file.

UTF-8 only (anything else is ``encoding``, file untouched); a UTF-8 BOM is stripped before
matching and put back on write; a file with any ``\\r\\n`` is CRLF and ``old``/``new`` are
converted to its line ending. The write is atomic and keeps permission bits.
"""

from __future__ import annotations

import errno
import math
import os
import stat
from dataclasses import dataclass

from ..errors import IronCodeError, from_os_error
from .confine import DIRECTORY, Located, Place, Root
from .edit import Patch, _check_text, _same_strings, replace_patch
from .edit_diff import Diff, unified
from .edit_text import Budget, Text, levenshtein_counted, search_lines, trim
from .paths import absolute
from .write import write_atomic, write_atomic_located

UTF8_BOM = "\ufeff"
#: ``no_match`` names the closest region only if it is at least this similar to ``old``.
MIN_HINT_SIMILARITY = 0.5
#: ``no_match`` quotes at most this many lines of the closest region.
MAX_HINT_LINES = 20


def edit_file(path: str, old: str, new: str, replace_all: bool = False, *, root: str | None = None) -> dict:
    """Replaces the text ``old`` means in the file at ``path`` by ``new``.

    ``old == ""`` creates a missing file (and its folders) holding ``new``, and is
    ``empty_old_string`` for an existing one. With ``root``, the file is found, read and replaced
    beneath it (leaving it is ``outside_root``).
    """
    _check_text(old, "old")
    _check_text(new, "new")
    if old == new:
        raise _same_strings()
    if root is None:
        return _edit(absolute(path), old, new, replace_all, None)
    with Root.open(root) as confined:
        place = confined.place(path)
        if not old:
            return _create_beneath(confined, place, new)
        with confined.locate(place, create=False, follow_last=True) as target:
            if target.kind is None:
                raise from_os_error(FileNotFoundError(errno.ENOENT, ""), place.shown)
            if target.kind == DIRECTORY:
                raise _directory_error(place.shown)
            return _edit(place.shown, old, new, replace_all, target)


def _edit(abs_path: str, old: str, new: str, replace_all: bool, located: Located | None) -> dict:
    """The edit itself; the file by name (``located`` None) or where ``Root.locate`` found it."""
    if located is None:
        if not old:
            return _create(abs_path, new)
        try:
            is_dir = stat.S_ISDIR(os.stat(abs_path).st_mode)
        except OSError as e:
            raise from_os_error(e, abs_path) from None
        if is_dir:
            raise _directory_error(abs_path)
        # Edit the file a symlink points at; renaming over the link would replace it with a copy.
        target = os.path.realpath(abs_path)
    try:
        if located is None:
            with open(target, "rb") as f:
                data = f.read()
        else:
            with open(located.open(os.O_RDONLY), "rb") as f:
                data = f.read()
    except OSError as e:
        raise from_os_error(e, abs_path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise IronCodeError(
            "encoding", f"File is not valid UTF-8 ({e.reason}), so it was not edited: {abs_path}"
        ) from None
    bom = UTF8_BOM if text.startswith(UTF8_BOM) else ""
    body = text[len(bom) :]
    crlf = "\r\n" in body
    old = _with_line_ending(old, crlf)
    new = _with_line_ending(new, crlf)
    try:
        patch = replace_patch(body, old, new, replace_all)
    except IronCodeError as e:
        if e.kind == "no_match":
            raise _no_match_here(abs_path, body, old) from None
        raise
    updated = patch.apply(body)
    if located is None:
        write_atomic(target, (bom + updated).encode("utf-8"))
    else:
        write_atomic_located(located, (bom + updated).encode("utf-8"))
    return _result(abs_path, unified(abs_path, body, updated, patch))


def _result(path: str, diff: Diff) -> dict:
    return {"path": path, "diff": diff.text, "additions": diff.additions, "deletions": diff.deletions}


def _create(abs_path: str, new: str) -> dict:
    try:
        st = os.lstat(abs_path)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise from_os_error(e, abs_path) from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise _directory_error(abs_path)
        raise _exists_error(abs_path)
    parent = os.path.dirname(abs_path)
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as e:
        raise from_os_error(e, parent) from None
    write_atomic(abs_path, new.encode("utf-8"))
    return _result(abs_path, unified(abs_path, "", new, Patch([(0, 0)], new)))


def _directory_error(shown: str) -> IronCodeError:
    return IronCodeError("is_directory", f"Path is a directory, not a file: {shown}")


def _exists_error(shown: str) -> IronCodeError:
    return IronCodeError(
        "empty_old_string",
        f"old_string is empty but {shown} already exists. Give the text to replace, or "
        "use write to replace the whole file.",
    )


def _create_beneath(root: Root, place: Place, new: str) -> dict:
    """``old == ""`` beneath a root: a new file, its folders created beneath the root; a symlink in
    its place is an existing file, if it stays inside the root."""
    with root.locate(place, create=True, follow_last=False) as target:
        if target.kind == DIRECTORY:
            raise _directory_error(place.shown)
        if target.kind is not None:
            raise _exists_error(place.shown)
        write_atomic_located(target, new.encode("utf-8"))
    return _result(place.shown, unified(place.shown, "", new, Patch([(0, 0)], new)))


def _with_line_ending(s: str, crlf: bool) -> str:
    lf = s.replace("\r\n", "\n")
    return lf.replace("\n", "\r\n") if crlf else lf


def _no_match_here(shown: str, body: str, old: str) -> IronCodeError:
    message = (
        f"Could not find old_string in {shown}, even ignoring differences in whitespace, "
        "indentation and escaping."
    )
    region = closest_region(body, old)
    if region is None:
        message += " Re-read the file and copy the exact lines to change."
        return IronCodeError("no_match", message)
    lines = body.split("\n")
    last = region.first + region.count - 1
    percent = math.floor(region.similarity * 100.0)
    where = f"line {last + 1}" if region.count == 1 else f"lines {region.first + 1}-{last + 1}"
    message += f" The most similar region is {where} ({percent}% similar):\n"
    for i in range(region.first, region.first + min(region.count, MAX_HINT_LINES)):
        line = lines[i]
        message += f"{i + 1}: {line[:-1] if line.endswith(chr(13)) else line}\n"
    if region.count > MAX_HINT_LINES:
        message += "...\n"
    message += "Copy the exact text of the lines to change into old_string."
    return IronCodeError("no_match", message)


@dataclass
class Region:
    first: int  #: 0-based first line
    count: int
    similarity: float


def closest_region(body: str, old: str) -> Region | None:
    """The window of ``old``'s line count most similar to ``old`` (see file.rs)."""
    wanted_lines = search_lines(old)
    m = len(wanted_lines)
    text = Text(body)
    n = len(text.lines)
    if m == 0 or m > n:
        return None
    wanted = "\n".join(trim(line) for line in wanted_lines)
    wanted_chars = len(wanted)
    trimmed = text.trimmed

    bounds: list[tuple[float, int, int]] = []
    bag = _BagDistance(wanted)
    length = m - 1
    for _ in range(m - 1):
        bag.add("\n")
    for line in trimmed[:m]:
        bag.add_all(line)
        length += len(line)
    for first in range(n - m + 1):
        if first > 0:
            bag.remove_all(trimmed[first - 1])
            length -= len(trimmed[first - 1])
            bag.add_all(trimmed[first + m - 1])
            length += len(trimmed[first + m - 1])
        longest = max(length, wanted_chars)
        bounds.append((_similarity(bag.distance(), longest), first, longest))
    bounds.sort(key=lambda b: (-b[0], b[1]))

    budget = Budget(0)
    best: tuple[float, int] | None = None
    for bound, first, longest in bounds:
        if bound < MIN_HINT_SIMILARITY:
            break
        if best is not None:
            if bound < best[0]:
                break
            if bound == best[0] and first > best[1]:
                continue
        try:
            distance = levenshtein_counted("\n".join(trimmed[first : first + m]), wanted, budget)
        except IronCodeError:
            break
        score = _similarity(distance, longest)
        if best is None or score > best[0] or (score == best[0] and first < best[1]):
            best = (score, first)
    if best is None or best[0] < MIN_HINT_SIMILARITY:
        return None
    return Region(best[1], m, best[0])


def _similarity(distance: int, longest: int) -> float:
    return 1.0 if longest == 0 else 1.0 - distance / longest


class _BagDistance:
    """max(characters a sliding window has in excess, characters it lacks) against a text."""

    def __init__(self, target: str) -> None:
        self.delta: dict[str, int] = {}
        for c in target:
            self.delta[c] = self.delta.get(c, 0) - 1
        self.excess = 0
        self.missing = len(target)

    def add(self, c: str) -> None:
        before = self.delta.get(c, 0)
        self.delta[c] = before + 1
        if before >= 0:
            self.excess += 1
        else:
            self.missing -= 1

    def add_all(self, s: str) -> None:
        for c in s:
            self.add(c)

    def remove_all(self, s: str) -> None:
        delta = self.delta
        for c in s:
            before = delta.get(c, 0)
            delta[c] = before - 1
            if before > 0:
                self.excess -= 1
            else:
                self.missing += 1

    def distance(self) -> int:
        return max(self.excess, self.missing)
