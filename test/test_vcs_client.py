"""git_diff, git_branches, git_stage, git_unstage and git_commit on both backends, each checked
against the git CLI's view of the result."""

from __future__ import annotations

import os

import pytest

from .conftest import require_tool
from .vcs_helpers import Repo


@pytest.fixture
def repo(tmp_path) -> Repo:
    require_tool("git")
    r = Repo(tmp_path / "repo")
    r.write("app.py", "def main():\n    x = 1\n    return x\n\n\nclass App:\n    pass\n" + "v = 0\n" * 12)
    r.write("docs/guide name.md", "# Guide\n\nintro\n")
    r.write("data.bin", bytes(range(256)))
    r.write("old.txt", "old\n")
    r.write("run.sh", "echo hi\n")
    r.commit("init")
    return r


def make_changes(repo: Repo) -> None:
    repo.write("app.py", (repo.root / "app.py").read_text().replace("x = 1", "x = 2") + "tail")
    repo.write("docs/guide name.md", "# Guide\n\nchanged intro\n")
    repo.write("data.bin", bytes(range(255)))
    os.remove(repo.root / "old.txt")
    os.chmod(repo.root / "run.sh", 0o755)
    repo.write("ünï.txt", "staged\n")
    repo.git("add", "ünï.txt", "app.py")
    repo.write("app.py", (repo.root / "app.py").read_text() + "\nmore")
    repo.write("planned.txt", "intent\n")
    repo.write("planned-empty.txt", "")
    repo.git("add", "-N", "planned.txt", "planned-empty.txt")


# ---- git_diff --------------------------------------------------------------------------------


@pytest.mark.parametrize("staged", [False, True])
def test_diff_equals_git_diff_no_renames(impl, repo, staged):
    make_changes(repo)
    want = repo.git("diff", "--no-renames", *(["--cached"] if staged else []))
    assert want  # the case is not vacuous
    assert impl.git_diff(str(repo.root), None, staged) == want


@pytest.mark.parametrize("file", ["app.py", "docs", "docs/guide name.md", "planned-empty.txt"])
def test_diff_of_one_file_or_folder(impl, repo, file):
    make_changes(repo)
    assert impl.git_diff(str(repo.root), file) == repo.git("diff", "--no-renames", "--", file)


def test_diff_file_is_relative_to_the_given_folder(impl, repo):
    make_changes(repo)
    assert impl.git_diff(str(repo.root / "docs"), "guide name.md") == repo.git(
        "diff", "--", "docs/guide name.md"
    )


def test_diff_of_a_clean_tree_is_empty(impl, repo):
    assert impl.git_diff(str(repo.root)) == ""
    assert impl.git_diff(str(repo.root), None, True) == ""


def test_diff_rejects_paths_outside_the_repository(impl, repo, tmp_path, expect_error):
    expect_error("invalid_argument", impl.git_diff, str(repo.root), str(tmp_path / "elsewhere.txt"))
    expect_error("invalid_argument", impl.git_diff, str(repo.root), "../x")
    expect_error("invalid_argument", impl.git_diff, str(repo.root), None, "yes")


# ---- git_branches ----------------------------------------------------------------------------


def test_branches_match_for_each_ref(impl, repo):
    repo.git("branch", "feature/x")
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("t.txt")
    repo.commit("topic work\n\nbody")
    repo.git("config", "branch.topic.remote", ".")
    repo.git("config", "branch.topic.merge", "refs/heads/main")
    want = [
        line.split("\t")
        for line in repo.git(
            "for-each-ref",
            "refs/heads",
            "--format=%(refname:short)\t%(objectname:short)\t%(subject)\t%(HEAD)\t%(upstream:short)",
        ).splitlines()
    ]
    result = impl.git_branches(str(repo.root))
    assert result["current"] == "topic"
    got = [
        [b["name"], b["commit"], b["subject"], "*" if b["current"] else " ", b["upstream"] or ""]
        for b in result["branches"]
    ]
    assert got == want


def test_branches_of_an_unborn_repository(impl, tmp_path):
    require_tool("git")
    r = Repo(tmp_path / "fresh")
    assert impl.git_branches(str(r.root)) == {"current": "main", "branches": []}


# ---- git_stage / git_unstage -----------------------------------------------------------------


def test_stage_adds_new_modified_and_deleted_files(impl, repo):
    make_changes(repo)
    repo.write("new dir/nested/file.txt")
    result = impl.git_stage(str(repo.root), ["docs", "old.txt", "new dir", "run.sh", "planned.txt"])
    assert result["paths"] == ["docs", "old.txt", "new dir", "run.sh", "planned.txt"]
    staged = repo.git("diff", "--cached", "--name-status", "--no-renames").splitlines()
    assert "M\tdocs/guide name.md" in staged
    assert "D\told.txt" in staged
    assert "A\tnew dir/nested/file.txt" in staged
    assert "M\trun.sh" in staged and "A\tplanned.txt" in staged
    assert repo.git("diff", "--", "docs", "old.txt", "new dir", "run.sh", "planned.txt") == ""


def test_stage_everything_with_dot_skips_ignored_files(impl, repo):
    repo.write(".gitignore", "*.log\n")
    repo.write("debug.log")
    repo.write("src/a b.py")
    impl.git_stage(str(repo.root), ["."])
    assert repo.git("status", "--porcelain=v1", "-uall").splitlines() == [
        "A  .gitignore",
        'A  "src/a b.py"',
    ]


def test_stage_relative_to_a_subfolder(impl, repo):
    repo.write("docs/extra.md")
    impl.git_stage(str(repo.root / "docs"), ["extra.md"])
    assert repo.git("diff", "--cached", "--name-only").splitlines() == ["docs/extra.md"]


def test_stage_errors(impl, repo, expect_error, tmp_path):
    repo.write(".gitignore", "*.log\n")
    repo.write("debug.log")
    expect_error("git", impl.git_stage, str(repo.root), ["debug.log"])
    expect_error("not_found", impl.git_stage, str(repo.root), ["no-such-file"])
    expect_error("invalid_argument", impl.git_stage, str(repo.root), [str(tmp_path / "outside")])
    expect_error("invalid_argument", impl.git_stage, str(repo.root), [".git/config"])
    expect_error("invalid_argument", impl.git_stage, str(repo.root), [])
    expect_error("invalid_argument", impl.git_stage, str(repo.root), "app.py")
    assert repo.git("diff", "--cached") == ""


def test_stage_fails_cleanly_while_the_index_is_locked(impl, repo, expect_error):
    repo.write("app.py", "changed\n")
    (repo.root / ".git" / "index.lock").write_bytes(b"")
    expect_error("git", impl.git_stage, str(repo.root), ["app.py"])


def test_unstage_restores_heads_version(impl, repo):
    make_changes(repo)
    repo.git("add", "-A")
    impl.git_unstage(str(repo.root), ["app.py", "old.txt", "ünï.txt", "docs"])
    staged = repo.git("diff", "--cached", "--name-only", "-z").split("\0")
    assert "app.py" not in staged and "old.txt" not in staged and "ünï.txt" not in staged
    assert "docs/guide name.md" not in staged and "run.sh" in staged
    status = dict(
        (line[3:], line[:2])
        for line in repo.git("status", "--porcelain=v1", "-z", "-uall").split("\0")
        if line
    )
    assert status["app.py"] == " M" and status["old.txt"] == " D" and status["ünï.txt"] == "??"


def test_unstage_on_an_unborn_branch_removes_the_entry(impl, tmp_path):
    require_tool("git")
    r = Repo(tmp_path / "fresh")
    r.write("a.txt")
    r.git("add", "a.txt")
    impl.git_unstage(str(r.root), ["a.txt"])
    assert r.porcelain() == [("??", "a.txt", None)]


def test_unstage_unknown_path_is_not_found(impl, repo, expect_error):
    expect_error("not_found", impl.git_unstage, str(repo.root), ["nothing-here"])


# ---- git_commit ------------------------------------------------------------------------------


def test_commit_returns_the_short_id_and_cleans_the_message(impl, repo, monkeypatch):
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(var, raising=False)
    repo.write("app.py", "changed\n")
    impl.git_stage(str(repo.root), ["app.py"])
    short = impl.git_commit(str(repo.root), "\n\nSubject line   \n\n\n\nBody text\t\n\n")
    assert short == repo.git("rev-parse", "--short", "HEAD").strip()
    assert repo.git("log", "-1", "--format=%B") == "Subject line\n\nBody text\n\n"
    assert repo.git("log", "-1", "--format=%an <%ae>|%cn <%ce>").strip() == (
        "Test Author <author@example.com>|Test Author <author@example.com>"
    )
    assert repo.porcelain() == []


def test_commit_author_from_the_environment(impl, repo, monkeypatch):
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Env Person")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "env@example.com")
    repo.write("app.py", "changed\n")
    repo.git("add", "app.py")
    impl.git_commit(str(repo.root), "env author")
    assert repo.git("log", "-1", "--format=%an <%ae>").strip() == "Env Person <env@example.com>"


def test_first_commit_on_an_unborn_branch(impl, tmp_path):
    require_tool("git")
    r = Repo(tmp_path / "fresh")
    r.write("a.txt")
    r.git("add", "a.txt")
    short = impl.git_commit(str(r.root), "first")
    assert short == r.git("rev-parse", "--short", "main").strip()
    assert r.git("rev-list", "--count", "HEAD").strip() == "1"


def test_commit_concludes_a_merge_with_both_parents(impl, repo):
    repo.git("checkout", "-q", "-b", "other")
    repo.write("app.py", "theirs\n")
    repo.commit("theirs")
    repo.git("checkout", "-q", "main")
    repo.write("app.py", "ours\n")
    repo.commit("ours")
    repo.git("merge", "-q", "other", check=False)
    repo.write("app.py", "resolved\n")
    repo.git("add", "app.py")
    impl.git_commit(str(repo.root), "merge other")
    parents = repo.git("rev-list", "--parents", "-1", "HEAD").split()
    assert len(parents) == 3
    assert not (repo.root / ".git" / "MERGE_HEAD").exists()


def test_commit_errors(impl, repo, expect_error, monkeypatch):
    expect_error("git", impl.git_commit, str(repo.root), "nothing staged")
    expect_error("invalid_argument", impl.git_commit, str(repo.root), " \n\t\n")
    expect_error("invalid_argument", impl.git_commit, str(repo.root), "a\0b")
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(var, raising=False)
    repo.git("config", "user.name", "")
    repo.git("config", "user.email", "")
    repo.write("app.py", "changed\n")
    repo.git("add", "app.py")
    error = expect_error("git", impl.git_commit, str(repo.root), "who am I")
    assert "user.name" in error.message
    assert repo.git("rev-list", "--count", "HEAD").strip() == "1"


def test_commit_refuses_unresolved_conflicts(impl, repo, expect_error):
    repo.git("checkout", "-q", "-b", "other")
    repo.write("app.py", "theirs\n")
    repo.commit("theirs")
    repo.git("checkout", "-q", "main")
    repo.write("app.py", "ours\n")
    repo.commit("ours")
    repo.git("merge", "-q", "other", check=False)
    error = expect_error("git", impl.git_commit, str(repo.root), "too early")
    assert "app.py" in error.message
