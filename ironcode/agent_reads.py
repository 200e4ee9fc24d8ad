"""The read rule: never overwrite what the model has not seen (AGENT.md).

``read`` (any window), the text editor's ``view``, and every successful write, edit or patch by the
toolbox record the file's version — the digest of its whole content — keyed by its resolved path.
Before ``write``, ``edit``, ``str_replace``, ``insert`` or an apply_patch Add over an existing file,
:meth:`ReadRecords.check` refuses a file with no version (``not_read``) or whose content differs
from it (``stale_file``). The version is the content, not the modification time: a ``touch``, a
checkout that rewrites identical bytes or a formatter that changes nothing is not a change (agents
that compare mtimes answer "modified since read" for all of those).

Records sit behind one lock, and :meth:`ReadRecords.hold` serialises the toolbox's own
check-then-write of one path, so concurrent calls on one toolbox are safe.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import IronCodeError

#: Files up to this size keep their recorded content, so a stale file's message can show the diff.
MAX_KEPT_BYTES = 1024 * 1024
#: The stale message's diff: at most this many lines, each cut at this many characters.
MAX_DIFF_LINES = 40
MAX_DIFF_LINE_CHARS = 200
#: Lines of context around each change in that diff.
DIFF_CONTEXT_LINES = 1
#: At most this many records; the oldest are dropped (a model that read 100,000 files must read
#: the old ones again before writing them, which is the safe side).
MAX_RECORDS = 100_000


@dataclass(frozen=True)
class Version:
    """A file's content as this toolbox last saw it: its digest, size, and the bytes if small."""

    digest: bytes
    size: int
    content: bytes | None


class ReadRecords:
    """The versions this toolbox has seen, by resolved path; ``enabled=False`` turns the rule off."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._lock = threading.Lock()
        self._versions: dict[str, Version] = {}
        self._path_locks: dict[str, list] = {}

    def remember(self, path: str, version: Version | None) -> None:
        """Records ``version`` for ``path`` (None: forgets it, e.g. after a delete)."""
        with self._lock:
            self._versions.pop(path, None)
            if version is not None:
                self._versions[path] = version
                while len(self._versions) > MAX_RECORDS:
                    self._versions.pop(next(iter(self._versions)))

    def recorded(self, path: str) -> Version | None:
        with self._lock:
            return self._versions.get(path)

    def check(self, path: str, current: Version | None) -> None:
        """Refuses to change the existing file ``path`` (its content now: ``current``) unless this
        toolbox has seen exactly that content. A missing file (None) passes."""
        if not self.enabled or current is None:
            return
        seen = self.recorded(path)
        if seen is None:
            raise IronCodeError(
                "not_read",
                f"{path} exists but has not been read in this session: read it first "
                "(read, or the text editor's view), then change it.",
            )
        if seen.digest != current.digest:
            raise IronCodeError("stale_file", stale_message(path, seen, current))

    @contextmanager
    def hold(self, path: str) -> Iterator[None]:
        """Holds ``path`` for one check-then-write of this toolbox (other paths are not blocked)."""
        with self._lock:
            entry = self._path_locks.setdefault(path, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._lock:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._path_locks[path]


def stale_message(path: str, seen: Version, current: Version) -> str:
    head = (
        f"{path} has changed since you read it (by someone else, or another tool): read it again, "
        "then make your change. The file was not touched."
    )
    if seen.content is None or current.content is None:
        return f"{head} (It is {current.size} bytes now, {seen.size} when you read it.)"
    before = seen.content.decode("utf-8", "replace").split("\n")
    after = current.content.decode("utf-8", "replace").split("\n")
    lines = list(
        difflib.unified_diff(before, after, "as you read it", "now", n=DIFF_CONTEXT_LINES, lineterm="")
    )
    shown = [line[:MAX_DIFF_LINE_CHARS] for line in lines[:MAX_DIFF_LINES]]
    if len(lines) > MAX_DIFF_LINES:
        shown.append(f"... ({len(lines) - MAX_DIFF_LINES} more diff lines)")
    if not shown:
        return head
    return head + "\nWhat changed:\n" + "\n".join(shown)
