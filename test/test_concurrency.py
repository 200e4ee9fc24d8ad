"""Many Python threads in the native library at once: no crash, no deadlock, same answers.

ctypes releases the GIL during a call, so native calls from several threads really overlap; the
barrier probe proves it without timing anything (with the GIL held, the second caller could never
enter and the barrier would time out).
"""

from __future__ import annotations

import os
import random
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest

import ironcode
from ironcode import ffi

THREADS = 8
CALLS_PER_THREAD = 200


def test_native_calls_from_eight_threads_overlap():
    with ThreadPoolExecutor(THREADS) as pool:
        met = list(pool.map(lambda _: ffi._call("probe_barrier_ffi", THREADS, 20_000), range(THREADS)))
    assert met == [True] * THREADS


@pytest.fixture
def workload(tmp_path):
    """(name, call) pairs of stateless operations and their single-threaded answers."""
    text = tmp_path / "text.txt"
    text.write_text("".join(f"line {i}\n" for i in range(3000)))
    tree = tmp_path / "tree"
    for i in range(40):
        (tree / f"d{i % 5}").mkdir(parents=True, exist_ok=True)
        (tree / f"d{i % 5}" / f"f{i}.py").write_text("x")
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(20):
            zf.writestr(f"p/m{i}.py", f"# {i}\n")
    counter = iter(range(10**9))

    def extract(impl):
        dest = tmp_path / f"out{next(counter)}"
        result = impl.extract(str(archive), str(dest))
        return result["files"], sorted(os.listdir(dest / "p"))

    def write(impl):
        path = tmp_path / "w" / f"{next(counter)}.txt"
        impl.write(str(path), "payload\0with nul")
        return path.read_bytes()

    return [
        ("read", lambda impl: impl.read(str(text), 100, 50)),
        ("read-missing", lambda impl: _kind(impl.read, str(tmp_path / "missing"))),
        ("ls", lambda impl: impl.ls(str(tree), None, None)),
        ("extract", extract),
        ("write", write),
        ("stats", lambda impl: sorted(impl.stats())),
    ]


def _kind(fn, *args):
    try:
        fn(*args)
    except ironcode.IronCodeError as e:
        return e.kind
    return None


@pytest.mark.parametrize("backend", ["native", "python"])
def test_eight_threads_of_mixed_operations_match_single_threaded(workload, backend):
    from .conftest import Impl

    impl = Impl(backend)
    expected = {name: call(impl) for name, call in workload}

    def worker(seed: int) -> list[str]:
        rng = random.Random(seed)
        wrong = []
        for _ in range(CALLS_PER_THREAD):
            name, call = rng.choice(workload)
            if call(impl) != expected[name]:
                wrong.append(name)
        return wrong

    with ThreadPoolExecutor(THREADS) as pool:
        mismatches = [m for result in pool.map(worker, range(THREADS)) for m in result]
    assert mismatches == []
