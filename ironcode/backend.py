"""Which backend serves each operation: the benchmark-backed decision table.

Each row names the backend that serves an operation by default and the benchmark row behind the
choice (``python script/bench-<tool>.py``; figures in BENCHMARKS.md). Override for every operation
with ``IRONCODE_BACKEND=native|python``, or for a block of code:

>>> import ironcode
>>> with ironcode.backend.use("python"):
...     ironcode.stats()["memory_total_mb"] > 0
True

``use()`` is process-wide (threads started inside the block see it too) and nests.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .errors import IronCodeError

BACKENDS = ("native", "python")


@dataclass(frozen=True)
class Decision:
    backend: str  #: "native" or "python"
    module: str  #: the twin module (ironcode.twin.<module>) that also implements the op
    reason: str  #: the measurement behind the choice


#: op -> Decision. Figures: median of `python script/bench-<tool>.py` on the 2-core CI machine.
DECISIONS: dict[str, Decision] = {
    "read": Decision("native", "read", "pending bench-fs"),
    "write": Decision("native", "write", "pending bench-fs"),
    "ls": Decision("native", "ls", "pending bench-fs"),
    # edit (issue 3)
    # search (issue 4)
    # git (issue 5)
    # shell (issue 6)
    # terminal (issue 7)
    # fuzzy (issue 8)
    # watcher (issue 9)
    # lock (issue 10)
    "stats": Decision("native", "stats", "pending bench-fs"),
    "extract": Decision("native", "archive", "pending bench-fs"),
}

_override_lock = threading.Lock()
_override_stack: list[str] = []


def _check(name: str) -> str:
    if name not in BACKENDS:
        raise IronCodeError("invalid_argument", f"unknown backend {name!r}; use 'native' or 'python'")
    return name


def forced() -> str | None:
    """The backend forced for every op (innermost ``use()``, else ``IRONCODE_BACKEND``), or None."""
    if _override_stack:
        return _override_stack[-1]
    env = os.environ.get("IRONCODE_BACKEND", "").strip().lower()
    return _check(env) if env else None


def choose(op: str) -> str:
    """The backend that serves ``op`` right now."""
    return forced() or decision(op).backend


def decision(op: str) -> Decision:
    try:
        return DECISIONS[op]
    except KeyError:
        raise IronCodeError("invalid_argument", f"unknown operation {op!r}") from None


@contextmanager
def use(name: str) -> Iterator[None]:
    """Serve every operation from backend ``name`` inside the block, in every thread."""
    _check(name)
    with _override_lock:
        _override_stack.append(name)
    try:
        yield
    finally:
        with _override_lock:
            # Remove this block's entry even if blocks in other threads exit out of order.
            for i in range(len(_override_stack) - 1, -1, -1):
                if _override_stack[i] == name:
                    del _override_stack[i]
                    break


def implementation(op: str, backend: str | None = None) -> Callable[..., Any]:
    """The function that implements ``op`` on ``backend`` (default: the chosen one)."""
    backend = _check(backend) if backend else choose(op)
    if backend == "native":
        from . import ffi

        return getattr(ffi, op)
    module = importlib.import_module(f"ironcode.twin.{decision(op).module}")
    return getattr(module, op)
