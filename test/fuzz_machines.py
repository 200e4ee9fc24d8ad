"""Random call sequences for the native registries: terminals, watchers, locks, fuzzy indexes.

Each machine drives one registry through raw ctypes (``ironcode.ffi.library()``) and keeps a model
of what should be open: create, use, close, close again, use after close, ids never issued. After
every step an invariant compares the registry with the model, and every call that can wait has a
timeout of at most :data:`MAX_WAIT_S`, so a hang shows as a slow run, never as a stuck one.
The machines run in the child process of ``test/fuzz_child.py`` (a crash cannot take pytest
down); the child logs each call before making it, so the parent can show the sequence that crashed.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections import deque
from collections.abc import Callable

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)

from . import fuzzlib

#: The longest any step may wait (seconds).
MAX_WAIT_S = 0.05
waits = st.sampled_from([0.0, 0.01, MAX_WAIT_S])

#: Called with a one-line description before every call (the child points it at its log).
before_call: Callable[[str], None] = lambda line: None  # noqa: E731


def call(symbol: str, *args) -> dict:
    """Calls an export through raw ctypes (:func:`fuzzlib.call_raw`: the C ABI contract checked)
    after logging it; no call may panic."""
    before_call(f"{symbol}({', '.join(repr(a)[:80] for a in args)})")
    envelope = fuzzlib.call_raw(symbol, args)
    assert envelope.get("error", {}).get("kind") != "panic", f"{symbol} panicked: {envelope}"
    return envelope


def ok(envelope: dict):
    assert "ok" in envelope, f"expected success, got {envelope}"
    return envelope["ok"]


def error(envelope: dict, *kinds: str) -> str:
    assert "error" in envelope, f"expected an error of kind {kinds}, got {envelope}"
    kind = envelope["error"]["kind"]
    assert kind in kinds, f"expected an error of kind {kinds}, got {envelope}"
    return kind


# ---- terminals -----------------------------------------------------------------------------------

TERMINAL_COMMANDS = [
    ["cat"],
    ["true"],
    ["sh", "-c", "echo hi; sleep 0.05"],
    ["sleep", "30"],
    ["sh", "-c", "exit 7"],
]
dimensions = st.one_of(st.integers(1, 200), st.sampled_from([0, -1, 65535, 65536]))


def valid_dimension(value: int) -> bool:
    return 1 <= value <= 65535


class TerminalMachine(RuleBasedStateMachine):
    """terminal_* exports against a model of the open sessions (``terminals_ffi`` lists them)."""

    terminals = Bundle("terminals")

    def __init__(self) -> None:
        super().__init__()
        self.open: set[str] = set()
        self.closed: set[str] = set()

    @rule(target=terminals, command=st.sampled_from(TERMINAL_COMMANDS), rows=dimensions, cols=dimensions)
    def create(self, command, rows, cols):
        envelope = call("terminal_create_ffi", json.dumps(command).encode(), b".", rows, cols, b"null")
        if not (valid_dimension(rows) and valid_dimension(cols)):
            if "ok" in envelope:  # close it, or it outlives this run's teardown
                call("terminal_close_ffi", envelope["ok"]["id"].encode())
            error(envelope, "invalid_argument")
            return multiple()
        info = ok(envelope)
        assert info["id"] not in self.open | self.closed, "an id was issued twice"
        self.open.add(info["id"])
        return info["id"]

    def _expect_session(self, envelope: dict, terminal: str):
        if terminal in self.closed:
            error(envelope, "not_found")
            return None
        return envelope

    @rule(terminal=terminals, data=st.binary(max_size=300))
    def write(self, terminal, data):
        envelope = self._expect_session(
            call("terminal_write_ffi", terminal.encode(), data, len(data)), terminal
        )
        if envelope is not None and "ok" in envelope:
            assert envelope["ok"] == len(data)
        elif envelope is not None:
            error(envelope, "invalid_argument")  # the program has exited

    @rule(terminal=terminals, timeout=waits, size=st.sampled_from([1, 7, 4096, 2 << 20]))
    def read(self, terminal, timeout, size):
        out = fuzzlib.OutBuffer(size)
        envelope = self._expect_session(
            call("terminal_read_ffi", terminal.encode(), timeout, out, size), terminal
        )
        if envelope is not None:
            assert 0 <= ok(envelope) <= size

    @rule(terminal=terminals, timeout=waits)
    def wait(self, terminal, timeout):
        envelope = self._expect_session(call("terminal_wait_ffi", terminal.encode(), timeout), terminal)
        if envelope is not None:
            code = ok(envelope)
            assert code is None or isinstance(code, int)

    @rule(terminal=terminals, rows=dimensions, cols=dimensions)
    def resize(self, terminal, rows, cols):
        envelope = call("terminal_resize_ffi", terminal.encode(), rows, cols)
        if not (valid_dimension(rows) and valid_dimension(cols)):
            error(envelope, "invalid_argument")
        elif self._expect_session(envelope, terminal) is not None:
            ok(envelope)

    @rule(terminal=terminals, symbol=st.sampled_from(["terminal_buffer_ffi", "terminal_drain_ffi"]))
    def buffer(self, terminal, symbol):
        envelope = self._expect_session(call(symbol, terminal.encode()), terminal)
        if envelope is not None:
            assert len(base64.b64decode(ok(envelope), validate=True)) <= 2 << 20

    @rule(terminal=terminals)
    def clear(self, terminal):
        envelope = self._expect_session(call("terminal_clear_ffi", terminal.encode()), terminal)
        if envelope is not None:
            ok(envelope)

    @rule(terminal=terminals)
    def info(self, terminal):
        envelope = self._expect_session(call("terminal_info_ffi", terminal.encode()), terminal)
        if envelope is not None:
            info = ok(envelope)
            assert info["id"] == terminal and info["status"] in ("running", "exited")

    @rule(terminal=terminals)
    def close(self, terminal):
        envelope = call("terminal_close_ffi", terminal.encode())
        if terminal in self.closed:
            error(envelope, "not_found")  # closing twice
            return
        assert ok(envelope)["id"] == terminal
        self.open.discard(terminal)
        self.closed.add(terminal)

    @rule(terminal=st.text(max_size=12))
    def unknown_id(self, terminal):
        if terminal not in self.open:
            error(
                call("terminal_info_ffi", terminal.encode("utf-8", "surrogatepass")),
                "not_found",
                "invalid_argument",
            )

    @rule(seconds=st.sampled_from([0.0, 3600.0]))
    def cleanup_idle(self, seconds):
        closed = ok(call("terminal_cleanup_idle_ffi", seconds))
        assert set(closed) <= self.open, (closed, self.open)
        if seconds >= 3600:
            assert closed == []
        self.open -= set(closed)
        self.closed |= set(closed)

    @invariant()
    def registry_matches_model(self):
        listed = [info["id"] for info in ok(call("terminals_ffi"))]
        assert len(listed) == len(set(listed))
        assert set(listed) == self.open

    def teardown(self):
        for terminal in sorted(self.open):
            ok(call("terminal_close_ffi", terminal.encode()))
        assert ok(call("terminals_ffi")) == []


# ---- watchers ------------------------------------------------------------------------------------

#: ``{a`` is the one invalid glob (an unclosed alternate group; a lone ``[`` is a literal).
IGNORES = [[], ["*.log"], ["sub/**"], ["{a"], ["**/*.tmp", "!keep.tmp"]]
MAX_QUEUES = [1, 3, 1000, 0, -1]
WATCH_TARGETS = ["w0", "w1", "missing", "plain.txt"]


class WatcherMachine(RuleBasedStateMachine):
    """watcher_* exports against a model of the open watchers; files change between the steps."""

    watchers = Bundle("watchers")

    def __init__(self) -> None:
        super().__init__()
        self.root = tempfile.mkdtemp(prefix="watch-", dir=os.getcwd())
        for folder in ("w0", "w1"):
            os.mkdir(os.path.join(self.root, folder))
        with open(os.path.join(self.root, "plain.txt"), "w") as f:
            f.write("x")
        self.open: dict[int, int] = {}  # id -> max_queue
        self.closed: set[int] = set()
        self.writes = 0

    @rule(
        target=watchers,
        folder=st.sampled_from(WATCH_TARGETS),
        ignore=st.sampled_from(IGNORES),
        max_queue=st.sampled_from(MAX_QUEUES),
    )
    def open_watcher(self, folder, ignore, max_queue):
        path = os.path.join(self.root, folder).encode()
        envelope = call("watcher_open_ffi", path, json.dumps(ignore).encode(), max_queue)
        expected_error = max_queue < 1 or folder in ("missing", "plain.txt") or ignore == ["{a"]
        if expected_error and "ok" in envelope:  # close it, or it outlives this run's teardown
            call("watcher_close_ffi", envelope["ok"]["id"])
        if max_queue < 1:
            error(envelope, "invalid_argument")
        elif folder == "missing":
            error(envelope, "not_found")
        elif folder == "plain.txt":
            error(envelope, "not_a_directory")
        elif ignore == ["{a"]:
            error(envelope, "invalid_pattern")
        elif "error" in envelope:
            error(envelope, "io")  # out of inotify instances: shared with every other process
        else:
            opened = ok(envelope)
            assert opened["id"] not in self.open and opened["id"] not in self.closed
            self.open[opened["id"]] = max_queue
            return opened["id"]
        return multiple()

    @rule(folder=st.sampled_from(["w0", "w1"]), name=st.sampled_from(["a.txt", "b.log", "sub", "c.tmp"]))
    def change_a_file(self, folder, name):
        path = os.path.join(self.root, folder, name)
        if name == "sub":
            os.makedirs(os.path.join(path, "inner"), exist_ok=True)
            return
        self.writes += 1
        if self.writes % 3 == 0 and os.path.exists(path):
            os.remove(path)
        else:
            with open(path, "a") as f:
                f.write("x")

    def _events(self, envelope: dict, watcher: int) -> None:
        if watcher not in self.open:
            error(envelope, "invalid_argument")
            return
        if "error" in envelope:
            error(envelope, "io")  # a pending failure (watches ran out) is raised once
            return
        events = ok(envelope)
        assert len(events) <= self.open[watcher]
        for event in events:
            assert event["kind"] in ("add", "change", "unlink"), event
            assert os.path.isabs(event["path"]) and event["path"].startswith(self.root), event

    @rule(watcher=watchers)
    def poll(self, watcher):
        self._events(call("watcher_poll_ffi", watcher), watcher)

    @rule(watcher=watchers, timeout=waits)
    def wait(self, watcher, timeout):
        self._events(call("watcher_wait_ffi", watcher, timeout), watcher)

    @rule(watcher=watchers)
    def info(self, watcher):
        envelope = call("watcher_info_ffi", watcher)
        if watcher not in self.open:
            error(envelope, "invalid_argument")
            return
        info = ok(envelope)
        assert info["pending"] <= self.open[watcher] and info["dropped"] >= 0

    @rule(watcher=watchers)
    def close(self, watcher):
        envelope = call("watcher_close_ffi", watcher)
        if watcher in self.open:
            ok(envelope)
            del self.open[watcher]
            self.closed.add(watcher)
        else:
            error(envelope, "invalid_argument")  # closing twice

    @rule(watcher=st.one_of(st.just(0), st.integers(2**62, 2**64 - 1)))
    def unknown_id(self, watcher):
        # Ids are issued from 1 up, process-wide: these are never issued.
        error(call("watcher_poll_ffi", watcher), "invalid_argument")

    @invariant()
    def registry_matches_model(self):
        # No export lists watchers: every open id must answer and every closed one must not.
        for watcher in self.open:
            ok(call("watcher_info_ffi", watcher))
        for watcher in self.closed:
            error(call("watcher_info_ffi", watcher), "invalid_argument")

    def teardown(self):
        for watcher in list(self.open):
            ok(call("watcher_close_ffi", watcher))


# ---- locks ---------------------------------------------------------------------------------------


class LockModel:
    """The lock policy of native/tool/src/lock.rs, written out plainly: writer priority, FIFO
    queues, a free key goes to the first waiting writer, else every waiting reader."""

    def __init__(self) -> None:
        self.keys: dict[str, dict] = {}
        self.tickets: dict[int, dict] = {}  # id -> {"key", "mode", "held", "channel"}
        self.channels: dict[int, list[int]] = {}  # id -> granted tickets not yet taken

    def _key(self, key: str) -> dict:
        return self.keys.setdefault(key, {"readers": 0, "writer": False, "wr": deque(), "ww": deque()})

    def try_acquire(self, ticket: int, key: str, mode: str, channel: int | None) -> bool:
        state = self._key(key)
        if mode == "read":
            granted = not state["writer"] and not state["ww"]
        else:
            granted = not state["writer"] and state["readers"] == 0 and not state["ww"]
        if granted and mode == "read":
            state["readers"] += 1
        elif granted:
            state["writer"] = True
        else:
            state["wr" if mode == "read" else "ww"].append(ticket)
        self.tickets[ticket] = {"key": key, "mode": mode, "held": granted, "channel": channel}
        return granted

    def release(self, ticket: int) -> None:
        entry = self.tickets.pop(ticket)
        state = self.keys[entry["key"]]
        if entry["held"] and entry["mode"] == "read":
            state["readers"] -= 1
        elif entry["held"]:
            state["writer"] = False
        else:
            state["wr" if entry["mode"] == "read" else "ww"].remove(ticket)
        self._grant(entry["key"])

    def _grant(self, key: str) -> None:
        state = self.keys[key]
        granted = []
        if not state["writer"] and state["readers"] == 0 and state["ww"]:
            state["writer"] = True
            granted.append(state["ww"].popleft())
        if not state["writer"] and not state["ww"]:
            state["readers"] += len(state["wr"])
            granted.extend(state["wr"])
            state["wr"].clear()
        if not (state["readers"] or state["writer"] or state["wr"] or state["ww"]):
            del self.keys[key]
            return
        for ticket in granted:
            self.tickets[ticket]["held"] = True
            channel = self.tickets[ticket]["channel"]
            if channel is not None:
                self.channels[channel].append(ticket)

    def close_channel(self, channel: int) -> None:
        del self.channels[channel]
        orphans = [t for t, e in self.tickets.items() if e["channel"] == channel and not e["held"]]
        for entry in self.tickets.values():
            if entry["channel"] == channel:
                entry["channel"] = None
        for ticket in sorted(orphans):
            self.release(ticket)

    def stats(self) -> dict:
        states = self.keys.values()
        return {
            "total_locks": len(self.keys),
            "active_readers": sum(s["readers"] for s in states),
            "active_writers": sum(s["writer"] for s in states),
            "waiting_readers": sum(len(s["wr"]) for s in states),
            "waiting_writers": sum(len(s["ww"]) for s in states),
        }


class LockMachine(RuleBasedStateMachine):
    """lock_* exports against :class:`LockModel`; ``lock_stats`` must equal the model's counts
    after every step (the process-wide registry is empty when a run starts and when it ends)."""

    tickets = Bundle("tickets")
    channels = Bundle("channels")

    def __init__(self) -> None:
        super().__init__()
        self.model = LockModel()
        self.released: set[int] = set()
        self.closed_channels: set[int] = set()

    @initialize()
    def registry_starts_empty(self):
        assert ok(call("lock_stats_ffi")) == self.model.stats()

    @rule(target=tickets, key=st.sampled_from(["a", "b"]), mode=st.sampled_from(["read", "write"]))
    def acquire(self, key, mode):
        attempt = ok(call("lock_try_ffi", key.encode(), mode.encode(), -1))
        assert attempt["granted"] == self.model.try_acquire(attempt["ticket"], key, mode, None), attempt
        return attempt["ticket"]

    @rule(
        target=tickets,
        key=st.sampled_from(["a", "b"]),
        mode=st.sampled_from(["read", "write"]),
        channel=channels,
    )
    def acquire_for_a_channel(self, key, mode, channel):
        envelope = call("lock_try_ffi", key.encode(), mode.encode(), channel)
        if channel in self.closed_channels:
            error(envelope, "invalid_argument")
            return multiple()
        attempt = ok(envelope)
        assert attempt["granted"] == self.model.try_acquire(attempt["ticket"], key, mode, channel), attempt
        return attempt["ticket"]

    @rule(ticket=tickets, timeout_us=st.sampled_from([0, 100, 2000]))
    def wait(self, ticket, timeout_us):
        envelope = call("lock_wait_ffi", ticket, timeout_us)
        if ticket not in self.model.tickets:
            error(envelope, "invalid_argument")
        else:  # one thread: nothing changes while it waits
            assert ok(envelope) == self.model.tickets[ticket]["held"]

    @rule(ticket=tickets)
    def release(self, ticket):
        envelope = call("lock_release_ffi", ticket)
        if ticket in self.model.tickets:
            ok(envelope)
            self.model.release(ticket)
            self.released.add(ticket)
        else:
            error(envelope, "invalid_argument")  # released twice, or withdrawn with its channel

    @rule(ticket=st.one_of(st.integers(-(2**63), -1), st.integers(10**12, 2**63 - 1)))
    def unknown_ticket(self, ticket):
        error(call("lock_release_ffi", ticket), "invalid_argument")
        error(call("lock_wait_ffi", ticket, 0), "invalid_argument")

    @rule(target=channels)
    def open_channel(self):
        opened = ok(call("lock_channel_open_ffi"))
        self.model.channels[opened["channel"]] = []
        return opened["channel"]

    @rule(channel=channels)
    def take(self, channel):
        envelope = call("lock_channel_take_ffi", channel)
        if channel in self.closed_channels:
            error(envelope, "invalid_argument")
            return
        assert ok(envelope) == self.model.channels[channel]
        self.model.channels[channel] = []

    @rule(channel=channels)
    def close_channel(self, channel):
        envelope = call("lock_channel_close_ffi", channel)
        if channel in self.closed_channels:
            error(envelope, "invalid_argument")
            return
        ok(envelope)
        self.model.close_channel(channel)
        self.closed_channels.add(channel)

    @invariant()
    def stats_match_model(self):
        assert ok(call("lock_stats_ffi")) == self.model.stats()

    def teardown(self):
        for channel in list(self.model.channels):
            ok(call("lock_channel_close_ffi", channel))
            self.model.close_channel(channel)
        for ticket in sorted(self.model.tickets):
            if ticket in self.model.tickets:
                ok(call("lock_release_ffi", ticket))
                self.model.release(ticket)
        assert ok(call("lock_stats_ffi")) == LockModel().stats()


# ---- fuzzy indexes -------------------------------------------------------------------------------

index_items = st.lists(
    st.sampled_from(["src/main.rs", "src/lib.rs", "README.md", "a\0b", "", "ÄÖ.txt", "tests/x.py"]),
    max_size=8,
)


def pack_items(items: list[str]) -> tuple[bytes, int, int, int]:
    if any("\0" in item for item in items):
        data = json.dumps(items).encode()
        return data, len(data), len(items), 1
    data = "\0".join(items).encode()
    return data, len(data), len(items), 0


class FuzzyIndexMachine(RuleBasedStateMachine):
    """fuzzy_index_* against the stateless ``fuzzy_search_ffi`` on the same items, and
    ``fuzzy_index_count_ffi`` against the model's open indexes."""

    indexes = Bundle("indexes")

    def __init__(self) -> None:
        super().__init__()
        self.open: dict[int, tuple[list[str], bytes | None]] = {}
        self.closed: set[int] = set()
        self.baseline = ok(call("fuzzy_index_count_ffi"))

    @rule(
        target=indexes,
        items=index_items,
        algorithm=st.sampled_from([None, b"nucleo", b"skim", b"sublime", b"nope"]),
    )
    def create(self, items, algorithm):
        envelope = call("fuzzy_index_new_ffi", *pack_items(items), algorithm)
        if algorithm == b"nope":
            if "ok" in envelope:  # close it, or it outlives this run's teardown
                call("fuzzy_index_close_ffi", envelope["ok"]["id"])
            error(envelope, "invalid_argument")
            return multiple()
        info = ok(envelope)
        assert info["len"] == len(items)
        self.open[info["id"]] = (items, algorithm)
        return info["id"]

    @rule(
        index=indexes,
        query=st.sampled_from(["", "src", "Src", "rs", "ä", "zz"]),
        limit=st.sampled_from([-1, 0, 1, 5]),
    )
    def search(self, index, query, limit):
        data = query.encode()
        envelope = call("fuzzy_index_search_ffi", index, data, len(data), limit)
        if index not in self.open:
            error(envelope, "invalid_argument", "not_found")
            return
        items, algorithm = self.open[index]
        found = ok(envelope)
        expected = ok(call("fuzzy_search_ffi", data, len(data), *pack_items(items), limit, algorithm))
        assert found == expected

    @rule(index=indexes)
    def close(self, index):
        was_open = ok(call("fuzzy_index_close_ffi", index))
        assert was_open == (index in self.open)  # closing twice answers False
        if was_open:
            del self.open[index]
            self.closed.add(index)

    @invariant()
    def count_matches_model(self):
        assert ok(call("fuzzy_index_count_ffi")) == self.baseline + len(self.open)

    def teardown(self):
        for index in list(self.open):
            assert ok(call("fuzzy_index_close_ffi", index)) is True


MACHINES = {
    "terminals": TerminalMachine,
    "watchers": WatcherMachine,
    "locks": LockMachine,
    "fuzzy_index": FuzzyIndexMachine,
}
