"""grep on both backends, proven equal to ``rg -n --hidden -g '!.git' PATTERN PATH``.

The generated tree holds the files a line search must get right (binary, invalid UTF-8, a 100 KB
line, CRLF, byte-order marks, odd names, ignored and hidden files); the standard library in a
temporary git repository is the real tree. Hypothesis checks that the backends agree on random
patterns and random file contents.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ironcode

from .searchlib import git_init, isolate_git_env, make_tree, pairs, rg_grep, stdlib_repo

LONG_LINE = b"z" * 100_000

#: Files whose every line rg 13 treats deterministically (see test_binary_file_* for the rest).
GREP_TREE: dict[str, bytes] = {
    ".gitignore": b"ignored.txt\n",
    "ignored.txt": b"foo ignored\n",
    ".hidden.txt": b"foo hidden\n",
    ".git/config": b"foo in git\n",
    "plain.txt": b"foo one\nbar\nfoo two\n",
    "crlf.txt": b"foo one\r\nbar\r\nfoo$\r\n",
    "binary.dat": b"foo\n\x00foo\n",
    "binary_after_peek.dat": b"a\nb\x00foo\n",
    "invalid.txt": b"foo \xff\xfe bad\nok foo\n\xc3\x28 foo\n",
    "long.txt": b"start\n" + LONG_LINE + b" foo\nend foo\n",
    "utf16le.txt": "\ufefffoo sixteen\nbar\n".encode("utf-16-le"),
    "utf16be.txt": "\ufefffoo big\n".encode("utf-16-be"),
    "utf8bom.txt": b"\xef\xbb\xbffoo bom\n",
    "sp ace/ünï cödé.txt": "foo ünïcödé\nFOO upper\n".encode(),
    "empty.txt": b"",
    "no_newline.txt": b"last foo",
    "only_newlines.txt": b"\n\n",
    "sub/deep/nested.py": b"def foo():\n    return 1\n",
}

PATTERNS = [
    "foo",
    "^foo",
    "foo$",
    r"foo\r$",
    r"\$",
    "FOO",
    ".",
    "^$",
    "",
    r"\w+",
    "ünï",
    r"\bbad\b",
    "foo|bar",
    "[^a-z]",
    r"\s",
    "z{5}",
    "sixteen",
    "bom",
    r"def \w+\(\)",
    r"(?i)foo",
    r"\x{66}oo",
]


@pytest.fixture
def git_env(tmp_path_factory, monkeypatch) -> Path:
    return isolate_git_env(tmp_path_factory, monkeypatch)


@pytest.fixture
def grep_repo(tmp_path: Path, git_env) -> Path:
    root = git_init(tmp_path.resolve() / "repo")
    return make_tree(root, GREP_TREE)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_grep_equals_rg_on_every_kind_of_file(impl, grep_repo, pattern):
    result = impl.grep(pattern, str(grep_repo), limit=None)
    assert pairs(result) == rg_grep(grep_repo, pattern)
    assert result["total"] == len(result["matches"]) and not result["truncated"]


@pytest.mark.parametrize(
    ("pattern", "include", "ignore_case"),
    [("foo", "*.txt", False), ("foo", "sp ace/*", False), ("foo", "!crlf*", False), ("FOO", None, True)],
)
def test_grep_include_and_ignore_case_equal_rg(impl, grep_repo, pattern, include, ignore_case):
    result = impl.grep(pattern, str(grep_repo), include, None, ignore_case)
    assert pairs(result) == rg_grep(grep_repo, pattern, include, ignore_case)


def test_grep_reads_like_ripgrep(impl, grep_repo):
    found = {
        (Path(m["path"]).name, m["line"]): m["text"]
        for m in impl.grep("foo|bar|upper", str(grep_repo), limit=None)["matches"]
    }
    assert found[("crlf.txt", 1)] == "foo one"  # "\r\n" is not part of the text
    assert found[("invalid.txt", 1)] == "foo \ufffd\ufffd bad"  # invalid UTF-8 read lossily
    assert found[("long.txt", 2)] == LONG_LINE.decode() + " foo"  # a 100 KB line, whole
    assert found[("utf16le.txt", 1)] == "foo sixteen"  # UTF-16 with a BOM is transcoded
    assert found[("utf8bom.txt", 1)] == "foo bom"  # a UTF-8 BOM is dropped
    assert found[("ünï cödé.txt", 1)] == "foo ünïcödé"  # names with spaces and Unicode
    assert ("binary.dat", 1) not in found  # binary files are skipped
    assert ("ignored.txt", 1) not in found and (".hidden.txt", 1) in found
    assert not any(name == "config" for name, _ in found)  # .git is never searched


def test_results_list_newest_files_first_lines_in_order_and_respect_limit(impl, tmp_path):
    now = time.time()
    for age, name in enumerate(["new.txt", "mid.txt", "old.txt"]):
        path = tmp_path / name
        path.write_text("x 1\nx 2\ny\nx 4\n")
        os.utime(path, (now - 100 * age, now - 100 * age))
    result = impl.grep("x", str(tmp_path), limit=5)
    got = [(Path(m["path"]).name, m["line"]) for m in result["matches"]]
    assert got == [("new.txt", 1), ("new.txt", 2), ("new.txt", 4), ("mid.txt", 1), ("mid.txt", 2)]
    assert (result["total"], result["truncated"]) == (9, True)
    assert all(os.path.isabs(m["path"]) for m in result["matches"])
    assert impl.grep("x", str(tmp_path), limit=0) == {"matches": [], "total": 9, "truncated": True}
    assert impl.grep("nothing", str(tmp_path)) == {"matches": [], "total": 0, "truncated": False}


def test_grep_searches_a_single_file_given_as_path(impl, tmp_path):
    path = tmp_path / "one.txt"
    path.write_text("a\nfoo\n")
    result = impl.grep("foo", str(path))
    assert result["matches"] == [{"path": str(path), "line": 2, "text": "foo"}]


def test_binary_file_keeps_only_lines_read_before_the_chunk_with_a_nul(impl, tmp_path):
    # grep-searcher reads a file in chunks (the first is the 3 bytes peeked for a BOM) and stops
    # at the chunk that brings a NUL, without searching it: both backends replay that exactly.
    make_tree(
        tmp_path,
        {
            "peek.dat": b"a\nb\x00a\n",
            "first.dat": b"aaaa\nb\x00a\n",
            "late.dat": b"a start\n" + b"x" * 70_000 + b"\na middle\n\x00\na end\n",
            "late_lines.dat": b"a start\n" + (b"y" * 100 + b"\n") * 1000 + b"a there\n\x00a after\n",
        },
    )
    found = sorted(
        (Path(m["path"]).name, m["line"]) for m in impl.grep("a", str(tmp_path), limit=None)["matches"]
    )
    assert found == [("late.dat", 1), ("late_lines.dat", 1), ("peek.dat", 1)]


#: Where the first NUL byte falls: around the 3 bytes peeked for a BOM, the native backend's first
#: read (4 KiB), the searcher's 64 KiB line buffer and its threefold growth.
NUL_OFFSETS = [0, 1, 2, 3, 4, 5, 8, 4095, 4096, 4097, 65_533, 65_534, 65_535, 65_536, 65_537, 196_610]


def _nul_at(offset: int) -> bytes:
    body = (b"a start\n" + b"xxxxxxx\n" * (offset // 8 + 2))[:offset]
    return body + b"\x00a after\n"


def test_binary_detection_equals_rg_wherever_the_first_nul_falls(impl, tmp_path):
    # The native backend reads a file whole and replays where the searcher's reads would have
    # stopped; a BOM, or a file longer than it reads whole (8 MiB), goes through the searcher.
    # No line here is longer than 64 KiB: rg reuses a searcher per thread, and one whose buffer
    # grew for a long line reads later files in larger chunks (test_binary_file_* covers that).
    files = {f"nul_{offset}.dat": _nul_at(offset) for offset in NUL_OFFSETS}
    files["nul_past_the_whole_file_read.dat"] = b"a start\n" + b"xxxxxxx\n" * (9 << 17) + b"\x00a after\n"
    files["utf8_bom_then_late_nul.txt"] = b"\xef\xbb\xbfa start\n" + b"xxxxxxx\n" * 5000 + b"\x00a after\n"
    files["utf16_with_nul_char.txt"] = "\ufeffa start\n\0a after\n".encode("utf-16-le")
    make_tree(tmp_path, files)
    assert pairs(impl.grep("a", str(tmp_path), limit=None)) == rg_grep(tmp_path, "a")


def test_bad_input_raises_a_clear_error_kind(impl, tmp_path, expect_error):
    for bad in [
        "(",
        "a)",
        "(?=x)",
        "(?<!x)y",
        r"\1",
        "a{",
        "[z-a]",
        r"\p{Nope}",
        "a\nb",
        r"\n",
        "[\\n]",
        "*",
    ]:
        expect_error("invalid_pattern", impl.grep, bad, str(tmp_path))
    expect_error("invalid_pattern", impl.grep, "x", str(tmp_path), "{a,b")
    expect_error("not_found", impl.grep, "x", str(tmp_path / "missing"))
    expect_error("invalid_argument", impl.grep, "a\0b", str(tmp_path))
    expect_error("invalid_argument", impl.grep, "x", str(tmp_path), None, 100, "yes")
    expect_error("invalid_argument", impl.grep, 5, str(tmp_path))


def test_invalid_pattern_carries_the_engine_message(impl, tmp_path):
    with pytest.raises(ironcode.IronCodeError) as info:
        impl.grep("(?=x)", str(tmp_path))
    assert "look-around" in info.value.message


# ---- a real tree -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def stdlib(tmp_path_factory) -> Path:
    return stdlib_repo(tmp_path_factory)


@pytest.mark.parametrize(
    ("pattern", "include", "ignore_case"),
    [
        ("import os", None, False),
        (r"^\s*def \w+\(self, \w+\)", "*.py", False),
        ("xxx|todo|fixme", "email/**", True),
    ],
)
def test_grep_equals_rg_on_the_standard_library(impl, stdlib, git_env, pattern, include, ignore_case):
    result = impl.grep(pattern, str(stdlib), include, None, ignore_case)
    assert result["total"] > 0
    assert pairs(result) == rg_grep(stdlib, pattern, include, ignore_case)


# ---- parity on random input --------------------------------------------------------------------


def _outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except ironcode.IronCodeError as e:
        return ("error", e.kind, "Python backend" in e.message)


@pytest.fixture(scope="module")
def regex_tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("regex")
    text = "abc\nAbC déf\n\tx_1 9\r\nfoo.bar(baz)\n[a] {b} ^$ \\ |\n  \nÉté ß ſ K\n\x1c\x85 \u2028z\n"
    (root / "a.txt").write_bytes(text.encode() + b"bad \xff byte\n")
    return root


REGEX_TEXT = st.text(alphabet="ab()[]{}*+?|\\^$.-,:=!<>PiUsmx0123dDswSWbBzAn&~ é", max_size=10)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pattern=REGEX_TEXT, ignore_case=st.booleans())
def test_both_backends_accept_refuse_and_match_any_pattern_alike(both, regex_tree, pattern, ignore_case):
    native, python = both
    args = (pattern, str(regex_tree), None, None, ignore_case)
    expected, got = _outcome(native.grep, *args), _outcome(python.grep, *args)
    if got[0] == "error" and got[2] and expected[0] == "ok":
        return  # refused by the twin only, as listed in ironcode/twin/__init__.py
    assert got[:2] == expected[:2]


ATOMS = st.sampled_from(
    [
        "a",
        "b",
        "é",
        ".",
        r"\d",
        r"\s",
        r"\S",
        r"\D",
        "[a-c]",
        "[^ab]",
        r"[\s\d]",
        "[^\\S]",
        "^",
        "$",
        r"\x41",
        " ",
    ]
    + ["(?i)a", r"\.", r"\r", "[[:alpha:]]", r"\A", r"\z", "(?i:b)", "[é-ë]"]
)
REGEXES = st.recursive(
    ATOMS,
    lambda inner: st.one_of(
        st.tuples(inner, inner).map("".join),
        st.tuples(inner, inner).map("|".join),
        inner.map(lambda r: f"({r})"),
        st.tuples(inner, st.sampled_from(["*", "+", "?", "*?", "{1,2}", "{2}", "??", "**"])).map(
            lambda t: f"(?:{t[0]}){t[1]}"
        ),
    ),
    max_leaves=6,
)
PIECES = [b"a", b"b", "é".encode(), b" ", b"\n", b"\r\n", b"\t", b"A", b"1", b"\xff", b"\x00", b"x" * 3000]
CONTENTS = st.lists(st.sampled_from([*PIECES, b"\xef\xbb\xbf", b"\xff\xfe", b"."]), max_size=40).map(b"".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pattern=REGEXES,
    contents=st.lists(CONTENTS, min_size=1, max_size=4),
    ignore_case=st.booleans(),
    repeat=st.sampled_from([1, 40]),
)
def test_both_backends_find_the_same_lines_in_random_files(both, pattern, contents, ignore_case, repeat):
    native, python = both
    root = Path(tempfile.mkdtemp(prefix="ironcode-grep-"))
    try:
        for i, content in enumerate(contents):
            (root / f"f{i}.txt").write_bytes(content * repeat)
        args = (pattern, str(root), None, None, ignore_case)
        assert _outcome(python.grep, *args) == _outcome(native.grep, *args)
    finally:
        shutil.rmtree(root)
