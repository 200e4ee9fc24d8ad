"""bench-edit.py --quick runs and names its rows the way the issue asks: cases
"<size> lines, <path>" (size 10/100/1K/5K/10K, path exact/fuzzy/no match), impls python and
native. Never asserts on time."""

from __future__ import annotations

import re

from .helpers import quick_bench

CASE = re.compile(r"^(10|100|1K|5K|10K) lines, (exact|fuzzy|no match)$")


def test_bench_edit_quick_rows_are_named_by_size_and_path():
    report, stdout = quick_bench("bench-edit.py")
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
    assert "| migration plan |" in stdout
