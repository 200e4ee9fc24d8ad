"""RWLock and lock_stats on both backends: policy (writer priority, FIFO), timeouts, reentrancy
rules, threads and asyncio, bad input. The stress tests are in test_lock_stress.py."""

from __future__ import annotations

import asyncio
import gc
import math
import threading
import time

import pytest

import ironcode
from ironcode import backend, ffi
from ironcode.twin import lock as twin_lock

#: How long a test waits for something that must happen (a failure, never a measurement).
DEADLINE_S = 20.0
IDLE = {
    "total_locks": 0,
    "active_readers": 0,
    "active_writers": 0,
    "waiting_readers": 0,
    "waiting_writers": 0,
}


@pytest.fixture(autouse=True)
def no_leaked_locks():
    """Every test must leave both registries empty: no holder, no waiter, no key."""
    yield
    gc.collect()
    assert ffi.lock_stats() == IDLE, "the test left native locks behind"
    assert twin_lock.lock_stats() == IDLE, "the test left Python locks behind"


def wait_until(predicate, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for: {what}")
        time.sleep(0.002)


def stats_reach(impl, **expected) -> None:
    wait_until(
        lambda: all(impl.lock_stats()[k] == v for k, v in expected.items()),
        f"lock_stats {expected} (now {impl.lock_stats()})",
    )


class Holder(threading.Thread):
    """A thread that takes ``mode`` on ``lock``, records it, and holds until told to leave."""

    def __init__(self, lock, mode: str, timeout: float | None = DEADLINE_S, log=None, name=None, hold=True):
        super().__init__(daemon=True)
        self.guard = getattr(lock, mode)(timeout=timeout)
        self.log = log if log is not None else []
        self.label = name or mode
        self.acquired = threading.Event()
        self.leave = threading.Event()
        if not hold:
            self.leave.set()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.guard:
                self.log.append(self.label)
                self.acquired.set()
                if not self.leave.wait(DEADLINE_S):
                    raise RuntimeError("holder was never told to leave")
        except BaseException as e:
            self.error = e

    def finish(self) -> None:
        self.leave.set()
        self.join(DEADLINE_S)
        assert not self.is_alive(), "holder thread did not finish"
        if self.error is not None and not isinstance(self.error, ironcode.IronCodeError):
            raise self.error


# ---- basics --------------------------------------------------------------------------------


def test_read_and_write_guards_hold_then_release_and_remove_the_key(impl):
    lock = impl.RWLock("basics")
    with lock.read() as guard:
        assert guard.held
        assert impl.lock_stats() == {**IDLE, "total_locks": 1, "active_readers": 1}
    assert not guard.held
    assert impl.lock_stats() == IDLE
    with lock.write():
        assert impl.lock_stats() == {**IDLE, "total_locks": 1, "active_writers": 1}
    assert impl.lock_stats() == IDLE


def test_readers_share_a_key_and_each_key_counts_once(impl):
    a, b = impl.RWLock("share-a"), impl.RWLock("share-b")
    with a.read(), a.read(), impl.RWLock("share-a").read(), b.write():
        assert impl.lock_stats() == {**IDLE, "total_locks": 2, "active_readers": 3, "active_writers": 1}


@pytest.mark.parametrize("held, wanted", [("write", "read"), ("write", "write"), ("read", "write")])
def test_a_conflicting_request_times_out_as_a_timeout_error(impl, held, wanted):
    lock = impl.RWLock("conflict")
    holder = Holder(lock, held)
    holder.start()
    assert holder.acquired.wait(DEADLINE_S)
    for timeout in (0, 0.05):
        with pytest.raises(TimeoutError) as info:
            with getattr(impl.RWLock("conflict"), wanted)(timeout=timeout):
                pass
        assert isinstance(info.value, ironcode.IronCodeError)
        assert info.value.kind == "timeout"
        assert "conflict" in str(info.value)
    # The timed-out request left the queue: only the holder remains.
    assert impl.lock_stats()["waiting_readers"] + impl.lock_stats()["waiting_writers"] == 0
    holder.finish()


def test_different_keys_do_not_block_each_other(impl):
    with impl.RWLock("k1").write(), impl.RWLock("k2").write(timeout=0):
        assert impl.lock_stats()["active_writers"] == 2


@pytest.mark.parametrize(
    "key", ["", "é ü ñ", "日本語/ファイル.py", "emoji 🔒", "crlf\r\nkey", "\ufeffbom", "x" * 1_000_000]
)
def test_any_string_without_nul_is_a_key_and_keys_compare_exactly(impl, key):
    with impl.RWLock(key).write():
        with impl.RWLock(key + " ").write(timeout=0):
            pass
        with pytest.raises(TimeoutError):
            with impl.RWLock(key).read(timeout=0):
                pass


@pytest.mark.parametrize("key", ["nul\0inside", b"bytes", None, 5, "lone \udc80 surrogate"])
def test_a_bad_key_is_invalid_argument(impl, expect_error, key):
    expect_error("invalid_argument", impl.RWLock, key)


@pytest.mark.parametrize("timeout", [-1, -0.001, math.nan, "1", True, [1]])
def test_a_bad_timeout_is_invalid_argument(impl, expect_error, timeout):
    lock = impl.RWLock("timeouts")
    expect_error("invalid_argument", lock.read, timeout)
    expect_error("invalid_argument", lock.write, timeout)


def test_an_infinite_timeout_means_no_limit(impl):
    with impl.RWLock("inf").write(timeout=math.inf) as guard:
        assert guard.timeout is None


# ---- policy: writer priority and FIFO, with threads -------------------------------------------


def test_a_waiting_writer_blocks_new_readers_then_goes_first(impl):
    lock = impl.RWLock("priority")
    log: list[str] = []
    first_reader = lock.read()
    first_reader.__enter__()
    writer = Holder(lock, "write", log=log)
    writer.start()
    stats_reach(impl, waiting_writers=1)
    with pytest.raises(TimeoutError):  # a new reader may not pass the waiting writer
        with lock.read(timeout=0.05):
            pass
    late_reader = Holder(lock, "read", log=log)
    late_reader.start()
    stats_reach(impl, waiting_readers=1)
    first_reader.__exit__(None, None, None)
    assert writer.acquired.wait(DEADLINE_S)
    assert impl.lock_stats() == {**IDLE, "total_locks": 1, "active_writers": 1, "waiting_readers": 1}
    writer.finish()
    assert late_reader.acquired.wait(DEADLINE_S)
    late_reader.finish()
    assert log == ["write", "read"]


def test_waiting_writers_are_granted_in_arrival_order(impl):
    lock = impl.RWLock("fifo-writers")
    log: list[str] = []
    holders = []
    with lock.write():
        for i in range(5):
            holder = Holder(lock, "write", log=log, name=f"w{i}", hold=False)
            holder.start()
            stats_reach(impl, waiting_writers=i + 1)
            holders.append(holder)
    for holder in holders:
        holder.finish()
    assert log == [f"w{i}" for i in range(5)]


def test_queued_readers_enter_together_when_the_writer_leaves(impl):
    lock = impl.RWLock("readers-together")
    readers = []
    with lock.write():
        for i in range(3):
            reader = Holder(lock, "read")
            reader.start()
            stats_reach(impl, waiting_readers=i + 1)
            readers.append(reader)
    for reader in readers:
        assert reader.acquired.wait(DEADLINE_S)
    assert impl.lock_stats() == {**IDLE, "total_locks": 1, "active_readers": 3}
    for reader in readers:
        reader.finish()


def test_queued_writers_go_before_readers_that_queued_earlier(impl):
    lock = impl.RWLock("writers-first")
    log: list[str] = []
    order = [("r1", "read"), ("w1", "write"), ("r2", "read"), ("w2", "write")]
    holders = []
    with lock.write():
        for n, (name, mode) in enumerate(order):
            holder = Holder(lock, mode, log=log, name=name, hold=mode == "read")
            holder.start()
            wait_until(
                lambda n=n: (
                    sum(impl.lock_stats()[k] for k in ("waiting_readers", "waiting_writers")) == n + 1
                ),
                f"{name} queued",
            )
            holders.append(holder)
    readers = [h for h in holders if h.label.startswith("r")]
    for reader in readers:
        assert reader.acquired.wait(DEADLINE_S)
    assert log[:2] == ["w1", "w2"] and sorted(log[2:]) == ["r1", "r2"]
    assert impl.lock_stats() == {**IDLE, "total_locks": 1, "active_readers": 2}
    for holder in holders:
        holder.finish()


def test_a_timed_out_writer_lets_the_readers_queued_behind_it_in(impl):
    lock = impl.RWLock("withdrawn-writer")
    first_reader = lock.read()
    first_reader.__enter__()
    writer = Holder(lock, "write", timeout=1.0)  # long enough for the late reader to queue
    writer.start()
    stats_reach(impl, waiting_writers=1)
    late_reader = Holder(lock, "read")
    late_reader.start()
    stats_reach(impl, waiting_readers=1)
    assert late_reader.acquired.wait(DEADLINE_S)  # once the writer gave up
    writer.join(DEADLINE_S)
    assert isinstance(writer.error, ironcode.IronCodeError) and writer.error.kind == "timeout"
    assert impl.lock_stats() == {**IDLE, "total_locks": 1, "active_readers": 2}
    late_reader.finish()
    first_reader.__exit__(None, None, None)


# ---- reentrancy: holds are counted, not owned ---------------------------------------------------


def test_read_inside_read_is_granted_while_no_writer_waits(impl):
    lock = impl.RWLock("reentrant-read")
    with lock.read(), lock.read(timeout=0):
        assert impl.lock_stats()["active_readers"] == 2


def test_read_inside_read_waits_behind_a_waiting_writer_until_its_timeout(impl):
    lock = impl.RWLock("reentrant-deadlock")
    with lock.read():
        writer = Holder(lock, "write", hold=False)
        writer.start()
        stats_reach(impl, waiting_writers=1)
        with pytest.raises(TimeoutError):
            with lock.read(timeout=0.1):
                pass
    writer.finish()
    assert writer.error is None


@pytest.mark.parametrize("outer, inner", [("write", "write"), ("write", "read"), ("read", "write")])
def test_a_nested_hold_that_conflicts_with_its_own_outer_hold_times_out(impl, outer, inner):
    lock = impl.RWLock("reentrant-conflict")
    with getattr(lock, outer)():
        with pytest.raises(TimeoutError):
            with getattr(lock, inner)(timeout=0.05):
                pass
        assert impl.lock_stats()["waiting_readers"] + impl.lock_stats()["waiting_writers"] == 0


def test_entering_a_held_guard_again_is_invalid_argument(impl, expect_error):
    guard = impl.RWLock("guard-twice").read()
    with guard:
        expect_error("invalid_argument", guard.__enter__)
    with guard:  # free again after leaving: guards are reusable
        assert guard.held


def test_leaving_a_guard_that_is_not_held_is_invalid_argument(impl, expect_error):
    guard = impl.RWLock("guard-unheld").write()
    expect_error("invalid_argument", guard.__exit__, None, None, None)


def test_another_thread_may_release_a_guard(impl):
    guard = impl.RWLock("handoff").write()
    guard.__enter__()
    releaser = threading.Thread(target=guard.__exit__, args=(None, None, None))
    releaser.start()
    releaser.join(DEADLINE_S)
    assert impl.lock_stats() == IDLE


# ---- asyncio ---------------------------------------------------------------------------------


def test_async_guards_hold_then_release(impl):
    async def main():
        lock = impl.RWLock("async-basics")
        async with lock.read(), lock.read():
            assert impl.lock_stats() == {**IDLE, "total_locks": 1, "active_readers": 2}
        async with lock.write():
            assert impl.lock_stats()["active_writers"] == 1
        return impl.lock_stats()

    assert asyncio.run(main()) == IDLE


def test_async_tasks_are_granted_with_writer_priority_and_fifo_order(impl):
    plan = [("r0", "read"), ("r1", "read"), ("w2", "write"), ("r3", "read"), ("w4", "write"), ("r5", "read")]
    log: list[str] = []

    async def worker(name, mode):
        async with getattr(impl.RWLock("async-order"), mode)(timeout=DEADLINE_S):
            log.append(name)
            await asyncio.sleep(0)

    async def main():
        await asyncio.gather(*(worker(n, m) for n, m in plan))

    asyncio.run(main())
    # r0 and r1 enter at once; w2 then blocks r3; w4 queues behind w2; r3 and r5 go last, together.
    assert log == ["r0", "r1", "w2", "w4", "r3", "r5"]


def test_an_async_timeout_raises_timeout_and_withdraws_the_request(impl):
    async def main():
        lock = impl.RWLock("async-timeout")
        async with lock.read():
            with pytest.raises(TimeoutError) as info:
                async with lock.write(timeout=0.05):
                    pass
            assert info.value.kind == "timeout"
            assert impl.lock_stats()["waiting_writers"] == 0
            async with lock.read(timeout=0):  # no writer waits any more
                pass

    asyncio.run(main())


def test_cancelling_a_waiting_task_withdraws_it_and_admits_the_readers_behind_it(impl):
    async def main():
        lock = impl.RWLock("async-cancel")
        entered = []

        async def take(mode):
            async with getattr(lock, mode)():
                entered.append(mode)

        async with lock.read():
            writer = asyncio.create_task(take("write"))
            while impl.lock_stats()["waiting_writers"] == 0:
                await asyncio.sleep(0)
            reader = asyncio.create_task(take("read"))
            while impl.lock_stats()["waiting_readers"] == 0:
                await asyncio.sleep(0)
            writer.cancel()
            with pytest.raises(asyncio.CancelledError):
                await writer
            await reader  # admitted while the outer read still holds
            assert impl.lock_stats()["waiting_writers"] == 0
        assert entered == ["read"]

    asyncio.run(main())


def test_a_thread_and_a_task_exclude_each_other_on_one_key(impl):
    lock = impl.RWLock("thread-and-task")
    writer = Holder(lock, "write")
    writer.start()
    assert writer.acquired.wait(DEADLINE_S)

    async def main():
        with pytest.raises(TimeoutError):
            async with lock.read(timeout=0.05):
                pass
        waiting = asyncio.create_task(_hold(lock.read(timeout=DEADLINE_S)))
        while impl.lock_stats()["waiting_readers"] == 0:
            await asyncio.sleep(0)
        await asyncio.get_running_loop().run_in_executor(None, writer.finish)
        await waiting  # woken by a release made in another thread

    asyncio.run(main())


async def _hold(guard) -> None:
    async with guard:
        await asyncio.sleep(0)


def test_event_loops_in_two_threads_wake_each_other(impl):
    lock = impl.RWLock("two-loops")
    log: list[str] = []
    first_holds = threading.Event()
    second_waits = threading.Event()

    def first():
        async def main():
            async with lock.write():
                log.append("first")
                first_holds.set()
                await asyncio.get_running_loop().run_in_executor(None, second_waits.wait, DEADLINE_S)

        asyncio.run(main())

    def second():
        async def main():
            first_holds.wait(DEADLINE_S)
            guard = lock.write(timeout=DEADLINE_S)
            task = asyncio.create_task(_hold(guard))
            while impl.lock_stats()["waiting_writers"] == 0:
                await asyncio.sleep(0)
            second_waits.set()
            await task
            log.append("second")

        asyncio.run(main())

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE_S)
    assert log == ["first", "second"]


def test_tickets_of_an_abandoned_event_loop_do_not_block_the_key(impl):
    lock = impl.RWLock("abandoned-loop")
    with lock.write():
        loop = asyncio.new_event_loop()
        loop.create_task(_hold(lock.read()))
        while impl.lock_stats()["waiting_readers"] == 0:
            loop.run_until_complete(asyncio.sleep(0))
        loop.close()
        del loop
        gc.collect()
    gc.collect()
    assert impl.lock_stats() == IDLE


def test_native_async_waiters_are_woken_by_a_notification_not_a_polling_loop(monkeypatch):
    """While a task waits, the native side makes no library calls at all: the event loop sleeps
    on the channel's socket until the grant writes to it."""
    calls: list[str] = []
    real_call = ffi._call

    def counting_call(symbol, *args):
        calls.append(symbol)
        return real_call(symbol, *args)

    monkeypatch.setattr(ffi, "_call", counting_call)
    lock = ffi.RWLock("no-polling")
    writer = Holder(lock, "write")
    writer.start()
    assert writer.acquired.wait(DEADLINE_S)

    async def main():
        task = asyncio.create_task(_hold(lock.read(timeout=DEADLINE_S)))
        while ffi.lock_stats()["waiting_readers"] == 0:
            await asyncio.sleep(0)
        calls.clear()
        await asyncio.sleep(0.2)  # the task waits; a polling implementation would call now
        during_wait = list(calls)
        await asyncio.get_running_loop().run_in_executor(None, writer.finish)
        await task
        return during_wait

    during_wait = asyncio.run(main())
    assert during_wait == []
    assert "lock_channel_take_ffi" in calls  # the wake-up came through the channel


# ---- dispatch and the raw ticket API -------------------------------------------------------------


@pytest.mark.parametrize("name", ["native", "python"])
def test_ironcode_rwlock_and_lock_stats_follow_the_chosen_backend(name):
    pinned = {"native": ffi.RWLock, "python": twin_lock.RWLock}[name]
    with backend.use(name):
        lock = ironcode.RWLock("dispatch")
        assert isinstance(lock, ironcode.RWLock)
        with lock.write():
            assert ironcode.lock_stats()["active_writers"] == 1
            with pytest.raises(TimeoutError):
                with pinned("dispatch").read(timeout=0):
                    pass


def test_releasing_a_ticket_twice_is_invalid_argument(impl, expect_error):
    core = impl.RWLock.core
    ticket, granted = core.try_acquire(core.prepare_key("core"), "write", None)
    assert granted
    core.release(ticket)
    expect_error("invalid_argument", core.release, ticket)


def test_a_bad_mode_is_invalid_argument(impl, expect_error):
    core = impl.RWLock.core
    expect_error("invalid_argument", core.try_acquire, core.prepare_key("core"), "exclusive", None)


@pytest.mark.parametrize(
    "call, args",
    [
        (ffi.lock_release, (-1,)),
        (ffi.lock_release, (2**62,)),
        (ffi.lock_wait, (2**62, 0)),
        (ffi.lock_channel_take, (2**62,)),
        (ffi.lock_channel_close, (-5,)),
        (ffi.lock_try, ("k", "read", 2**62)),
        (ffi.lock_try, ("k", "both", -1)),
        (ffi.lock_try, (b"\xff\xfe", "read", -1)),
    ],
)
def test_native_ticket_api_rejects_unknown_ids_and_bad_arguments(expect_error, call, args):
    expect_error("invalid_argument", call, *args)
