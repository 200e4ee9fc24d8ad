"""script/bench-lock.py --quick measures every case of the plan on both backends (never timed;
test_bench.py checks the report format common to all benchmarks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from .helpers import ROOT

LOCK_CASES = {
    f"{name} ({flavour})"
    for name in ("single read", "10 concurrent readers", "single write", "7 reads + 3 writes")
    for flavour in ("asyncio", "threads")
}


def test_bench_lock_quick_measures_every_case_on_both_backends(tmp_path):
    out = tmp_path / "lock.json"
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "script", "bench-lock.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, PYTHONPATH=ROOT),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["bench"] == "lock" and report["quick"] is True
    rows = report["rows"]
    for row in rows:
        assert row["impl"] in ("native", "python", "no-lock")
        assert row["median_s"] > 0 and row["p95_s"] >= row["median_s"] and row["n"] >= 1
    timed = {(row["case"], row["impl"]) for row in rows}
    for case in LOCK_CASES:
        assert {(case, "native"), (case, "python"), (case, "no-lock")} <= timed
    assert ("FFI crossing: ctypes call, no JSON", "native") in timed
    assert ("lock_stats() round trip", "python") in timed
    assert "| single read (asyncio) |" in result.stdout  # the markdown table
    assert "migration plan" in result.stdout
