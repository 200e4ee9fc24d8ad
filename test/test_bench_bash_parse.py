"""script/bench-bash-parse.py runs in its quick form and writes the report ARCHITECTURE.md describes."""

from __future__ import annotations

from .helpers import quick_bench


def test_quick_benchmark_writes_the_json_report():
    report, stdout = quick_bench("bench-bash-parse.py")
    assert report["bench"] == "bash-parse"
    assert set(report["machine"]) >= {"cpu", "cores", "python"}
    rows = report["rows"]
    assert {row["impl"] for row in rows} == {"native", "python", "tree-sitter", "tree-sitter-terminated"}
    # tree-sitter's bare parse (the floor) is a row of the one-pass case only.
    floor = {row["case"] for row in rows if row["impl"].startswith("tree-sitter")}
    assert floor == {next(c for c in (row["case"] for row in rows) if c.startswith("parse all 14"))}
    cases = {row["case"] for row in rows}
    assert len(cases) == 14 + 2  # the plan's 14 commands, one pass over all, command_prefix
    for row in rows:
        assert set(row) >= {"case", "impl", "median_s", "p95_s", "n", "peak_mb"}
        assert row["median_s"] > 0 and row["p95_s"] >= row["median_s"] and row["n"] >= 1
    assert any(row["peak_mb"] is not None for row in rows if row["case"].startswith("parse all 14"))
    assert "| migration plan |" in stdout and "0.020 ms per command" in stdout
