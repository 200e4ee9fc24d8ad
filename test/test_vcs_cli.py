"""The git commands of the CLI, the model-facing text, and the benchmark's --quick run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ironcode.cli import main
from ironcode.tools.vcs import MAX_DIFF_BYTES, format_diff, format_status

from .conftest import require_tool
from .vcs_helpers import Repo

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo(tmp_path) -> Repo:
    require_tool("git")
    r = Repo(tmp_path / "repo")
    r.write("a.txt", "one\n")
    r.write("b.txt", "".join(f"line {i}\n" for i in range(20)))
    r.commit()
    r.write("a.txt", "two\n")
    r.git("mv", "b.txt", "c.txt")
    r.write("new.txt")
    return r


@pytest.mark.parametrize("backend", ["native", "python"])
def test_status_json_is_the_operation_result(repo, backend):
    result = CliRunner().invoke(main, ["--json", "--backend", backend, "status", str(repo.root)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [(f["xy"], f["path"]) for f in data["files"]] == [
        (" M", "a.txt"),
        ("R ", "c.txt"),
        ("??", "new.txt"),
    ]


def test_status_text_groups_like_git_status(repo):
    result = CliRunner().invoke(main, ["status", str(repo.root)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "On branch main",
        "",
        "Changes staged for commit:",
        "  renamed: b.txt -> c.txt (100% similar)",
        "",
        "Changes not staged for commit:",
        "  modified: a.txt",
        "",
        "Untracked files:",
        "  new.txt",
    ]


def test_vcs_and_diff_commands(repo):
    runner = CliRunner()
    out = runner.invoke(main, ["vcs", str(repo.root)])
    assert out.exit_code == 0 and out.output.strip() == "On branch main: 1 added, 2 modified, 0 deleted"
    out = runner.invoke(main, ["diff", str(repo.root), "--file", "a.txt"])
    assert out.exit_code == 0 and out.output == repo.git("diff", "--", "a.txt")
    out = runner.invoke(main, ["diff", "--json", str(repo.root), "--staged"])
    assert json.loads(out.output) == repo.git("diff", "--cached", "--no-renames")


def test_stage_unstage_commit_branches_commands(repo):
    runner = CliRunner()
    assert runner.invoke(main, ["stage", "-C", str(repo.root), "a.txt", "new.txt"]).exit_code == 0
    assert runner.invoke(main, ["unstage", "-C", str(repo.root), "new.txt"]).exit_code == 0
    out = runner.invoke(main, ["commit", "-C", str(repo.root), "-m", "via cli"])
    assert (
        out.exit_code == 0
        and out.output.strip() == f"Committed {repo.git('rev-parse', '--short', 'HEAD').strip()}"
    )
    out = runner.invoke(main, ["branches", str(repo.root)])
    assert out.output.startswith("* main ") and "via cli" in out.output
    assert repo.porcelain() == [("??", "new.txt", None)]


def test_errors_are_one_line_with_the_kind(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    result = CliRunner().invoke(main, ["status", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.startswith("ironcode: git: Not a git repository")


def test_status_text_of_a_clean_tree_and_conflicts():
    clean = {"branch": "main", "files": []}
    assert format_status(clean).endswith("nothing to commit, working tree clean")
    conflict = {"branch": "main", "files": [{"xy": "UU", "path": "x", "orig_path": None, "similarity": None}]}
    assert "both modified: x" in format_status(conflict)


def test_long_diffs_are_cut_with_a_note():
    patch = "".join(f"+line {i}\n" for i in range(20000))
    text = format_diff(patch)
    assert len(text.encode()) < MAX_DIFF_BYTES + 200
    assert text.endswith("Ask for one file at a time to see the rest.)")
    assert format_diff("") == "No changes."


def test_bench_quick_run_writes_the_report(tmp_path):
    require_tool("git")
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "script" / "bench-vcs.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert report["bench"] == "vcs" and report["quick"] is True
    assert set(report["machine"]) == {"cpu", "cores", "python"}
    cases = {row["case"] for row in report["rows"]}
    impls = {row["impl"] for row in report["rows"]}
    assert {"this repo", "50K files"} <= cases
    assert {"native", "python", "git-2spawn", "git-v2"} <= impls
    for row in report["rows"]:
        assert row["n"] >= 1 and row["median_s"] > 0 and row["p95_s"] >= row["median_s"]
