"""The port of git's rename detection, on both backends, against git's own answer.

libgit2's rename detection disagrees with git's; these cases are where the difference shows:
edited renames near the 50 % threshold, symlinks, type changes, config switches and limits.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import require_tool
from .vcs_helpers import Repo, lines_of

WORDS = [f"line {i} " + "x" * (i % 9) for i in range(60)]


def text(indices: list[int], eol: str = "\n") -> str:
    return "".join(WORDS[i % len(WORDS)] + eol for i in indices)


@pytest.fixture
def repo(tmp_path) -> Repo:
    require_tool("git")
    return Repo(tmp_path / "repo")


def check(impl, repo: Repo) -> list[tuple[str, str, str | None]]:
    """Our lines equal git's, and every rename's similarity equals porcelain v2's score."""
    status = impl.git_status(str(repo.root), "library")
    assert lines_of(status) == repo.porcelain()
    scores = repo.rename_scores()
    assert {f["path"]: f["similarity"] for f in status["files"] if f["similarity"] is not None} == scores
    return lines_of(status)


def staged_move(repo: Repo, old: str, new: str, content: str | bytes) -> None:
    os.remove(repo.root / old)
    repo.write(new, content)
    repo.git("add", "-A")


@pytest.mark.parametrize("kept", [2, 3, 4, 5, 6, 8])
def test_edited_renames_around_the_threshold(impl, repo, kept):
    repo.write("old.txt", text(range(10)))
    repo.commit()
    staged_move(repo, "old.txt", "new.txt", text(list(range(kept)) + list(range(30, 40 - kept))))
    check(impl, repo)


def test_same_file_name_wins_among_identical_sources(impl, repo):
    repo.write("a/config.yml", "same\n")
    repo.write("b/other.yml", "same\n")
    repo.commit()
    os.remove(repo.root / "a/config.yml")
    os.remove(repo.root / "b/other.yml")
    repo.write("c/config.yml", "same\n")
    repo.git("add", "-A")
    assert ("R ", "c/config.yml", "a/config.yml") in check(impl, repo)


def test_unique_file_names_pair_before_the_best_score(impl, repo):
    repo.write("src/module.py", text(range(20)))
    repo.write("src/elsewhere.py", text(range(19)) + "tail\n")
    repo.commit()
    os.remove(repo.root / "src/module.py")
    os.remove(repo.root / "src/elsewhere.py")
    repo.write("lib/module.py", text(range(19)) + "tail\n")
    repo.git("add", "-A")
    check(impl, repo)


def test_symlinks_are_renamed_only_when_unchanged(impl, repo):
    os.symlink("target-one", repo.root / "link-a")
    os.symlink("target-two", repo.root / "link-b")
    repo.commit()
    os.rename(repo.root / "link-a", repo.root / "moved-a")
    os.remove(repo.root / "link-b")
    os.symlink("target-twx", repo.root / "moved-b")
    repo.git("add", "-A")
    got = check(impl, repo)
    assert ("R ", "moved-a", "link-a") in got and ("A ", "moved-b", None) in got


def test_a_staged_type_change_is_not_a_rename_source(impl, repo):
    repo.write("doc.txt", text(range(12)))
    repo.commit()
    os.remove(repo.root / "doc.txt")
    os.symlink("elsewhere", repo.root / "doc.txt")
    repo.write("copy.txt", text(range(12)))
    repo.git("add", "-A")
    assert check(impl, repo) == [("A ", "copy.txt", None), ("T ", "doc.txt", None)]


@pytest.mark.parametrize(
    "config",
    [
        {"status.renames": "false"},
        {"status.renames": "copies"},
        {"diff.renames": "false"},
        {"diff.renames": "false", "status.renames": "true"},
        {"status.renames": "off", "diff.renames": "copy"},
    ],
)
def test_rename_config_is_honoured(impl, repo, config):
    repo.write("keep.txt", text(range(15)))
    repo.write("move.txt", text(range(30, 45)))
    repo.commit()
    for key, value in config.items():
        repo.git("config", key, value)
    repo.write("keep.txt", text(range(15)) + "one more\n")
    repo.write("copy-of-keep.txt", text(range(15)))
    staged_move(repo, "move.txt", "moved.txt", text(range(30, 44)))
    check(impl, repo)


def test_rename_limit_skips_inexact_but_not_exact_renames(impl, repo):
    for name in ("a", "b", "c"):
        repo.write(f"{name}.txt", text(range(ord(name), ord(name) + 12)))
    repo.commit()
    repo.git("config", "status.renameLimit", "1")
    staged_move(repo, "a.txt", "a2.txt", text(range(ord("a"), ord("a") + 11)))
    staged_move(repo, "b.txt", "b2.txt", text(range(ord("b"), ord("b") + 11)))
    staged_move(repo, "c.txt", "c2.txt", text(range(ord("c"), ord("c") + 12)))
    got = check(impl, repo)
    assert ("R ", "c2.txt", "c.txt") in got and ("A ", "a2.txt", None) in got


def test_crlf_binary_and_empty_files(impl, repo):
    repo.write("crlf.txt", text(range(10), "\r\n"))
    repo.write("blob.bin", bytes(range(256)) * 4)
    repo.write("empty", "")
    repo.commit()
    staged_move(repo, "crlf.txt", "lf.txt", text(range(9)))
    staged_move(repo, "blob.bin", "blob2.bin", bytes(range(256)) * 3 + b"\0" * 256)
    staged_move(repo, "empty", "still-empty", "")
    check(impl, repo)


def test_one_source_copied_twice_with_copy_detection(impl, repo):
    repo.git("config", "status.renames", "copies")
    repo.write("orig.txt", text(range(20)))
    repo.commit()
    os.remove(repo.root / "orig.txt")
    repo.write("one.txt", text(range(20)))
    repo.write("two.txt", text(range(20)))
    repo.git("add", "-A")
    got = check(impl, repo)
    assert sorted(xy for xy, _, _ in got) == ["C ", "R "]


# ---- properties ------------------------------------------------------------------------------

line_lists = st.lists(st.integers(0, 59), min_size=0, max_size=14)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(old=line_lists, new=line_lists, crlf=st.booleans(), trailing=st.booleans())
def test_similarity_matches_git_on_generated_content(tmp_path_factory, old, new, crlf, trailing):
    """Both backends pair a deleted and an added file exactly when git does, with git's score."""
    require_tool("git")
    from ironcode import ffi
    from ironcode.twin import vcs as twin

    repo = Repo(tmp_path_factory.mktemp("sim") / "repo")
    before = text(old, "\r\n" if crlf else "\n")
    after = text(new)
    if not trailing:
        after = after.rstrip("\n")
    repo.write("dir/old name.txt", before)
    repo.commit()
    staged_move(repo, "dir/old name.txt", "other/new name.txt", after)
    want = repo.porcelain()
    scores = repo.rename_scores()
    for status in (ffi.git_status(str(repo.root), "library"), twin.git_status(str(repo.root), "library")):
        assert lines_of(status) == want
        assert {f["path"]: f["similarity"] for f in status["files"] if f["similarity"] is not None} == scores
