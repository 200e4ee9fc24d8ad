"""bench-lock: RWLock on the Rust registry (through ctypes) vs the Python twin.

The migration plan's four cases — single read, 10 concurrent readers, single write, 7 reads +
3 writes — once with asyncio tasks and once with threads, plus the bare cost of one crossing of
the FFI boundary. Times are per *round*: one round is the case done once (1 acquisition, or 10
overlapping ones); each timed sample runs ``ROUNDS`` rounds and is divided by it. The ``no-lock``
column is the same harness with the lock replaced by a no-op, i.e. what the harness itself costs.

    python script/bench-lock.py [--quick] [--json PATH]
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from benchlib import Bench

from ironcode import ffi
from ironcode.twin import lock as twin_lock

#: Rounds per timed sample (full run, --quick).
ROUNDS, QUICK_ROUNDS = 200, 10
#: The 10-task cases of the plan: "R" reads, "W" writes.
TEN_READERS = "R" * 10
MIXED = "RRWRRWRRWR"  # 7 reads + 3 writes, interleaved
#: The plan's TypeScript study (bun, ms per case), for the table.
PLAN = {
    "single read": "TS 7.1 µs · Rust 5.0 µs (1.42x faster)",
    "10 concurrent readers": "TS 14.2 µs · Rust 26.2 µs (0.54x)",
    "single write": "TS 4.0 µs · Rust 4.8 µs (0.85x)",
    "7 reads + 3 writes": "TS 15.4 µs · Rust 44.1 µs (0.35x)",
}
LOCKS: dict[str, Any] = {"native": ffi.RWLock, "python": twin_lock.RWLock}


class NoLock:
    """The harness without a lock: a guard that does nothing."""

    def __init__(self, key: str) -> None:
        self.key = key

    def read(self, timeout: float | None = None) -> contextlib.nullcontext:
        return contextlib.nullcontext()

    write = read


IMPLS: dict[str, Any] = {**LOCKS, "no-lock": NoLock}


class Recorder:
    """Who entered, in order, and whether exclusion ever broke (checked before timing)."""

    def __init__(self) -> None:
        self.mutex = threading.Lock()
        self.order: list[str] = []
        self.readers = self.writers = 0
        self.broken = 0

    @contextlib.contextmanager
    def inside(self, name: str, mode: str):
        with self.mutex:
            self.order.append(name)
            self.broken += bool(self.writers or (mode == "W" and self.readers))
            if mode == "W":
                self.writers += 1
            else:
                self.readers += 1
        try:
            yield
        finally:
            with self.mutex:
                if mode == "W":
                    self.writers -= 1
                else:
                    self.readers -= 1


def guard(lock: Any, mode: str):
    return lock.write() if mode == "W" else lock.read()


# ---- asyncio -------------------------------------------------------------------------------------


async def async_single(lock: Any, mode: str, rounds: int) -> None:
    for _ in range(rounds):
        async with guard(lock, mode):
            pass


async def async_group(lock: Any, pattern: str, rounds: int, recorder: Recorder | None = None) -> None:
    async def task(i: int, mode: str) -> None:
        async with guard(lock, mode):
            if recorder is None:
                await asyncio.sleep(0)  # hold across a switch: the others really overlap
            else:
                with recorder.inside(f"{mode}{i}", mode):
                    await asyncio.sleep(0)

    for _ in range(rounds):
        await asyncio.gather(*(task(i, mode) for i, mode in enumerate(pattern)))


# ---- threads -------------------------------------------------------------------------------------


class Workers:
    """Ten persistent threads: each sample, every worker runs its job ``rounds`` times."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.start = threading.Barrier(count + 1)
        self.done = threading.Barrier(count + 1)
        self.jobs: list[Callable[[], None]] = []
        self.stop = False
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(count)]
        for t in self.threads:
            t.start()

    def _run(self, index: int) -> None:
        while True:
            self.start.wait()
            if self.stop:
                return
            self.jobs[index]()
            self.done.wait()

    def run(self, jobs: list[Callable[[], None]]) -> None:
        self.jobs = jobs
        self.start.wait()
        self.done.wait()

    def close(self) -> None:
        self.stop = True
        self.start.wait()
        for t in self.threads:
            t.join()


def thread_single(lock: Any, mode: str, rounds: int) -> None:
    for _ in range(rounds):
        with guard(lock, mode):
            pass


def thread_jobs(lock: Any, pattern: str, rounds: int, recorder: Recorder | None = None) -> list:
    def job(i: int, mode: str) -> Callable[[], None]:
        def run() -> None:
            for _ in range(rounds):
                with guard(lock, mode):
                    if recorder is None:
                        time.sleep(0)  # give up the GIL while holding: the others really overlap
                    else:
                        with recorder.inside(mode, mode):
                            time.sleep(0)

        return run

    return [job(i, mode) for i, mode in enumerate(pattern)]


# ---- the benchmark -------------------------------------------------------------------------------


def per_round(bench: Bench, case: str, impl: str, batch: Callable[[], Any], rounds: int) -> None:
    row = bench.time(case, impl, batch)
    row.median_s = row.median_s / rounds if row.median_s is not None else None
    row.p95_s = row.p95_s / rounds if row.p95_s is not None else None


def check_async(bench: Bench, case: str, loops: dict, pattern: str) -> None:
    def outcome(impl: str) -> Callable[[], Any]:
        def run() -> Any:
            recorder = Recorder()
            loops[impl].run_until_complete(async_group(IMPLS[impl](f"check-{case}"), pattern, 1, recorder))
            return recorder.order, recorder.broken

        return run

    # Same entry order (asyncio is deterministic) and no broken exclusion, on both backends.
    order, broken = bench.same(case, {impl: outcome(impl) for impl in LOCKS})
    assert broken == 0, f"{case}: exclusion broken"


def check_threads(bench: Bench, case: str, workers: Workers, pattern: str) -> None:
    def outcome(impl: str) -> Callable[[], Any]:
        def run() -> Any:
            recorder = Recorder()
            workers.run(thread_jobs(IMPLS[impl](f"check-{case}"), pattern, 20, recorder))
            return sorted(Counter(recorder.order).items()), recorder.broken

        return run

    _, broken = bench.same(case, {impl: outcome(impl) for impl in LOCKS})
    assert broken == 0, f"{case}: exclusion broken"


def main() -> None:
    bench = Bench("lock", "RWLock: Rust registry through ctypes vs the Python twin, asyncio and threads")
    rounds = QUICK_ROUNDS if bench.quick else ROUNDS
    loops = {impl: asyncio.new_event_loop() for impl in IMPLS}
    workers = Workers(len(MIXED))
    try:
        for name, pattern in (("10 concurrent readers", TEN_READERS), ("7 reads + 3 writes", MIXED)):
            check_async(bench, f"{name} (asyncio)", loops, pattern)
            check_threads(bench, f"{name} (threads)", workers, pattern)

        # The floor under every native call: one ctypes crossing with no work and no JSON, and
        # one lock_stats() (mutex + a small JSON envelope) against the twin's.
        lib = ffi.library()
        per_round(
            bench, "FFI crossing: ctypes call, no JSON", "native", lambda: _free_null(lib, rounds), rounds
        )
        for impl, stats in (("native", ffi.lock_stats), ("python", twin_lock.lock_stats)):
            per_round(bench, "lock_stats() round trip", impl, lambda s=stats: _repeat(s, rounds), rounds)

        # asyncio last: its mixed case, the plan's own setting, is bench-all's headline row.
        lock_cases = []
        for flavour in ("threads", "asyncio"):
            for name, shape in (
                ("single read", "R"),
                ("10 concurrent readers", TEN_READERS),
                ("single write", "W"),
                ("7 reads + 3 writes", MIXED),
            ):
                case = f"{name} ({flavour})"
                lock_cases.append(case)
                if flavour == "asyncio":
                    bench.plan[case] = PLAN[name]
                for impl, cls in IMPLS.items():
                    lock = cls(f"bench-{name}")
                    if flavour == "asyncio":
                        loop = loops[impl]
                        if len(shape) == 1:
                            batch = lambda loop=loop, lock=lock, m=shape: loop.run_until_complete(  # noqa: E731
                                async_single(lock, m, rounds)
                            )
                        else:
                            batch = lambda loop=loop, lock=lock, p=shape: loop.run_until_complete(  # noqa: E731
                                async_group(lock, p, rounds)
                            )
                    elif len(shape) == 1:
                        batch = lambda lock=lock, m=shape: thread_single(lock, m, rounds)  # noqa: E731
                    else:
                        jobs = thread_jobs(lock, shape, rounds)
                        batch = lambda jobs=jobs: workers.run(jobs)  # noqa: E731
                    per_round(bench, case, impl, batch, rounds)

    finally:
        workers.close()
        for loop in loops.values():
            loop.close()

    ratios = [bench.median(c, "python") / bench.median(c, "native") for c in lock_cases]
    asyncio_ratios = [r for c, r in zip(lock_cases, ratios, strict=True) if "asyncio" in c]
    bench.note(
        f"times are per round, from samples of {rounds} rounds; native vs python averaged over the "
        f"8 lock cases: {statistics.mean(ratios):.2f}x (arithmetic mean of speedups, as the plan's "
        f"0.79x; asyncio cases only: {statistics.mean(asyncio_ratios):.2f}x)"
    )
    bench.note(
        "uncontended native acquire+release = 2 library calls (lock_try, lock_release), each with a "
        "JSON envelope; a queued task adds 1 lock_channel_take per wake-up, a queued thread 1+ lock_wait"
    )
    bench.finish()


def _repeat(fn: Callable[[], Any], times: int) -> None:
    for _ in range(times):
        fn()


def _free_null(lib: Any, times: int) -> None:
    free_string = lib.free_string
    for _ in range(times):
        free_string(None)


if __name__ == "__main__":
    main()
