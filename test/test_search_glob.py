"""glob on both backends: ripgrep ``--glob`` semantics over the shared walk, newest first."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from .searchlib import git_init, isolate_git_env, make_tree, rg_files

TREE = {
    ".gitignore": "*.log\nbuild/\n",
    "a.py": "",
    "src/b.py": "",
    "src/deep/c.py": "",
    "src/notes.txt": "",
    "debug.log": "",
    "build/gen.py": "",
    ".github/ci.py": "",
    "sp ace/ünï.py": "",
}


@pytest.fixture
def git_env(tmp_path_factory, monkeypatch) -> Path:
    return isolate_git_env(tmp_path_factory, monkeypatch)


@pytest.fixture
def repo(tmp_path: Path, git_env) -> Path:
    root = make_tree(git_init(tmp_path.resolve() / "repo"), TREE)
    now = time.time()
    for age, name in enumerate(sorted(TREE)):
        os.utime(root / name, (now - 10 * age, now - 10 * age))
    return root


@pytest.mark.parametrize(
    "pattern", ["*.py", "**/*.py", "src/*.py", "src/**", "*.log", "build/**", "**", "*.{py,txt}"]
)
def test_glob_finds_what_rg_files_with_that_glob_finds(impl, repo, pattern):
    result = impl.glob(pattern, str(repo), None)
    assert sorted(result["files"]) == [str(repo / f) for f in rg_files(repo, [pattern])]
    assert result["total"] == len(result["files"]) and not result["truncated"]


def test_glob_lists_absolute_paths_newest_first_and_respects_limit(impl, repo):
    result = impl.glob("*.py", str(repo), 3)
    by_age = sorted(
        (p for p in ("a.py", "src/b.py", "src/deep/c.py", ".github/ci.py", "sp ace/ünï.py")),
        key=lambda p: -os.stat(repo / p).st_mtime_ns,
    )
    assert result["files"] == [str(repo / p) for p in by_age[:3]]
    assert (result["total"], result["truncated"]) == (5, True)


def test_glob_keeps_ignored_files_it_names_but_never_lists_git(impl, repo):
    assert impl.glob("*.log", str(repo), None)["files"] == [str(repo / "debug.log")]
    # An ignored folder is entered only when the glob matches the folder itself.
    assert impl.glob("build/*", str(repo), None)["files"] == [] == rg_files(repo, ["build/*"])
    assert impl.glob("{build,build/*}", str(repo), None)["files"] == [str(repo / "build/gen.py")]
    assert rg_files(repo, ["{build,build/*}"]) == ["build/gen.py"]
    assert not any("/.git/" in f for f in impl.glob("**", str(repo), None)["files"])


def test_glob_without_a_match_is_empty(impl, repo):
    assert impl.glob("*.rs", str(repo)) == {"files": [], "total": 0, "truncated": False}


def test_bad_input_raises_a_clear_error_kind(impl, repo, expect_error):
    expect_error("invalid_pattern", impl.glob, "", str(repo))
    expect_error("invalid_pattern", impl.glob, "{a,b", str(repo))
    expect_error("invalid_pattern", impl.glob, "[abc", str(repo))
    expect_error("not_found", impl.glob, "*", str(repo / "missing"))
    expect_error("not_a_directory", impl.glob, "*", str(repo / "a.py"))
    expect_error("invalid_argument", impl.glob, "*", str(repo), "ten")
