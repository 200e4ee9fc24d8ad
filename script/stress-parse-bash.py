#!/usr/bin/env python3
"""parse_bash from many threads at once, for a long time, mixed with other exports (issue 23).

    python script/stress-parse-bash.py [--seconds S] [--threads N] [--mixed M] [--quick]

Every answer is computed once, single-threaded, before the threads start; then ``--threads``
threads (8) call ``ffi.parse_bash`` on the corpus in random order and ``--mixed`` threads (4)
call other exports (edit_replace, levenshtein, read, grep, fuzzy_search, command_prefix, the
twin's parse_bash) — ctypes releases the GIL, so the native calls really overlap — each checking
its answer against the single-threaded one. The corpus: the migration plan's 14 commands, 300
command lines of the shell parity generator, a 20,000-command list, deep nesting, and command
lines with a ``{`` before a code point past U+00FF (the scanner's out-of-bounds ``isdigit``,
which crashed the process before the guard). Exit 1 on any wrong answer or exception; a crash
kills the process (exit by signal). Prints the calls made per kind.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ironcode import ffi  # noqa: E402
from ironcode.twin import shell as twin  # noqa: E402

PLAN_COMMANDS = [
    "ls -la",
    "cat file.txt | grep 'pattern' | sort | uniq",
    "for file in *.ts; do echo \"Processing $file\"; cat $file | grep 'export' >> exports.txt; done",
    "(cd packages/ironcode && bun test) && (cd packages/app && bun test)",
    "echo 'data' > output.txt && cat output.txt | sed 's/foo/bar/g' > result.txt",
]
HIGH_AFTER_BRACE = [
    "{\U000d8176",
    "echo {日..本} | wc | sort",
    "x{\U0010ffff} && {\u0100..2}",
    "a{1..\U00031860}",
]


def generated(count: int) -> list[str]:
    """Command lines of the shell parity test's generator (test/test_shell.py)."""
    from hypothesis import HealthCheck, given, settings

    from test.test_shell import COMMAND_LINE

    out: list[str] = []

    @settings(max_examples=count, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(command=COMMAND_LINE)
    def collect(command):
        try:
            command.encode()
        except UnicodeEncodeError:
            return
        out.append(command)

    collect()
    return out


def corpus(quick: bool) -> list[str]:
    lines = PLAN_COMMANDS + HIGH_AFTER_BRACE + generated(30 if quick else 300)
    lines.append(" && ".join(f"echo {i}" for i in range(2_000 if quick else 20_000)))
    lines.append("echo " + "$(" * 500 + "ls" + ")" * 500)
    return lines


def mixed_calls(scratch: Path) -> list[tuple[str, object, object]]:
    """(name, call, expected) for the other exports."""
    code = "def f(x):\n    if x:\n        return 1\n    return 2\n" * 50
    (scratch / "a.py").write_text(code)
    items = [f"src/module_{i}/file_{i}.py" for i in range(2_000)]
    calls = [
        ("edit_replace", lambda: ffi.edit_replace(code, "if x:\n    return 1", "if y:\n    return 3", True)),
        ("levenshtein", lambda: ffi.levenshtein("kitten" * 50, "sitting" * 50)),
        ("read", lambda: ffi.read(str(scratch / "a.py"), 1, 2000)),
        ("grep", lambda: ffi.grep("return", str(scratch), None, 50, False)),
        ("fuzzy_search", lambda: ffi.fuzzy_search("mod12fil", items, 20)),
        ("command_prefix", lambda: ffi.command_prefix(["git", "checkout", "main"])),
        ("twin.parse_bash", lambda: twin.parse_bash("{\U000d8176 | a | b", "/")),
    ]
    return [(name, call, call()) for name, call in calls]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--mixed", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="2 seconds, a small corpus")
    args = parser.parse_args()
    seconds = 2.0 if args.quick else args.seconds

    lines = corpus(args.quick)
    expected = {line: ffi.parse_bash(line, "/") for line in lines}
    for line in lines:
        assert twin.parse_bash(line, "/") == expected[line], f"backends differ on {line!r}"
    counts: Counter = Counter()
    failures: list[str] = []
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def parse_worker(seed: int) -> None:
        rng = random.Random(seed)
        done = 0
        try:
            while time.monotonic() < stop:
                line = rng.choice(lines)
                if ffi.parse_bash(line, "/") != expected[line]:
                    failures.append(f"parse_bash gave a different answer for {line[:80]!r}")
                done += 1
        except Exception as e:  # noqa: BLE001 - any exception is a failure to report
            failures.append(f"parse_bash raised {e!r}")
        with lock:
            counts["parse_bash"] += done

    with tempfile.TemporaryDirectory() as scratch:
        others = mixed_calls(Path(scratch))

        def mixed_worker(seed: int) -> None:
            rng = random.Random(seed)
            done: Counter = Counter()
            try:
                while time.monotonic() < stop:
                    name, call, want = rng.choice(others)
                    if call() != want:
                        failures.append(f"{name} gave a different answer")
                    done[name] += 1
            except Exception as e:  # noqa: BLE001
                failures.append(f"mixed call raised {e!r}")
            with lock:
                counts.update(done)

        threads = [threading.Thread(target=parse_worker, args=(i,)) for i in range(args.threads)]
        threads += [threading.Thread(target=mixed_worker, args=(100 + i,)) for i in range(args.mixed)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - started

    print(
        f"{args.threads} parse_bash threads + {args.mixed} mixed threads for {wall:.0f} s over "
        f"{len(lines)} command lines (pid {os.getpid()}):"
    )
    for name, count in sorted(counts.items()):
        print(f"  {name}: {count:,} calls")
    for failure in failures[:20]:
        print("FAIL", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
