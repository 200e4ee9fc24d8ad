#!/usr/bin/env python3
"""Resident memory must stay flat across many native calls (make leakcheck runs this).

    python script/leakcheck-rss.py [--small N] [--large N]

Calls a small op (stats-sized: the no-op probe and a one-line read) N times and a large one
(reading a 10,000-line file) M times through ironcode.ffi, sampling RSS; fails if RSS after the
second half grew by more than the allowed slack over the first half (allocator noise).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ironcode import ffi  # noqa: E402

SLACK_MB = 8.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def flat(label: str, calls: int, fn) -> bool:
    half = calls // 2
    for _ in range(half):
        fn()
    middle = rss_mb()
    for _ in range(calls - half):
        fn()
    end = rss_mb()
    ok = end - middle <= SLACK_MB
    print(
        f"{label}: {calls:,} calls, RSS {middle:.1f} MB at half, {end:.1f} MB at end -> {'flat' if ok else 'GROWING'}"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1_000_000)
    parser.add_argument("--large", type=int, default=10_000)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="ironcode-rss-")
    small_file = os.path.join(work, "small.txt")
    Path(small_file).write_text("one line\n")
    big_file = os.path.join(work, "big.txt")
    Path(big_file).write_text("".join(f"line {i} of a ten thousand line file\n" for i in range(10_000)))
    results = [
        flat("probe_noop", args.small, lambda: ffi._call("probe_noop_ffi")),
        flat("read (1 line)", args.small // 10, lambda: ffi.read(small_file)),
        flat("read (10,000 lines)", args.large, lambda: ffi.read(big_file)),
    ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
