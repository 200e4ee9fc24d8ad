"""Many Python threads in the library at once: no crash, no deadlock, same answers.

ctypes releases the GIL during a call, so native calls from several threads really overlap; the
barrier probe proves it without timing anything (with the GIL held, the second caller could never
enter and the barrier would time out).

The main test runs every stateless operation and the registries (terminals, watchers, locks,
fuzzy indexes) from eight threads at once, each thread going through the whole list in its own
order, and compares every answer with the one a single thread got. Nothing may hang: every wait
has a timeout, threads that do not finish fail the test, and a guard kills the run (with every
thread's traceback) should anything block past it.
"""

from __future__ import annotations

import faulthandler
import os
import random
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pygit2
import pytest

import ironcode
from ironcode import ffi

from .conftest import Impl, require_tool
from .vcs_helpers import Repo

THREADS = 8
#: Passes of each thread over the whole list of operations, in a shuffled order.
ROUNDS = 10
#: Longest any single wait in these tests (a terminal's echo, a watcher's event, a lock).
WAIT_S = 20.0
#: Longest a group of threads may take before the test calls it a deadlock.
THREADS_DEADLINE_S = 120.0
#: Past this, the whole run is killed with every thread's traceback: a hang fails, loudly.
GUARD_S = 300.0

Op = Callable[[Impl], Any]


@pytest.fixture(autouse=True)
def deadlock_guard():
    faulthandler.dump_traceback_later(GUARD_S, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def in_threads(worker: Callable[[int], Any], count: int = THREADS) -> list[Any]:
    """``worker(i)`` on ``count`` threads started together; their results, in order.

    The threads are daemons joined with a deadline, so a deadlock fails the test (naming the
    stuck threads) instead of hanging it.
    """
    results: list[Any] = [None] * count
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(i: int) -> None:
        try:
            start.wait(WAIT_S)
            results[i] = worker(i)
        except BaseException as e:  # re-raised in the test's thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,), name=f"worker-{i}", daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + THREADS_DEADLINE_S
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f"threads still running after {THREADS_DEADLINE_S} s (deadlock?): {stuck}"
    if errors:
        raise errors[0]
    return results


def test_native_calls_from_eight_threads_overlap():
    met = in_threads(lambda _: ffi._call("probe_barrier_ffi", THREADS, 20_000))
    assert met == [True] * THREADS


def _kind(fn: Callable[..., Any], *args: Any) -> str | None:
    try:
        fn(*args)
    except ironcode.IronCodeError as e:
        return e.kind
    return None


def _unique(tmp_path: Path, prefix: str) -> Path:
    return tmp_path / "unique" / f"{prefix}-{threading.get_ident()}-{time.monotonic_ns()}"


# ---- stateless operations -------------------------------------------------------------------


def stateless_ops(tmp_path: Path) -> dict[str, Op]:
    """Every stateless operation (and its errors), each returning a comparable answer."""
    text = tmp_path / "text.txt"
    text.write_text("".join(f"line {i}\n" for i in range(3000)))
    tree = tmp_path / "tree"
    for i in range(40):
        (tree / f"d{i % 5}").mkdir(parents=True, exist_ok=True)
        (tree / f"d{i % 5}" / f"f{i}.py").write_text(f"import os  # TODO {i}\n")
    (tree / "notes.md").write_text("todo: nothing\n")
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(20):
            zf.writestr(f"p/m{i}.py", f"# {i}\n")
    repo = Repo(tmp_path / "repo")
    repo.write("a.txt", "one\ntwo\n")
    repo.write("src/b.py", "print(1)\n")
    repo.commit("first")
    repo.write("a.txt", "one\nTWO\n")
    repo.write("new.txt", "new\n")
    code = "def f(x):\n    if x:\n        return 1\n    return 2\n" * 50
    items = [f"src/module_{i}/file_{i * 7}.py" for i in range(500)]
    unique = tmp_path / "unique"
    unique.mkdir()

    def write(impl: Impl) -> bytes:
        path = _unique(tmp_path, "w")
        impl.write(str(path), "payload\0with nul")
        return path.read_bytes()

    def edit_file(impl: Impl) -> tuple[str, int, int]:
        path = _unique(tmp_path, "e")
        path.write_text(code)
        result = impl.edit_file(str(path), "        return 1\n    return 2\n", "        return 3\n", True)
        return path.read_text(), result["additions"], result["deletions"]

    def extract(impl: Impl) -> tuple[int, list[str]]:
        dest = _unique(tmp_path, "x")
        result = impl.extract(str(archive), str(dest))
        return result["files"], sorted(os.listdir(dest / "p"))

    def git_write_cycle(impl: Impl) -> tuple:
        # Its own repository: stage, unstage, stage, commit, then the status must be clean.
        root = _unique(tmp_path, "g")
        pygit2.init_repository(str(root))
        config = pygit2.Repository(str(root)).config
        config["user.name"], config["user.email"] = "Thread", "thread@example.com"
        (root / "f.txt").write_text("x\n")
        staged = impl.git_stage(str(root), ["f.txt"])
        unstaged = impl.git_unstage(str(root), ["f.txt"])
        impl.git_stage(str(root), ["f.txt"])
        commit = impl.git_commit(str(root), "from a thread")
        return staged["paths"], unstaged["paths"], len(commit) > 0, impl.git_status(str(root))["files"]

    def status(impl: Impl, engine: str) -> dict:
        answer = impl.git_status(str(repo.root), engine)
        return {**answer, "root": os.path.realpath(answer["root"])}

    return {
        "read": lambda impl: impl.read(str(text), 100, 50),
        "read missing": lambda impl: _kind(impl.read, str(tmp_path / "missing")),
        "write": write,
        "ls": lambda impl: impl.ls(str(tree), ["d4"], None),
        "edit_replace exact": lambda impl: impl.edit_replace(
            code, "def f(x):\n    if x:", "def g(x):\n    if x:", True
        ),
        "edit_replace fuzzy": lambda impl: impl.edit_replace(code[:60], "def f(x):\n  if x:", "def h(y):"),
        "edit_replace ambiguous": lambda impl: _kind(impl.edit_replace, code, "return 1", "return 0"),
        "edit_candidates": lambda impl: impl.edit_candidates("line_trimmed", code[:200], "if x:\n return 1"),
        "levenshtein": lambda impl: impl.levenshtein("kitten sitting" * 5, "sitting kitten" * 5),
        "edit_file": edit_file,
        "file_list": lambda impl: sorted(impl.file_list(str(tree), ["*.py"])),
        "glob": lambda impl: sorted(impl.glob("**/*.py", str(tree), None)["files"]),
        "grep": lambda impl: sorted(
            (m["path"], m["line"]) for m in impl.grep("todo", str(tree), None, None, True)["matches"]
        ),
        "grep bad pattern": lambda impl: _kind(impl.grep, "(", str(tree)),
        "vcs_info": lambda impl: impl.vcs_info(str(repo.root)),
        "git_status library": lambda impl: status(impl, "library"),
        "git_status git": lambda impl: status(impl, "git"),
        "git_diff": lambda impl: impl.git_diff(str(repo.root)),
        "git_branches": lambda impl: impl.git_branches(str(repo.root)),
        "git stage/unstage/commit": git_write_cycle,
        "parse_bash": lambda impl: impl.parse_bash(
            "cd src && rm -rf build; echo $(ls) | grep x > o", str(tree)
        ),
        "command_prefix": lambda impl: impl.command_prefix(["git", "commit", "-m", "x"]),
        "fuzzy_search": lambda impl: impl.fuzzy_search("mod7fil", items, 20),
        "extract": extract,
        "stats": lambda impl: sorted(impl.stats()),
    }


# ---- registries --------------------------------------------------------------------------------


def _read_until(terminal: Any, marker: bytes) -> bool:
    deadline = time.monotonic() + WAIT_S
    seen = b""
    while seen.count(marker) < 2:  # the terminal's echo of the input, then cat's copy
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        seen += terminal.read(min(left, 1.0))
    return True


def terminal_session(impl: Impl, cwd: Path) -> tuple:
    marker = f"marker-{threading.get_ident()}-{time.monotonic_ns()}".encode()
    with impl.Terminal(["cat"], cwd=str(cwd)) as terminal:
        terminal.write(marker + b"\n")
        echoed = _read_until(terminal, marker)
        running = terminal.status()
    final = terminal.close()  # closing twice is harmless
    return echoed, running, final is not None


def watcher_session(impl: Impl, folder: Path) -> list[tuple[str, str]]:
    name = f"{threading.get_ident()}-{time.monotonic_ns()}.txt"
    with impl.Watcher(str(folder)) as watcher:
        (folder / name).write_text("x")
        deadline = time.monotonic() + WAIT_S
        kinds: list[str] = []
        while not kinds and time.monotonic() < deadline:
            events = watcher.wait(deadline - time.monotonic())
            kinds = [e["kind"] for e in events if os.path.basename(e["path"]) == name]
    return [("file", kinds[0])] if kinds else []


class SharedCounter:
    """A read-modify-write that loses updates unless the write lock excludes everyone else."""

    def __init__(self) -> None:
        self.value = 0
        self.writes = 0
        self.writer_inside = False
        self.lock = threading.Lock()  # guards `writes` only

    def write(self, impl: Impl) -> bool:
        with impl.RWLock("concurrency/counter").write(timeout=WAIT_S):
            self.writer_inside = True
            value = self.value
            time.sleep(0)  # let another thread run in the middle of the update
            self.value = value + 1
            self.writer_inside = False
        with self.lock:
            self.writes += 1
        return True

    def read(self, impl: Impl) -> bool:
        with impl.RWLock("concurrency/counter").read(timeout=WAIT_S):
            clean = not self.writer_inside
            time.sleep(0)
            return clean and not self.writer_inside


def registry_ops(tmp_path: Path, impl: Impl) -> tuple[dict[str, Op], Callable[[], None]]:
    """Lifecycles of every registry as operations, and a check of the counter afterwards."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    watched = tmp_path / "watched"
    watched.mkdir()
    items = [f"lib/part_{i}/item_{i % 13}.rs" for i in range(10_000)]
    shared_index = impl.FuzzyIndex(items)
    counter = SharedCounter()

    def own_index(impl: Impl) -> list[str]:
        with impl.FuzzyIndex(items[:300]) as index:
            return index.search("part1item", 10)

    def watcher_op(impl: Impl) -> list[tuple[str, str]]:
        folder = watched / f"{threading.get_ident()}"
        folder.mkdir(exist_ok=True)
        return watcher_session(impl, folder)

    def counter_holds() -> None:
        shared_index.close()
        assert counter.value == counter.writes

    ops: dict[str, Op] = {
        "terminal": lambda impl: terminal_session(impl, cwd),
        "watcher": watcher_op,
        "lock write": counter.write,
        "lock read": counter.read,
        "lock stats": lambda impl: sorted(impl.lock_stats()),
        "fuzzy index shared": lambda impl: shared_index.search("part12item", 10),
        "fuzzy index own": own_index,
    }
    return ops, counter_holds


# ---- the test ------------------------------------------------------------------------------------


def _open_resources(impl: Impl, backend: str) -> dict[str, int]:
    return {
        "terminals": len(impl.terminals()),
        "locks": impl.lock_stats()["total_locks"],
        "fuzzy indexes": ffi.fuzzy_index_count() if backend == "native" else 0,
        "descriptors": len(os.listdir("/proc/self/fd")),
    }


def _settled(measure: Callable[[], Any], expected: Any) -> Any:
    """``measure()`` once it equals ``expected`` or after WAIT_S (a thread of another test may be
    closing a descriptor of its own right now)."""
    deadline = time.monotonic() + WAIT_S
    value = measure()
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.05)
        value = measure()
    return value


@pytest.mark.parametrize("backend", ["native", "python"])
def test_eight_threads_of_every_operation_and_registry_match_single_threaded(tmp_path, backend):
    require_tool("git")
    impl = Impl(backend)
    if backend == "native":
        ffi.library()
    # Other tests may have left something open in these process-wide registries: compare counts.
    before = _open_resources(impl, backend)
    ops = stateless_ops(tmp_path)
    registries, counter_holds = registry_ops(tmp_path, impl)
    ops.update(registries)
    expected = {name: op(impl) for name, op in ops.items()}
    assert expected["terminal"] == (True, "running", True)
    assert expected["watcher"] == [("file", "add")]

    def worker(seed: int) -> list[str]:
        order = [name for _ in range(ROUNDS) for name in ops]
        random.Random(seed).shuffle(order)
        wrong = []
        for name in order:
            answer = ops[name](impl)
            if answer != expected[name]:
                wrong.append(f"{name}: {answer!r} != {expected[name]!r}")
        return wrong

    mismatches = [m for wrong in in_threads(worker) for m in wrong]
    assert mismatches == []
    counter_holds()
    assert _settled(lambda: _open_resources(impl, backend), before) == before
