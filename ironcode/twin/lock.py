"""Twin of native/tool/src/lock.rs: keyed reader-writer locks — writer priority, FIFO queues.

The registry (:class:`Locks`) mirrors the Rust one: the same policy, tickets granted at once or
queued, the same function names. Threads wait on a ``threading.Condition`` per key (sharing the
registry's mutex). Asyncio tasks await an ``asyncio.Future`` that the grant resolves — directly
when the releaser runs in the loop's thread, through ``loop.call_soon_threadsafe`` otherwise — so
they need no channel: that is the one intended difference from the native side, which must reach
Python's event loop through a socket. Tickets are objects here, ids there.

The front end (``with`` / ``async with``, timeouts, validation) is :mod:`ironcode.rwlock`, shared
with the native backend.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque

from ..errors import IronCodeError
from ..rwlock import READ, WRITE
from ..rwlock import RWLock as _RWLockFrontEnd

WAITING, HELD, RELEASED = "waiting", "held", "released"


class Ticket:
    """One request: what it asks for, where it stands, and how to tell its waiter."""

    __slots__ = ("key", "mode", "state", "future", "loop", "thread")

    def __init__(self, key: str, mode: str, state: str) -> None:
        self.key = key
        self.mode = mode
        self.state = state
        #: For a task's queued ticket: the future its grant resolves, its loop and the loop's thread.
        self.future: asyncio.Future[None] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = 0


class KeyState:
    """One key's holders and queues."""

    __slots__ = ("readers", "writer", "waiting_readers", "waiting_writers", "wakeup")

    def __init__(self) -> None:
        self.readers = 0
        self.writer = False
        self.waiting_readers: deque[Ticket] = deque()
        self.waiting_writers: deque[Ticket] = deque()
        #: Threads blocked in ``wait`` on this key sleep here; created by the first such thread.
        self.wakeup: threading.Condition | None = None

    def can_read(self) -> bool:
        return not self.writer and not self.waiting_writers

    def can_write(self) -> bool:
        return not self.writer and self.readers == 0 and not self.waiting_writers

    def is_idle(self) -> bool:
        return self.readers == 0 and not self.writer and not self.waiting_readers and not self.waiting_writers


class Locks:
    """A registry of keyed reader-writer locks; also the Python core of :mod:`ironcode.rwlock`."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._keys: dict[str, KeyState] = {}

    def prepare_key(self, key: str) -> str:
        return key

    def try_acquire(self, key: str, mode: str, loop: asyncio.AbstractEventLoop | None) -> tuple[Ticket, bool]:
        """Requests ``mode`` on ``key``: granted at once if the policy allows, else queued (for a
        task of ``loop``, whose future :meth:`granted` returns, if ``loop`` is given)."""
        if mode != READ and mode != WRITE:
            raise IronCodeError("invalid_argument", f"lock mode must be 'read' or 'write', got {mode!r}")
        with self._mutex:
            state = self._entry(key)
            if mode == READ:
                granted = state.can_read()
                if granted:
                    state.readers += 1
            else:
                granted = state.can_write()
                if granted:
                    state.writer = True
            if granted:
                return Ticket(key, mode, HELD), True
            ticket = Ticket(key, mode, WAITING)
            if loop is not None:
                ticket.future = loop.create_future()
                ticket.loop = loop
                ticket.thread = threading.get_ident()
            (state.waiting_readers if mode == READ else state.waiting_writers).append(ticket)
            return ticket, False

    def wait(self, ticket: Ticket, timeout: float | None) -> bool:
        """Blocks until ``ticket`` is granted (True) or ``timeout`` passes (False; the ticket stays
        queued). Sleeps on the key's Condition: no polling."""
        with self._mutex:
            if ticket.state == WAITING:
                state = self._keys[ticket.key]
                if state.wakeup is None:
                    state.wakeup = threading.Condition(self._mutex)
                state.wakeup.wait_for(lambda: ticket.state != WAITING, timeout)
            if ticket.state == RELEASED:
                raise IronCodeError(
                    "invalid_argument", "lock ticket was released while a thread waited for it"
                )
            return ticket.state == HELD

    def granted(self, ticket: Ticket, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
        """The future a queued ticket's grant resolves."""
        assert ticket.future is not None, "granted() is for tickets queued with a loop"
        return ticket.future

    def release(self, ticket: Ticket) -> None:
        """Gives ``ticket`` back: a held one is released, a waiting one leaves its queue; then the
        queues move on and an idle key is removed. Releasing twice is ``invalid_argument``."""
        with self._mutex:
            self._give_back(ticket)

    def withdraw(self, ticket: Ticket, loop: asyncio.AbstractEventLoop) -> None:
        """Gives up a task's ticket; already given back (its loop closed) is fine."""
        with self._mutex:
            if ticket.state != RELEASED:
                self._give_back(ticket)

    def stats(self) -> dict:
        """Counts live keys, holders and waiters, across all keys."""
        with self._mutex:
            states = self._keys.values()
            return {
                "total_locks": len(self._keys),
                "active_readers": sum(s.readers for s in states),
                "active_writers": sum(1 for s in states if s.writer),
                "waiting_readers": sum(len(s.waiting_readers) for s in states),
                "waiting_writers": sum(len(s.waiting_writers) for s in states),
            }

    # ---- with the mutex held ----

    def _entry(self, key: str) -> KeyState:
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = KeyState()
        return state

    def _give_back(self, ticket: Ticket) -> None:
        if ticket.state == RELEASED:
            raise IronCodeError("invalid_argument", "unknown lock ticket (already released)")
        state = self._keys.get(ticket.key)
        if state is not None:
            if ticket.state == HELD:
                if ticket.mode == READ:
                    state.readers = max(0, state.readers - 1)
                else:
                    state.writer = False
            else:
                queue = state.waiting_readers if ticket.mode == READ else state.waiting_writers
                queue.remove(ticket)
        ticket.state = RELEASED
        self._grant_waiters(ticket.key)

    def _grant_waiters(self, key: str) -> None:
        """The first waiting writer if the key is free, else (no writer holding or waiting) every
        waiting reader; tells each granted ticket's waiter; removes the key if it is idle."""
        state = self._keys.get(key)
        if state is None:
            return
        granted: list[Ticket] = []
        if not state.writer and state.readers == 0 and state.waiting_writers:
            state.writer = True
            granted.append(state.waiting_writers.popleft())
        if not state.writer and not state.waiting_writers and state.waiting_readers:
            state.readers += len(state.waiting_readers)
            granted.extend(state.waiting_readers)
            state.waiting_readers.clear()
        if state.is_idle():
            del self._keys[key]
            return
        wake_threads = False
        stranded: list[Ticket] = []
        for ticket in granted:
            ticket.state = HELD
            if ticket.future is None:
                wake_threads = True
            elif not _signal(ticket):
                stranded.append(ticket)
        if wake_threads and state.wakeup is not None:
            state.wakeup.notify_all()
        for ticket in stranded:  # its event loop is closed: no one is left to use or release it
            self._give_back(ticket)


def _signal(ticket: Ticket) -> bool:
    """Resolves a granted task's future (the twin of Channel::signal). False if its loop is closed."""
    future, loop = ticket.future, ticket.loop
    assert future is not None and loop is not None
    if loop.is_closed():
        return False
    try:
        if threading.get_ident() == ticket.thread:
            if not future.done():
                future.set_result(None)
        else:
            loop.call_soon_threadsafe(_resolve, future)
    except RuntimeError:  # the loop closed meanwhile
        return False
    return True


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():  # it may have timed out or been cancelled meanwhile
        future.set_result(None)


_GLOBAL = Locks()


class RWLock(_RWLockFrontEnd):
    """:class:`ironcode.rwlock.RWLock` on the Python registry."""

    core = _GLOBAL
    __slots__ = ()


def lock_stats() -> dict:
    """``{"total_locks", "active_readers", "active_writers", "waiting_readers", "waiting_writers"}``."""
    return _GLOBAL.stats()
