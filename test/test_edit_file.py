"""edit_file on both backends: encodings, line endings, BOM, atomic writes, diffs, helpful errors;
and the ``ironcode edit`` command."""

from __future__ import annotations

import os
import stat
import sys

import pytest

from .conftest import run
from .helpers import ROOT


def write_bytes(path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def test_crlf_file_keeps_crlf_after_edit(impl, tmp_path):
    path = write_bytes(tmp_path / "f.txt", b"line1\r\nold\r\nline3")
    result = impl.edit_file(path, "old", "new")
    assert (tmp_path / "f.txt").read_bytes() == b"line1\r\nnew\r\nline3"
    assert (result["additions"], result["deletions"]) == (1, 1)
    assert "\r" not in result["diff"]


def test_old_and_new_take_the_files_line_ending(impl, tmp_path):
    crlf = write_bytes(tmp_path / "crlf.txt", b"a\r\nb\r\nc\r\n")
    impl.edit_file(crlf, "a\nb\n", "x\ny\nz\n")
    assert (tmp_path / "crlf.txt").read_bytes() == b"x\r\ny\r\nz\r\nc\r\n"
    lf = write_bytes(tmp_path / "lf.txt", b"a\nb\nc\n")
    impl.edit_file(lf, "a\r\nb", "q\r\nr")
    assert (tmp_path / "lf.txt").read_bytes() == b"q\nr\nc\n"


def test_a_bom_file_keeps_its_bom(impl, tmp_path):
    path = write_bytes(tmp_path / "bom.txt", "\ufefffirst\nsecond\n".encode())
    result = impl.edit_file(path, "first", "1st")
    assert (tmp_path / "bom.txt").read_bytes() == "\ufeff1st\nsecond\n".encode()
    assert "\ufeff" not in result["diff"]


def test_the_bom_is_not_part_of_the_text_matched(impl, tmp_path, expect_error):
    path = write_bytes(tmp_path / "bom.txt", "\ufeffx = 1\n".encode())
    impl.edit_file(path, "x = 1\n", "x = 2\n")
    assert (tmp_path / "bom.txt").read_bytes() == "\ufeffx = 2\n".encode()


def test_invalid_utf8_is_an_encoding_error_and_the_file_is_untouched(impl, tmp_path, expect_error):
    data = b"ok \xff\xfe tail"
    path = write_bytes(tmp_path / "latin.txt", data)
    expect_error("encoding", impl.edit_file, path, "ok", "no")
    assert (tmp_path / "latin.txt").read_bytes() == data


def test_empty_old_creates_a_missing_file_and_its_folders(impl, tmp_path):
    path = tmp_path / "a" / "b" / "new.py"
    result = impl.edit_file(str(path), "", "print(1)\nprint(2)\n")
    assert path.read_text() == "print(1)\nprint(2)\n"
    assert (result["additions"], result["deletions"]) == (2, 0)
    assert result["diff"].endswith("@@ -0,0 +1,2 @@\n+print(1)\n+print(2)\n")


def test_empty_old_on_an_existing_file_is_empty_old_string(impl, tmp_path, expect_error):
    path = write_bytes(tmp_path / "f.txt", b"keep")
    expect_error("empty_old_string", impl.edit_file, path, "", "new")
    assert (tmp_path / "f.txt").read_bytes() == b"keep"
    expect_error("is_directory", impl.edit_file, str(tmp_path), "", "x")


def test_missing_file_and_directory_errors(impl, tmp_path, expect_error):
    expect_error("not_found", impl.edit_file, str(tmp_path / "nope.txt"), "a", "b")
    expect_error("is_directory", impl.edit_file, str(tmp_path), "a", "b")


def test_same_strings_is_refused_before_touching_the_disk(impl, tmp_path, expect_error):
    expect_error("same_strings", impl.edit_file, str(tmp_path / "nope.txt"), "a", "a")


def test_permission_bits_are_kept(impl, tmp_path):
    path = write_bytes(tmp_path / "run.sh", b"echo old\n")
    os.chmod(path, 0o751)
    impl.edit_file(path, "old", "new")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o751
    assert (tmp_path / "run.sh").read_bytes() == b"echo new\n"


def test_a_symlink_is_edited_through_and_stays_a_link(impl, tmp_path):
    real = write_bytes(tmp_path / "real.txt", b"alpha\n")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    result = impl.edit_file(str(link), "alpha", "beta")
    assert link.is_symlink()
    assert (tmp_path / "real.txt").read_bytes() == b"beta\n"
    assert result["path"] == str(link)


def test_no_temporary_files_are_left_behind(impl, tmp_path):
    path = write_bytes(tmp_path / "f.txt", b"a\n")
    impl.edit_file(path, "a", "b")
    assert sorted(os.listdir(tmp_path)) == ["f.txt"]


def test_the_diff_is_unified_with_context_and_counts(impl, tmp_path):
    lines = [f"line {i}\n" for i in range(1, 21)]
    path = write_bytes(tmp_path / "f.txt", "".join(lines).encode())
    result = impl.edit_file(path, "line 10\nline 11\n", "ten\n")
    assert result["diff"] == (
        f"--- {path}\n+++ {path}\n"
        "@@ -7,8 +7,7 @@\n line 7\n line 8\n line 9\n-line 10\n-line 11\n+ten\n line 12\n line 13\n line 14\n"
    )
    assert (result["additions"], result["deletions"]) == (1, 2)


def test_replace_all_diff_has_a_hunk_per_distant_change(impl, tmp_path):
    body = "".join("x = 1\n" if i % 10 == 0 else f"line {i}\n" for i in range(40))
    path = write_bytes(tmp_path / "f.txt", body.encode())
    result = impl.edit_file(path, "x = 1", "x = 2", True)
    assert result["diff"].count("@@ -") == 4
    assert (result["additions"], result["deletions"]) == (4, 4)
    assert (tmp_path / "f.txt").read_text() == body.replace("x = 1", "x = 2")


def test_a_missing_final_newline_is_marked_in_the_diff(impl, tmp_path):
    path = write_bytes(tmp_path / "f.txt", b"a\nb")
    result = impl.edit_file(path, "b", "c\n")
    assert "-b\n\\ No newline at end of file\n+c\n" in result["diff"]


def test_no_match_names_the_most_similar_region(impl, tmp_path, expect_error):
    body = "import os\n\n\ndef load(path):\n    with open(path) as f:\n        return f.read()\n\n\nx = 1\n"
    path = write_bytes(tmp_path / "m.py", body.encode())
    err = expect_error(
        "no_match", impl.edit_file, path, "def load(path):\n    with open(path) as fh:", "def load(p):"
    )
    assert "lines 4-5" in err.message and "% similar" in err.message
    assert "4: def load(path):" in err.message
    assert (tmp_path / "m.py").read_text() == body


def test_no_match_without_a_similar_region_says_to_reread(impl, tmp_path, expect_error):
    path = write_bytes(tmp_path / "m.txt", b"alpha\nbeta\n")
    err = expect_error("no_match", impl.edit_file, path, "zzzzzz\nqqqqqq", "x")
    assert "similar" not in err.message and "Re-read" in err.message


def test_multiple_matches_lists_every_starting_line(impl, tmp_path, expect_error):
    path = write_bytes(tmp_path / "m.txt", b"x\ny\nx\nz\nx\n")
    err = expect_error("multiple_matches", impl.edit_file, path, "x\n", "w\n")
    assert "3 times (at lines 1, 3, 5)" in err.message


def test_a_nul_in_the_file_is_ordinary_text(impl, tmp_path):
    path = write_bytes(tmp_path / "nul.txt", b"a\0b\nc\n")
    impl.edit_file(path, "a\0b", "ab")
    assert (tmp_path / "nul.txt").read_bytes() == b"ab\nc\n"


# ---- the command line ------------------------------------------------------------------------


def ironcode(*args: str, stdin: str | None = None):
    return run([sys.executable, "-m", "ironcode.cli", *args], cwd=ROOT, input=stdin)


@pytest.mark.parametrize("backend", ["native", "python"])
def test_cli_edit_prints_the_diff(tmp_path, backend):
    path = write_bytes(tmp_path / "f.py", b"a = 1\nb = 2\n")
    proc = ironcode("--backend", backend, "edit", path, "--old", "b = 2", "--new", "b = 3")
    assert proc.returncode == 0, proc.stderr
    assert "Edit applied successfully" in proc.stdout and "-b = 2\n+b = 3" in proc.stdout
    assert (tmp_path / "f.py").read_text() == "a = 1\nb = 3\n"


def test_cli_edit_reads_old_and_new_from_files_and_stdin(tmp_path):
    path = write_bytes(tmp_path / "f.txt", b"one\r\ntwo\r\n")
    (tmp_path / "old.txt").write_bytes(b"one\r\n")
    proc = ironcode("edit", path, "--old-file", str(tmp_path / "old.txt"), "--new-file", "-", stdin="1\n")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "f.txt").read_bytes() == b"1\r\ntwo\r\n"


def test_cli_edit_all_and_json(tmp_path):
    path = write_bytes(tmp_path / "f.txt", b"x\nx\n")
    proc = ironcode("edit", path, "--old", "x", "--new", "y", "--all", "--json")
    assert proc.returncode == 0, proc.stderr
    assert '"additions": 2' in proc.stdout
    assert (tmp_path / "f.txt").read_text() == "y\ny\n"


def test_cli_edit_errors_are_one_line_with_exit_1(tmp_path):
    path = write_bytes(tmp_path / "f.txt", b"x\nx\n")
    proc = ironcode("edit", path, "--old", "x", "--new", "y")
    assert proc.returncode == 1
    assert proc.stderr.startswith("ironcode: multiple_matches:")


def test_cli_edit_needs_exactly_one_source_for_each_string(tmp_path):
    path = write_bytes(tmp_path / "f.txt", b"x\n")
    assert ironcode("edit", path, "--new", "y").returncode == 2
    assert ironcode("edit", path, "--old", "x", "--old-file", path, "--new", "y").returncode == 2
    proc = ironcode("edit", path, "--old-file", str(tmp_path / "missing"), "--new", "y")
    assert proc.returncode == 2 and "cannot read" in proc.stderr
