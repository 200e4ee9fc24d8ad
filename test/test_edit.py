"""The replacer strategies, the driver and levenshtein, on both backends (the ``impl`` fixture)."""

from __future__ import annotations

import pytest

# ---- strategies ----------------------------------------------------------------------------


def test_simple_proposes_find_itself_even_when_absent(impl):
    assert impl.edit_candidates("simple", "abc", "zzz") == ["zzz"]


def test_line_trimmed_matches_trimmed_lines_and_keeps_the_files_indentation(impl):
    content = "    if x:\n        y()\n"
    assert impl.edit_candidates("line_trimmed", content, "if x:\n    y()") == ["    if x:\n        y()"]


def test_line_trimmed_drops_one_trailing_empty_line_of_find(impl):
    content = "a\n  b\nc\n  b\n"
    assert impl.edit_candidates("line_trimmed", content, "b\n") == ["  b", "  b"]


def test_line_trimmed_windows_in_crlf_text_end_in_carriage_return(impl):
    assert impl.edit_candidates("line_trimmed", "a\r\n b\r\nc", "b") == [" b\r"]


def test_line_trimmed_trims_javascript_whitespace_not_pythons(impl):
    content = "\u3000x\ufeff\n\x1cx\x1c\n\xa0x"
    # U+3000, U+FEFF and U+00A0 trim away; the \x1c separators do not (JavaScript's trim()).
    assert impl.edit_candidates("line_trimmed", content, "x") == ["\u3000x\ufeff", "\xa0x"]


def test_block_anchor_needs_three_lines_after_the_trailing_one_is_dropped(impl):
    content = "start\nhello world\nend\n"
    assert impl.edit_candidates("block_anchor", content, "start\nend\n") == []
    assert impl.edit_candidates("block_anchor", content, "start\nhello wurld\nend\n") == [
        "start\nhello world\nend"
    ]


def test_block_anchor_refuses_a_block_whose_middle_is_too_different(impl):
    content = "start\ncompletely different text\nend"
    assert impl.edit_candidates("block_anchor", content, "start\nhello world\nend") == []


def test_block_anchor_counts_blank_pairs_as_equal(impl):
    content = "start\n\nvalue = 1\nend"
    assert impl.edit_candidates("block_anchor", content, "start\n  \nvalue = 2\nend") == [content]


def test_block_anchor_drops_blocks_outside_the_size_tolerance(impl):
    # 8 search lines: tolerance max(1, 8 // 4) = 2 lines.
    find = "\n".join(["open", *[f"line {i}" for i in range(6)], "close"])
    near = "\n".join(["open", *[f"line {i}" for i in range(4)], "close"])  # 6 lines: within 2
    far = "\n".join(["open", *[f"line {i}" for i in range(3)], "close"])  # 5 lines: 3 short
    assert impl.edit_candidates("block_anchor", near, find) == [near]
    assert impl.edit_candidates("block_anchor", far, find) == []


def test_block_anchor_proposes_the_best_block_and_the_first_on_ties(impl):
    worse = "begin\nalpha beta delta\nfinish"  # 5 edits of 16: 0.69
    better = "begin\nalpha beta gamma\nfinish"  # 1 edit of 16: 0.94
    find = "begin\nalpha beta gammx\nfinish"
    assert impl.edit_candidates("block_anchor", f"{worse}\n{better}", find) == [better]
    assert impl.edit_candidates("block_anchor", f"{better}\nzz\n{better}", find) == [better]
    assert impl.edit_candidates("block_anchor", f"{worse}\nzz\n{better}", "begin\nq\nfinish") == []


def test_block_anchor_closes_at_the_first_last_anchor_two_lines_below(impl):
    content = "{\n}\n  a = 1\n}\n}"
    # The "}" right below "{" is too close: the first one at least two lines below closes it.
    assert impl.edit_candidates("block_anchor", content, "{\n}\na = 2\n}") == ["{\n}\n  a = 1\n}"]


def test_whitespace_normalized_proposes_the_line_or_the_matching_span(impl):
    assert impl.edit_candidates("whitespace_normalized", "  x  =  1", "x = 1") == ["  x  =  1"]
    assert impl.edit_candidates("whitespace_normalized", "let  x =\t1; // x", "x = 1;") == ["x =\t1;"]


def test_whitespace_normalized_compares_multi_line_windows_collapsed(impl):
    content = "a\nfoo(\n   bar)\nz"
    assert impl.edit_candidates("whitespace_normalized", content, "foo(\nbar)") == ["foo(\n   bar)"]
    assert impl.edit_candidates("whitespace_normalized", content, "foo(   bar)\n") == ["foo(\n   bar)"]
    assert impl.edit_candidates("whitespace_normalized", content, "foo(\nbaz)") == []


def test_whitespace_normalized_proposes_nothing_for_an_all_whitespace_find(impl):
    assert impl.edit_candidates("whitespace_normalized", "a\n   \nb", " \t\u3000") == []


def test_whitespace_normalized_collapses_unicode_whitespace_but_not_separators(impl):
    assert impl.edit_candidates("whitespace_normalized", "a\u3000\u2028b", "a b") == ["a\u3000\u2028b"]
    assert impl.edit_candidates("whitespace_normalized", "a\x1fb", "a b") == []


def test_indentation_flexible_removes_each_sides_common_indentation(impl):
    content = "class A:\n        def f(self):\n            return 1\n"
    find = "def f(self):\n    return 1"
    assert impl.edit_candidates("indentation_flexible", content, find) == [
        "        def f(self):\n            return 1"
    ]
    # Relative indentation must still agree.
    assert impl.edit_candidates("indentation_flexible", content, "def f(self):\nreturn 1") == []


def test_escape_normalized_unescapes_find_and_windows(impl):
    # The unescaped find occurs, and the one-line window unescapes to it as well.
    assert impl.edit_candidates("escape_normalized", 'say "hi"\n', 'say \\"hi\\"') == [
        'say "hi"',
        'say "hi"',
    ]
    # A window with an escape of its own: \\t in the file is a tab once unescaped.
    assert impl.edit_candidates("escape_normalized", "a\\tb", "a\tb") == ["a\\tb"]


def test_escape_normalized_reads_backslash_newline_as_a_newline(impl):
    assert impl.edit_candidates("escape_normalized", "a\\\nb", "a\nb") == ["a\\\nb"]
    assert impl.edit_candidates("escape_normalized", "x", "a\\nb") == []


def test_trimmed_boundary_only_for_a_find_with_whitespace_at_an_end(impl):
    assert impl.edit_candidates("trimmed_boundary", "foo", "foo") == []
    assert impl.edit_candidates("trimmed_boundary", "x\n  foo  \n\ny", "foo\n") == ["foo", "  foo  \n"]
    assert impl.edit_candidates("trimmed_boundary", "a\n   \nb", "  \t") == []


def test_context_aware_needs_half_of_the_middle_lines_equal(impl):
    content = "def f():\n    a = 1\n    b = 2\n    return a"
    half = "def f():\n    a = 1\n    b = 3\n    return a"
    none = "def f():\n    a = 9\n    b = 3\n    return a"
    assert impl.edit_candidates("context_aware", content, half) == [content]
    assert impl.edit_candidates("context_aware", content, none) == []
    assert impl.edit_candidates("context_aware", content, "def f():\n    return a") == []


def test_multi_occurrence_proposes_find_once_per_non_overlapping_occurrence(impl):
    assert impl.edit_candidates("multi_occurrence", "aaaa", "aa") == ["aa", "aa"]
    assert impl.edit_candidates("multi_occurrence", "abc", "x") == []


def test_unknown_strategy_is_invalid_argument(impl, expect_error):
    expect_error("invalid_argument", impl.edit_candidates, "fuzzy", "a", "a")


def test_candidates_of_an_empty_find_is_empty_old_string(impl, expect_error):
    expect_error("empty_old_string", impl.edit_candidates, "simple", "a", "")


# ---- the driver ----------------------------------------------------------------------------


def test_exact_duplicates_are_multiple_matches_without_fuzzy_fall_through(impl, expect_error):
    err = expect_error("multiple_matches", impl.edit_replace, "foo bar foo", "foo", "baz")
    assert "2 times" in err.message and "line 1" in err.message


def test_reindented_block_is_replaced_at_the_files_indentation_without_a_blank_line(impl):
    result = impl.edit_replace("    if x:\n        y()\n", "if x:\n    y()", "if z:\n    w()")
    assert result == "    if z:\n        w()\n"


def test_multi_line_find_in_one_line_text_is_no_match(impl, expect_error):
    # IronCode's published Rust port aborts its host process here.
    expect_error("no_match", impl.edit_replace, "Hello world", "a\nb", "x")


def test_replace_all_replaces_every_exact_occurrence(impl):
    assert impl.edit_replace("foo bar foo", "foo", "baz", True) == "baz bar baz"


def test_fuzzy_replace_all_uses_the_proposal_text(impl):
    content = "\tx = 1\ny\n\tx = 1\n"
    assert impl.edit_replace(content, "x  =  1", "x = 2", True) == "x = 2\ny\nx = 2\n"


def test_new_is_inserted_literally(impl):
    assert impl.edit_replace("a = 1", "1", "$& $1 \\1 \\n", False) == "a = $& $1 \\1 \\n"


def test_trailing_newline_of_new_is_dropped_when_the_match_has_none(impl):
    # line_trimmed proposes the line without its newline, so new's own newline goes.
    assert impl.edit_replace("\ta\nb", "  a\n", "c\n") == "c\nb"
    assert impl.edit_replace("\ta\r\nb", "  a\n", "c\r\n") == "c\r\nb"


def test_a_crlf_window_keeps_its_carriage_return_and_its_indentation(impl):
    assert impl.edit_replace("a\r\n  b\r\nc", "b\n", "B\n") == "a\r\n  B\r\nc"


def test_overlapping_copies_are_ambiguous(impl, expect_error):
    err = expect_error("multiple_matches", impl.edit_replace, "aaa", "aa", "b")
    assert "2 times" in err.message


def test_ambiguous_fuzzy_match_lists_its_lines(impl, expect_error):
    content = "a\n  x = 1\nb\n  x = 1\n"
    err = expect_error("multiple_matches", impl.edit_replace, content, "x  =  1", "y")
    assert "closest match occurs 2 times (at lines 2, 4)" in err.message


def test_a_proposal_with_many_more_lines_than_old_is_disproportionate(impl, expect_error):
    # escape_normalized unescapes the one-line old into four lines, which occur: 4 lines is at
    # least max(1 + 3, 2 × 1), so the guard refuses it.
    err = expect_error("disproportionate", impl.edit_replace, "a\nb\nc\nd", "a\\nb\\nc\\nd", "x")
    assert "4 lines where old_string has 1" in err.message


def test_a_proposal_much_longer_than_a_multi_line_old_is_disproportionate(impl, expect_error):
    # line_trimmed finds the block, but its trimmed text is 1000 characters longer than old's.
    content = "{\n" + " " * 1000 + "x\n}"
    expect_error("disproportionate", impl.edit_replace, content, "{\nx\n}", "y")
    assert impl.edit_replace("{\n" + " " * 400 + "x\n}", "{\nx\n}", "y") == "y"


def test_same_strings_and_empty_old_are_refused(impl, expect_error):
    expect_error("same_strings", impl.edit_replace, "x", "x", "x")
    expect_error("same_strings", impl.edit_replace, "x", "", "")
    expect_error("empty_old_string", impl.edit_replace, "x", "", "y")


def test_empty_old_never_grows_memory_on_a_big_content(impl, expect_error):
    expect_error("empty_old_string", impl.edit_replace, "x" * 5_000_000, "", "y")


def test_text_arguments_must_be_str(impl, expect_error):
    expect_error("invalid_argument", impl.edit_replace, b"abc", "a", "b")
    expect_error("invalid_argument", impl.edit_replace, "abc", "a", None)
    expect_error("invalid_argument", impl.edit_replace, "a\ud800", "a", "b")


def test_nul_and_astral_characters_are_ordinary_text(impl):
    assert impl.edit_replace("a\0b😀c", "\0b😀", "-") == "a-c"
    assert impl.edit_replace("😀 x 😀", "x", "y", True) == "😀 y 😀"


# ---- bounds ----------------------------------------------------------------------------------


def test_a_file_repeating_one_block_stops_with_search_too_large(impl, expect_error):
    content = "x\n" * 200_000
    old = " x\n" * 100_000
    expect_error("search_too_large", impl.edit_replace, content, old, "y")


def test_block_anchor_pair_budget_stops_the_run(impl, expect_error):
    find = "{" + "\n" * 100 + "}"
    content = ("{" + "\n" * 100 + "}\n") * 2_600
    expect_error("search_too_large", impl.edit_candidates, "block_anchor", content, find)
    assert impl.edit_candidates("block_anchor", ("{" + "\n" * 100 + "}\n") * 2_000, find)


def test_context_aware_pair_budget_stops_the_run(impl, expect_error):
    find = "{" + "\n" * 100 + "}"
    content = ("{" + "\n" * 100 + "}\n") * 2_600
    expect_error("search_too_large", impl.edit_candidates, "context_aware", content, find)


def test_levenshtein_cell_budget_stops_block_anchor(impl, expect_error):
    content = "{\n" + "b" * 2000 + "\n}"
    expect_error(
        "search_too_large", impl.edit_candidates, "block_anchor", content, "{\n" + "a" * 2100 + "\n}"
    )
    assert impl.edit_candidates("block_anchor", content, "{\n" + "b" * 1999 + "a\n}") == [content]


# ---- levenshtein -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("kitten", "sitting", 3),
        ("", "abc", 3),
        ("abc", "", 3),
        ("same", "same", 0),
        ("😀a", "a", 1),
        ("über", "uber", 1),
        ("a\0b", "ab", 1),
        ("flaw", "lawn", 2),
    ],
)
def test_levenshtein_counts_code_points(impl, a, b, distance):
    assert impl.levenshtein(a, b) == distance
    assert impl.levenshtein(b, a) == distance


def test_levenshtein_of_long_similar_strings_costs_only_their_difference(impl):
    prefix = "p" * 200_000
    assert impl.levenshtein(prefix + "abc" + prefix, prefix + "abd" + prefix) == 1


def test_levenshtein_past_the_cell_budget_is_search_too_large(impl, expect_error):
    expect_error("search_too_large", impl.levenshtein, "a" * 2001, "b" * 2000)
    assert impl.levenshtein("a" * 300, "b" * 300) == 300


# ---- the public, dispatching functions -------------------------------------------------------


@pytest.mark.parametrize("chosen", ["native", "python"])
def test_public_edit_replace_gives_the_same_answers_on_either_backend(chosen, expect_error):
    import ironcode

    with ironcode.backend.use(chosen):
        assert ironcode.edit_replace("a = 1\nb = 2\n", "b = 2", "b = 3") == "a = 1\nb = 3\n"
        assert ironcode.edit_replace("    if x:\n        y()\n", "if x:\n    y()", "z") == "    z\n"
        big = "filler line\n" * 10_000 + "  target\n"
        assert ironcode.edit_replace(big, "target", "done").endswith("  done\n")
        assert ironcode.edit_replace(big, "target\n", "done\n").endswith("  done\n")
        expect_error("multiple_matches", ironcode.edit_replace, "x x", "x", "y")
        expect_error("invalid_argument", ironcode.edit_replace, None, "x", "y")
        assert ironcode.levenshtein("kitten", "sitting") == 3
        assert ironcode.edit_candidates("simple", "a", "b") == ["b"]
