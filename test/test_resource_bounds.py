"""Resource bounds: huge inputs must not make memory grow with them.

``script/resource-bounds.py`` measures the full-scale cases (a 1 GB read, a 100 MB single-line
grep, a 200K-file tree; ``make resource-bounds``); here it runs at a tenth of that scale with the
same bounds, and the grep limits it relies on are checked on both backends.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from ironcode.tools.grep import MAX_SEARCHED_LINE_MIB, format_grep
from ironcode.twin import grep as twin_grep

from .helpers import ROOT

SCRIPT = os.path.join(ROOT, "script", "resource-bounds.py")
MIB = 1 << 20


def test_resource_bounds_hold_at_a_tenth_of_the_scale(tmp_path):
    report_path = tmp_path / "bounds.json"
    proc = subprocess.run(
        [sys.executable, SCRIPT, "--scale", "small", "--json", str(report_path), "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert report_path.exists(), f"the script wrote no report (exit {proc.returncode}): {proc.stderr[-3000:]}"
    report = json.loads(report_path.read_text())
    failed = [row for row in report["rows"] if not row["ok"]]
    assert proc.returncode == 0 and not failed, json.dumps(failed, indent=1) + proc.stderr[-3000:]
    ops = {(row["op"], row["backend"]) for row in report["rows"]}
    assert ops == {
        (op, b)
        for op in ("read", "grep", "grep_count", "grep_multiline", "ls", "file_list", "glob")
        for b in ("native", "python")
    }
    for row in report["rows"]:
        assert 0 <= row["growth_mb"] <= row["bound_mb"]
    answers = {(row["op"], row["backend"]): row["answer"] for row in report["rows"]}
    assert answers[("read", "native")]["lines"] == 100
    # 10 MB without a newline is past the 8 MiB line limit: no match, the file named as cut.
    assert answers[("grep", "native")] == answers[("grep", "python")] == {"matches": 0, "long_lines": 1}
    # Count mode streams: '^' matches on every one of the ~100K lines of 10 MB.
    lines = answers[("grep_count", "native")]
    assert answers[("grep_count", "python")] == lines and lines["files"] == 1 and lines["total"] > 100_000
    # A multi-line search holds the whole file, so a file of 8 MiB or more is not searched.
    assert answers[("grep_multiline", "native")] == answers[("grep_multiline", "python")]
    assert answers[("grep_multiline", "native")] == {"matches": 0, "long_lines": 1}
    assert answers[("file_list", "native")] == answers[("file_list", "python")] == {"files": 20_000}
    assert os.listdir(tmp_path) == ["bounds.json"]  # the inputs are cleaned up


def test_the_tool_names_the_line_limit_the_twin_applies():
    # The native limit is checked through behaviour: both backends cut at the same length below.
    assert twin_grep.MAX_LINE_BYTES == MAX_SEARCHED_LINE_MIB * MIB


@pytest.fixture(scope="module")
def long_line_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("long")
    (folder / "cut.txt").write_bytes(b"needle before\n" + b"x" * (9 * MIB) + b" needle\nneedle after\n")
    (folder / "whole.txt").write_bytes(b"needle before\n" + b"y" * (7 * MIB) + b" needle\n")
    yield folder
    shutil.rmtree(folder)  # 16 MB that pytest would otherwise keep for three sessions


def test_a_line_past_the_limit_ends_its_file_search_and_is_reported(impl, long_line_files):
    result = impl.grep("needle", str(long_line_files), None, None)
    found = sorted((os.path.basename(m["path"]), m["line"]) for m in result["matches"])
    cut = str(long_line_files / "cut.txt")
    assert found == [("cut.txt", 1), ("whole.txt", 1), ("whole.txt", 2)]
    assert result["long_lines"] == [cut]
    assert "Searched only up to a line longer than 8 MiB in: " + cut in format_grep(result)


def test_a_long_matching_line_comes_back_cut_with_a_note(both, long_line_files):
    answers = [b.grep("needle", str(long_line_files / "whole.txt"), None, None) for b in both]
    assert answers[0] == answers[1]
    text = answers[0]["matches"][1]["text"]
    assert text == "y" * twin_grep.MAX_MATCH_TEXT_CHARS + twin_grep.TEXT_TRUNCATED_SUFFIX
    assert "long_lines" not in answers[0]


def test_both_backends_cut_at_the_same_line_length(both, tmp_path):
    """Lines (with their newline) just under, at and just over what the line buffer can hold."""
    limit = twin_grep.MAX_LINE_BYTES
    for length in (limit - 1, limit, limit + 1):
        path = tmp_path / f"line{length}.txt"
        path.write_bytes(b"a\n" + b"n" * (length - 1) + b"\nn\n")
        answers = [b.grep("n", str(path), None, None) for b in both]
        path.unlink()
        assert answers[0] == answers[1], length
        assert ("long_lines" in answers[0]) == (length > limit), length
