"""bench-all: runs benchmarks, writes the report and chart, audits the backend defaults."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

from .helpers import ROOT

SCRIPT = os.path.join(ROOT, "script", "bench-all.py")


def load_bench_all():
    sys.path.insert(0, os.path.join(ROOT, "script"))
    spec = importlib.util.spec_from_file_location("bench_all", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_all"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_quick_run_writes_report_chart_and_audit(tmp_path):
    report = tmp_path / "BENCHMARKS.md"
    proc = subprocess.run(
        [
            sys.executable,
            SCRIPT,
            "fs",
            "ffi",
            "--quick",
            "--report",
            str(report),
            "--json-dir",
            str(tmp_path / "out"),
            "--no-readme",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    text = report.read_text()
    assert "## Performance targets" in text and "## Audit of the backend defaults" in text
    assert "| read | native | fs: 'read ' |" in text
    assert (tmp_path / "BENCHMARKS.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # each module says when it ran and at what load, from its report's run record
    run = json.loads((tmp_path / "out" / "bench-fs.json").read_text())["run"]
    assert set(run) == {"started", "finished"} and isinstance(run["finished"]["load"], float)
    assert text.count("- run 20") == 2 and ", load average " in text
    # exit 1 is allowed only for a contradicted default, and then the report names it
    assert proc.returncode == 0 or "CONTRADICTED" in text, proc.stderr


def test_audit_flags_a_default_the_numbers_contradict(tmp_path):
    bench_all = load_bench_all()
    rows = [
        {"case": "read 100 lines", "impl": "native", "median_s": 2.0, "p95_s": 2.0, "n": 5, "peak_mb": None},
        {"case": "read 100 lines", "impl": "python", "median_s": 1.0, "p95_s": 1.0, "n": 5, "peak_mb": None},
    ]
    reports = {"fs": {"bench": "fs", "rows": rows}}
    lines, contradictions = bench_all.audit(reports)
    assert any(c.startswith("read: default native") for c in contradictions)
    assert any("**CONTRADICTED**" in line for line in lines)


def test_a_close_call_within_the_margin_is_not_a_contradiction():
    bench_all = load_bench_all()
    rows = [
        {"case": "write 1 KB", "impl": "native", "median_s": 1.0, "p95_s": 1.0, "n": 5, "peak_mb": None},
        {"case": "write 1 KB", "impl": "python", "median_s": 1.05, "p95_s": 1.05, "n": 5, "peak_mb": None},
    ]
    _, contradictions = bench_all.audit({"fs": {"bench": "fs", "rows": rows}})
    assert not [c for c in contradictions if c.startswith("write")]


def test_reports_are_json_with_the_documented_shape(tmp_path):
    out = tmp_path / "ffi.json"
    subprocess.run(
        [sys.executable, os.path.join(ROOT, "script", "bench-ffi.py"), "--quick", "--json", str(out)],
        check=True,
        capture_output=True,
    )
    data = json.loads(out.read_text())
    impls = {r["impl"] for r in data["rows"]}
    assert {"python", "native-ctypes", "native-cffi-abi"} <= impls


def test_report_tables_keep_each_benchmarks_plan_column_and_escape_pipes():
    bench_all = load_bench_all()
    from benchlib import markdown_table

    rows = [
        {"case": "parse a | b", "impl": impl, "median_s": t, "p95_s": t, "n": 3, "peak_mb": None}
        for impl, t in (("native", 1.0), ("python", 2.0))
    ]
    report = {"bench": "bash-parse", "rows": rows, "notes": [], "plan": {"parse a | b": "0.02 ms"}}
    table = markdown_table(bench_all.as_bench(report))
    header, _, row = table.splitlines()[2:5]
    assert header.endswith("| migration plan |")
    assert row == r"| parse a \| b | 1.00 s | 2.00 s | **2.00x faster** | 0.02 ms |"


def test_every_target_names_a_decision_and_finds_its_headline_case():
    bench_all = load_bench_all()
    from ironcode import backend

    for target in bench_all.TARGETS:
        assert target.op in backend.DECISIONS, target
    rows = [
        {"case": case, "impl": impl, "median_s": 1.0}
        for case in ("100 lines, fuzzy", "10K lines, fuzzy", "10K lines, no match")
        for impl in ("native", "python")
    ]
    assert bench_all.headline({"rows": rows}, r".* lines, fuzzy$")[0] == "10K lines, fuzzy"


def test_size_series_groups_cases_that_differ_only_by_their_size():
    bench_all = load_bench_all()
    rows = [
        {"case": f"{size} lines, fuzzy", "impl": impl, "median_s": t}
        for size, t in (("10", 1.0), ("100", 2.0), ("1K", 4.0))
        for impl in ("native", "python")
    ]
    rows += [{"case": "stats", "impl": "native", "median_s": 1.0}]
    series = bench_all.size_series({"bench": "edit", "rows": rows})
    assert series == {"edit: N lines, fuzzy": [(10.0, 1.0), (100.0, 1.0), (1000.0, 1.0)]}


def test_run_text_says_when_and_at_what_load_or_that_it_was_not_recorded():
    load_bench_all()
    from benchlib import run_text

    run = {
        "started": {"utc": "2026-12-01 23:51 UTC", "load": 0.81},
        "finished": {"utc": "2026-12-02 00:03 UTC", "load": 1.5},
    }
    assert run_text(run) == "run 2026-12-01 23:51-2026-12-02 00:03 UTC, load average 0.81 -> 1.50"
    run["finished"]["utc"] = "2026-12-01 23:53 UTC"
    assert run_text(run) == "run 2026-12-01 23:51-23:53 UTC, load average 0.81 -> 1.50"
    assert "not recorded" in run_text(None)
