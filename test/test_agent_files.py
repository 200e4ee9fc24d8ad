"""The file tools through the toolbox, on both backends: read, write, edit, glob, ls, find_files;
the roots (AGENT.md "Roots") and the read rule (AGENT.md "The read rule")."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .agentlib import call, fails, ok, toolbox_on, write
from .conftest import BACKENDS


@pytest.fixture(params=BACKENDS)
def backend_name(request) -> str:
    return request.param


@pytest.fixture
def root(tmp_path) -> Path:
    folder = tmp_path / "root"
    folder.mkdir()
    return folder


@pytest.fixture
def box(backend_name, root):
    with toolbox_on(backend_name, [root]) as toolbox:
        yield toolbox


# ---- read --------------------------------------------------------------------------------------


def test_read_numbers_lines_and_returns_the_engine_result(box, root):
    write(root / "a.py", "import os\r\nprint(1)\n")
    result = ok(box, "read", {"file_path": "a.py"})
    assert result.text.splitlines()[3:5] == ["1: import os", "2: print(1)"]
    assert "(End of file - total 2 lines)" in result.text
    assert result.data["lines"] == ["import os", "print(1)"]
    assert result.data["path"] == str(root / "a.py")


def test_read_window_says_how_to_continue(box, root):
    write(root / "long.txt", "".join(f"{i}\n" for i in range(1, 11)))
    result = ok(box, "read", {"file_path": str(root / "long.txt"), "offset": 3, "limit": 2})
    assert "3: 3" in result.text and "4: 4" in result.text
    assert "Use offset=5 to continue" in result.text


def test_read_errors_keep_the_engine_kinds(box, root):
    fails(box, "read", {"file_path": "missing.txt"}, "not_found")
    write(root / "bin.dat", b"\0\1\2")
    fails(box, "read", {"file_path": "bin.dat"}, "binary_file")
    (root / "folder").mkdir()
    fails(box, "read", {"file_path": "folder"}, "is_directory")
    write(root / "bad.txt", b"\xff\xfe\xfa")
    fails(box, "read", {"file_path": "bad.txt"}, "encoding")


# ---- write and edit ----------------------------------------------------------------------------


def test_write_creates_a_file_and_its_folders(box, root):
    result = ok(box, "write", {"file_path": "new/deep/a.txt", "content": "hi\n"})
    assert result.data == {"path": str(root / "new/deep/a.txt"), "bytes": 3, "created": True}
    assert result.text == f"Created {root / 'new/deep/a.txt'} (3 bytes)."


def test_write_over_a_file_read_first_replaces_it(box, root):
    write(root / "a.txt", "old\n")
    ok(box, "read", {"file_path": "a.txt"})
    assert ok(box, "write", {"file_path": "a.txt", "content": "new\n"}).data["created"] is False
    assert (root / "a.txt").read_text() == "new\n"


def test_edit_shows_the_diff_and_keeps_crlf(box, root):
    write(root / "a.txt", "one\r\ntwo\r\n")
    ok(box, "read", {"file_path": "a.txt"})
    result = ok(box, "edit", {"file_path": "a.txt", "old_string": "two", "new_string": "2"})
    assert result.text.startswith(f"Edit applied successfully to {root / 'a.txt'} (+1 -1 lines).")
    assert "-two" in result.text and "+2" in result.text
    assert (root / "a.txt").read_bytes() == b"one\r\n2\r\n"


def test_edit_with_empty_old_string_creates_a_missing_file(box, root):
    ok(box, "edit", {"file_path": "made.txt", "old_string": "", "new_string": "x\n"})
    assert (root / "made.txt").read_text() == "x\n"
    fails(box, "edit", {"file_path": "made.txt", "old_string": "", "new_string": "y"}, "empty_old_string")


def test_edit_errors_keep_the_engine_kinds(box, root):
    write(root / "a.txt", "x\nx\n")
    ok(box, "read", {"file_path": "a.txt"})
    fails(box, "edit", {"file_path": "a.txt", "old_string": "zzz", "new_string": "y"}, "no_match")
    fails(box, "edit", {"file_path": "a.txt", "old_string": "x", "new_string": "y"}, "multiple_matches")
    ok(box, "edit", {"file_path": "a.txt", "old_string": "x", "new_string": "y", "replace_all": True})
    assert (root / "a.txt").read_text() == "y\ny\n"


# ---- the read rule -----------------------------------------------------------------------------


def test_changing_a_file_not_read_is_not_read(box, root):
    write(root / "a.txt", "x\n")
    assert "read it first" in fails(box, "write", {"file_path": "a.txt", "content": "y"}, "not_read").text
    fails(box, "edit", {"file_path": "a.txt", "old_string": "x", "new_string": "y"}, "not_read")
    args = {"command": "str_replace", "path": "a.txt", "old_str": "x", "new_str": "y"}
    fails(box, "str_replace_based_edit_tool", args, "not_read")
    args = {"command": "insert", "path": "a.txt", "insert_line": 0, "new_str": "y"}
    fails(box, "str_replace_based_edit_tool", args, "not_read")
    assert (root / "a.txt").read_text() == "x\n"


def test_a_file_changed_since_the_read_is_stale_with_a_diff(box, root):
    write(root / "a.txt", "one\ntwo\nthree\n")
    ok(box, "read", {"file_path": "a.txt"})
    write(root / "a.txt", "one\nTWO\nthree\n")
    result = fails(box, "edit", {"file_path": "a.txt", "old_string": "one", "new_string": "1"}, "stale_file")
    assert "read it again" in result.text
    assert "-two" in result.text and "+TWO" in result.text
    assert (root / "a.txt").read_text() == "one\nTWO\nthree\n"
    ok(box, "read", {"file_path": "a.txt", "limit": 1})  # any window counts
    ok(box, "edit", {"file_path": "a.txt", "old_string": "one", "new_string": "1"})


def test_a_large_stale_file_gets_sizes_instead_of_a_diff(box, root):
    write(root / "big.txt", "a" * (2 * 1024 * 1024))
    ok(box, "read", {"file_path": "big.txt"})
    write(root / "big.txt", "b" * (2 * 1024 * 1024 + 1))
    result = fails(box, "write", {"file_path": "big.txt", "content": "c"}, "stale_file")
    assert "2097153 bytes now" in result.text


def test_a_stale_diff_is_capped(box, root):
    write(root / "a.txt", "".join(f"{i}\n" for i in range(1000)))
    ok(box, "read", {"file_path": "a.txt"})
    write(root / "a.txt", "".join(f"{i}!\n" for i in range(1000)))
    result = fails(box, "write", {"file_path": "a.txt", "content": "c"}, "stale_file")
    assert "more diff lines" in result.text
    assert result.text.count("\n") < 60


def test_a_touch_that_changes_only_the_mtime_is_not_a_change(box, root):
    path = write(root / "a.txt", "same\n")
    ok(box, "read", {"file_path": "a.txt"})
    os.utime(path, (1, 1))
    path.write_text("same\n")  # rewritten with identical bytes
    ok(box, "write", {"file_path": "a.txt", "content": "new\n"})


def test_the_toolbox_own_changes_update_the_record(box, root):
    write(root / "a.txt", "x\n")
    ok(box, "read", {"file_path": "a.txt"})
    ok(box, "edit", {"file_path": "a.txt", "old_string": "x", "new_string": "y"})
    ok(box, "edit", {"file_path": "a.txt", "old_string": "y", "new_string": "z"})
    ok(box, "write", {"file_path": "a.txt", "content": "w\n"})
    ok(box, "write", {"file_path": "fresh.txt", "content": "1\n"})
    ok(box, "write", {"file_path": "fresh.txt", "content": "2\n"})  # written by us: no read needed


def test_records_are_keyed_by_resolved_path(box, root):
    write(root / "real.txt", "x\n")
    (root / "link.txt").symlink_to(root / "real.txt")
    ok(box, "read", {"file_path": "link.txt"})
    ok(box, "write", {"file_path": str(root / "sub" / ".." / "real.txt"), "content": "y\n"})
    assert (root / "real.txt").read_text() == "y\n"


def test_require_read_false_turns_the_rule_off(backend_name, root):
    write(root / "a.txt", "x\n")
    with toolbox_on(backend_name, [root], require_read=False) as box:
        ok(box, "write", {"file_path": "a.txt", "content": "y\n"})


# ---- roots -------------------------------------------------------------------------------------


def test_a_sibling_whose_name_starts_like_the_root_is_outside(box, root):
    evil = root.parent / (root.name + "-evil")
    write(evil / "secret.txt", "secret\n")
    for name, args in (
        ("read", {"file_path": str(evil / "secret.txt")}),
        ("read", {"file_path": f"../{evil.name}/secret.txt"}),
        ("write", {"file_path": str(evil / "new.txt"), "content": "x"}),
        ("ls", {"path": str(evil)}),
        ("glob", {"pattern": "*", "path": str(evil)}),
        ("find_files", {"query": "s", "path": str(evil)}),
        ("str_replace_based_edit_tool", {"command": "view", "path": str(evil)}),
    ):
        result = fails(box, name, args, "outside_root")
        assert "secret\n" not in result.text
    assert not (evil / "new.txt").exists()


def test_a_symlink_leading_out_is_outside_at_any_depth(box, root, tmp_path):
    outside = tmp_path / "outside"
    write(outside / "s.txt", "secret\n")
    (root / "link").symlink_to(outside)
    (root / "deep").mkdir()
    (root / "deep" / "file").symlink_to(outside / "s.txt")
    fails(box, "read", {"file_path": "link/s.txt"}, "outside_root")
    fails(box, "read", {"file_path": "deep/file"}, "outside_root")
    fails(box, "write", {"file_path": "link/new.txt", "content": "x"}, "outside_root")
    fails(box, "edit", {"file_path": "link/new2.txt", "old_string": "", "new_string": "x"}, "outside_root")
    assert sorted(p.name for p in outside.iterdir()) == ["s.txt"]


def test_a_symlink_staying_inside_is_followed(box, root):
    write(root / "real" / "a.txt", "x\n")
    (root / "alias").symlink_to(root / "real")
    assert "1: x" in ok(box, "read", {"file_path": "alias/a.txt"}).text


def test_dotdot_out_of_the_root_is_outside(box, root):
    fails(box, "read", {"file_path": "../x"}, "outside_root")
    fails(box, "write", {"file_path": "a/../../x", "content": "x"}, "outside_root")
    assert not (root.parent / "x").exists()


def test_a_new_path_is_judged_by_its_deepest_existing_ancestor(box, root, tmp_path):
    (root / "out").symlink_to(tmp_path)
    fails(box, "write", {"file_path": "out/not/yet/there.txt", "content": "x"}, "outside_root")
    assert not (tmp_path / "not").exists()


def test_several_roots_each_hold_their_own_paths(backend_name, tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    write(first / "a.txt", "1\n")
    write(second / "b.txt", "2\n")
    with toolbox_on(backend_name, [first, second]) as box:
        assert "1: 1" in ok(box, "read", {"file_path": "a.txt"}).text
        assert "1: 2" in ok(box, "read", {"file_path": str(second / "b.txt")}).text
        fails(box, "read", {"file_path": "b.txt"}, "not_found")  # relative: the first root


def test_a_root_that_is_missing_or_a_file_is_refused_by_the_constructor(tmp_path):
    import ironcode
    from ironcode.agent import Toolbox

    with pytest.raises(ironcode.IronCodeError) as missing:
        Toolbox(roots=[tmp_path / "nope"])
    assert missing.value.kind == "not_found"
    with pytest.raises(ironcode.IronCodeError) as file_root:
        Toolbox(roots=[write(tmp_path / "f", "x")])
    assert file_root.value.kind == "not_a_directory"


# ---- glob, ls, find_files ----------------------------------------------------------------------


def test_glob_lists_newest_first_and_says_no_files_found(box, root):
    old = write(root / "src" / "old.py", "")
    write(root / "src" / "new.py", "")
    os.utime(old, (1, 1))
    result = ok(box, "glob", {"pattern": "**/*.py"})
    assert result.text.splitlines() == [str(root / "src/new.py"), str(root / "src/old.py")]
    assert ok(box, "glob", {"pattern": "*.rs"}).text == "No files found"


def test_glob_never_lists_a_link_leading_out(box, root, tmp_path):
    write(tmp_path / "outside" / "x.py", "")
    (root / "link").symlink_to(tmp_path / "outside")
    write(root / "in.py", "")
    assert ok(box, "glob", {"pattern": "**/*.py"}).data["files"] == [str(root / "in.py")]


def test_ls_shows_a_tree_and_skips_dependency_folders(box, root):
    write(root / "src" / "a.py", "")
    write(root / "node_modules" / "x.js", "")
    write(root / "logs" / "a.log", "")
    result = ok(box, "ls", {"ignore": ["logs/"]})
    assert result.text.splitlines() == [f"{root}/", "  src/", "    a.py"]


def test_ls_of_a_file_is_not_a_directory(box, root):
    write(root / "a.txt", "")
    fails(box, "ls", {"path": "a.txt"}, "not_a_directory")
    fails(box, "ls", {"path": "nope"}, "not_found")


def test_find_files_ranks_fuzzy_matches_and_respects_gitignore(box, root):
    write(root / "ironcode" / "cli.py", "")
    write(root / "click" / "core.py", "")
    write(root / ".gitignore", "ignored/\n")
    write(root / "ignored" / "cli.py", "")
    (root / ".git").mkdir()
    result = ok(box, "find_files", {"query": "clipy"})
    assert set(result.data["files"]) == {str(root / "ironcode" / "cli.py"), str(root / "click" / "core.py")}
    assert ok(box, "find_files", {"query": "ironcli"}).text == str(root / "ironcode" / "cli.py")
    assert ok(box, "find_files", {"query": "zzzz"}).text == "No files found"


def test_find_files_limit_is_bounded_by_the_schema(box):
    fails(box, "find_files", {"query": "a", "limit": 0}, "invalid_argument")
    fails(box, "find_files", {"query": "a", "limit": 10_000}, "invalid_argument")


def test_every_tool_answer_is_checked_against_its_schema(box, root):
    write(root / "a.txt", "x\n")
    for name, args in (("read", {"file_path": "a.txt"}), ("ls", {}), ("glob", {"pattern": "*"})):
        call(box, name, args)
