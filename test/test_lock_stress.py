"""Stress and parity for RWLock on both backends.

- 8 threads × 10,000 mixed operations, and 1,000 asyncio tasks, with a monitor recording the
  holders of every key at every moment: never a reader while a writer holds, never two writers.
- A hypothesis property: the same generated script of asyncio acquisitions, releases and
  cancellations gives the same sequence of holders and lock_stats on both backends.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ironcode import ffi
from ironcode.twin import lock as twin_lock

THREADS, OPS_PER_THREAD = 8, 10_000
TASKS, OPS_PER_TASK = 1_000, 5
KEYS = ("alpha", "beta", "gamma")
WRITE_SHARE = 0.25
#: Long enough that only a deadlock reaches it: then the test fails instead of hanging.
ACQUIRE_TIMEOUT_S = 60.0


class Monitor:
    """Who holds each key right now, checked on every entry; keeps the first violations."""

    def __init__(self) -> None:
        self.mutex = threading.Lock()
        self.readers: Counter[str] = Counter()
        self.writers: Counter[str] = Counter()
        self.max_readers: Counter[str] = Counter()
        self.entries: Counter[str] = Counter()
        self.violations: list[str] = []

    def enter(self, key: str, mode: str) -> None:
        with self.mutex:
            self.entries[mode] += 1
            if mode == "write":
                if self.writers[key] or self.readers[key]:
                    self._violation(f"writer entered {key} held by {self.writers[key]}W/{self.readers[key]}R")
                self.writers[key] += 1
            else:
                if self.writers[key]:
                    self._violation(f"reader entered {key} held by a writer")
                self.readers[key] += 1
                self.max_readers[key] = max(self.max_readers[key], self.readers[key])

    def leave(self, key: str, mode: str) -> None:
        with self.mutex:
            (self.writers if mode == "write" else self.readers)[key] -= 1

    def _violation(self, text: str) -> None:
        if len(self.violations) < 10:
            self.violations.append(text)

    def check(self, expected_entries: int) -> None:
        assert self.violations == []
        assert sum(self.entries.values()) == expected_entries
        assert not +self.readers and not +self.writers  # everyone left
        assert self.entries["read"] and self.entries["write"]


def test_eight_threads_of_mixed_operations_never_break_exclusion(impl):
    monitor = Monitor()
    locks = {key: impl.RWLock(key) for key in KEYS}
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        try:
            start.wait()
            for _ in range(OPS_PER_THREAD):
                key = rng.choice(KEYS)
                mode = "write" if rng.random() < WRITE_SHARE else "read"
                with getattr(locks[key], mode)(timeout=ACQUIRE_TIMEOUT_S):
                    monitor.enter(key, mode)
                    if rng.random() < 0.1:
                        threading.Event().wait(0)  # give up the GIL while holding: real overlap
                    monitor.leave(key, mode)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(ACQUIRE_TIMEOUT_S * 2)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    monitor.check(THREADS * OPS_PER_THREAD)
    assert impl.lock_stats()["total_locks"] == 0


def test_a_thousand_asyncio_tasks_never_break_exclusion(impl):
    monitor = Monitor()
    locks = {key: impl.RWLock(key) for key in KEYS}

    async def task(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(OPS_PER_TASK):
            key = rng.choice(KEYS)
            mode = "write" if rng.random() < WRITE_SHARE else "read"
            async with getattr(locks[key], mode)(timeout=ACQUIRE_TIMEOUT_S):
                monitor.enter(key, mode)
                await asyncio.sleep(0)  # hold across a switch, so others queue behind
                monitor.leave(key, mode)

    async def main() -> None:
        await asyncio.gather(*(task(seed) for seed in range(TASKS)))

    asyncio.run(main())
    monitor.check(TASKS * OPS_PER_TASK)
    assert max(monitor.max_readers.values()) > 1  # readers really did share
    assert impl.lock_stats()["total_locks"] == 0


def test_threads_and_tasks_in_two_loops_share_keys_without_breaking_exclusion(impl):
    monitor = Monitor()
    locks = {key: impl.RWLock(key) for key in KEYS[:2]}
    errors: list[BaseException] = []

    def thread_worker(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(2_000):
                key, mode = rng.choice(KEYS[:2]), "write" if rng.random() < 0.3 else "read"
                with getattr(locks[key], mode)(timeout=ACQUIRE_TIMEOUT_S):
                    monitor.enter(key, mode)
                    threading.Event().wait(0)
                    monitor.leave(key, mode)
        except BaseException as e:
            errors.append(e)

    def loop_worker(seed: int) -> None:
        async def task(rng: random.Random) -> None:
            for _ in range(20):
                key, mode = rng.choice(KEYS[:2]), "write" if rng.random() < 0.3 else "read"
                async with getattr(locks[key], mode)(timeout=ACQUIRE_TIMEOUT_S):
                    monitor.enter(key, mode)
                    await asyncio.sleep(0)
                    monitor.leave(key, mode)

        async def main() -> None:
            await asyncio.gather(*(task(random.Random(seed * 1000 + i)) for i in range(100)))

        try:
            asyncio.run(main())
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=thread_worker, args=(s,)) for s in (1, 2)]
    threads += [threading.Thread(target=loop_worker, args=(s,)) for s in (3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(ACQUIRE_TIMEOUT_S * 2)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    monitor.check(2 * 2_000 + 2 * 100 * 20)
    assert impl.lock_stats()["total_locks"] == 0


# ---- parity: one generated script, both backends, the same story ---------------------------------

#: Event-loop turns without change that count as "settled". A native grant reaches its task in at
#: most three turns (socket readable → callback resolves the future → task resumes).
SETTLE_TURNS, MAX_TURNS = 6, 500

acquire = st.tuples(st.just("acquire"), st.sampled_from(("a", "a", "b")), st.sampled_from(("read", "write")))
action = st.one_of(  # acquisitions twice as often, so queues build up
    acquire,
    acquire,
    st.tuples(st.just("release"), st.integers(0, 7)),
    st.tuples(st.just("cancel"), st.integers(0, 7)),
)


async def _play(lock_cls, stats, script) -> list:
    """Runs ``script``; after each step, once the loop has settled, records who holds and waits."""
    status: dict[int, str] = {}
    keys: dict[int, tuple[str, str]] = {}
    leave: dict[int, asyncio.Event] = {}
    tasks: dict[int, asyncio.Task] = {}

    async def holder(n: int, key: str, mode: str) -> None:
        try:
            async with getattr(lock_cls(key), mode)():
                status[n] = "holding"
                await leave[n].wait()
            status[n] = "released"
        except asyncio.CancelledError:
            status[n] = "cancelled"
            raise

    async def settle() -> None:
        seen, calm = None, 0
        for _ in range(MAX_TURNS):
            await asyncio.sleep(0)
            now = (dict(status), stats())
            calm = calm + 1 if now == seen else 0
            seen = now
            if calm >= SETTLE_TURNS:
                return
        raise AssertionError("the loop never settled")

    trace = []
    for step in script:
        if step[0] == "acquire":
            n = len(status)
            status[n], keys[n], leave[n] = "waiting", step[1:], asyncio.Event()
            tasks[n] = asyncio.create_task(holder(n, *step[1:]))
        else:
            wanted = "holding" if step[0] == "release" else "waiting"
            candidates = [n for n, s in status.items() if s == wanted]
            if candidates:
                n = candidates[step[1] % len(candidates)]
                if step[0] == "release":
                    leave[n].set()
                else:
                    tasks[n].cancel()
        await settle()
        holding = {n: keys[n] for n, s in status.items() if s == "holding"}
        for key in ("a", "b"):
            modes = [m for k, m in holding.values() if k == key]
            assert modes.count("write") <= 1 and not ("write" in modes and "read" in modes)
        trace.append((step, sorted(status.items()), stats()))
    for n, s in status.items():
        if s == "waiting":
            tasks[n].cancel()
        leave[n].set()
    await asyncio.gather(*tasks.values(), return_exceptions=True)
    trace.append(("end", stats()))
    return trace


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=st.lists(action, min_size=1, max_size=25))
def test_both_backends_tell_the_same_story_for_any_script(script):
    native = asyncio.run(_play(ffi.RWLock, ffi.lock_stats, script))
    python = asyncio.run(_play(twin_lock.RWLock, twin_lock.lock_stats, script))
    assert native == python
    assert native[-1] == ("end", twin_lock.lock_stats())
    assert twin_lock.lock_stats()["total_locks"] == 0
