"""`script/bench-pty.py --quick` runs and writes the JSON report ARCHITECTURE.md describes."""

from __future__ import annotations

from .helpers import quick_bench


def test_quick_benchmark_writes_the_report_shape():
    report, stdout = quick_bench("bench-pty.py")
    assert report["bench"] == "pty" and report["quick"] is True
    assert set(report["machine"]) >= {"cpu", "cores", "python"}
    impls_by_case: dict[str, set[str]] = {}
    for row in report["rows"]:
        assert set(row) >= {"case", "impl", "median_s", "p95_s", "n", "peak_mb"}
        impls_by_case.setdefault(row["case"], set()).add(row["impl"])
        if row["median_s"] is not None:
            assert row["n"] > 0 and row["p95_s"] >= row["median_s"] > 0
    # every case is measured on both backends, side by side
    assert impls_by_case and all({"native", "python"} <= impls for impls in impls_by_case.values())
    assert "| case |" in stdout and "15.29x" in stdout


def test_bulk_case_has_the_bare_os_read_loop_as_its_limit():
    report, stdout = quick_bench("bench-pty.py")
    bulk = {row["impl"] for row in report["rows"] if row["case"].startswith("bulk:")}
    assert bulk == {"native", "python", "native-read", "python-read", "raw-pty"}
    assert any("the bare os.read loop (target 0.8x)" in note for note in report["notes"])
