"""The search benchmarks run in their --quick form and write the report format of ARCHITECTURE.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["file-list", "glob", "grep"])
def test_search_benchmark_quick_run_writes_the_json_report(tmp_path, name):
    out = tmp_path / f"{name}.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "script" / f"bench-{name}.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert report["bench"] == name and report["quick"] is True
    assert set(report["machine"]) >= {"cpu", "cores", "python"}
    cases = {row["case"] for row in report["rows"]}
    assert any(c.startswith("this repo") for c in cases) and any(c.startswith("stdlib") for c in cases)
    for row in report["rows"]:
        assert row["impl"] in {"native", "python", "rg"}
        if row.get("note", "").startswith("absent"):
            continue
        assert row["median_s"] > 0 and row["p95_s"] >= row["median_s"] and row["n"] >= 1
    assert {r["impl"] for r in report["rows"]} >= {"native", "python"}
