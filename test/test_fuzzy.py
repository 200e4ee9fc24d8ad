"""fuzzy_search and FuzzyIndex on both backends and with every algorithm.

Which items match is one rule for all of them (the query's characters in order, smart case), so
it is checked against an independent reference here; only the order differs between algorithms.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ironcode
from ironcode import backend, ffi
from ironcode.cli import main as cli_main

from .searchlib import git_init, rg_files

ROOT = Path(__file__).resolve().parent.parent
ALGORITHMS = ("nucleo", "skim", "sublime", "rapidfuzz")


def reference_matches(query: str, items: list[str]) -> list[str]:
    """The contract, written as plainly as possible: smart case, per-character lower case."""

    def fold(text: str) -> str:
        return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)

    ignore_case = not any(c.isupper() for c in query)
    wanted = fold(query) if ignore_case else query
    kept = []
    for item in items:
        rest = iter(fold(item) if ignore_case else item)
        if all(c in rest for c in wanted):
            kept.append(item)
    return kept


def search_with(algorithm: str):
    return lambda query, items, limit=50: ironcode.fuzzy_search(query, items, limit, algorithm)


@pytest.fixture(params=ALGORITHMS)
def algorithm(request) -> str:
    return request.param


# ---- the matching rule, on both backends -------------------------------------------------------


def test_only_items_holding_the_query_in_order_match(impl):
    items = ["src/main.rs", "crs.txt", "s/r/c", "docs/readme", "scr"]
    assert sorted(impl.fuzzy_search("src", items)) == ["s/r/c", "src/main.rs"]


def test_lower_case_query_ignores_case(impl):
    items = ["SRC/Lib.rs", "src/lib.rs", "other"]
    assert sorted(impl.fuzzy_search("srclib", items)) == ["SRC/Lib.rs", "src/lib.rs"]


def test_upper_case_letter_makes_the_query_case_sensitive(impl):
    items = ["SRC/Lib.rs", "src/lib.rs", "src/Lib.rs"]
    assert sorted(impl.fuzzy_search("Lib", items)) == ["SRC/Lib.rs", "src/Lib.rs"]


def test_empty_query_returns_the_first_limit_items_in_input_order(impl):
    items = ["b", "a", "c", "d"]
    assert impl.fuzzy_search("", items, 3) == ["b", "a", "c"]
    assert impl.fuzzy_search("", items, None) == items


def test_no_match_returns_an_empty_list(impl):
    assert impl.fuzzy_search("zzz", ["abc", "src"]) == []
    assert impl.fuzzy_search("abc", []) == []


def test_ties_keep_input_order(impl):
    items = ["x/abc", "y/abc", "z/abc", "w/abc"]
    assert impl.fuzzy_search("abc", items) == items


def test_duplicate_items_are_all_returned(impl):
    assert impl.fuzzy_search("a", ["a", "a", "b"]) == ["a", "a"]


def test_limit_caps_the_results_and_none_returns_all(impl):
    items = [f"dir/file{i}.py" for i in range(80)]
    assert len(impl.fuzzy_search("file", items)) == 50
    assert len(impl.fuzzy_search("file", items, 7)) == 7
    assert len(impl.fuzzy_search("file", items, None)) == 80
    assert impl.fuzzy_search("file", items, 0) == []


def test_results_are_best_first_with_a_contiguous_short_match_on_top(impl):
    items = ["a/x/c/l/i/p/y/long/path.txt", "ironcode/cli.py", "cl/i/py"]
    assert impl.fuzzy_search("clipy", items)[0] in ("ironcode/cli.py", "cl/i/py")


def test_unicode_letters_fold_like_lower_case(impl):
    items = ["Über/straße.txt", "über/x", "uber"]
    assert sorted(impl.fuzzy_search("über", items)) == ["Über/straße.txt", "über/x"]
    assert impl.fuzzy_search("Über", items) == ["Über/straße.txt"]
    assert impl.fuzzy_search("straße", items) == ["Über/straße.txt"]


def test_letter_whose_lower_case_is_two_characters_only_matches_itself(impl):
    # "İ".lower() is two characters, so İ is compared as itself (and makes the query case-sensitive).
    items = ["İstanbul", "istanbul", "i̇stanbul"]
    assert impl.fuzzy_search("İst", items) == ["İstanbul"]
    # ...while "i̇stanbul" (i + combining dot) does hold i, s, t in order.
    assert sorted(impl.fuzzy_search("ist", items)) == sorted(["istanbul", "i̇stanbul"])


def test_sigma_folds_the_same_anywhere_in_the_word(impl):
    assert impl.fuzzy_search("σ", ["ΟΔΟΣ", "x"]) == ["ΟΔΟΣ"]


def test_emoji_cjk_crlf_and_tabs_are_ordinary_characters(impl):
    items = ["docs/😀/日本語.md", "line\r\nbreak", "tab\there"]
    assert impl.fuzzy_search("😀日", items) == ["docs/😀/日本語.md"]
    assert impl.fuzzy_search("\r\n", items) == ["line\r\nbreak"]
    assert impl.fuzzy_search("\t", items) == ["tab\there"]


def test_nul_in_items_and_query_is_matched_not_cut(impl):
    items = ["a\0b", "ab", "b"]
    assert impl.fuzzy_search("\0", items) == ["a\0b"]
    assert sorted(impl.fuzzy_search("ab", items)) == ["a\0b", "ab"]
    assert impl.fuzzy_search("a\0b", items) == ["a\0b"]


def test_empty_string_items_match_only_the_empty_query(impl):
    assert impl.fuzzy_search("a", ["", "a"]) == ["a"]
    assert impl.fuzzy_search("", ["", "a"]) == ["", "a"]


def test_any_sequence_of_strings_is_accepted(impl):
    assert impl.fuzzy_search("a", ("a", "b")) == ["a"]


def test_a_huge_item_is_kept_without_stalling(impl):
    huge = "a" + "x" * 3_000_000 + "b"
    assert impl.fuzzy_search("ab", [huge, "ab"]) == ["ab", huge]


def test_repeated_letters_that_explode_sublimes_search_do_not_stall_any_algorithm(algorithm):
    # Sublime's matcher tries every alignment: "a" * 12 against "a" * 4000 would run for ages.
    items = ["a" * n for n in (12, 100, 1000, 4000)] * 25
    found = search_with(algorithm)("a" * 12, items, None)
    assert Counter(found) == Counter(items)


def test_many_items_give_the_reference_set(impl):
    items = [f"pkg{i % 37}/mod{i}/util_{i % 11}.py" for i in range(20_000)]
    found = impl.fuzzy_search("p7u3", items, None)
    assert Counter(found) == Counter(reference_matches("p7u3", items))


# ---- bad input: the same kind on both backends -------------------------------------------------


@pytest.mark.parametrize(
    "items",
    [["a", 1], "abc", b"abc", None, 42, ["ok", None], [b"bytes"]],
    ids=["int-item", "str", "bytes", "none", "int", "none-item", "bytes-item"],
)
def test_items_that_are_not_a_list_of_strings_are_invalid_argument(impl, expect_error, items):
    expect_error("invalid_argument", impl.fuzzy_search, "a", items)


def test_lone_surrogates_are_invalid_argument(impl, expect_error):
    expect_error("invalid_argument", impl.fuzzy_search, "a", ["ok", "bad\udcff"])
    expect_error("invalid_argument", impl.fuzzy_search, "\ud800", ["ok"])


@pytest.mark.parametrize("query", [None, 3, b"abc"], ids=["none", "int", "bytes"])
def test_a_query_that_is_not_a_string_is_invalid_argument(impl, expect_error, query):
    expect_error("invalid_argument", impl.fuzzy_search, query, ["a"])


@pytest.mark.parametrize("limit", [-1, True, 2.5, "3"])
def test_a_negative_or_non_integer_limit_is_invalid_argument(impl, expect_error, limit):
    expect_error("invalid_argument", impl.fuzzy_search, "a", ["a"], limit)


def test_an_unknown_algorithm_is_invalid_argument(impl, expect_error):
    error = expect_error("invalid_argument", impl.fuzzy_search, "a", ["a"], 50, "fzf")
    assert "nucleo" in error.message


def test_the_other_backends_algorithm_is_refused_with_a_pointer(expect_error):
    from ironcode.twin import fuzzy as twin

    error = expect_error("invalid_argument", ffi.fuzzy_search, "a", ["a"], 50, "rapidfuzz")
    assert "Python backend" in error.message
    error = expect_error("invalid_argument", twin.fuzzy_search, "a", ["a"], 50, "nucleo")
    assert "native backend" in error.message


# ---- every algorithm through the dispatcher ----------------------------------------------------


def test_every_algorithm_keeps_exactly_the_in_order_matches(algorithm):
    items = ["src/main.rs", "SRC/x", "s-r-c", "crs", "", "sr", "über/src", "ßrc"]
    search = search_with(algorithm)
    assert Counter(search("src", items, None)) == Counter(reference_matches("src", items))
    assert search("SRC", items, None) == ["SRC/x"]


def test_every_algorithm_returns_ties_in_input_order(algorithm):
    items = ["a/util.py", "b/util.py", "c/util.py"]
    assert search_with(algorithm)("util", items) == items


def test_explicit_algorithm_is_served_by_its_own_backend_even_when_one_is_forced():
    from ironcode.twin import fuzzy as twin

    # Served by the wrong backend, each call would raise invalid_argument.
    items = ["ironcode/cli.py", "click/core.py"]
    with backend.use("python"):
        assert sorted(ironcode.fuzzy_search("clipy", items, algorithm="nucleo")) == sorted(items)
    with backend.use("native"):
        assert sorted(ironcode.fuzzy_search("clipy", items, algorithm="rapidfuzz")) == sorted(items)
        with ironcode.FuzzyIndex(items, "rapidfuzz") as index:
            assert isinstance(index, twin.FuzzyIndex)


def test_default_dispatch_follows_the_decision_table():
    from ironcode.twin import fuzzy as twin

    classes = {"native": ffi.FuzzyIndex, "python": twin.FuzzyIndex}
    with ironcode.FuzzyIndex(["a"]) as index:
        assert isinstance(index, classes[backend.decision("FuzzyIndex").backend])
    for forced, cls in classes.items():
        with backend.use(forced), ironcode.FuzzyIndex(["a"]) as index:
            assert isinstance(index, cls)


# ---- properties -----------------------------------------------------------------------------

#: Mostly a small alphabet (so queries do match), with the tricky letters, plus any assigned
#: character (unassigned ones are left out: Python's and Rust's Unicode versions differ there).
TRICKY = "aAbBsS/._- İıΣσςßẞÜüé\0\r\n😀"
CHARS = st.one_of(
    st.sampled_from(TRICKY),
    st.sampled_from(TRICKY),
    st.sampled_from(TRICKY),
    st.characters(exclude_categories=("Cs", "Cn")),
)
QUERIES = st.text(CHARS, max_size=4)
ITEMS = st.lists(st.text(CHARS, max_size=12), max_size=10)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=QUERIES, items=ITEMS, limit=st.one_of(st.none(), st.integers(0, 12)))
def test_property_every_algorithm_matches_the_reference_set(query, items, limit):
    expected = reference_matches(query, items)
    for algorithm in ALGORITHMS:
        found = ironcode.fuzzy_search(query, items, None, algorithm)
        assert Counter(found) == Counter(expected), algorithm
        # A limit cuts the same ranking, never reorders it.
        assert ironcode.fuzzy_search(query, items, limit, algorithm) == found[:limit]


@settings(max_examples=60, deadline=None)
@given(query=QUERIES, items=ITEMS)
def test_property_index_search_equals_per_call_search(query, items):
    for algorithm in ALGORITHMS:
        with ironcode.FuzzyIndex(items, algorithm) as index:
            assert index.search(query, None) == ironcode.fuzzy_search(query, items, None, algorithm)


JUNK = st.one_of(
    st.none(),
    st.integers(),
    st.binary(max_size=3),
    st.text(max_size=3),
    st.sampled_from(["\ud800", "ok\udfff"]),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    query=st.one_of(QUERIES, JUNK),
    items=st.one_of(ITEMS, st.lists(st.one_of(st.text(max_size=3), JUNK), max_size=4), JUNK),
    limit=st.one_of(st.none(), st.integers(-3, 5), st.just(True)),
)
def test_property_both_backends_give_the_same_set_or_the_same_error_kind(both, query, items, limit):
    native, python = both
    outcomes = []
    for impl in (native, python):
        try:
            outcomes.append(("ok", Counter(impl.fuzzy_search(query, items, limit))))
        except ironcode.IronCodeError as e:
            outcomes.append(("error", e.kind))
    if outcomes[0][0] == "ok" and outcomes[1][0] == "ok" and limit is not None:
        # Different algorithms may keep different items when the limit cuts: compare sizes.
        assert sum(outcomes[0][1].values()) == sum(outcomes[1][1].values())
    else:
        assert outcomes[0] == outcomes[1]


# ---- FuzzyIndex --------------------------------------------------------------------------------


def test_index_searches_like_fuzzy_search(impl):
    items = ["ironcode/cli.py", "click/core.py", "README.md", "src/lib.rs"]
    index = impl.FuzzyIndex(items)
    assert len(index) == 4
    assert index.search("clipy") == impl.fuzzy_search("clipy", items)
    assert index.search("", 2) == items[:2]
    assert index.search("zzz") == []
    index.close()


def test_closed_index_refuses_searches(impl, expect_error):
    with impl.FuzzyIndex(["a", "b"]) as index:
        assert index.search("a") == ["a"]
    expect_error("invalid_argument", index.search, "a")
    index.close()  # closing twice is harmless


def test_index_rejects_bad_items_and_limits_like_fuzzy_search(impl, expect_error):
    expect_error("invalid_argument", impl.FuzzyIndex, ["a", 1])
    expect_error("invalid_argument", impl.FuzzyIndex, "abc")
    with impl.FuzzyIndex(["a"]) as index:
        expect_error("invalid_argument", index.search, "a", -1)
        expect_error("invalid_argument", index.search, None)


def test_index_keeps_its_own_copy_of_the_items(impl):
    items = ["alpha", "beta"]
    with impl.FuzzyIndex(items) as index:
        items.append("alphabet")
        assert index.search("alp") == ["alpha"]


def test_native_indexes_are_freed_on_close_and_on_garbage_collection():
    before = ffi.fuzzy_index_count()
    index = ffi.FuzzyIndex(["a"])
    assert ffi.fuzzy_index_count() == before + 1
    index.close()
    assert ffi.fuzzy_index_count() == before
    ffi.FuzzyIndex(["b"])  # dropped at once
    assert ffi.fuzzy_index_count() == before


def test_native_index_serves_many_threads_and_survives_a_close_mid_search(expect_error):
    items = [f"pkg{i % 13}/sub{i % 7}/file{i}.py" for i in range(30_000)]
    index = ffi.FuzzyIndex(items)
    expected = index.search("p3s2f1", 20)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(5):
                assert index.search("p3s2f1", 20) == expected
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    closer = ffi.FuzzyIndex(items)
    results: list[object] = []

    def search_until_closed() -> None:
        for _ in range(20):
            try:
                results.append(len(closer.search("p3", 5)))
            except ironcode.IronCodeError as e:
                results.append(e.kind)

    t = threading.Thread(target=search_until_closed)
    t.start()
    closer.close()
    t.join(timeout=60)
    assert set(results) <= {5, "invalid_argument"}
    index.close()


# ---- CLI ----------------------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A repository whose build output (bench-out/, node_modules/) is gitignored."""
    git_init(tmp_path)
    (tmp_path / ".gitignore").write_text("bench-out/\nnode_modules/\n")
    for rel in [
        "ironcode/cli.py",
        "src/lib.rs",
        "docs/readme.md",
        "node_modules/x/cli.py",
        "bench-out/clip.py",
        "build/cl.txt",
    ]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x\n")
    return tmp_path


@pytest.mark.parametrize("backend_name", ["native", "python"])
def test_cli_ranks_the_files_of_a_folder(tree, backend_name):
    result = CliRunner().invoke(cli_main, ["--json", "--backend", backend_name, "fuzzy", "clipy", str(tree)])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found[0] == "ironcode/cli.py"
    assert "node_modules/x/cli.py" not in found


@pytest.mark.parametrize("backend_name", ["native", "python"])
def test_cli_ranks_file_lists_files_so_gitignored_ones_are_not_offered(tree, backend_name):
    result = CliRunner().invoke(
        cli_main, ["--json", "--backend", backend_name, "fuzzy", "--limit", "0", "cl", str(tree)]
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    # the candidates are exactly rg's files (ls would offer bench-out/clip.py and hide build/)
    listed = ironcode.file_list(str(tree))
    assert set(found) == {path for path in listed if re.search("c.*l", path, re.IGNORECASE)}
    assert "bench-out/clip.py" not in found and "node_modules/x/cli.py" not in found
    assert "build/cl.txt" in found  # not gitignored: rg lists it, so the picker offers it
    assert set(listed) == set(rg_files(tree))


def test_cli_prints_one_path_per_line_and_says_when_nothing_matches(tree):
    result = CliRunner().invoke(cli_main, ["fuzzy", "--limit", "1", "clipy", str(tree)])
    assert result.exit_code == 0
    assert result.output == "ironcode/cli.py\n"
    result = CliRunner().invoke(cli_main, ["fuzzy", "qqqq", str(tree)])
    assert result.exit_code == 0
    assert "No file matches 'qqqq'" in result.output


def test_cli_reports_a_missing_folder_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "ironcode.cli", "fuzzy", "x", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("ironcode: not_found:")
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_refuses_an_unknown_algorithm(tree):
    result = CliRunner().invoke(cli_main, ["fuzzy", "--algorithm", "fzf", "x", str(tree)])
    assert result.exit_code == 2


# ---- the benchmark ------------------------------------------------------------------------------


def test_benchmark_quick_run_writes_the_report(tmp_path):
    out = tmp_path / "fuzzy.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "script" / "bench-fuzzy-all.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["bench"] == "fuzzy-all"
    assert set(report["machine"]) >= {"cpu", "cores", "python"}
    impls = {row["impl"] for row in report["rows"]}
    assert {"python-rapidfuzz", "native-nucleo", "native-skim", "native-sublime"} <= impls
    assert {"native-index-nucleo", "python-index-rapidfuzz"} <= impls
    for row in report["rows"]:
        assert set(row) >= {"case", "impl", "median_s", "p95_s", "n", "peak_mb"}
        assert row["median_s"] is None or row["median_s"] > 0
    assert "quality" in report and len(report["quality"]["cases"]) >= 20
    assert "| query |" in result.stdout
