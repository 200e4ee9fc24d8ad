"""script/bench-shell.py runs in its quick form and writes the report ARCHITECTURE.md describes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_writes_the_json_report(tmp_path):
    out = tmp_path / "shell.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "script" / "bench-shell.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert report["bench"] == "shell"
    assert set(report["machine"]) >= {"cpu", "cores", "python"}
    rows = report["rows"]
    assert {row["impl"] for row in rows} == {"native", "python"}
    cases = {row["case"] for row in rows}
    assert len(cases) == 14 + 2  # the plan's 14 commands, one pass over all, command_prefix
    for row in rows:
        assert set(row) >= {"case", "impl", "median_s", "p95_s", "n", "peak_mb"}
        assert row["median_s"] > 0 and row["p95_s"] >= row["median_s"] and row["n"] >= 1
    assert any(row["peak_mb"] is not None for row in rows if row["case"].startswith("parse all 14"))
    assert "| migration plan |" in done.stdout and "0.020 ms per command" in done.stdout
