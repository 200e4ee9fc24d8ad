"""Every benchmark script runs in --quick mode and writes the JSON report of ARCHITECTURE.md.

Never asserts on time: speed is the benchmarks' job, correctness of their output is ours.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import ROOT, quick_bench

SCRIPTS = sorted(p.name for p in (Path(ROOT) / "script").glob("bench-*.py") if p.name != "bench-all.py")
IMPL_PREFIXES = ("native", "python")


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_quick_run_writes_the_report_format(script):
    report, stdout = quick_bench(script)
    assert "| case |" in stdout  # the markdown table
    assert isinstance(report["bench"], str) and report["bench"]
    assert set(report["machine"]) >= {"cpu", "cores", "python"}
    assert report["rows"], "no rows measured"
    impls = set()
    for row in report["rows"]:
        assert {"case", "impl", "median_s", "p95_s", "n", "peak_mb"} <= set(row)
        impls.add(row["impl"])
        if row["n"]:
            assert row["median_s"] > 0 and row["p95_s"] >= row["median_s"] * 0.999
    assert any(i.startswith("native") for i in impls) and any(i.startswith("python") for i in impls)
