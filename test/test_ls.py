"""ls: recursive sorted file listing that skips dependency and build folders — both backends."""

from __future__ import annotations

import os

from ironcode.tools.ls import format_ls


def tree(root, *files: str) -> None:
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")


def test_lists_files_recursively_sorted_as_python_sorts(impl, tmp_path):
    tree(tmp_path, "b.txt", "a/x.py", "a-b.txt", "a.txt", "a/sub/y.py", "Z.md")
    result = impl.ls(str(tmp_path))
    assert result["files"] == sorted(["b.txt", "a/x.py", "a-b.txt", "a.txt", "a/sub/y.py", "Z.md"])
    assert result["root"] == str(tmp_path) and result["truncated"] is False


def test_skips_dependency_build_and_cache_folders_at_any_depth(impl, tmp_path):
    tree(
        tmp_path,
        "keep.py",
        "node_modules/m/index.js",
        ".git/HEAD",
        "pkg/__pycache__/x.pyc",
        "target/release/lib.so",
        ".venv/bin/python",
        "deep/dist/bundle.js",
        "src/build/out.o",
    )
    assert impl.ls(str(tmp_path))["files"] == ["keep.py"]


def test_ignore_globs_skip_folders_and_files(impl, tmp_path):
    tree(tmp_path, "a.py", "a.log", "gen/x.py", "src/gen/y.py", "src/z.py")
    result = impl.ls(str(tmp_path), ["*.log", "gen/"])
    assert result["files"] == ["a.py", "src/z.py"]


def test_limit_truncates_after_sorting(impl, tmp_path):
    tree(tmp_path, *[f"f{i:02d}.txt" for i in range(10)])
    result = impl.ls(str(tmp_path), None, 3)
    assert result["files"] == ["f00.txt", "f01.txt", "f02.txt"] and result["truncated"]
    assert len(impl.ls(str(tmp_path), None, None)["files"]) == 10


def test_symlinked_folders_are_not_entered_and_loops_never_hang(impl, tmp_path):
    tree(tmp_path, "real/a.txt")
    os.symlink(tmp_path, tmp_path / "real" / "loop")
    os.symlink(tmp_path / "real" / "a.txt", tmp_path / "link.txt")
    os.symlink(tmp_path / "missing", tmp_path / "dangling")
    assert impl.ls(str(tmp_path))["files"] == ["link.txt", "real/a.txt"]


def test_unreadable_folder_is_skipped(impl, tmp_path):
    tree(tmp_path, "open/a.txt", "closed/b.txt")
    os.chmod(tmp_path / "closed", 0)
    try:
        files = impl.ls(str(tmp_path))["files"]
    finally:
        os.chmod(tmp_path / "closed", 0o755)
    assert "open/a.txt" in files  # root may still read "closed"; the walk must not fail either way


def test_missing_path_is_not_found(impl, tmp_path, expect_error):
    expect_error("not_found", impl.ls, str(tmp_path / "nope"))


def test_file_path_is_not_a_directory(impl, tmp_path, expect_error):
    tree(tmp_path, "f.txt")
    expect_error("not_a_directory", impl.ls, str(tmp_path / "f.txt"))


def test_tree_text_shows_folders_once(impl, tmp_path):
    tree(tmp_path, "a/x.py", "a/y.py", "b.txt")
    text = format_ls(impl.ls(str(tmp_path)))
    assert text.splitlines()[1:] == ["  a/", "    x.py", "    y.py", "  b.txt"]
