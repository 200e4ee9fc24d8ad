"""git_status / vcs_info on both backends, checked against the real git binary.

Every case builds a repository state in a temp folder and compares the (xy, path, orig_path)
lines with ``git status --porcelain=v1 -z --untracked-files=all``.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest

from .conftest import require_tool
from .vcs_helpers import Repo, lines_of


@pytest.fixture
def repo(tmp_path) -> Repo:
    require_tool("git")
    r = Repo(tmp_path / "repo")
    r.write("README.md", "# project\n")
    r.write("src/main.py", "print('hello')\n" * 5)
    r.write("src/util.py", "".join(f"def f{i}():\n    return {i}\n" for i in range(20)))
    r.commit("init")
    return r


def status_lines(impl, repo: Repo, path: str | None = None) -> list[tuple[str, str, str | None]]:
    result = impl.git_status(str(path or repo.root), "library")
    assert result["root"] == os.path.realpath(repo.root)
    return lines_of(result)


def test_clean_repository_has_no_entries_and_names_the_branch(impl, repo):
    status = impl.git_status(str(repo.root), "library")
    assert status["files"] == [] and status["branch"] == "main"
    assert impl.vcs_info(str(repo.root), "library") == {
        "branch": "main",
        "added": 0,
        "modified": 0,
        "deleted": 0,
    }


def test_untracked_files_in_nested_new_folders_are_listed_one_by_one(impl, repo):
    repo.write("new/a/b/deep.txt")
    repo.write("new/a/other.txt")
    repo.write("top.txt")
    assert status_lines(impl, repo) == repo.porcelain()
    assert ("??", "new/a/b/deep.txt", None) in status_lines(impl, repo)


def test_modified_staged_and_staged_then_modified(impl, repo):
    repo.write("README.md", "# changed\n")
    repo.write("src/main.py", "print('staged')\n")
    repo.git("add", "src/main.py")
    repo.write("src/util.py", "x = 1\n")
    repo.git("add", "src/util.py")
    repo.write("src/util.py", "x = 2\n")
    got = status_lines(impl, repo)
    assert got == repo.porcelain()
    assert [xy for xy, _, _ in got] == [" M", "M ", "MM"]


def test_deleted_in_index_and_in_worktree(impl, repo):
    repo.git("rm", "-q", "--cached", "README.md")
    (repo.root / "src/main.py").unlink()
    got = status_lines(impl, repo)
    assert got == repo.porcelain()
    assert ("D ", "README.md", None) in got and (" D", "src/main.py", None) in got
    assert ("??", "README.md", None) in got


def test_staged_rename_reports_new_and_old_path(impl, repo):
    repo.git("mv", "src/util.py", "src/helpers.py")
    repo.write("src/helpers.py", (repo.root / "src/helpers.py").read_text() + "# edited\n")
    repo.git("add", "src/helpers.py")
    got = status_lines(impl, repo)
    assert got == repo.porcelain() == [("R ", "src/helpers.py", "src/util.py")]
    entry = impl.git_status(str(repo.root), "library")["files"][0]
    assert entry["status"] == "renamed" and entry["staged"] is True
    assert entry["similarity"] == repo.rename_scores()["src/helpers.py"]


def test_type_change_staged_and_unstaged(impl, repo):
    os.remove(repo.root / "README.md")
    os.symlink("src/main.py", repo.root / "README.md")
    os.remove(repo.root / "src/util.py")
    os.symlink("main.py", repo.root / "src/util.py")
    repo.git("add", "src/util.py")
    got = status_lines(impl, repo)
    assert got == repo.porcelain() == [(" T", "README.md", None), ("T ", "src/util.py", None)]


def test_merge_conflict_codes_come_from_the_conflict_entries(impl, repo):
    repo.write("both.txt", "base\n")
    repo.write("theirs-deletes.txt", "base\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "other")
    repo.write("both.txt", "theirs\n")
    repo.git("rm", "-q", "theirs-deletes.txt")
    repo.write("added.txt", "theirs\n")
    repo.commit("theirs")
    repo.git("checkout", "-q", "main")
    repo.write("both.txt", "ours\n")
    repo.write("theirs-deletes.txt", "ours\n")
    repo.write("added.txt", "ours\n")
    repo.commit("ours")
    repo.git("merge", "-q", "other", check=False)
    got = status_lines(impl, repo)
    assert got == repo.porcelain()
    assert sorted(xy for xy, _, _ in got) == ["AA", "UD", "UU"]
    assert {f["status"] for f in impl.git_status(str(repo.root), "library")["files"]} == {"conflicted"}


def test_ignored_files_are_absent(impl, repo):
    repo.write(".gitignore", "*.log\nbuild/\n")
    repo.write("debug.log")
    repo.write("build/out/a.o")
    repo.write("kept.txt")
    got = status_lines(impl, repo)
    assert got == repo.porcelain() == [("??", ".gitignore", None), ("??", "kept.txt", None)]


def test_paths_with_spaces_and_unicode(impl, repo):
    repo.write("dir with space/file name.txt")
    repo.write("ünïcødé/日本語.md", "hé\n")
    repo.git("add", "ünïcødé")
    repo.git("mv", "README.md", "lisez moi é.md")
    got = status_lines(impl, repo)
    assert got == repo.porcelain()
    assert ("R ", "lisez moi é.md", "README.md") in got
    assert ("A ", "ünïcødé/日本語.md", None) in got


def test_unborn_branch_takes_its_name_from_head(impl, tmp_path):
    require_tool("git")
    r = Repo(tmp_path / "fresh")
    r.git("symbolic-ref", "HEAD", "refs/heads/trunk")
    r.write("a.txt")
    r.write("b.txt")
    r.git("add", "a.txt")
    status = impl.git_status(str(r.root), "library")
    assert status["branch"] == "trunk"
    assert lines_of(status) == r.porcelain() == [("A ", "a.txt", None), ("??", "b.txt", None)]


def test_empty_unborn_repository_is_clean(impl, tmp_path):
    require_tool("git")
    r = Repo(tmp_path / "empty")
    assert impl.git_status(str(r.root), "library")["files"] == []


def test_detached_head_names_the_short_id(impl, repo):
    short = repo.git("rev-parse", "--short", "HEAD").strip()
    repo.git("checkout", "-q", "--detach")
    assert impl.git_status(str(repo.root), "library")["branch"] == f"HEAD (detached at {short})"


def test_a_path_inside_a_subfolder_finds_the_repository(impl, repo):
    repo.write("src/new.py")
    assert status_lines(impl, repo, str(repo.root / "src")) == repo.porcelain()
    assert status_lines(impl, repo, str(repo.root / "src" / "main.py")) == repo.porcelain()


def test_a_folder_outside_any_repository_is_a_git_error(impl, tmp_path, expect_error, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    error = expect_error("git", impl.git_status, str(lonely))
    assert "Not a git repository" in error.message and str(lonely) in error.message
    expect_error("git", impl.vcs_info, str(lonely))


def test_ceiling_directories_stop_the_search(impl, repo, expect_error, monkeypatch):
    inner = repo.root / "src"
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(repo.root))
    expect_error("git", impl.git_status, str(inner))


def test_missing_path_is_not_found(impl, tmp_path, expect_error):
    expect_error("not_found", impl.git_status, str(tmp_path / "nope"))


def test_bad_arguments_are_invalid(impl, repo, expect_error):
    expect_error("invalid_argument", impl.git_status, str(repo.root), "fastest")
    expect_error("invalid_argument", impl.git_status, "a\0b")
    expect_error("invalid_argument", impl.git_status, "")


def test_intent_to_add_files_show_as_worktree_additions(impl, repo):
    repo.write("planned.txt", "content\n")
    repo.write("empty-planned.txt", "")
    repo.git("add", "-N", "planned.txt", "empty-planned.txt")
    got = status_lines(impl, repo)
    assert got == repo.porcelain() == [(" A", "empty-planned.txt", None), (" A", "planned.txt", None)]


def test_intent_to_add_file_deleted_from_the_worktree(impl, repo):
    repo.write("gone.txt", "soon deleted\n")
    repo.git("add", "-N", "gone.txt")
    os.remove(repo.root / "gone.txt")
    assert status_lines(impl, repo) == repo.porcelain() == [(" D", "gone.txt", None)]
    # git pairs the deleted (empty-blob) entry with a new empty intent-to-add file: a rename
    repo.write("empty.txt", "")
    repo.git("add", "-N", "empty.txt")
    assert status_lines(impl, repo) == repo.porcelain() == [(" R", "empty.txt", "gone.txt")]


def test_intent_to_add_after_a_move_is_a_worktree_rename(impl, repo):
    os.rename(repo.root / "src/util.py", repo.root / "src/moved.py")
    repo.git("add", "-N", "src/moved.py")
    got = status_lines(impl, repo)
    assert got == repo.porcelain() == [(" R", "src/moved.py", "src/util.py")]


def test_status_reads_do_not_write_the_index(impl, repo):
    index = repo.root / ".git" / "index"
    before = index.stat().st_mtime_ns, index.read_bytes()
    os.utime(repo.root / "README.md", None)  # stat-dirty but unchanged
    impl.git_status(str(repo.root), "library")
    assert (index.stat().st_mtime_ns, index.read_bytes()) == before


def test_status_works_while_index_lock_is_held(impl, repo):
    (repo.root / ".git" / "index.lock").write_bytes(b"")
    repo.write("README.md", "changed\n")
    assert status_lines(impl, repo) == [(" M", "README.md", None)]
    assert (repo.root / ".git" / "index.lock").exists()


def test_vcs_info_counts_each_kind(impl, repo):
    repo.write("new.txt")
    repo.write("staged-new.txt")
    repo.git("add", "staged-new.txt")
    repo.write("README.md", "changed\n")
    repo.git("mv", "src/util.py", "src/renamed.py")
    os.remove(repo.root / "src/main.py")
    info = impl.vcs_info(str(repo.root), "library")
    assert info == {"branch": "main", "added": 2, "modified": 2, "deleted": 1}


def test_git_engine_gives_the_same_answer_as_the_library(both, repo):
    require_tool("git")
    repo.write("a b/new.txt")
    repo.git("mv", "src/util.py", "moved.py")
    repo.write("README.md", "changed\n")
    native, python = both
    answers = [impl.git_status(str(repo.root), engine) for impl in both for engine in ("library", "git")]
    assert all(a == answers[0] for a in answers)
    assert native.vcs_info(str(repo.root), "auto") == python.vcs_info(str(repo.root), "git")


def test_auto_engine_spawns_git_from_the_index_size_threshold(repo, monkeypatch):
    from ironcode.twin import vcs as twin

    assert twin.index_entry_count(twin.open_repository(str(repo.root))) == 3
    spawned = []
    real = twin.porcelain.status_files
    monkeypatch.setattr(twin.porcelain, "status_files", lambda *a: spawned.append(a) or real(*a))
    twin.git_status(str(repo.root), "auto")
    assert spawned == []
    monkeypatch.setattr(twin, "GIT_SPAWN_MIN_INDEX_ENTRIES", 3)
    repo.write("README.md", "changed\n")
    status = twin.git_status(str(repo.root), "auto")
    assert len(spawned) == 1 and lines_of(status) == repo.porcelain() == [(" M", "README.md", None)]


def test_an_unreadable_index_header_counts_as_empty(repo):
    from ironcode.twin import vcs as twin

    (repo.root / ".git" / "index").write_bytes(b"junk")
    assert twin.index_entry_count(twin.open_repository(str(repo.root))) == 0


def test_a_corrupt_index_is_a_git_error(impl, repo, expect_error):
    (repo.root / ".git" / "index").write_bytes(b"DIRC\0\0\0\2\0\0\0\5garbage")
    expect_error("git", impl.git_status, str(repo.root), "library")
    expect_error("git", impl.git_diff, str(repo.root))
    expect_error("git", impl.git_stage, str(repo.root), ["README.md"])


def test_a_repository_asked_about_again_sees_every_change(impl, repo):
    """The native backend keeps a repository open between calls once its config files have
    settled (vcs/cache.rs): each answer must still be git's, whatever changed in between — the
    worktree, the index, HEAD, .gitignore, the config, or the whole repository made anew."""
    from ironcode import ffi

    def settle() -> None:
        old = time.time() - 60
        os.utime(repo.root / ".git" / "config", (old, old))

    def check() -> None:
        assert status_lines(impl, repo) == repo.porcelain()
        assert impl.git_diff(str(repo.root)) == repo.git("diff", "--no-renames")
        assert impl.git_diff(str(repo.root), staged=True) == repo.git("diff", "--no-renames", "--cached")

    if impl.name == "native":
        ffi.vcs_cache(clear=True)
    settle()
    check()
    if impl.name == "native":
        assert ffi.vcs_cache()["kept"] == 1, "a settled repository is kept"
    repo.write("src/main.py", "print('changed')\n")
    check()
    repo.git("add", "src/main.py")
    check()
    repo.git("mv", "src/util.py", "src/helpers.py")
    check()
    repo.git("commit", "-q", "-m", "second")
    check()
    repo.write(".gitignore", "*.log\n")
    repo.write("build.log", "noise\n")
    repo.write("new.txt", "new\n")
    check()
    repo.git("mv", "README.md", "READ.md")
    check()
    repo.git("config", "status.renames", "false")  # a new config file: opened afresh
    check()
    settle()
    check()
    repo.write("src/main.py", "print('changed')\r\n")
    check()
    assert "+print('changed')\r" in impl.git_diff(str(repo.root))
    # libgit2 reads core.autocrlf once per open repository: a kept one must be opened again.
    repo.git("config", "core.autocrlf", "true")
    check()
    assert "src/main.py" not in impl.git_diff(str(repo.root))
    settle()
    check()
    if impl.name == "native":
        assert ffi.vcs_cache()["kept"] == 1
    shutil.rmtree(repo.root / ".git")
    repo.git("init", "-q", "-b", "other")
    check()
    assert impl.git_status(str(repo.root), "library")["branch"] == "other"
