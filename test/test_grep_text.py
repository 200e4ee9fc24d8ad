"""The grep text a model reads (``ironcode/tools/grep.py``) and ``ironcode grep``'s new flags.

Content mode prints what ``rg -n`` prints (``path:line:text``, ``path-line-text`` for context,
``--`` between groups), checked against the real rg's output; files and count modes print paths
and ``path:count``; long lines show a preview and how much was left out; the whole text stays
under 50 KB with a note on what was left out.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from ironcode.cli import main
from ironcode.tools.grep import MAX_LINE_CHARS, MAX_OUTPUT_BYTES, NO_FILES, format_grep

from .conftest import require_tool


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "a.txt").write_text("1\nfoo\n3\n4\n5\n6\nfoo\nfoo\n9\n")
    return tmp_path


def rg_text(root: Path, *flags: str) -> list[str]:
    rg = require_tool("rg")
    cmd = [rg, "-n", "--no-heading", "--with-filename", "--color", "never", *flags, str(root)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=root).stdout.splitlines()


@pytest.mark.parametrize("flags", [["-C1"], ["-B2"], ["-A1"], []])
def test_content_text_is_what_rg_prints(impl, tree, flags):
    keywords = {"-C1": {"context": 1}, "-B2": {"before": 2}, "-A1": {"after": 1}}.get(
        flags[0] if flags else "", {}
    )
    result = impl.grep("foo", str(tree), **keywords)
    assert format_grep(result, "content").split("\n") == rg_text(tree, *flags, "-e", "foo")


def test_separators_come_between_files_too(tmp_path):
    result = {
        "matches": [
            {"path": "/r/a", "line": 1, "text": "x", "kind": "match"},
            {"path": "/r/a", "line": 2, "text": "y", "kind": "context"},
            {"path": "/r/b", "line": 3, "text": "y", "kind": "context"},
            {"path": "/r/b", "line": 4, "text": "x", "kind": "match"},
        ],
        "total": 2,
        "truncated": False,
    }
    assert format_grep(result).split("\n") == ["/r/a:1:x", "/r/a-2-y", "--", "/r/b-3-y", "/r/b:4:x"]


def test_files_and_count_text(impl, tree):
    files = impl.grep("foo", str(tree), output_mode="files")
    assert format_grep(files, "files") == str(tree / "a.txt")
    counts = impl.grep("foo", str(tree), output_mode="count")
    assert format_grep(counts, "count").split("\n") == [f"{tree / 'a.txt'}:3", "", "(3 matches in 1 file)"]


@pytest.mark.parametrize("mode", ["content", "files", "count"])
def test_nothing_found_is_no_files_found_in_every_mode(impl, tree, mode):
    assert format_grep(impl.grep("nothing here", str(tree), output_mode=mode), mode) == NO_FILES


def test_a_long_line_shows_its_start_and_how_much_was_left_out(impl, tmp_path):
    (tmp_path / "min.js").write_text("x" * 650_000 + " needle\n")
    result = impl.grep("needle", str(tmp_path), max_line_chars=MAX_LINE_CHARS)
    text = format_grep(result)
    assert (
        text
        == f"{tmp_path / 'min.js'}:1:{'x' * MAX_LINE_CHARS}… [{650_007 - MAX_LINE_CHARS} more characters]"
    )
    # The same preview when the engine did not cut (no max_line_chars).
    uncut = {"matches": [{"path": "/p", "line": 1, "text": "y" * 600}], "total": 1, "truncated": False}
    assert format_grep(uncut).endswith("… [100 more characters]")


def test_the_whole_text_stays_under_50_kb_with_a_note(tmp_path):
    matches = [{"path": "/r/file.py", "line": n, "text": "z" * 400} for n in range(1, 1001)]
    text = format_grep({"matches": matches, "total": 1000, "truncated": False})
    assert len(text.encode()) < MAX_OUTPUT_BYTES
    assert "Output cut at 50 KB: showing" in text and "of 1000 lines" in text
    assert "more specific pattern" in text


def test_limit_notes_name_files_in_files_and_count_modes():
    text = format_grep({"files": ["/a"], "total": 7, "truncated": True}, "files")
    assert "showing 1 of 7 files, 6 hidden" in text
    text = format_grep(
        {"counts": [{"path": "/a", "count": 2}], "total": 9, "truncated": True, "matched_files": 4}, "count"
    )
    assert "showing 1 of 4 files, 3 hidden" in text and "(9 matches in 4 files)" in text


@pytest.mark.parametrize("backend", ["native", "python"])
def test_cli_grep_takes_the_mode_context_multiline_and_type_flags(tree, backend):
    runner = CliRunner()
    out = runner.invoke(main, ["--backend", backend, "grep", "foo", str(tree), "-C", "1"])
    assert out.exit_code == 0, out.output
    assert out.output.split("\n")[:4] == [
        f"{tree / 'a.txt'}-1-1",
        f"{tree / 'a.txt'}:2:foo",
        f"{tree / 'a.txt'}-3-3",
        "--",
    ]
    out = runner.invoke(main, ["--backend", backend, "grep", "foo", str(tree), "--mode", "count"])
    assert out.output.startswith(f"{tree / 'a.txt'}:3\n")
    out = runner.invoke(
        main, ["--backend", backend, "grep", "foo", str(tree), "--mode", "files", "--type", "txt"]
    )
    assert out.output.strip() == str(tree / "a.txt")
    out = runner.invoke(main, ["--backend", backend, "grep", "foo", str(tree), "--type", "py"])
    assert out.output.strip() == NO_FILES and out.exit_code == 0
    out = runner.invoke(main, ["--json", "--backend", backend, "grep", r"foo\nfoo", str(tree), "-U"])
    assert [m["line"] for m in json.loads(out.output)["matches"]] == [7, 8]
    out = runner.invoke(main, ["--backend", backend, "grep", "foo", str(tree), "--type", "pyton"])
    assert out.exit_code == 1 and "did you mean python" in out.output
