"""Shared benchmark harness: timing, the markdown table, and the JSON report of ARCHITECTURE.md.

A benchmark script builds a :class:`Bench`, checks that every implementation returns the same
result for a case (:meth:`Bench.same`), times each one (:meth:`Bench.time`), and calls
:meth:`Bench.finish`, which prints the table and writes ``--json PATH``::

    bench = Bench("fs", "read, write, ls and extract: native vs twin")
    for case, path in cases:
        bench.same(case, {"native": lambda: ffi.read(path), "python": lambda: twin.read(path)})
        bench.time(case, "native", lambda: ffi.read(path))
        bench.time(case, "python", lambda: twin.read(path))
    bench.finish()

Times are wall-clock medians over repeated runs after warm-up; ratios are measured side by side
in one run, absolute times are noisy. ``--quick`` runs few iterations (the test suite uses it and
never asserts on time).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import re
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: Time budget per (case, impl) in seconds, and the bounds on the number of timed runs.
FULL_BUDGET_S, FULL_MIN_RUNS, FULL_MAX_RUNS = 1.0, 5, 1000
QUICK_BUDGET_S, QUICK_MIN_RUNS, QUICK_MAX_RUNS = 0.05, 2, 20


@dataclass
class Row:
    case: str
    impl: str
    median_s: float | None
    p95_s: float | None
    n: int
    peak_mb: float | None = None
    note: str = ""


@dataclass
class Bench:
    name: str
    description: str = ""
    args: argparse.Namespace | None = None
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: case -> the migration plan's figure for it, shown in the table
    plan: dict[str, str] = field(default_factory=dict)

    #: when the run started and the load average then (see :func:`run_record`)
    started: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.args is None:
            self.args = parse_args(self.description or self.name)
        self.started = run_mark()

    @property
    def quick(self) -> bool:
        return bool(self.args.quick)

    def same(self, case: str, results: dict[str, Callable[[], Any]], normalize=None) -> Any:
        """Runs every implementation once and raises unless all results are equal."""
        values = {impl: fn() for impl, fn in results.items()}
        if normalize:
            values = {impl: normalize(v) for impl, v in values.items()}
        first_impl, first = next(iter(values.items()))
        for impl, value in values.items():
            if value != first:
                raise AssertionError(
                    f"{self.name}/{case}: {impl} differs from {first_impl}:\n"
                    f"  {first_impl}: {_short(first)}\n  {impl}: {_short(value)}"
                )
        return first

    def time(
        self,
        case: str,
        impl: str,
        fn: Callable[[], Any],
        setup: Callable[[], Any] | None = None,
        memory: bool = False,
        runs: int | None = None,
    ) -> Row:
        """Times ``fn`` (after ``setup`` each run, untimed) and records a row."""
        budget, min_runs, max_runs = (
            (QUICK_BUDGET_S, QUICK_MIN_RUNS, QUICK_MAX_RUNS)
            if self.quick
            else (FULL_BUDGET_S, FULL_MIN_RUNS, FULL_MAX_RUNS)
        )
        if setup:
            setup()
        fn()  # warm-up
        samples: list[float] = []
        started = time.perf_counter()
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            while True:
                if setup:
                    setup()
                t0 = time.perf_counter()
                fn()
                samples.append(time.perf_counter() - t0)
                done = len(samples)
                if runs is not None:
                    if done >= runs:
                        break
                elif done >= max_runs or (done >= min_runs and time.perf_counter() - started > budget):
                    break
        finally:
            if gc_was_enabled:
                gc.enable()
        peak = measure_peak_mb(fn, setup) if memory else None
        row = Row(case, impl, statistics.median(samples), percentile(samples, 95), len(samples), peak)
        self.rows.append(row)
        return row

    def absent(self, case: str, impl: str, why: str) -> None:
        """Records a peer that is not installed, so the table says so instead of dropping it."""
        self.rows.append(Row(case, impl, None, None, 0, None, note=f"absent: {why}"))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def median(self, case: str, impl: str) -> float | None:
        for row in self.rows:
            if row.case == case and row.impl == impl:
                return row.median_s
        return None

    def finish(self) -> dict:
        """Prints the markdown table and writes the JSON report if ``--json`` was given."""
        report = {
            "bench": self.name,
            "machine": machine(),
            "quick": self.quick,
            "rows": [{k: v for k, v in asdict(r).items() if k != "note" or v} for r in self.rows],
            "notes": self.notes,
            "plan": self.plan,
            "run": {"started": self.started, "finished": run_mark()},
        }
        print(markdown_table(self))
        for text in self.notes:
            print(f"- {text}")
        if self.args.json:
            out = Path(self.args.json)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(report, indent=2) + "\n")
            print(f"\nwrote {out}")
        return report


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", metavar="PATH", help="write the JSON report to PATH")
    parser.add_argument("--quick", action="store_true", help="a small smoke run (used by the tests)")
    return parser.parse_args()


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def measure_peak_mb(fn: Callable[[], Any], setup: Callable[[], Any] | None = None) -> float:
    """Peak Python-heap allocation of one run (tracemalloc: native allocations are not seen)."""
    if setup:
        setup()
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return round(peak / 2**20, 3)


def run_mark() -> dict:
    """The time (UTC, to the minute) and the 1-minute load average: on a shared machine the load
    says how far wall times can be trusted, so every report keeps it at its start and finish."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return {"utc": now, "load": round(os.getloadavg()[0], 2)}


def run_text(run: dict | None) -> str:
    """``run 23:51-23:53 UTC 2026-12-01, load average 0.81 -> 1.02`` for a report's ``run``."""
    if not run or "started" not in run or "finished" not in run:
        return "run time and load not recorded (a report from before they were)"
    start, end = run["started"], run["finished"]
    day, start_time = start["utc"].split(" ", 1)
    end_time = end["utc"].removeprefix(day + " ")
    return (
        f"run {day} {start_time.removesuffix(' UTC')}-{end_time}, "
        f"load average {start['load']:.2f} -> {end['load']:.2f}"
    )


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count() or 1, "python": platform.python_version()}


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def markdown_table(bench: Bench) -> str:
    """case | one column per impl | speedup of native over python | the plan's figure."""
    cases = list(dict.fromkeys(r.case for r in bench.rows))
    impls = list(dict.fromkeys(r.impl for r in bench.rows))
    by_key = {(r.case, r.impl): r for r in bench.rows}
    header = ["case", *impls, "native vs python"]
    if bench.plan:
        header.append("migration plan")
    lines = [
        f"## {bench.name}" + (" (quick)" if bench.quick else ""),
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for case in cases:
        cells = [case]
        for impl in impls:
            row = by_key.get((case, impl))
            if row is None:
                cells.append("")
            elif row.note:
                cells.append(row.note)
            else:
                cells.append(fmt_time(row.median_s))
        cells.append(speedup_text(bench.median(case, "python"), bench.median(case, "native")))
        if bench.plan:
            cells.append(bench.plan.get(case, ""))
        lines.append("| " + " | ".join(cell_text(c) for c in cells) + " |")
    return "\n".join(lines)


def cell_text(text: str) -> str:
    """A markdown table cell: a bare ``|`` would end the cell early, so it is escaped (once)."""
    return re.sub(r"(?<!\\)\|", r"\\|", text).replace("\n", " ")


def speedup_text(baseline: float | None, candidate: float | None) -> str:
    if not baseline or not candidate:
        return ""
    ratio = baseline / candidate
    return f"**{ratio:.2f}x faster**" if ratio >= 1 else f"{1 / ratio:.2f}x slower"


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
