"""The ironcode command line: text and --json, options before or after the command, clean errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from .helpers import ROOT

IRONCODE = [sys.executable, "-m", "ironcode.cli"]


def cli(*args: str, stdin: str | None = None, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run(
        [*IRONCODE, *args], capture_output=True, text=True, input=stdin, cwd=cwd, env=env, timeout=120
    )


@pytest.mark.parametrize("backend", ["native", "python"])
def test_read_prints_numbered_lines_and_a_footer(tmp_path, backend):
    (tmp_path / "f.txt").write_text("alpha\nbeta\n")
    out = cli("--backend", backend, "read", str(tmp_path / "f.txt"))
    assert out.returncode == 0, out.stderr
    assert "1: alpha\n2: beta" in out.stdout and "(End of file - total 2 lines)" in out.stdout


@pytest.mark.parametrize("order", ["before", "after"])
def test_json_and_backend_work_before_or_after_the_command(tmp_path, order):
    (tmp_path / "f.txt").write_text("x\n")
    opts = ["--json", "--backend", "python"]
    args = (
        [*opts, "read", str(tmp_path / "f.txt")]
        if order == "before"
        else ["read", str(tmp_path / "f.txt"), *opts]
    )
    out = cli(*args)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["lines"] == ["x"]


def test_errors_are_one_line_on_stderr_with_nonzero_exit(tmp_path):
    out = cli("read", str(tmp_path / "missing.txt"))
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        f"ironcode: not_found: File not found: {tmp_path / 'missing.txt'}"
    ]
    assert "Traceback" not in out.stderr


def test_write_takes_stdin_or_content(tmp_path):
    assert cli("write", str(tmp_path / "a.txt"), stdin="from stdin\n").returncode == 0
    assert (tmp_path / "a.txt").read_text() == "from stdin\n"
    out = cli("--json", "write", str(tmp_path / "b.txt"), "-c", "inline")
    assert json.loads(out.stdout)["created"] is True and (tmp_path / "b.txt").read_text() == "inline"


def test_ls_prints_a_tree(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("")
    out = cli("ls", str(tmp_path))
    assert out.stdout.splitlines()[1:] == ["  src/", "    a.py"]


def test_stats_json_has_the_documented_keys():
    data = json.loads(cli("--json", "stats").stdout)
    assert {"cpu_percent", "memory_used_mb", "memory_total_mb", "memory_percent", "rss_mb"} <= set(data)


def test_extract_reports_files_and_refuses_zip_slip(tmp_path):
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as zf:
        zf.writestr("a/b.txt", "b")
    out = cli("extract", str(good), str(tmp_path / "out"))
    assert out.returncode == 0 and "Extracted 1 files" in out.stdout
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../evil.txt", "x")
    out = cli("extract", str(evil), str(tmp_path / "out2"))
    assert out.returncode == 1 and out.stderr.startswith("ironcode: unsafe_path:")
    assert not (tmp_path / "evil.txt").exists()


def test_help_lists_the_commands():
    out = cli("--help")
    for command in ("read", "write", "ls", "stats", "extract", "demo"):
        assert command in out.stdout


def test_unknown_backend_is_a_usage_error():
    out = cli("--backend", "cobol", "stats")
    assert out.returncode == 2 and "cobol" in out.stderr


def test_demo_runs_both_backends_side_by_side():
    out = cli("demo", "--runs", "1", cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "native" in out.stdout and "python" in out.stdout and "read" in out.stdout
    assert "NO" not in out.stdout.split()  # every compared answer agreed


def test_demo_has_a_row_for_every_tool_family_of_the_decision_table():
    from ironcode import backend

    out = cli("--json", "demo", "--runs", "1", cwd=ROOT)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["absent"] == [], report["absent"]  # git is there: nothing may be left out
    shown = {row["family"] for row in report["rows"]}
    families = {decision.module for decision in backend.DECISIONS.values()}
    assert families - shown == set(), f"the demo shows no {sorted(families - shown)}"
    expected = ["read", "write", "ls", "edit", "patch", "grep", "glob", "files", "git status", "parse-bash"]
    expected += ["fuzzy", "pty", "watcher", "lock", "extract", "stats", "toolbox"]
    tools = [row["tool"] for row in report["rows"]]
    assert [tool for tool in tools if tool in expected] == expected  # a new family adds a row anywhere
    for row in report["rows"]:
        assert row["native_ms"] > 0 and row["python_ms"] > 0, row
        if row["tool"] not in ("fuzzy", "stats"):  # different algorithms / a moment's readings
            assert row["same_answer"] is True, row
    by_tool = {row["tool"]: row["result"] for row in report["rows"]}
    assert by_tool["patch"] == "update notes.txt, add added.txt"
    assert by_tool["toolbox"].startswith("3 calls, edit: Edit applied successfully")
    assert by_tool["pty"] == repr("42\r\n") and by_tool["watcher"] == "add probe.txt"
    assert by_tool["git status"].endswith("2 changed files")  # the clone's change, not the checkout's


def snapshot(root) -> dict[str, tuple[int, int, bytes]]:
    """Every path below ``root`` (``.git`` included) with its mode, mtime and content."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            content = open(path, "rb").read() if os.path.isfile(path) and not os.path.islink(path) else b""
            found[os.path.relpath(path, root)] = (st.st_mode, st.st_mtime_ns, content)
    return found


@pytest.mark.parametrize("kind", ["repository", "plain folder"])
def test_demo_writes_only_in_a_temporary_folder_it_removes(tmp_path, kind):
    git = shutil.which("git")
    shown = tmp_path / "project"
    (shown / "src").mkdir(parents=True)
    (shown / "README.md").write_text("# project\n\nA line to edit.\nAnother line.\nA third one.\n")
    (shown / "src" / "cli.py").write_text("def main():\n    pass\n")
    if kind == "repository":
        assert git, "git is not installed"
        for args in (
            ["init", "-q"],
            ["add", "."],
            ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
        ):
            subprocess.run([git, *args], cwd=shown, check=True, capture_output=True)
    before = snapshot(shown)
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = dict(os.environ, PYTHONPATH=ROOT, TMPDIR=str(temp))
    out = subprocess.run(
        [*IRONCODE, "--json", "demo", "--runs", "1", str(shown)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    rows = {row["tool"]: row for row in report["rows"]}
    assert rows["edit"]["same_answer"] is True and rows["read"]["result"] == "5 total lines"
    assert rows["git status"]["same_answer"] is True
    assert snapshot(shown) == before  # the folder shown is only read
    assert os.listdir(temp) == []  # and the scratch folder is gone
    assert sorted(os.listdir(tmp_path)) == ["project", "tmp"]
