"""str_replace_based_edit_tool: Anthropic's text_editor_20250728 contract as AGENT.md pins it, on both
backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from .agentlib import fails, ok, toolbox_on, write
from .conftest import BACKENDS

EDITOR = "str_replace_based_edit_tool"


@pytest.fixture
def root(tmp_path) -> Path:
    folder = tmp_path / "root"
    folder.mkdir()
    return folder


@pytest.fixture(params=BACKENDS)
def box(request, root):
    with toolbox_on(request.param, [root]) as toolbox:
        yield toolbox


def view(box, path: str, view_range=None):
    args = {"command": "view", "path": path}
    if view_range is not None:
        args["view_range"] = view_range
    return ok(box, EDITOR, args)


# ---- view --------------------------------------------------------------------------------------


def test_view_prints_cat_n_lines(box, root):
    write(root / "a.py", "def f():\n\treturn 1\n")
    assert view(box, "a.py").text == "     1\tdef f():\n     2\t\treturn 1"


def test_view_range_is_inclusive_one_based_and_minus_one_is_the_end(box, root):
    write(root / "a.txt", "".join(f"l{i}\n" for i in range(1, 11)))
    assert view(box, "a.txt", [2, 3]).text == "     2\tl2\n     3\tl3"
    assert view(box, "a.txt", [9, -1]).text == "     9\tl9\n    10\tl10"
    assert view(box, "a.txt", [10, 10]).data["lines"] == ["l10"]


def test_view_range_end_past_the_last_line_is_clipped(box, root):
    write(root / "a.txt", "a\nb\n")
    assert view(box, "a.txt", [2, 50]).text == "     2\tb"


def test_view_range_start_past_the_end_or_below_one_is_invalid(box, root):
    write(root / "a.txt", "a\nb\n")
    for bad in ([3, 4], [0, 1], [5, -1]):
        result = fails(
            box, EDITOR, {"command": "view", "path": "a.txt", "view_range": bad}, "invalid_argument"
        )
        assert "'view_range'" in result.text
    fails(box, EDITOR, {"command": "view", "path": "a.txt", "view_range": [1]}, "invalid_argument")


def test_view_of_a_long_file_says_how_to_see_more(box, root):
    write(root / "long.txt", "".join(f"{i}\n" for i in range(3000)))
    result = view(box, "long.txt")
    assert result.data["truncated"] is True
    assert "view_range=[2001, -1]" in result.text


def test_view_of_an_empty_file_says_so(box, root):
    write(root / "empty.txt", "")
    assert "is empty" in view(box, "empty.txt").text


def test_view_of_a_folder_lists_two_levels_absolute_sorted_hidden_left_out(box, root, tmp_path):
    write(root / "b.txt", "")
    write(root / "src" / "main.py", "")
    write(root / "src" / "pkg" / "deep" / "x.py", "")
    write(root / ".hidden" / "h.txt", "")
    write(root / "src" / ".env", "")
    write(tmp_path / "outside" / "s.txt", "")
    (root / "out-link").symlink_to(tmp_path / "outside")
    (root / "in-link").symlink_to(root / "src")
    result = view(box, ".")
    assert result.text.splitlines() == [
        f"{root}/b.txt",
        f"{root}/in-link/",
        f"{root}/src/",
        f"{root}/src/main.py",
        f"{root}/src/pkg/",
    ]


def test_view_range_on_a_folder_is_invalid(box, root):
    fails(box, EDITOR, {"command": "view", "path": ".", "view_range": [1, 2]}, "invalid_argument")


def test_view_records_the_version_like_read(box, root):
    write(root / "a.txt", "x\n")
    view(box, "a.txt", [1, 1])
    ok(box, EDITOR, {"command": "str_replace", "path": "a.txt", "old_str": "x", "new_str": "y"})


# ---- create ------------------------------------------------------------------------------------


def test_create_writes_a_new_file_and_its_folders(box, root):
    result = ok(box, EDITOR, {"command": "create", "path": "pkg/new.py", "file_text": "x = 1\n"})
    assert result.text == f"File created successfully at: {root / 'pkg/new.py'}"
    assert (root / "pkg" / "new.py").read_text() == "x = 1\n"
    ok(box, EDITOR, {"command": "create", "path": "empty.txt", "file_text": ""})
    assert (root / "empty.txt").read_text() == ""


def test_create_over_an_existing_file_or_folder_is_already_exists(box, root):
    write(root / "a.txt", "keep\n")
    (root / "folder").mkdir()
    fails(box, EDITOR, {"command": "create", "path": "a.txt", "file_text": "x"}, "already_exists")
    fails(box, EDITOR, {"command": "create", "path": "folder", "file_text": "x"}, "already_exists")
    assert (root / "a.txt").read_text() == "keep\n"


def test_create_without_file_text_names_the_field(box):
    assert (
        "'file_text'" in fails(box, EDITOR, {"command": "create", "path": "n.txt"}, "invalid_argument").text
    )


# ---- str_replace -------------------------------------------------------------------------------


def test_str_replace_edits_and_shows_a_numbered_snippet(box, root):
    write(root / "a.py", "".join(f"line{i}\n" for i in range(1, 21)))
    view(box, "a.py")
    result = ok(
        box, EDITOR, {"command": "str_replace", "path": "a.py", "old_str": "line10\n", "new_str": "TEN\n"}
    )
    assert f"The file {root / 'a.py'} has been edited." in result.text
    assert "    10\tTEN" in result.text
    assert "     6\tline6" not in result.text or "    13\tline13" in result.text
    assert (root / "a.py").read_text().splitlines()[9] == "TEN"
    assert result.data["additions"] == 1 and result.data["deletions"] == 1


def test_str_replace_needs_a_unique_match(box, root):
    write(root / "a.txt", "x\nx\n")
    view(box, "a.txt")
    twice = fails(
        box,
        EDITOR,
        {"command": "str_replace", "path": "a.txt", "old_str": "x", "new_str": "y"},
        "multiple_matches",
    )
    # the text editor's own words: it has old_str and no replace_all
    assert "old_str occurs 2 times" in twice.text and "replace_all" not in twice.text
    fails(
        box, EDITOR, {"command": "str_replace", "path": "a.txt", "old_str": "q", "new_str": "y"}, "no_match"
    )


def test_str_replace_with_an_empty_old_str_is_invalid_and_creates_nothing(box, root):
    fails(
        box,
        EDITOR,
        {"command": "str_replace", "path": "new.txt", "old_str": "", "new_str": "y"},
        "invalid_argument",
    )
    assert not (root / "new.txt").exists()


def test_str_replace_without_new_str_deletes(box, root):
    write(root / "a.txt", "keep\ndrop\n")
    view(box, "a.txt")
    ok(box, EDITOR, {"command": "str_replace", "path": "a.txt", "old_str": "drop\n"})
    assert (root / "a.txt").read_text() == "keep\n"


# ---- insert ------------------------------------------------------------------------------------


def insert(box, path: str, at: int, text: str):
    return ok(box, EDITOR, {"command": "insert", "path": path, "insert_line": at, "new_str": text})


def test_insert_puts_lines_after_the_line_and_zero_is_the_top(box, root):
    write(root / "a.txt", "a\nb\n")
    view(box, "a.txt")
    insert(box, "a.txt", 0, "top")
    insert(box, "a.txt", 3, "end\n")
    insert(box, "a.txt", 2, "x\ny")
    assert (root / "a.txt").read_text() == "top\na\nx\ny\nb\nend\n"


def test_a_trailing_newline_in_new_str_adds_no_empty_line(box, root):
    write(root / "a.txt", "a\n")
    view(box, "a.txt")
    insert(box, "a.txt", 1, "b\n")
    assert (root / "a.txt").read_text() == "a\nb\n"


def test_insert_keeps_crlf_and_the_bom(box, root):
    write(root / "a.txt", "\ufeffa\r\nb\r\n".encode())
    view(box, "a.txt")
    insert(box, "a.txt", 1, "x\ny\n")
    assert (root / "a.txt").read_bytes() == "\ufeffa\r\nx\r\ny\r\nb\r\n".encode()


def test_insert_keeps_a_missing_final_newline(box, root):
    write(root / "a.txt", "a\nb")
    view(box, "a.txt")
    insert(box, "a.txt", 2, "c")
    assert (root / "a.txt").read_text() == "a\nb\nc"


def test_insert_into_an_empty_file_adds_no_final_newline(box, root):
    write(root / "e.txt", "")
    view(box, "e.txt")
    insert(box, "e.txt", 0, "x\n")
    assert (root / "e.txt").read_text() == "x"


def test_insert_accepts_insert_text_as_anthropic_documents_it(box, root):
    write(root / "a.txt", "a\n")
    view(box, "a.txt")
    ok(box, EDITOR, {"command": "insert", "path": "a.txt", "insert_line": 1, "insert_text": "b"})
    assert (root / "a.txt").read_text() == "a\nb\n"


def test_insert_into_a_missing_file_is_not_found(box):
    fails(
        box, EDITOR, {"command": "insert", "path": "nope.txt", "insert_line": 0, "new_str": "x"}, "not_found"
    )


def test_insert_without_its_fields_names_them(box, root):
    write(root / "a.txt", "a\n")
    view(box, "a.txt")
    assert (
        "'insert_line'"
        in fails(box, EDITOR, {"command": "insert", "path": "a.txt", "new_str": "x"}, "invalid_argument").text
    )
    assert (
        "'new_str'"
        in fails(
            box, EDITOR, {"command": "insert", "path": "a.txt", "insert_line": 0}, "invalid_argument"
        ).text
    )
    fails(
        box,
        EDITOR,
        {"command": "insert", "path": "a.txt", "insert_line": -1, "new_str": "x"},
        "invalid_argument",
    )


def test_unknown_command_is_invalid(box):
    fails(box, EDITOR, {"command": "undo_edit", "path": "a.txt"}, "invalid_argument")
