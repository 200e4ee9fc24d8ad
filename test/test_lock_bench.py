"""script/bench-lock.py --quick measures every case of the plan on both backends (never timed;
test_bench.py checks the report format common to all benchmarks)."""

from __future__ import annotations

from .helpers import quick_bench

LOCK_CASES = {
    f"{name} ({flavour})"
    for name in ("single read", "10 concurrent readers", "single write", "7 reads + 3 writes")
    for flavour in ("asyncio", "threads")
}


def test_bench_lock_quick_measures_every_case_on_both_backends():
    report, stdout = quick_bench("bench-lock.py")
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
    assert "| single read (asyncio) |" in stdout  # the markdown table
    assert "migration plan" in stdout
