"""``ironcode watch`` and ``script/bench-watcher.py --quick``: real processes, bounded in time.

Each process gets ``--timeout`` (it ends by itself) and every wait on it has a timeout too.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .helpers import quick_bench

ROOT = Path(__file__).resolve().parent.parent
#: The longest a test waits for the CLI to start or finish.
DEADLINE_S = 60.0


def start_watch(*args: str) -> subprocess.Popen:
    """Starts ``ironcode ARGS`` and returns once it printed its "Watching ..." line on stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ironcode.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    ready, _, _ = select.select([proc.stderr], [], [], DEADLINE_S)
    if not ready:
        proc.kill()
        proc.communicate(timeout=DEADLINE_S)
        pytest.fail("ironcode watch printed nothing on stderr")
    line = proc.stderr.readline()
    if not line.startswith("Watching"):
        proc.kill()
        out, err = proc.communicate(timeout=DEADLINE_S)
        pytest.fail(f"unexpected start: {line!r} {err!r}")
    return proc


def finish(proc: subprocess.Popen) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=DEADLINE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate(timeout=DEADLINE_S)
        pytest.fail("ironcode watch did not stop at its --timeout")


@pytest.mark.parametrize("backend", ["native", "python"])
def test_watch_json_prints_one_event_object_per_line(tmp_path, backend):
    proc = start_watch(
        "--json", "--backend", backend, "watch", str(tmp_path), "--timeout", "3", "-i", "*.log"
    )
    (tmp_path / "seen.txt").write_text("x")
    (tmp_path / "hidden.log").write_text("x")
    out, err = finish(proc)
    assert proc.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert {"path": str(tmp_path / "seen.txt"), "kind": "add"} in [
        {"path": e["path"], "kind": e["kind"]} for e in events
    ]
    assert all(set(e) == {"path", "kind", "timestamp"} for e in events)
    assert not any(e["path"].endswith(".log") for e in events)


def test_watch_text_shows_time_kind_and_relative_path(tmp_path):
    (tmp_path / "old.txt").write_text("x")
    proc = start_watch("watch", str(tmp_path), "--timeout", "3")
    (tmp_path / "old.txt").unlink()
    out, err = finish(proc)
    assert proc.returncode == 0, err
    line = next(line for line in out.splitlines() if "old.txt" in line)
    clock, kind, path = line.split()
    assert (kind, path) == ("unlink", "old.txt")
    time.strptime(clock.split(".")[0], "%H:%M:%S")


def test_watch_options_after_the_subcommand_work_too(tmp_path):
    proc = start_watch("watch", str(tmp_path), "--timeout", "2", "--json", "--backend", "python")
    (tmp_path / "a").write_text("x")
    out, _ = finish(proc)
    assert any(json.loads(line)["path"] == str(tmp_path / "a") for line in out.splitlines())


def test_watch_of_a_missing_path_fails_with_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "ironcode.cli", "watch", str(tmp_path / "nope"), "--timeout", "1"],
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"ironcode: not_found: File not found: {tmp_path / 'nope'}"]


def test_watch_rejects_a_negative_timeout(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "ironcode.cli", "watch", str(tmp_path), "--timeout", "-1"],
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_watch_stops_on_interrupt_without_a_traceback(tmp_path):
    proc = start_watch("watch", str(tmp_path))
    proc.send_signal(2)  # SIGINT, as Ctrl-C
    out, err = finish(proc)
    assert proc.returncode == 0
    assert "Traceback" not in err


def test_the_quick_benchmark_reports_every_case_for_every_implementation():
    data, stdout = quick_bench("bench-watcher.py")
    assert data["bench"] == "watcher" and data["quick"] is True
    assert set(data["machine"]) >= {"cpu", "cores", "python"}
    impls_by_case: dict[str, set[str]] = {}
    for row in data["rows"]:
        impls_by_case.setdefault(row["case"], set()).add(row["impl"])
    # bench-all's targets table finds the watcher's headline by this prefix
    assert [case for case in impls_by_case if case.startswith("latency")] == [
        "latency: write a file → its event"
    ]
    batch = {case for case in impls_by_case if case.startswith("batch: ")}
    assert len(batch) == 4 and len(impls_by_case) == 6
    for case, impls in impls_by_case.items():
        expected = {"native", "python"}
        if case.startswith(("latency", "batch: ")):
            expected.add("watchdog")  # watchdog's Observer, the baseline
        if "floor" in case:
            expected.add("unwatched")  # creating the files with nobody watching
        assert impls == expected, case
    for row in data["rows"]:
        assert set(row) >= {"case", "impl", "median_s", "p95_s", "n", "peak_mb"}
        assert row["median_s"] > 0 and row["n"] >= 1
    notes = " ".join(data["notes"])
    assert "events/s" in notes and "creation floor" in notes and "delivery" in notes
    assert "| case |" in stdout
