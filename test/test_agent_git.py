"""The git tools through the toolbox, on both backends, with the real git as the oracle."""

from __future__ import annotations

from pathlib import Path

import pytest

from .agentlib import fails, git, git_repo, ok, toolbox_on, write
from .conftest import BACKENDS, require_tool


@pytest.fixture(autouse=True)
def git_binary():
    return require_tool("git")


@pytest.fixture
def repo(tmp_path) -> Path:
    return git_repo(tmp_path / "repo", {"a.txt": "one\n", "src/b.py": "x = 1\n"})


@pytest.fixture(params=BACKENDS)
def box(request, repo):
    with toolbox_on(request.param, [repo]) as toolbox:
        yield toolbox


def test_git_status_groups_files_as_git_does(box, repo):
    write(repo / "a.txt", "two\n")
    write(repo / "new.txt", "n\n")
    git(repo, "add", "new.txt")
    result = ok(box, "git_status", {})
    assert result.text.splitlines() == [
        "On branch main",
        "",
        "Changes staged for commit:",
        "  new file: new.txt",
        "",
        "Changes not staged for commit:",
        "  modified: a.txt",
    ]
    pairs = {(f["path"], f["xy"]) for f in result.data["files"]}
    oracle = {(line[3:], line[:2]) for line in git(repo, "status", "--porcelain=v1", "-uall").splitlines()}
    assert pairs == oracle


def test_a_clean_tree_says_so(box):
    assert ok(box, "git_status", {}).text == "On branch main\nnothing to commit, working tree clean"


def test_git_diff_unstaged_staged_and_limited_to_paths(box, repo):
    write(repo / "a.txt", "two\n")
    write(repo / "src" / "b.py", "x = 2\n")
    result = ok(box, "git_diff", {})
    assert result.data["diff"] == git(repo, "diff", "--no-renames")
    assert "-one" in result.text and "+two" in result.text
    only = ok(box, "git_diff", {"paths": ["src/b.py"]})
    assert only.data["diff"] == git(repo, "diff", "--no-renames", "--", "src/b.py")
    assert ok(box, "git_diff", {"staged": True}).text == "No changes."
    git(repo, "add", "a.txt")
    assert ok(box, "git_diff", {"staged": True}).data["diff"] == git(repo, "diff", "--cached", "--no-renames")


def test_git_branches_marks_the_current_one(box, repo):
    git(repo, "branch", "feature")
    result = ok(box, "git_branches", {})
    assert result.data["current"] == "main"
    assert [b["name"] for b in result.data["branches"]] == ["feature", "main"]
    assert result.text.splitlines()[1].startswith("* main ")


def test_stage_unstage_and_commit(box, repo):
    write(repo / "a.txt", "two\n")
    write(repo / "src" / "c.py", "y = 1\n")
    staged = ok(box, "git_stage", {"paths": ["a.txt", "src"]})
    assert staged.data["paths"] == ["a.txt", "src"]
    assert sorted(git(repo, "diff", "--cached", "--name-only").split()) == ["a.txt", "src/c.py"]
    ok(box, "git_unstage", {"paths": ["src/c.py"]})
    assert git(repo, "diff", "--cached", "--name-only").split() == ["a.txt"]
    result = ok(box, "git_commit", {"message": "Change a\n\nbody"})
    short = result.data["short"]
    assert result.text == f"[main {short}] Change a"
    assert git(repo, "log", "-1", "--format=%h %s").strip() == f"{short} Change a"
    assert result.data["commit"] == git(repo, "rev-parse", "HEAD").strip()  # the full id


def test_paths_are_relative_to_path(box, repo):
    write(repo / "src" / "b.py", "x = 3\n")
    ok(box, "git_stage", {"path": "src", "paths": ["b.py"]})
    assert git(repo, "diff", "--cached", "--name-only").split() == ["src/b.py"]


def test_committing_nothing_is_a_git_error(box):
    assert "nothing to commit" in fails(box, "git_commit", {"message": "empty"}, "git").text
    fails(box, "git_commit", {"message": ""}, "invalid_argument")


def test_a_stage_path_outside_the_project_is_outside_root(box, repo, tmp_path):
    write(tmp_path / "elsewhere.txt", "x")
    fails(box, "git_stage", {"paths": ["../elsewhere.txt"]}, "outside_root")
    fails(box, "git_diff", {"paths": [str(tmp_path / "elsewhere.txt")]}, "outside_root")


def test_a_repository_whose_top_is_above_every_root_is_outside_root(repo):
    write(repo / "src" / "b.py", "changed\n")
    for backend_name in BACKENDS:
        with toolbox_on(backend_name, [repo / "src"]) as box:
            for name, args in (
                ("git_status", {}),
                ("git_diff", {}),
                ("git_branches", {}),
                ("git_stage", {"paths": ["b.py"]}),
                ("git_commit", {"message": "x"}),
            ):
                result = fails(box, name, args, "outside_root")
                assert str(repo) in result.text


def test_not_a_repository_is_a_git_error(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    with toolbox_on("native", [plain]) as box:
        assert "git init" in fails(box, "git_status", {}, "git").text


def test_acall_works_out_a_small_repository_on_the_loop_and_a_big_one_on_a_worker(repo, monkeypatch):
    import asyncio
    import threading

    import ironcode
    from ironcode.tools import vcs

    write(repo / "a.txt", "two\n")
    threads: list[str] = []
    for name in ("git_status", "git_diff"):
        real = getattr(ironcode, name)

        def spy(*args, real=real, **kwargs):
            threads.append(threading.current_thread().name)
            return real(*args, **kwargs)

        monkeypatch.setattr(ironcode, name, spy)

    async def calls(box):
        return [await box.acall(name, args) for name, args in (("git_status", {}), ("git_diff", {}))]

    with toolbox_on("native", [repo]) as box:
        small = asyncio.run(calls(box))
        monkeypatch.setattr(vcs, "QUICK_INDEX_BYTES", 0)  # now every index is "big"
        big = asyncio.run(calls(box))
        many_paths = asyncio.run(box.acall("git_diff", {"paths": ["a.txt"] * (vcs.QUICK_PATHS + 1)}))
    assert [r.data for r in small] == [r.data for r in big] and not many_paths.is_error
    assert "a.txt" in small[1].data["diff"]
    here = threading.current_thread().name
    assert threads[:2] == [here, here]  # small: on the loop, no hop
    assert all(t.startswith("ironcode-toolbox") for t in threads[2:])  # big, or many paths: a worker
    assert len(threads) == 4 + vcs.QUICK_PATHS + 1


def test_the_loop_path_confines_as_the_worker_path_does(repo, tmp_path):
    """acall's quick verdict is lexical (no realpath): a link inside the root to a small repository
    outside it, or a path outside, is still outside_root when the call runs on the loop."""
    import asyncio

    other = git_repo(tmp_path / "other", {"secret.txt": "s\n"})
    write(other / "secret.txt", "changed\n")
    (repo / "link").symlink_to(other)
    with toolbox_on("native", [repo]) as box:
        for args in ({"path": str(repo / "link")}, {"path": str(other)}, {"path": "link/secret.txt"}):
            for name in ("git_status", "git_diff"):
                result = asyncio.run(box.acall(name, args))
                assert result.is_error and result.data["kind"] == "outside_root", (name, args, result.text)
                assert "changed" not in result.text and "modified" not in result.text
