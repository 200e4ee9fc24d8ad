"""The cost of confinement (issue 19): a call with ``root=`` timed beside the same call without one.

Each pair of cases (``CASE`` and ``CASE, root=``) is checked equal, then timed in interleaved
rounds — unconfined native, confined native, unconfined twin, confined twin, again — so load that
comes and goes on the shared machine hits both sides of a ratio alike. The note per pair gives the
overhead of ``root=`` on each backend in wall time and in CPU time (target: at most 10 %).
"""

from __future__ import annotations

import gc
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any

from benchlib import Bench, Row, percentile

#: Rounds: at least this many, more while the pair has used less than its budget.
MIN_ROUNDS, MAX_ROUNDS, ROUND_BUDGET_S = 50, 5000, 5.0
QUICK_ROUNDS = 3
ROOT_SUFFIX, PLAIN_SUFFIX = ", root=", ", no root"
#: The overhead the issue allows.
TARGET_OVERHEAD = 0.10


def time_confined(
    bench: Bench,
    case: str,
    plain: dict[str, Callable[[], Any]],
    confined: dict[str, Callable[[], Any]],
    normalize: Callable[[Any], Any] | None = None,
) -> dict[str, float]:
    """Rows ``case`` and ``case, root=`` for each impl (native, python), after checking every call
    answers alike; returns the overhead of ``root=`` per impl (0.05 = 5 % slower)."""
    calls = {(case + PLAIN_SUFFIX, impl): fn for impl, fn in plain.items()}
    calls.update({(case + ROOT_SUFFIX, impl): fn for impl, fn in confined.items()})
    bench.same(case, {f"{c}|{i}": fn for (c, i), fn in calls.items()}, normalize=normalize)
    for fn in calls.values():
        fn()  # warm-up
    samples: dict[tuple[str, str], list[float]] = {key: [] for key in calls}
    cpu: dict[tuple[str, str], list[float]] = {key: [] for key in calls}
    started, rounds = time.perf_counter(), 0
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        while True:
            for impl in plain:
                for key in ((case + PLAIN_SUFFIX, impl), (case + ROOT_SUFFIX, impl)):
                    c0, t0 = cpu_seconds(), time.perf_counter()
                    calls[key]()
                    samples[key].append(time.perf_counter() - t0)
                    cpu[key].append(cpu_seconds() - c0)
            rounds += 1
            if bench.quick:
                if rounds >= QUICK_ROUNDS:
                    break
            elif rounds >= MAX_ROUNDS or (
                rounds >= MIN_ROUNDS and time.perf_counter() - started > ROUND_BUDGET_S
            ):
                break
    finally:
        if gc_was_enabled:
            gc.enable()
    for (row_case, impl), values in samples.items():
        bench.rows.append(Row(row_case, impl, statistics.median(values), percentile(values, 95), len(values)))
    overheads = {impl: _ratio(samples, case, impl) - 1 for impl in plain}
    # CPU time is counted in scheduler ticks: per call it is mostly 0 or a tick, so its total over
    # the rounds is compared, not a median.
    cpu_overheads = {
        impl: sum(cpu[(case + ROOT_SUFFIX, impl)]) / max(sum(cpu[(case + PLAIN_SUFFIX, impl)]), 1e-9) - 1
        for impl in plain
    }
    parts = ", ".join(
        f"{impl} {overheads[impl] * 100:+.1f} % wall, {cpu_overheads[impl] * 100:+.1f} % CPU"
        for impl in plain
    )
    bench.note(f"{case}: root= costs {parts} (target <= {TARGET_OVERHEAD * 100:.0f} %)")
    return overheads


def _ratio(samples: dict[tuple[str, str], list[float]], case: str, impl: str) -> float:
    plain = statistics.median(samples[(case + PLAIN_SUFFIX, impl)])
    return statistics.median(samples[(case + ROOT_SUFFIX, impl)]) / plain if plain else 1.0


def cpu_seconds() -> float:
    """CPU time this process has used (all threads): what a call costs, which the load on a shared
    machine does not change as it changes wall time (an fsync waits without using any)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime
