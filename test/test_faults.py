"""Faults: file-size limits, a vanished working directory, files that change while being read."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from .helpers import ROOT


@pytest.mark.parametrize("backend", ["native", "python"])
def test_write_over_the_file_size_limit_fails_cleanly_and_keeps_the_original(tmp_path, backend):
    target = tmp_path / "keep.txt"
    target.write_text("original")
    code = (
        "import resource, signal\n"
        "from ironcode import backend, IronCodeError\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))\n"
        f"write = backend.implementation('write', {backend!r})\n"
        "try:\n"
        f"    write({str(target)!r}, 'x' * (2 << 20))\n"
        "    print('no error')\n"
        "except IronCodeError as e:\n"
        "    print(e.kind)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ROOT}
    )
    assert out.returncode == 0, out.stderr  # SIGXFSZ is ignored by Python: the write sees EFBIG
    assert out.stdout.strip() == "io"
    assert target.read_text() == "original"
    assert os.listdir(tmp_path) == ["keep.txt"]  # the temporary file is gone too


@pytest.mark.parametrize("backend", ["native", "python"])
def test_relative_path_after_the_working_directory_was_deleted(tmp_path, backend):
    gone = tmp_path / "gone"
    gone.mkdir()
    code = (
        "import os, sys\n"
        "from ironcode import backend, IronCodeError\n"
        f"os.chdir({str(gone)!r}); os.rmdir({str(gone)!r})\n"
        f"read = backend.implementation('read', {backend!r})\n"
        "try:\n"
        "    read('file.txt')\n"
        "except IronCodeError as e:\n"
        "    print(e.kind, '|', e)\n"
        f"print(read({str(__file__)!r})['total_lines'] > 0)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ROOT}
    )
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.strip().splitlines()
    assert first.startswith("not_found |") and "current directory" in first
    assert second == "True"  # absolute paths still work


def test_a_file_rewritten_while_being_read_gives_a_whole_answer(impl, tmp_path):
    path = tmp_path / "changing.txt"
    versions = ["".join(f"v{v} line {i}\n" for i in range(20_000)) for v in range(3)]
    path.write_text(versions[0])
    stop = threading.Event()

    def rewrite():
        i = 0
        while not stop.is_set():
            i += 1
            path.write_text(versions[i % 3])  # not atomic on purpose: truncate then write

    writer = threading.Thread(target=rewrite)
    writer.start()
    try:
        for _ in range(100):
            try:
                result = impl.read(str(path), 1, 5)
            except Exception as e:  # an error is acceptable only as an IronCodeError
                assert getattr(e, "kind", None) in ("invalid_argument", "encoding", "io"), e
                continue
            assert len(result["lines"]) <= 5
            assert all(line.endswith(tuple(f"line {i}" for i in range(5))) for line in result["lines"])
    finally:
        stop.set()
        writer.join(timeout=10)
