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
    #: (benchmark, case prefix): the rows script/bench-all.py re-checks this choice against;
    #: native must win most of them to stay native (and lose most to stay python).
    evidence: tuple[str, str] | None = None


#: op -> Decision. Figures: median of `python script/bench-<tool>.py` on the 2-core CI machine.
DECISIONS: dict[str, Decision] = {
    "read": Decision(
        "native",
        "read",
        "bench-fs read: native 1.10x (100 lines) to 3.99x (100K lines) faster",
        ("fs", "read "),
    ),
    "write": Decision(
        "python",
        "write",
        "bench-fs write: twin 1.05-1.24x faster (fsync-bound, 1 KB-10 MB); no gain to cross",
        ("fs", "write "),
    ),
    "ls": Decision("native", "ls", "bench-fs ls: native 1.31x faster over this repository", ("fs", "ls ")),
    # edit (issue 3)
    "edit_replace": Decision(
        "native",
        "edit",
        "bench-edit (full run, 2 shared cores): native 26x faster on the 10K-line fuzzy row and 74x on "
        "no match, 22-42x from 1K lines; exact matches: twin 1.3-3.9x faster up to 1K lines, native "
        "1.05-1.2x from 5K, so the dispatcher tries an exact old in Python below 64K characters first "
        "(dispatch = twin or better on every exact row)",
        ("edit", ""),
    ),
    "edit_candidates": Decision(
        "native",
        "edit",
        "the chain's strategies: bench-edit fuzzy and no-match rows, native 22-74x faster from 1K lines",
        ("edit", ""),
    ),
    "levenshtein": Decision(
        "native",
        "edit",
        "two-row table: native 48x (100 x 100 chars) to 238x (1000 x 1000) faster, measured beside "
        "bench-edit on the same machine",
    ),
    "edit_file": Decision(
        "native",
        "edit",
        "the chain plus file I/O, 10K-line file: fuzzy edit 16 vs 38 ms (fsync-bound), no match with "
        "the closest-region hint 14 vs 738 ms, measured beside bench-edit",
    ),
    # patch (issue 17)
    "apply_patch": Decision(
        "native",
        "patch",
        "bench-patch (3 runs, 2 shared cores at load 7-11): dry runs native 5.3-7.0x faster on a 50-file "
        "patch of this repo (8-15 vs 59-80 ms), 5.3-13.5x on a 10K-line file with 100 chunks, 3.4-4.9x "
        "with every chunk re-spaced; applied (fsync-bound) 1.75-2.9x on the 10K-line rows, level on 50 "
        "files (0.76-1.05x, noise)",
        ("patch", ""),
    ),
    # search (issue 4)
    "file_list": Decision(
        "native",
        "file_list",
        "bench-file-list (2 runs, shared 2-core box at load ~1): native 3.7x faster than spawning rg over "
        "the 46K-file stdlib (70-71 vs 257-260 ms; 2.1-2.5x at load ~3, 2.1-2.4x less CPU), 9.0-9.4x over "
        "this repo; 10.8-11.2x / 3.9-4.4x faster than the twin",
        ("file-list", ""),
    ),
    "glob": Decision(
        "native",
        "glob",
        "bench-glob (2 runs, load ~1): stdlib **/*.py native 4.2x faster than spawning rg (47-58 vs 195-245 "
        "ms; 2.95-3.14x at load ~3, 3.1-3.7x less CPU), email/** 126-134x, this repo 8.0-8.6x; 7.4-8.3x "
        "faster than the twin over the stdlib",
        ("glob", ""),
    ),
    "grep": Decision(
        "native",
        "grep",
        "bench-grep (2 runs, load ~1): over the stdlib native 6.9-12.1x faster than the twin (138-370 ms vs "
        "1.6-2.9 s; 5.9-8.3x at load ~3; 5.4-6.5x less CPU) and 1.8-3.4x faster than spawning rg; this repo "
        "4.6-4.8x / 5.4-6.0x",
        ("grep", ""),
    ),
    # git (issue 5)
    "vcs_info": Decision(
        "native",
        "vcs",
        "bench-vcs this repo: native 1.11x the twin, 4.80x the plan's two git spawns (plan: 1.83x); "
        "from 3K index entries both spawn git once (50K: 1.59x faster than libgit2 in-process)",
        ("vcs", "this repo"),
    ),
    "git_status": Decision(
        "native",
        "vcs",
        "bench-vcs this repo: the computation vcs_info times (native 1.11x the twin)",
        ("vcs", "this repo"),
    ),
    "git_diff": Decision(
        "native",
        "vcs",
        "bench-vcs git_diff: native level with the twin (1.01x, both libgit2), 2.2x a git diff spawn",
        ("vcs", "git_diff"),
    ),
    "git_branches": Decision("native", "vcs", "not timed: one libgit2 pass, as git_status (same build)"),
    "git_stage": Decision("native", "vcs", "not timed: writes the index once; libgit2 either way"),
    "git_unstage": Decision("native", "vcs", "not timed: writes the index once; libgit2 either way"),
    "git_commit": Decision("native", "vcs", "not timed: one commit write; libgit2 either way"),
    # shell (issue 6)
    "parse_bash": Decision(
        "native",
        "shell",
        "bench-bash-parse, the plan's 14 commands: native faster on all 14 (1.2x to 3.7x), "
        "28 vs 66 µs per command, 2.3x over one pass",
        ("bash-parse", "parse "),
    ),
    "command_prefix": Decision(
        "python",
        "shell",
        "bench-bash-parse command_prefix: the twin 3.3x faster (1.3 vs 4.5 µs): a dict look-up costs less "
        "than crossing ctypes",
        ("bash-parse", "command_prefix"),
    ),
    # terminal (issue 7)
    # A session's backend is fixed when it is made: ironcode.Terminal asks for "Terminal" once.
    "Terminal": Decision(
        "native",
        "terminal",
        "bench-pty (3 runs, load 5-13): create+command+read+close 3.7-6.3 vs 11.7-19.4 ms (1.9-5.3x); "
        "50 MB bulk 139-214 vs 33-123 MB/s, 0.96-1.01x a bare os.read loop on the PTY (raw-pty)",
    ),
    "terminals": Decision("native", "terminal", "follows Terminal (lists one backend's registry)"),
    "cleanup_idle": Decision("native", "terminal", "follows Terminal (one backend's registry)"),
    # fuzzy (issue 8)
    "fuzzy_search": Decision(
        "native",
        "fuzzy",
        "bench-fuzzy-all, 2 full runs (2 loaded cores): native-nucleo per call beat python-rapidfuzz in 38/40 "
        "cases; median of the 4 queries 10K 15-18 vs 24-27 ms, 100K 186-190 vs 306-373 ms; best ranking "
        "(MRR 0.98 vs 0.97). Unlike the plan's JSON calls, items cross NUL-joined (JSON: 1.2-11x slower)",
    ),
    "FuzzyIndex": Decision(
        "native",
        "fuzzy",
        "bench-fuzzy-all, 2 full runs: native-index-nucleo beat python-index-rapidfuzz in 38/40 cases (10K "
        "8-12 vs 15-16 ms, 100K 103-115 vs 197-223 ms); search memory 0.2-2.6 MB (RSS) vs 0.7-13 MB (tracemalloc)",
    ),
    # watcher (issue 9)
    "Watcher": Decision(
        "native",
        "watcher",
        "bench-watcher (2 runs, loaded 2-core box): write→event median 0.23 vs 0.43 ms (watchdog Observer "
        "0.49-0.50); 1,000 files created→all events 16.6-19.1 vs 52-61 ms (watchdog 51-80: 3.0-4.2x, where "
        "creating the files alone takes 11.4 ms, so no watcher could pass 4.4-7.1x); 1,000 queued events→caller "
        "1.7-3.2 vs 50-55 ms (17-30x; 21-38x watchdog); 4.3-5.9x less CPU; start+close on 200 folders 12-16 vs "
        "40-52 ms, 211 vs 522 inotify watches (ignored folders unwatched)",
        ("watcher", ""),
    ),
    # lock (issue 10)
    "RWLock": Decision(
        "python",
        "lock",
        "bench-lock: twin 2.2-4.5x faster uncontended (single read, asyncio: 3.2 vs 14.4 µs); "
        "contended cases a wash (0.74-1.16x); mean 0.65x (plan: 0.79x)",
        ("lock", ""),
    ),
    # Each backend has its own registry, so the stats must come from the one serving RWLock.
    "lock_stats": Decision(
        "python",
        "lock",
        "follows RWLock; bench-lock lock_stats() round trip: twin 1.5x faster (2.0 vs 3.1 µs)",
        ("lock", "lock_stats() round trip"),
    ),
    "stats": Decision(
        "native", "stats", "bench-fs stats: native 2.01x faster (26 vs 53 µs)", ("fs", "stats")
    ),
    "extract": Decision(
        "native",
        "archive",
        "bench-fs extract: native 1.68x (500) to 3.23x (100 entries) faster",
        ("fs", "extract "),
    ),
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
