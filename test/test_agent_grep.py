"""The grep tool through the toolbox, on both backends (AGENT.md: default files_with_matches,
head_limit 100, content lines cut at 500 characters with the rest counted), rg as the oracle."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from .agentlib import fails, ok, toolbox_on, write
from .conftest import BACKENDS, require_tool


@pytest.fixture
def root(tmp_path) -> Path:
    folder = tmp_path / "root"
    write(folder / "src" / "a.py", "import os\n\ndef f():\n    return os.getcwd()\n")
    write(folder / "src" / "b.py", "import sys\nprint(sys.argv)\n")
    write(folder / "notes.md", "import nothing here\n")
    os.utime(folder / "notes.md", (1, 1))
    return folder


@pytest.fixture(params=BACKENDS)
def box(request, root):
    with toolbox_on(request.param, [root]) as toolbox:
        yield toolbox


def rg(root: Path, *args: str) -> list[str]:
    done = subprocess.run([require_tool("rg"), *args, str(root)], capture_output=True, text=True, check=False)
    return done.stdout.splitlines()


def test_the_default_mode_lists_matching_files_as_rg_l(box, root):
    result = ok(box, "grep", {"pattern": "import"})
    assert result.data["mode"] == "files_with_matches"
    assert sorted(result.data["files"]) == sorted(rg(root, "-l", "--hidden", "import"))
    assert result.data["files"][-1] == str(root / "notes.md")  # newest first


def test_content_mode_shows_rg_lines_with_context(box, root):
    result = ok(box, "grep", {"pattern": "getcwd", "output_mode": "content", "before": 1})
    assert result.text.splitlines() == [
        f"{root / 'src/a.py'}-3-def f():",
        f"{root / 'src/a.py'}:4:    return os.getcwd()",
    ]


def test_count_mode_counts_per_file(box, root):
    result = ok(box, "grep", {"pattern": "sys", "output_mode": "count"})
    assert result.data["counts"] == [{"path": str(root / "src/b.py"), "count": 2}]


def test_glob_type_and_case_filters(box, root):
    assert ok(box, "grep", {"pattern": "IMPORT", "case_insensitive": True, "type": "py"}).data["total"] == 2
    assert ok(box, "grep", {"pattern": "import", "glob": "*.md"}).data["files"] == [str(root / "notes.md")]


def test_nothing_found_is_no_files_found_in_every_mode(box):
    for mode in ("files_with_matches", "content", "count"):
        result = ok(box, "grep", {"pattern": "absent-everywhere", "output_mode": mode})
        assert result.text == "No files found"


def test_head_limit_caps_results_and_the_note_says_how_many_more(box, root):
    for i in range(150):
        write(root / "many" / f"f{i:03}.txt", "needle\n")
    result = ok(box, "grep", {"pattern": "needle"})
    assert len(result.data["files"]) == 100 and result.data["total"] == 150
    assert "showing 100 of 150" in result.text
    assert len(ok(box, "grep", {"pattern": "needle", "head_limit": 5}).data["files"]) == 5


def test_content_lines_are_cut_at_500_characters_with_the_rest_counted(box, root):
    write(root / "min.js", "var a=" + "x" * 5000 + ";\n")
    result = ok(box, "grep", {"pattern": "var a", "output_mode": "content"})
    line = result.text.splitlines()[0]
    assert line.endswith("… [4507 more characters]")
    assert len(result.data["matches"][0]["text"]) == 500


def test_multiline_matches_span_lines(box, root):
    result = ok(box, "grep", {"pattern": r"f\(\):\n\s+return", "multiline": True, "output_mode": "content"})
    assert [m["line"] for m in result.data["matches"]] == [3, 4]


def test_bad_pattern_type_and_paths(box, root, tmp_path):
    fails(box, "grep", {"pattern": "("}, "invalid_pattern")
    fails(box, "grep", {"pattern": "x", "type": "no-such-type"}, "invalid_argument")
    fails(box, "grep", {"pattern": "x", "path": "missing"}, "not_found")
    write(tmp_path / "outside.txt", "needle\n")
    fails(box, "grep", {"pattern": "needle", "path": str(tmp_path)}, "outside_root")


def test_a_link_leading_out_is_never_searched(box, root, tmp_path):
    write(tmp_path / "out" / "secret.txt", "needle\n")
    (root / "link").symlink_to(tmp_path / "out")
    assert ok(box, "grep", {"pattern": "needle"}).text == "No files found"
