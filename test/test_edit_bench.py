"""bench-edit.py --quick runs and names its rows the way the issue asks: cases
"<size> lines, <path>" (size 10/100/1K/5K/10K, path exact/fuzzy/no match), impls python and
native. Never asserts on time."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from .helpers import ROOT

CASE = re.compile(r"^(10|100|1K|5K|10K) lines, (exact|fuzzy|no match)$")


def test_bench_edit_quick_rows_are_named_by_size_and_path(tmp_path):
    out = tmp_path / "edit.json"
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "script", "bench-edit.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, PYTHONPATH=ROOT),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["bench"] == "edit"
    cases: dict[str, set[str]] = {}
    for row in report["rows"]:
        assert CASE.match(row["case"]), row["case"]
        assert row["n"] > 0 and row["median_s"] > 0
        cases.setdefault(row["case"], set()).add(row["impl"])
    sizes = {case.split(" lines")[0] for case in cases}
    assert sizes >= {"10", "100", "1K"}
    for size in sizes:
        for path in ("exact", "fuzzy", "no match"):
            assert cases[f"{size} lines, {path}"] >= {"python", "native"}
    assert "| migration plan |" in proc.stdout
