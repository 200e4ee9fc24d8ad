"""``RWLock``: keyed reader-writer locks for threads (``with``) and asyncio tasks (``async with``).

>>> import ironcode
>>> lock = ironcode.RWLock("src/app.py")
>>> with lock.read(timeout=5):
...     ironcode.lock_stats()["active_readers"]
1
>>> ironcode.lock_stats()["total_locks"]
0

``async with lock.write(timeout=5): ...`` does the same in a coroutine.

This module is the front end shared by both backends; underneath is a *core*: the registry in Rust
(``ironcode.ffi.NativeLockCore``) or its Python twin (``ironcode.twin.lock.Locks``).
``ironcode.RWLock`` takes the core chosen in :mod:`ironcode.backend` when it is constructed;
``ironcode.ffi.RWLock`` and ``ironcode.twin.lock.RWLock`` are pinned to one. Each core has its own
registry: a key locked through one backend is not seen by the other.

Policy (``native/tool/src/lock.rs`` has it in full): writers have priority — a waiting writer
blocks new readers; each queue is FIFO; when no writer holds or waits, every waiting reader enters
at once; a key with no holders and no waiters is removed. Threads and tasks share their backend's
registry, so a thread's write excludes a task's read of the same key.

Reentrancy: none — holds are counted, not owned. A second acquisition of a key by the thread or
task that holds it is a new request under the same rules:

- read inside read: granted, unless a writer already waits (then it queues behind that writer,
  which waits for the outer read: a deadlock only the timeout ends);
- write inside read or write, read inside write: never granted; only the timeout ends it.

A guard (what ``lock.read()`` returns) is entered by one ``with`` at a time; entering it again while
it is held is ``invalid_argument`` (ask ``lock.read()`` for another guard). Any thread may leave it.

Timeouts are in seconds (``None``: no limit). Expiry raises ``IronCodeError`` kind ``timeout``
(also a ``TimeoutError``) and withdraws the request, so the queue behind it moves on; so does a
cancelled task.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, ClassVar, Protocol

from .errors import IronCodeError

READ = "read"
WRITE = "write"


class LockCore(Protocol):
    """What a backend provides: tickets that are granted now or queued, and two ways to wait."""

    def prepare_key(self, key: str) -> Any:
        """The key in the form ``try_acquire`` wants (done once per RWLock)."""

    def try_acquire(self, key: Any, mode: str, loop: asyncio.AbstractEventLoop | None) -> tuple[Any, bool]:
        """``(ticket, granted)``: granted now, or queued (for a task of ``loop`` if given)."""

    def wait(self, ticket: Any, timeout: float | None) -> bool:
        """Blocks the thread until ``ticket`` is granted (True) or ``timeout`` passes (False)."""

    def granted(self, ticket: Any, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
        """A future of ``loop`` resolved when the queued ``ticket`` is granted."""

    def release(self, ticket: Any) -> None:
        """Releases a held ticket."""

    def withdraw(self, ticket: Any, loop: asyncio.AbstractEventLoop) -> None:
        """Gives up a queued ticket of ``loop`` (or releases it, if granted meanwhile)."""

    def stats(self) -> dict:
        """``lock_stats()`` of this core's registry."""


def check_key(key: object) -> str:
    """A lock key is any string without NUL that encodes to UTF-8 (it crosses the C boundary)."""
    if not isinstance(key, str):
        raise IronCodeError("invalid_argument", f"lock key must be a string, got {type(key).__name__}")
    if "\0" in key:
        raise IronCodeError("invalid_argument", "lock key contains a NUL byte")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError as e:
        raise IronCodeError("invalid_argument", f"lock key is not valid Unicode: {e}") from None
    return key


def check_timeout(timeout: object) -> float | None:
    """Seconds to wait: ``None`` (or infinity) for no limit, else a number >= 0."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise IronCodeError(
            "invalid_argument", f"timeout must be a number of seconds or None, got {timeout!r}"
        )
    if math.isnan(timeout) or timeout < 0:
        raise IronCodeError("invalid_argument", f"timeout must be >= 0 seconds, got {timeout!r}")
    return None if math.isinf(timeout) else float(timeout)


def _chosen_core() -> LockCore:
    from . import backend

    return backend.implementation("RWLock").core


class RWLock:
    """A reader-writer lock named by ``key``: ``read()`` and ``write()`` give guards for
    ``with`` and ``async with``. Locks with equal keys are the same lock."""

    #: The backend's core; ``None`` here means "the one ironcode.backend chooses, at construction".
    core: ClassVar[LockCore | None] = None

    __slots__ = ("key", "_core", "_prepared")

    def __init__(self, key: str) -> None:
        self.key = check_key(key)
        self._core: LockCore = type(self).core or _chosen_core()
        self._prepared = self._core.prepare_key(self.key)

    def read(self, timeout: float | None = None) -> LockGuard:
        """A shared hold: many readers at once, none while a writer holds or waits."""
        return LockGuard(self, READ, check_timeout(timeout))

    def write(self, timeout: float | None = None) -> LockGuard:
        """An exclusive hold: no other reader or writer."""
        return LockGuard(self, WRITE, check_timeout(timeout))

    def __repr__(self) -> str:
        return f"{type(self).__module__}.RWLock({self.key!r})"


class LockGuard:
    """One hold of an :class:`RWLock`, acquired on entering ``with`` / ``async with``."""

    __slots__ = ("lock", "mode", "timeout", "_ticket")

    def __init__(self, lock: RWLock, mode: str, timeout: float | None) -> None:
        self.lock = lock
        self.mode = mode
        self.timeout = timeout
        self._ticket: Any = None

    @property
    def held(self) -> bool:
        return self._ticket is not None

    def __enter__(self) -> LockGuard:
        self._check_free()
        core = self.lock._core
        ticket, granted = core.try_acquire(self.lock._prepared, self.mode, None)
        if not granted:
            try:
                granted = core.wait(ticket, self.timeout)
            finally:
                if not granted:  # timed out, or interrupted (Ctrl-C) while waiting
                    core.release(ticket)
            if not granted:
                raise self._timed_out()
        self._ticket = ticket
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._leave()

    async def __aenter__(self) -> LockGuard:
        self._check_free()
        core = self.lock._core
        loop = asyncio.get_running_loop()
        ticket, granted = core.try_acquire(self.lock._prepared, self.mode, loop)
        if not granted:
            future = core.granted(ticket, loop)
            timer = None if self.timeout is None else loop.call_later(self.timeout, self._expire, future)
            try:
                await future
            except BaseException:  # the timeout, or the task was cancelled
                core.withdraw(ticket, loop)
                raise
            finally:
                if timer is not None:
                    timer.cancel()
        self._ticket = ticket
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._leave()

    def _leave(self) -> None:
        ticket, self._ticket = self._ticket, None
        if ticket is None:
            raise IronCodeError("invalid_argument", f"{self!r} is not held: nothing to release")
        self.lock._core.release(ticket)

    def _check_free(self) -> None:
        if self._ticket is not None:
            raise IronCodeError(
                "invalid_argument",
                f"{self!r} is already held; locks are not reentrant through one guard "
                f"(call .{self.mode}() again for a second hold)",
            )

    def _expire(self, future: asyncio.Future[None]) -> None:
        if not future.done():
            future.set_exception(self._timed_out())

    def _timed_out(self) -> IronCodeError:
        return IronCodeError(
            "timeout",
            f"timed out after {self.timeout:g} s waiting to {self.mode} lock {self.lock.key!r}; "
            "it is still held by another thread or task (use lock_stats() to see holders and waiters)",
        )

    def __repr__(self) -> str:
        return f"<{self.mode} guard of {self.lock!r}>"
