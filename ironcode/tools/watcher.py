"""``ironcode watch``: file events as they happen, as lines for a person or one JSON object each.

:func:`follow` hands each event of a :class:`ironcode.Watcher` to a callback until a deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: The longest single wait. Not a polling interval (a wait returns the moment an event arrives):
#: a wait blocks inside the native library, where Ctrl-C is only seen once it returns.
WAIT_CHUNK_S = 0.5


def format_event(event: dict, root: str) -> str:
    """``12:03:04.512  change  src/main.py``: local time, kind, path relative to the root."""
    stamp = event["timestamp"]
    clock = time.strftime("%H:%M:%S", time.localtime(stamp)) + f".{int(stamp * 1000) % 1000:03d}"
    path = event["path"]
    prefix = root.rstrip("/") + "/"
    shown = path[len(prefix) :] if path.startswith(prefix) else path
    return f"{clock}  {event['kind']:<6}  {shown}"


def follow(
    watcher,
    timeout: float | None,
    emit: Callable[[dict], None],
    on_dropped: Callable[[int], None] | None = None,
) -> None:
    """Calls ``emit(event)`` for every event until ``timeout`` seconds pass (None: until
    interrupted); ``on_dropped(n)`` when the queue overflowed and ``n`` more events were lost."""
    deadline = None if timeout is None else time.monotonic() + timeout
    dropped = 0
    while True:
        chunk = WAIT_CHUNK_S if deadline is None else min(WAIT_CHUNK_S, deadline - time.monotonic())
        if chunk <= 0:
            return
        for event in watcher.wait(chunk):
            emit(event)
        if on_dropped is not None:
            now_dropped = watcher.info()["dropped"]
            if now_dropped > dropped:
                on_dropped(now_dropped - dropped)
                dropped = now_dropped
