"""Bash command parsing: native (Rust tree-sitter through ctypes) vs twin (py-tree-sitter).

The migration plan's benchmark: its 14 commands, from ``ls -la`` to a ``for`` loop and subshells,
parsed in passes over all 14 (the plan's 100, here as many as a second allows, up to 1,000), with
the average per command (the plan reports 0.020 ms per command for native tree-sitter against
WASM), native and tree-sitter's own parse timed in the same rounds; and a row per command,
timed in interleaved rounds over the 14. Here both sides run native tree-sitter — the twin through
py-tree-sitter — so the comparison is the walk over the tree and the call overhead, not the parser.

The one-pass case also has tree-sitter's own parse of the same 14 commands from Python (impl
``tree-sitter``: py-tree-sitter, one parser, nothing walked or returned), the floor under both
backends; and ``tree-sitter-terminated``, the same with the newline appended that ironcode's parse
appends (native/tool/src/shell/parse.rs: a pipeline of three commands at the very end otherwise
costs tree-sitter ~100 µs of wasted error recovery).

    python script/bench-bash-parse.py [--quick] [--json PATH]
"""

from __future__ import annotations

import gc
import statistics
import time

import tree_sitter
from benchlib import Bench, Row, fmt_time, measure_peak_mb, percentile
from search_corpus import time_interleaved

from ironcode import ffi
from ironcode.twin import shell as twin
from ironcode.twin.shell_parse import _LANGUAGE

#: The migration plan's 14 commands (script/bench-bash-parse-simple.ts there), in its order.
COMMANDS = [
    "ls -la",
    "echo hello world",
    "git status",
    "cp /tmp/file.txt /home/user/dest.txt",
    "rm -rf /tmp/old_directory",
    "mkdir -p /home/user/projects/new-project",
    "cat file.txt | grep 'pattern' | sort | uniq",
    "find . -name '*.ts' | xargs wc -l",
    "cd /tmp && npm install && npm test",
    "git add . && git commit -m 'message' && git push",
    "echo 'data' > output.txt && cat output.txt | sed 's/foo/bar/g' > result.txt",
    "npm run build 2>&1 | tee build.log",
    "for file in *.ts; do echo \"Processing $file\"; cat $file | grep 'export' >> exports.txt; done",
    "(cd packages/ironcode && bun test) && (cd packages/app && bun test)",
]
CWD = "/tmp"
PLAN_PER_COMMAND = "0.020 ms per command"
ALL_CASE = f"parse all {len(COMMANDS)} commands (one pass)"
#: Rounds of the per-command rows: at least MIN, more while under BUDGET_S seconds.
MIN_ROUNDS, MAX_ROUNDS, BUDGET_S, QUICK_ROUNDS = 200, 5000, 1.5, 5


def case_name(command: str) -> str:
    """``parse <command>`` (benchlib escapes the ``|`` in markdown cells)."""
    return "parse " + command


def per_command_rows(bench: Bench, impl: str, fn) -> None:
    """One row per command, timed in interleaved rounds (each round calls ``fn`` once on every
    command), so a burst of load on the shared machine falls on all commands alike instead of on
    whichever one was being timed: the slowest-vs-median ratio compares commands, not moments."""
    samples: dict[str, list[float]] = {command: [] for command in COMMANDS}
    for command in COMMANDS:
        fn(command, CWD)  # warm
    gc_was_enabled = gc.isenabled()
    gc.disable()
    started = time.perf_counter()
    rounds = 0
    try:
        while True:
            for command in COMMANDS:
                t0 = time.perf_counter()
                fn(command, CWD)
                samples[command].append(time.perf_counter() - t0)
            rounds += 1
            if bench.quick and rounds >= QUICK_ROUNDS:
                break
            if rounds >= MAX_ROUNDS or (rounds >= MIN_ROUNDS and time.perf_counter() - started > BUDGET_S):
                break
    finally:
        if gc_was_enabled:
            gc.enable()
    for command, got in samples.items():
        bench.rows.append(
            Row(case_name(command), impl, statistics.median(got), percentile(got, 95), len(got))
        )


def main() -> None:
    bench = Bench("bash-parse", "bash command parsing: native vs twin, the migration plan's 14 commands")
    impls = {"native": ffi.parse_bash, "python": twin.parse_bash}

    for command in COMMANDS:
        case = case_name(command)
        bench.same(case, {name: (lambda fn=fn, c=command: fn(c, CWD)) for name, fn in impls.items()})
    for name, fn in impls.items():
        per_command_rows(bench, name, fn)

    def one_pass(fn) -> None:
        for command in COMMANDS:
            fn(command, CWD)

    # The floor: tree-sitter's bare parse (no walk, no answer, so no result to check equal),
    # timed in the same rounds as native so that the ratios hold on a machine whose speed
    # changes from second to second. Up to 1,000 passes while the budget lasts: a median of 100
    # passes is 30 ms of samples, which one burst of load on the shared machine moves.
    parser = tree_sitter.Parser(_LANGUAGE)
    sources = [c.encode() for c in COMMANDS]
    terminated = [s + b"\n" for s in sources]
    assert all(not parser.parse(s).root_node.has_error for s in sources)
    # The twin is timed on its own: its passes, five times longer and full of Python objects,
    # would leave native's caches cold between rounds.
    passes = {"native": lambda: one_pass(ffi.parse_bash)}
    for impl, inputs in (("tree-sitter", sources), ("tree-sitter-terminated", terminated)):
        passes[impl] = lambda inputs=inputs: [parser.parse(s) for s in inputs]
    time_interleaved(bench, ALL_CASE, passes, max_rounds=1000)
    native_row = next(r for r in bench.rows if r.case == ALL_CASE and r.impl == "native")
    native_row.peak_mb = measure_peak_mb(passes["native"])
    bench.time(ALL_CASE, "python", lambda: one_pass(twin.parse_bash), memory=True)
    bench.plan[ALL_CASE] = f"{0.020 * len(COMMANDS):.2f} ms ({PLAN_PER_COMMAND})"

    tokens = ["git", "checkout", "main"]
    bench.same(
        "command_prefix git checkout main",
        {"native": lambda: ffi.command_prefix(tokens), "python": lambda: twin.command_prefix(tokens)},
    )
    bench.time("command_prefix git checkout main", "native", lambda: ffi.command_prefix(tokens))
    bench.time("command_prefix git checkout main", "python", lambda: twin.command_prefix(tokens))

    for name in [*impls, "tree-sitter", "tree-sitter-terminated"]:
        row = next(r for r in bench.rows if r.case == ALL_CASE and r.impl == name)
        per_command = row.median_s / len(COMMANDS)
        bench.note(
            f"{name}: {fmt_time(per_command)} per command on average "
            f"({len(COMMANDS)} commands x {row.n} passes, median pass; the plan: {PLAN_PER_COMMAND})"
        )
    floor = bench.median(ALL_CASE, "tree-sitter-terminated")
    native = bench.median(ALL_CASE, "native")
    bench.note(
        f"native: {native / floor:.2f}x tree-sitter-terminated's parse in the same rounds "
        f"({fmt_time((native - floor) / len(COMMANDS))} per command on top of the parse: the walk, "
        "the answer, ctypes and JSON)"
    )
    for name in impls:
        singles = [bench.median(case_name(c), name) for c in COMMANDS]
        middle = statistics.median(singles)
        slowest = max(singles)
        bench.note(
            f"{name}: median command {fmt_time(middle)}, slowest {fmt_time(slowest)} "
            f"({slowest / middle:.2f}x the median; target: at most 2x)"
        )
    peaks = ", ".join(
        f"{row.impl} {row.peak_mb:.3f} MB"
        for row in bench.rows
        if row.case == ALL_CASE and row.peak_mb is not None
    )
    bench.note(f"peak memory during one pass over the {len(COMMANDS)} commands: {peaks}")
    bench.note(
        "peak memory (tracemalloc) sees the Python heap only: the native parser's own allocations "
        "are invisible to it, the twin's tree nodes and dicts are not"
    )
    bench.note("command_prefix is a table look-up: its row is the cost of a ctypes call plus JSON")
    bench.finish()


if __name__ == "__main__":
    main()
