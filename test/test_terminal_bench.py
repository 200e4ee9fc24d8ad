"""`script/bench-terminal.py --quick` runs and writes the JSON report ARCHITECTURE.md describes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_writes_the_report_shape(tmp_path):
    out = tmp_path / "terminal.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "script" / "bench-terminal.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert report["bench"] == "terminal" and report["quick"] is True
    assert set(report["machine"]) >= {"cpu", "cores", "python"}
    impls_by_case: dict[str, set[str]] = {}
    for row in report["rows"]:
        assert set(row) >= {"case", "impl", "median_s", "p95_s", "n", "peak_mb"}
        impls_by_case.setdefault(row["case"], set()).add(row["impl"])
        if row["median_s"] is not None:
            assert row["n"] > 0 and row["p95_s"] >= row["median_s"] > 0
    # every case is measured on both backends, side by side
    assert impls_by_case and all({"native", "python"} <= impls for impls in impls_by_case.values())
    assert "| case |" in done.stdout and "15.29x" in done.stdout
