"""Twin of native/tool/src/grep/types.rs: grep's ``file_type``, ripgrep's ``--type NAME``.

The table is the ``ignore`` crate's built-in one, generated into :mod:`grep_type_table` by
``script/gen-grep-types.py``; a type's globs are matched against a file's name only (globset with
``literal_separator``), folders are never filtered by type.
"""

from __future__ import annotations

import os
import re

from ..errors import IronCodeError
from .edit_text import Budget, levenshtein_counted
from .globset import glob_regex
from .grep_type_table import TYPES

#: At most this many close type names are offered when a name is unknown.
MAX_CLOSE_TYPES = 5
#: A known name at most this many edits away from an unknown one is offered as close to it.
CLOSE_TYPE_DISTANCE = 2


def type_table() -> list[dict]:
    """Every built-in type, sorted by name, each with its globs sorted: ``[{"name", "globs"}]``."""
    return [{"name": name, "globs": list(globs)} for name, globs in TYPES.items()]


class FileType:
    """The compiled selection of one type."""

    def __init__(self, globs: tuple[str, ...]) -> None:
        self.patterns: list[re.Pattern[bytes]] = [glob_regex(g, False) for g in globs]

    def keeps(self, path: bytes) -> bool:
        """Whether the file at ``path`` (its name) is of the selected type."""
        name = os.path.basename(path)
        return any(p.fullmatch(name) for p in self.patterns)


def select(name: str) -> FileType:
    """A matcher that keeps the files of type ``name``; ``invalid_argument`` naming the close
    types when there is no such type (``all`` included: as a filter it would only drop files of
    no known type)."""
    if name not in TYPES:
        raise unknown_type(name, list(TYPES))
    return FileType(TYPES[name])


def unknown_type(name: str, known: list[str]) -> IronCodeError:
    """The error for an unknown type: its close names, or where to find the list."""
    close = close_names(name, known)
    if close:
        hint = f"did you mean {', '.join(close)}?"
    else:
        hint = "no type has a similar name; types are ripgrep's (`rg --type-list`), e.g. py, rust, js, ts, md"
    return IronCodeError("invalid_argument", f"Unknown file type '{name}': {hint}")


def close_names(name: str, known: list[str]) -> list[str]:
    """Known names close to ``name``: those it is a prefix of, and those at most
    :data:`CLOSE_TYPE_DISTANCE` edits away (case-insensitively), nearest first, then by name."""
    wanted = name.lower()
    scored = []
    for candidate in known:
        lower = candidate.lower()
        distance = levenshtein_counted(wanted, lower, Budget(0))
        if distance <= CLOSE_TYPE_DISTANCE or (wanted and lower.startswith(wanted)):
            scored.append((distance, candidate))
    scored.sort()
    return [candidate for _, candidate in scored[:MAX_CLOSE_TYPES]]
