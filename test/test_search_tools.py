"""The text a model sees from grep and glob, and the ``ironcode files|glob|grep`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ironcode.cli import main
from ironcode.tools.glob import format_files, format_glob
from ironcode.tools.grep import MAX_LINE_CHARS, format_grep


def test_grep_text_prints_rg_lines_and_previews_long_lines():
    result = {
        "matches": [
            {"path": "/r/a.py", "line": 1, "text": "import os"},
            {"path": "/r/a.py", "line": 7, "text": "x" * (MAX_LINE_CHARS + 5)},
            {"path": "/r/b.py", "line": 2, "text": "import sys"},
        ],
        "total": 3,
        "truncated": False,
    }
    assert format_grep(result).split("\n") == [
        "/r/a.py:1:import os",
        f"/r/a.py:7:{'x' * MAX_LINE_CHARS}… [5 more characters]",
        "/r/b.py:2:import sys",
    ]


def test_grep_text_says_how_many_matches_were_hidden_and_how_to_narrow():
    result = {"matches": [{"path": "/r/a.py", "line": 1, "text": "a"}], "total": 40, "truncated": True}
    text = format_grep(result)
    assert text.startswith("/r/a.py:1:a\n")
    assert "showing 1 of 40 matches, 39 hidden" in text
    assert "more specific pattern" in text


def test_empty_results_say_no_files_found():
    assert format_grep({"matches": [], "total": 0, "truncated": False}) == "No files found"
    assert format_glob({"files": [], "total": 0, "truncated": False}) == "No files found"
    assert format_files([]) == "No files found"


def test_glob_text_lists_paths_and_a_truncation_note():
    text = format_glob({"files": ["/r/new.py", "/r/old.py"], "total": 5, "truncated": True})
    assert text.split("\n")[:3] == ["/r/new.py", "/r/old.py", ""]
    assert "showing 2 of 5 files, 3 hidden" in text


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("import os\nprint(1)\n")
    (tmp_path / "src" / "b.rs").write_text("fn main() {}\n")
    (tmp_path / ".gitignore").write_text("*.log\n")
    (tmp_path / "x.log").write_text("import os\n")
    return tmp_path


@pytest.mark.parametrize("backend", ["native", "python"])
def test_cli_commands_print_text_and_json_on_both_backends(tree, backend):
    runner = CliRunner()
    out = runner.invoke(main, ["--backend", backend, "files", str(tree), "-g", "*.py"])
    assert out.exit_code == 0 and out.output.split() == ["src/a.py"]
    out = runner.invoke(main, ["glob", "**/*.rs", str(tree), "--backend", backend])
    assert out.exit_code == 0 and out.output.strip() == str(tree / "src" / "b.rs")
    out = runner.invoke(main, ["--backend", backend, "grep", "import", str(tree), "--include", "*.py"])
    assert out.exit_code == 0
    assert out.output.split("\n")[:2] == [f"{tree / 'src' / 'a.py'}:1:import os", ""]
    out = runner.invoke(main, ["--json", "--backend", backend, "grep", "-i", "PRINT", str(tree)])
    assert json.loads(out.output)["matches"] == [
        {"path": str(tree / "src" / "a.py"), "line": 2, "text": "print(1)"}
    ]


def test_cli_error_is_one_line_with_the_kind_and_exit_status_1(tree):
    out = CliRunner().invoke(main, ["grep", "(", str(tree)])
    assert out.exit_code == 1
    assert out.output.strip() == "ironcode: invalid_pattern: Invalid regex '(': unclosed group"
    out = CliRunner().invoke(main, ["files", str(tree / "nope")])
    assert out.exit_code == 1 and out.output.startswith("ironcode: not_found: ")
