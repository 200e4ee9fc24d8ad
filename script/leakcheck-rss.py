#!/usr/bin/env python3
"""Resident memory stays flat across many native calls, and registry churn leaks no descriptor,
thread or child process (make leakcheck runs this; test/test_leaks.py runs --quick).

    python script/leakcheck-rss.py [--quick] [--small N] [--large N] [--churn N] [--locks N]

Workloads, all through ironcode.ffi (the native backend):

- small ops, ``--small`` calls of the no-op probe (1,000,000 by default) and a tenth as many of
  small calls of each tool family (read, edit_replace, levenshtein, command_prefix, fuzzy_search);
- large ops, ``--large`` calls (10,000) of read and of edit_replace, exact and fuzzy, on a
  10,000-line file;
- registry churn: ``--churn`` (2,000) terminals and watchers created and closed, as many fuzzy
  indexes and lock notification channels, and ``--locks`` (100,000) lock acquire/release cycles,
  a tenth of them contended.

Each workload first runs a tenth of its calls as warm-up (allocator arenas, caches, first
threads), then RSS is read before the calls, at half and after. It fails (exit 1) when RSS after
exceeds RSS before by more than ``GROWTH_BOUND_MB`` ("GROWING"), or when a churn leaves more open
descriptors, threads or child processes than it started with ("LEAKED"). Threads that the
library reaps asynchronously get up to ``SETTLE_S`` to go.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ironcode import ffi  # noqa: E402

#: Largest RSS growth accepted over a workload's measured calls, in MB. A leak of 16 bytes per
#: call over a million calls, or of the 10,000-line file once in a thousand calls, passes it.
GROWTH_BOUND_MB = 8.0
#: Longest wait for threads and processes that end just after close() returns to be gone.
SETTLE_S = 10.0
#: How long the counts must hold still before a churn's baseline is taken.
STEADY_S = 0.3
#: Lines of the large file.
LARGE_LINES = 10_000


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


def children() -> int:
    """Processes whose parent is this one (a terminal's program left behind, even a zombie)."""
    me, count = os.getpid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue  # ended meanwhile
            if int(stat.rsplit(")", 1)[1].split()[1]) == me:
                count += 1
    return count


@dataclass
class Resources:
    fds: int
    threads: int
    children: int

    @classmethod
    def now(cls) -> Resources:
        return cls(open_fds(), threads(), children())

    @classmethod
    def steady(cls) -> Resources:
        """The counts once they have held still for ``STEADY_S`` (or after ``SETTLE_S``): a
        warm-up's last watcher or terminal may still be reaping its thread when it returns, and a
        baseline taken then would count that thread as the process's own."""
        deadline = time.monotonic() + SETTLE_S
        now, since = cls.now(), time.monotonic()
        while time.monotonic() - since < STEADY_S and time.monotonic() < deadline:
            time.sleep(0.01)
            later = cls.now()
            if later != now:
                now, since = later, time.monotonic()
        return now

    def exceeds(self, baseline: Resources) -> bool:
        return self.fds > baseline.fds or self.threads > baseline.threads or self.children > baseline.children

    def settled_to(self, baseline: Resources) -> Resources:
        """The counts once none is above ``baseline``, or after ``SETTLE_S``."""
        deadline = time.monotonic() + SETTLE_S
        now = Resources.now()
        while now.exceeds(baseline) and time.monotonic() < deadline:
            time.sleep(0.01)
            now = Resources.now()
        return now


def flat(label: str, calls: int, fn: Callable[[], object], churn: bool = False) -> bool:
    for _ in range(max(1, calls // 10)):
        fn()
    baseline = Resources.steady() if churn else Resources.now()
    before = rss_mb()
    half = calls // 2
    for _ in range(half):
        fn()
    middle = rss_mb()
    for _ in range(calls - half):
        fn()
    after = rss_mb()
    growth = after - before
    ok = growth <= GROWTH_BOUND_MB
    verdict = "flat" if ok else "GROWING"
    line = (
        f"{label}: {calls:,} calls, RSS {before:.1f} MB before, {middle:.1f} at half, {after:.1f} after, "
        f"growth {growth:+.1f} MB (bound {GROWTH_BOUND_MB:.0f}) -> {verdict}"
    )
    if churn:
        end = Resources.now().settled_to(baseline)
        leaked = end.exceeds(baseline)
        ok = ok and not leaked
        line += (
            f"; fds {baseline.fds}->{end.fds}, threads {baseline.threads}->{end.threads}, "
            f"children {baseline.children}->{end.children} -> {'LEAKED' if leaked else 'none leaked'}"
        )
    print(line, flush=True)
    return ok


def terminal_cycle(cwd: str) -> None:
    with ffi.Terminal(["cat"], cwd=cwd) as term:
        term.write("x\n")


def lock_cycles() -> Callable[[], None]:
    count = iter(range(10**12))

    def cycle() -> None:
        n = next(count)
        key = f"rss/{n % 64}"
        held = ffi.lock_try(key, "read")
        if n % 10:
            ffi.lock_release(held["ticket"])
            return
        # Contended: a writer queues behind the reader, is granted on its release.
        writer = ffi.lock_try(key, "write")
        ffi.lock_release(held["ticket"])
        assert ffi.lock_wait(writer["ticket"], 1_000_000)
        ffi.lock_release(writer["ticket"])

    return cycle


def lock_channel_cycle() -> None:
    """A channel (a socket pair) granted a queued ticket, then closed."""
    channel = ffi.lock_channel_open()["channel"]
    holder = ffi.lock_try("rss/channel", "write")["ticket"]
    queued = ffi.lock_try("rss/channel", "read", channel)["ticket"]
    ffi.lock_release(holder)
    assert ffi.lock_channel_take(channel) == [queued]
    ffi.lock_release(queued)
    ffi.lock_channel_close(channel)


def fuzzy_index_cycle(items: list[str]) -> None:
    with ffi.FuzzyIndex(items) as index:
        index.search("mod7")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1_000_000)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--churn", type=int, default=2_000)
    parser.add_argument("--locks", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="a short pass for the test suite")
    args = parser.parse_args()
    if args.quick:
        args.small, args.large, args.churn, args.locks = 100_000, 500, 150, 10_000
    work = tempfile.mkdtemp(prefix="ironcode-rss-")
    small_file = os.path.join(work, "small.txt")
    Path(small_file).write_text("one line\n")
    big_file = os.path.join(work, "big.txt")
    Path(big_file).write_text("".join(f"line {i} of a ten thousand line file\n" for i in range(LARGE_LINES)))
    big = Path(big_file).read_text()
    fuzzy_old = "  line 9990 of a ten thousand line file\n  line 9991 of a ten thousand line file"
    items = [f"src/module_{i}/file_{i * 7}.py" for i in range(200)]
    watched = os.path.join(work, "watched")
    os.mkdir(watched)
    small, large = args.small, args.large
    results = [
        flat("probe_noop", small, lambda: ffi._call("probe_noop_ffi")),
        flat("read (1 line)", small // 10, lambda: ffi.read(small_file)),
        flat("edit_replace (3 lines)", small // 10, lambda: ffi.edit_replace("a\nb x\nc\n", "b x", "b y")),
        flat("levenshtein (short)", small // 10, lambda: ffi.levenshtein("kitten", "sitting")),
        flat("command_prefix", small // 10, lambda: ffi.command_prefix(["git", "commit", "-m", "x"])),
        flat("fuzzy_search (200 items)", small // 100, lambda: ffi.fuzzy_search("mod7", items)),
        flat("read (10,000 lines)", large, lambda: ffi.read(big_file)),
        flat(
            "edit_replace exact (10,000 lines)",
            large,
            lambda: ffi.edit_replace(big, "line 9990 of a ten", "LINE 9990 of a ten"),
        ),
        flat("edit_replace fuzzy (10,000 lines)", large, lambda: ffi.edit_replace(big, fuzzy_old, "X")),
        flat(
            "apply_patch dry run (10,000 lines)",
            large,
            lambda: ffi.apply_patch(
                "*** Begin Patch\n*** Update File: big.txt\n@@\n line 9990 of a ten thousand line file\n"
                "-line 9991 of a ten thousand line file\n+LINE\n*** End Patch\n",
                work,
                dry_run=True,
            ),
        ),
        flat("terminal create/write/close", args.churn, lambda: terminal_cycle(work), churn=True),
        flat("watcher open/close", args.churn, lambda: ffi.Watcher(watched).close(), churn=True),
        flat("fuzzy index new/search/close", args.churn, lambda: fuzzy_index_cycle(items), churn=True),
        flat("lock acquire/release", args.locks, lock_cycles(), churn=True),
        flat("lock channel open/grant/close", args.churn, lock_channel_cycle, churn=True),
    ]
    assert ffi.terminals() == [] and ffi.fuzzy_index_count() == 0
    assert ffi.lock_stats()["total_locks"] == 0
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
