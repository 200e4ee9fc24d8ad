"""apply_patch on both backends: every section shape, the four matching passes, cursor and
anchors, line endings, BOM, final newlines, Unicode, results and dry runs. Errors and bad input:
test_patch_errors.py; case folders: test_patch_cases.py; parity: test_patch_parity.py."""

from __future__ import annotations

import os
import stat


def patch(*body: str) -> str:
    return "*** Begin Patch\n" + "\n".join(body) + "\n*** End Patch\n"


def put(path, data: str | bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return str(path)


# ---- shapes and results --------------------------------------------------------------------


def test_result_lists_sections_in_patch_order_with_counts_and_diffs(impl, tmp_path):
    put(tmp_path / "a.py", "x = 1\ny = 2\n")
    put(tmp_path / "gone.txt", "bye\nnow\n")
    result = impl.apply_patch(
        patch(
            "*** Update File: a.py",
            "@@",
            "-x = 1",
            "+x = 10",
            "+x2 = 11",
            "*** Delete File: gone.txt",
            "*** Add File: new/b.py",
            "+print(1)",
        ),
        str(tmp_path),
    )
    assert result == {
        "files": [
            {
                "path": "a.py",
                "action": "update",
                "additions": 2,
                "deletions": 1,
                "diff": "--- a.py\n+++ a.py\n@@ -1,2 +1,3 @@\n-x = 1\n+x = 10\n+x2 = 11\n y = 2\n",
            },
            {
                "path": "gone.txt",
                "action": "delete",
                "additions": 0,
                "deletions": 2,
                "diff": "--- gone.txt\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-bye\n-now\n",
            },
            {
                "path": "new/b.py",
                "action": "add",
                "additions": 1,
                "deletions": 0,
                "diff": "--- /dev/null\n+++ new/b.py\n@@ -0,0 +1,1 @@\n+print(1)\n",
            },
        ]
    }
    assert (tmp_path / "new" / "b.py").read_text() == "print(1)\n"
    assert not (tmp_path / "gone.txt").exists()


def test_an_add_without_lines_makes_an_empty_file(impl, tmp_path):
    result = impl.apply_patch(patch("*** Add File: empty.txt"), str(tmp_path))
    assert (tmp_path / "empty.txt").read_bytes() == b""
    assert result["files"][0]["diff"] == "" and result["files"][0]["additions"] == 0


def test_an_add_over_a_file_is_diffed_against_its_old_content(impl, tmp_path):
    put(tmp_path / "f.txt", "keep\nold\n")
    result = impl.apply_patch(patch("*** Add File: f.txt", "+keep", "+new"), str(tmp_path))
    change = result["files"][0]
    assert (change["action"], change["additions"], change["deletions"]) == ("add", 1, 1)
    assert change["diff"].startswith("--- f.txt\n+++ f.txt\n")


def test_a_move_reports_move_path_and_leaves_the_source_folder(impl, tmp_path):
    put(tmp_path / "src" / "m.py", "a\n")
    result = impl.apply_patch(
        patch("*** Update File: src/m.py", "*** Move to: lib/deep/m.py", "@@", "-a", "+b"), str(tmp_path)
    )
    change = result["files"][0]
    assert change["path"] == "src/m.py" and change["move_path"] == "lib/deep/m.py"
    assert change["diff"].startswith("--- src/m.py\n+++ lib/deep/m.py\n")
    assert (tmp_path / "lib" / "deep" / "m.py").read_text() == "b\n"
    assert (tmp_path / "src").is_dir() and not (tmp_path / "src" / "m.py").exists()
    assert "move_path" not in impl.apply_patch(patch("*** Add File: x", "+1"), str(tmp_path))["files"][0]


def test_a_move_onto_itself_is_an_update(impl, tmp_path):
    put(tmp_path / "same.txt", "a\n")
    impl.apply_patch(patch("*** Update File: same.txt", "*** Move to: ./same.txt", "-a", "+b"), str(tmp_path))
    assert (tmp_path / "same.txt").read_text() == "b\n"


def test_sections_apply_to_the_result_of_the_ones_before(impl, tmp_path):
    put(tmp_path / "f.txt", "old\n")
    impl.apply_patch(
        patch(
            "*** Delete File: f.txt",
            "*** Add File: f.txt",
            "+fresh",
            "*** Update File: f.txt",
            "-fresh",
            "+fresher",
            "*** Add File: g.txt",
            "+g",
            "*** Update File: g.txt",
            "*** Move to: h.txt",
            "-g",
            "+h",
        ),
        str(tmp_path),
    )
    assert (tmp_path / "f.txt").read_text() == "fresher\n"
    assert not (tmp_path / "g.txt").exists() and (tmp_path / "h.txt").read_text() == "h\n"


def test_dry_run_answers_the_same_and_writes_nothing(impl, tmp_path):
    put(tmp_path / "f.txt", "a\n")
    text = patch("*** Update File: f.txt", "-a", "+b", "*** Add File: n/new.txt", "+x")
    dry = impl.apply_patch(text, str(tmp_path), dry_run=True)
    assert (tmp_path / "f.txt").read_text() == "a\n" and not (tmp_path / "n").exists()
    assert impl.apply_patch(text, str(tmp_path)) == dry
    assert (tmp_path / "f.txt").read_text() == "b\n"


def test_relative_paths_are_taken_from_cwd_and_absolute_ones_accepted(impl, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    put(elsewhere / "abs.txt", "a\n")
    work = tmp_path / "work"
    work.mkdir()
    impl.apply_patch(
        patch(
            f"*** Update File: {elsewhere}/../elsewhere/abs.txt",
            "-a",
            "+b",
            "*** Add File: sub/../rel.txt",
            "+r",
        ),
        str(work),
    )
    assert (elsewhere / "abs.txt").read_text() == "b\n"
    assert (work / "rel.txt").read_text() == "r\n"


def test_permission_bits_are_kept(impl, tmp_path):
    path = put(tmp_path / "run.sh", "echo a\n")
    os.chmod(path, 0o751)
    impl.apply_patch(patch("*** Update File: run.sh", "-echo a", "+echo b"), str(tmp_path))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o751


def test_an_update_through_a_symlink_changes_the_target_and_keeps_the_link(impl, tmp_path):
    put(tmp_path / "real.txt", "a\n")
    os.symlink("real.txt", tmp_path / "link.txt")
    impl.apply_patch(patch("*** Update File: link.txt", "-a", "+b"), str(tmp_path))
    assert os.path.islink(tmp_path / "link.txt")
    assert (tmp_path / "real.txt").read_text() == "b\n"


# ---- the four passes, cursor, anchors --------------------------------------------------------


def test_exact_match_wins_over_an_earlier_fuzzy_one(impl, tmp_path):
    put(tmp_path / "f.txt", "x  \nx\n")
    impl.apply_patch(patch("*** Update File: f.txt", "-x", "+X"), str(tmp_path))
    assert (tmp_path / "f.txt").read_text() == "x  \nX\n"


def test_trailing_whitespace_pass(impl, tmp_path):
    put(tmp_path / "f.txt", "a  \nb\t\nc\n")
    impl.apply_patch(patch("*** Update File: f.txt", " a", "-b", "+B"), str(tmp_path))
    # The context line is replaced as the patch spells it.
    assert (tmp_path / "f.txt").read_text() == "a\nB\nc\n"


def test_trailing_whitespace_pass_is_tried_before_trimming_both_ends(impl, tmp_path):
    put(tmp_path / "f.txt", "  v\nv  \n")
    impl.apply_patch(patch("*** Update File: f.txt", "-v", "+W"), str(tmp_path))
    assert (tmp_path / "f.txt").read_text() == "  v\nW\n"


def test_surrounding_whitespace_pass_uses_the_engines_trim_set(impl, tmp_path):
    put(tmp_path / "f.txt", "\u3000\u00a0if x:\ufeff\n        go()\n")
    impl.apply_patch(patch("*** Update File: f.txt", " if x:", "-go()", "+stop()"), str(tmp_path))
    assert (tmp_path / "f.txt").read_text() == "if x:\nstop()\n"


def test_typographic_pass_reads_dashes_quotes_and_spaces_on_both_sides(impl, tmp_path):
    put(tmp_path / "f.txt", "say(\u201chi\u201d)\u2009\u2013\u00a0it\u2019s\nplain 'x' - \"y\"\n")
    impl.apply_patch(
        patch(
            "*** Update File: f.txt",
            '-say("hi") - it\'s',
            "+said",
            "-plain \u2018x\u2019 \u2212 \u201cy\u201d",
            "+plain2",
        ),
        str(tmp_path),
    )
    assert (tmp_path / "f.txt").read_text() == "said\nplain2\n"


def test_chunks_search_from_a_cursor_past_the_previous_chunk(impl, tmp_path):
    put(tmp_path / "f.txt", "x\nsep\nx\nsep\nx\n")
    impl.apply_patch(patch("*** Update File: f.txt", "-x", "+1", "@@", "-x", "+2"), str(tmp_path))
    assert (tmp_path / "f.txt").read_text() == "1\nsep\n2\nsep\nx\n"


def test_context_line_moves_the_cursor_past_itself(impl, tmp_path):
    put(tmp_path / "f.py", "def a():\n    return 0\n\ndef b():\n    return 0\n")
    impl.apply_patch(
        patch("*** Update File: f.py", "@@ def b():", "-    return 0", "+    return 2"), str(tmp_path)
    )
    assert (tmp_path / "f.py").read_text() == "def a():\n    return 0\n\ndef b():\n    return 2\n"


def test_a_chunk_without_old_lines_inserts_after_its_context_line(impl, tmp_path):
    put(tmp_path / "f.py", "import os\n\nx = 1\n")
    impl.apply_patch(
        patch("*** Update File: f.py", "@@ import os", "+import re", "+import sys"), str(tmp_path)
    )
    assert (tmp_path / "f.py").read_text() == "import os\nimport re\nimport sys\n\nx = 1\n"


def test_end_of_file_anchors_to_the_last_lines(impl, tmp_path, expect_error):
    put(tmp_path / "f.txt", "end\nmiddle\nend\n")
    impl.apply_patch(patch("*** Update File: f.txt", "-end", "+END", "*** End of File"), str(tmp_path))
    assert (tmp_path / "f.txt").read_text() == "end\nmiddle\nEND\n"
    put(tmp_path / "g.txt", "a\nb\n")
    error = expect_error(
        "patch_failed",
        impl.apply_patch,
        patch("*** Update File: g.txt", "-a", "+A", "*** End of File"),
        str(tmp_path),
    )
    assert "End of File" in error.message


def test_trailing_empty_old_lines_are_dropped_until_the_chunk_matches(impl, tmp_path):
    put(tmp_path / "f.txt", "a\nb\n")
    text = "*** Begin Patch\n*** Update File: f.txt\n-a\n+A\n\n\n*** Add File: g.txt\n+g\n*** End Patch"
    impl.apply_patch(text, str(tmp_path))
    assert (tmp_path / "f.txt").read_text() == "A\nb\n"


def test_a_chunk_repeated_so_every_position_matches_takes_the_first_after_the_cursor(impl, tmp_path):
    put(tmp_path / "f.txt", "x\n" * 20_000)
    chunks = [line for _ in range(5_000) for line in ("@@", " x", "-x", "+y")]
    impl.apply_patch(patch("*** Update File: f.txt", *chunks), str(tmp_path))
    assert (tmp_path / "f.txt").read_text() == "x\ny\n" * 5_000 + "x\n" * 10_000


def test_ten_thousand_chunks_in_one_file(impl, tmp_path):
    put(tmp_path / "big.txt", "".join(f"line {i}\n" for i in range(30_000)))
    chunks = [line for i in range(0, 30_000, 3) for line in ("@@", f"-line {i}", f"+LINE {i}")]
    assert len(chunks) == 30_000
    result = impl.apply_patch(patch("*** Update File: big.txt", *chunks), str(tmp_path))
    lines = (tmp_path / "big.txt").read_text().split("\n")
    assert lines[0] == "LINE 0" and lines[1] == "line 1" and lines[29_997] == "LINE 29997"
    assert result["files"][0]["additions"] == 10_000


# ---- line endings, BOM, final newline, Unicode ----------------------------------------------


def test_crlf_file_keeps_crlf_and_added_lines_get_it(impl, tmp_path):
    put(tmp_path / "w.txt", b"a\r\nb\r\nc\r\n")
    result = impl.apply_patch(patch("*** Update File: w.txt", " a", "-b", "+B", "+B2"), str(tmp_path))
    assert (tmp_path / "w.txt").read_bytes() == b"a\r\nB\r\nB2\r\nc\r\n"
    assert "\r" not in result["files"][0]["diff"]


def test_a_mixed_file_keeps_each_context_lines_own_ending(impl, tmp_path):
    put(tmp_path / "m.txt", b"lf\ncrlf\r\nlast\n")
    impl.apply_patch(patch("*** Update File: m.txt", " lf", " crlf", "+new", " last"), str(tmp_path))
    assert (tmp_path / "m.txt").read_bytes() == b"lf\ncrlf\r\nnew\r\nlast\n"


def test_a_crlf_patch_applies_as_lf(impl, tmp_path):
    put(tmp_path / "u.txt", "a\nb\n")
    text = patch("*** Update File: u.txt", " a", "-b", "+B", "*** Add File: v.txt", "+v").replace(
        "\n", "\r\n"
    )
    impl.apply_patch(text, str(tmp_path))
    assert (tmp_path / "u.txt").read_bytes() == b"a\nB\n"
    assert (tmp_path / "v.txt").read_bytes() == b"v\n"


def test_bom_is_set_aside_for_matching_and_kept(impl, tmp_path):
    put(tmp_path / "b.txt", "\ufefffirst\nsecond\n")
    result = impl.apply_patch(patch("*** Update File: b.txt", "-first", "+1st"), str(tmp_path))
    assert (tmp_path / "b.txt").read_bytes() == "\ufeff1st\nsecond\n".encode()
    assert "\ufeff" not in result["files"][0]["diff"]
    added = impl.apply_patch(patch("*** Add File: c.txt", "+\ufeffbom kept as written"), str(tmp_path))
    assert (tmp_path / "c.txt").read_bytes() == "\ufeffbom kept as written\n".encode()
    assert "\ufeff" not in added["files"][0]["diff"]


def test_a_file_without_final_newline_keeps_none(impl, tmp_path):
    put(tmp_path / "n.txt", "a\nb")
    result = impl.apply_patch(patch("*** Update File: n.txt", " b", "+c"), str(tmp_path))
    assert (tmp_path / "n.txt").read_bytes() == b"a\nb\nc"
    assert result["files"][0]["diff"] == (
        "--- n.txt\n+++ n.txt\n@@ -1,2 +1,3 @@\n a\n-b\n\\ No newline at end of file\n+b\n+c\n"
        "\\ No newline at end of file\n"
    )
    impl.apply_patch(patch("*** Update File: n.txt", "-c"), str(tmp_path))
    assert (tmp_path / "n.txt").read_bytes() == b"a\nb"


def test_an_empty_file_has_no_lines_and_ends_with_a_newline(impl, tmp_path):
    put(tmp_path / "e.txt", "")
    impl.apply_patch(patch("*** Update File: e.txt", "+first"), str(tmp_path))
    assert (tmp_path / "e.txt").read_bytes() == b"first\n"


def test_unicode_content_and_paths(impl, tmp_path):
    put(tmp_path / "données" / "日本.txt", "café ☕\n😀😀\nend\n")
    result = impl.apply_patch(
        patch(
            "*** Update File: données/日本.txt",
            " café ☕",
            "-😀😀",
            "+🎉 fête",
            "*** Add File: ünï.txt",
            "+ß",
        ),
        str(tmp_path),
    )
    assert (tmp_path / "données" / "日本.txt").read_text() == "café ☕\n🎉 fête\nend\n"
    assert result["files"][0]["path"] == "données/日本.txt"
    assert (tmp_path / "ünï.txt").read_text() == "ß\n"


def test_nul_bytes_in_the_patch_reach_the_file_uncut(impl, tmp_path):
    put(tmp_path / "t.txt", "a\n")
    impl.apply_patch(
        patch("*** Add File: z.txt", "+x\0y", "*** Update File: t.txt", "-a", "+a\0b"), str(tmp_path)
    )
    assert (tmp_path / "z.txt").read_bytes() == b"x\0y\n"
    assert (tmp_path / "t.txt").read_bytes() == b"a\0b\n"


def test_a_heredoc_wrapped_patch_is_unwrapped(impl, tmp_path):
    for i, opener in enumerate(
        ["<<'EOF'", '<<"EOF"', "<<EOF", "apply_patch <<'EOF'", "cat<<'EOF'", "x <<-EOF"]
    ):
        text = f"\n{opener}\n" + patch(f"*** Add File: h{i}.txt", "+ok") + "EOF\n\n"
        impl.apply_patch(text, str(tmp_path))
        assert (tmp_path / f"h{i}.txt").read_text() == "ok\n", opener


def test_unwrap_heredoc_is_public_on_both_backends():
    from ironcode.twin.patch import unwrap_heredoc

    found = unwrap_heredoc("apply_patch <<'PATCH'\n*** Begin Patch\n*** End Patch\nPATCH\n")
    assert (found.command, found.tag, found.body) == (
        "apply_patch",
        "PATCH",
        "*** Begin Patch\n*** End Patch",
    )
    assert unwrap_heredoc("cat <<EOF\nno end") is None
    assert unwrap_heredoc("python3 -c x <<EOF\nbody\nEOF") is None
