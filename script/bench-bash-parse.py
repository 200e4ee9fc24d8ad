"""Bash command parsing: native (Rust tree-sitter through ctypes) vs twin (py-tree-sitter).

The migration plan's benchmark: its 14 commands, from ``ls -la`` to a ``for`` loop and subshells,
parsed 100 times each, with the average per command (the plan reports 0.020 ms per command for
native tree-sitter against WASM). Here both sides run native tree-sitter — the twin through
py-tree-sitter — so the comparison is the walk over the tree and the call overhead, not the parser.

The one-pass case also has tree-sitter's own parse of the same 14 commands from Python (impl
``tree-sitter``: py-tree-sitter, one parser, nothing walked or returned), the floor under both
backends; and ``tree-sitter-terminated``, the same with the newline appended that ironcode's parse
appends (native/tool/src/shell/parse.rs: a pipeline of three commands at the very end otherwise
costs tree-sitter ~100 µs of wasted error recovery).

    python script/bench-bash-parse.py [--quick] [--json PATH]
"""

from __future__ import annotations

import statistics

import tree_sitter
from benchlib import Bench, fmt_time

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
ITERATIONS = 100
PLAN_PER_COMMAND = "0.020 ms per command"
ALL_CASE = f"parse all {len(COMMANDS)} commands (one pass)"


def case_name(command: str) -> str:
    """``parse <command>`` (benchlib escapes the ``|`` in markdown cells)."""
    return "parse " + command


def main() -> None:
    bench = Bench("bash-parse", "bash command parsing: native vs twin, the migration plan's 14 commands")
    impls = {"native": ffi.parse_bash, "python": twin.parse_bash}

    for command in COMMANDS:
        case = case_name(command)
        bench.same(case, {name: (lambda fn=fn, c=command: fn(c, CWD)) for name, fn in impls.items()})
        for name, fn in impls.items():
            bench.time(case, name, lambda fn=fn, c=command: fn(c, CWD))

    def one_pass(fn) -> None:
        for command in COMMANDS:
            fn(command, CWD)

    runs = None if bench.quick else ITERATIONS
    for name, fn in impls.items():
        bench.time(ALL_CASE, name, lambda fn=fn: one_pass(fn), memory=True, runs=runs)
    bench.plan[ALL_CASE] = f"{0.020 * len(COMMANDS):.2f} ms ({PLAN_PER_COMMAND})"

    # The floor: tree-sitter's bare parse (no walk, no answer, so no result to check equal).
    parser = tree_sitter.Parser(_LANGUAGE)
    sources = [c.encode() for c in COMMANDS]
    terminated = [s + b"\n" for s in sources]
    assert all(not parser.parse(s).root_node.has_error for s in sources)
    for impl, inputs in (("tree-sitter", sources), ("tree-sitter-terminated", terminated)):
        bench.time(ALL_CASE, impl, lambda inputs=inputs: [parser.parse(s) for s in inputs], runs=runs)

    tokens = ["git", "checkout", "main"]
    bench.same(
        "command_prefix git checkout main",
        {"native": lambda: ffi.command_prefix(tokens), "python": lambda: twin.command_prefix(tokens)},
    )
    bench.time("command_prefix git checkout main", "native", lambda: ffi.command_prefix(tokens))
    bench.time("command_prefix git checkout main", "python", lambda: twin.command_prefix(tokens))

    for name in [*impls, "tree-sitter", "tree-sitter-terminated"]:
        per_command = bench.median(ALL_CASE, name) / len(COMMANDS)
        bench.note(
            f"{name}: {fmt_time(per_command)} per command on average "
            f"({len(COMMANDS)} commands x {runs or 'a few'} passes; the plan: {PLAN_PER_COMMAND})"
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
