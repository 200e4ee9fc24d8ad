"""script/bench-lock.py --quick runs and writes the report shape of ARCHITECTURE.md (never timed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conftest import run

ROOT = Path(__file__).resolve().parent.parent
LOCK_CASES = {
    f"{name} ({flavour})"
    for name in ("single read", "10 concurrent readers", "single write", "7 reads + 3 writes")
    for flavour in ("asyncio", "threads")
}


def test_bench_lock_quick_writes_every_case_for_both_backends(tmp_path):
    out = tmp_path / "lock.json"
    result = run(
        [sys.executable, str(ROOT / "script" / "bench-lock.py"), "--quick", "--json", str(out)], cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["bench"] == "lock" and report["quick"] is True
    assert set(report["machine"]) >= {"cpu", "cores", "python"}
    rows = report["rows"]
    for row in rows:
        assert set(row) >= {"case", "impl", "median_s", "p95_s", "n", "peak_mb"}
        assert row["impl"] in ("native", "python", "no-lock")
        assert row["median_s"] > 0 and row["p95_s"] >= row["median_s"] and row["n"] >= 1
    timed = {(row["case"], row["impl"]) for row in rows}
    for case in LOCK_CASES:
        assert {(case, "native"), (case, "python"), (case, "no-lock")} <= timed
    assert ("FFI crossing: ctypes call, no JSON", "native") in timed
    assert ("FFI round trip: lock_stats()", "python") in timed
    assert "| single read (asyncio) |" in result.stdout  # the markdown table
