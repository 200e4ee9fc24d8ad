"""What the C-boundary fuzzer sends to each export: one argument plan per ``*_ffi`` symbol.

Used by ``test/fuzz_child.py`` (the child process that makes the calls) and ``test/test_fuzz.py``
(the parent that checks every export of ``native/tool/src/lib.rs`` has a plan). A plan is a tuple
of strategies, one per C argument group; a pointer + length pair is one group that draws the
bytes and passes their length. Strategies mix what the export expects (names of files that exist,
JSON of the right shape, text old/new pairs taken from the content) with what it must survive:
NULL, empty, NUL bytes, invalid UTF-8, huge values, random JSON, every integer and float edge.

Safety, because the calls really run:
- paths never contain ``/``: the child runs in a scratch folder, so an export that writes or
  extracts can only touch that folder (``..`` reaches its empty parent at most);
- programs a terminal starts come from :data:`SAFE_COMMANDS` (random argv would run random
  programs, as root in CI);
- a call that waits gets a short timeout, or an id that cannot be open (the child closes every
  terminal, watcher, lock ticket and index after each call), so nothing blocks for long.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import random
import subprocess
import tarfile
import zipfile
from pathlib import Path

from hypothesis import strategies as st

from ironcode import ffi
from ironcode.errors import KINDS
from ironcode.twin.edit_strategies import STRATEGIES as STRATEGY_NAMES

# ---- sizes -------------------------------------------------------------------------------------

#: Large inputs are drawn from a few prebuilt values (building 8 MB per example would dominate).
HUGE = 8 << 20
BIG = 1 << 20

_huge_values = [
    b"a" * HUGE,
    b"\n" * BIG,
    (b"x" * 999 + b"\n") * 1024,
    random.Random(0).randbytes(BIG),
    ("日本語\r\n\ufeff" * (BIG // 16)).encode(),
]
_big_c_strings = [b"x" * BIG, b"[" * 100_000]

# ---- scalar strategies --------------------------------------------------------------------------

_name_chars = st.characters(blacklist_characters="/\0", blacklist_categories=("Cs",))
#: File names in the scratch folder: those that exist, random ones, and the awkward ones.
FIXTURE_NAMES = [
    "file.txt",
    "crlf.txt",
    "bom.txt",
    "bin.dat",
    "empty.txt",
    "invalid.txt",
    "dir",
    "link",
    "loop",
    "dangling",
    "a.zip",
    "a.tar",
    "a.tgz",
    "bad.zip",
    "evil.zip",
]
names = st.one_of(
    st.sampled_from(FIXTURE_NAMES),
    st.text(_name_chars, max_size=30),
    st.sampled_from(["", ".", "..", "~", "-", " ", "x" * 255, "x" * 256, "y" * 5000, ".git"]),
)
invalid_utf8 = st.sampled_from([b"\xff", b"\xc3", b"a\xed\xa0\x80b", b"\xf4\x90\x80\x80", b"\xfe\xff"])
#: Random bytes with no NUL (a C string cannot hold one) and no '/'.
raw_bytes = st.binary(max_size=200).map(lambda b: b.replace(b"\0", b"").replace(b"/", b""))

paths = st.one_of(names.map(str.encode), invalid_utf8, raw_bytes, st.none())
#: The confinement root of the file and search exports: mostly none (NULL), else a folder of the
#: scratch tree, one that is a file, a link, missing, empty or not UTF-8 (never above the scratch
#: folder, so confined writes stay in it).
roots = st.one_of(
    st.none(),
    st.none(),
    st.sampled_from(
        [
            b".",
            b"dir",
            b"dir/sub",
            b"./dir/../dir",
            b"link",
            b"loop",
            b"dangling",
            b"nowhere",
            b"file.txt",
            b"",
        ]
    ),
    invalid_utf8,
)
#: Any C string: a path-like name, random bytes, JSON, invalid UTF-8, huge, NULL.
c_strings = st.one_of(
    paths,
    st.text(max_size=50).map(lambda s: s.replace("\0", "").replace("/", "").encode("utf-8", "surrogatepass")),
    st.sampled_from(_big_c_strings),
    st.sampled_from([b"{}", b"null", b"[]", b'["*"]']),
)
#: Every large prebuilt value: the child logs these by index rather than pickling megabytes.
BIG_CONSTANTS = _huge_values + _big_c_strings

i64 = st.one_of(
    st.integers(-3, 3000),
    st.sampled_from([-(2**63), 2**63 - 1, -(2**31), 2**31 - 1, 2**32, 0, 1, -1]),
    st.integers(-(2**63), 2**63 - 1),
)
u64 = st.one_of(st.integers(0, 50), st.sampled_from([0, 2**64 - 1, 2**63]), st.integers(0, 2**64 - 1))
c_ints = st.one_of(st.integers(-2, 2), st.sampled_from([-(2**31), 2**31 - 1]))
sizes = st.one_of(st.integers(0, 50), st.sampled_from([2**64 - 1, 2**63, 2**32]))
flags = st.one_of(st.sampled_from([0, 1]), i64)
#: Seconds for calls that wait: every edge, but the library must refuse or cap the bad ones, and
#: the child never has a live id at the time (see module docs).
seconds = st.one_of(
    st.floats(0, 0.01),
    st.sampled_from([0.0, -0.0, -1.0, math.nan, math.inf, -math.inf, 1e300, 86_400.0, 86_401.0, 5e-324]),
    st.floats(allow_nan=True, allow_infinity=True),
)


def _json_text(value) -> bytes:
    return json.dumps(value).encode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def json_of(shape: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly JSON of the expected ``shape``; also any JSON, broken JSON, deep nesting, NULL."""
    return st.one_of(
        shape.map(_json_text),
        shape.map(_json_text),
        json_values.map(_json_text),
        st.sampled_from([b"", b"[", b'["a"', b"[1,]", b"\xff", b"[" * 5000 + b"]" * 5000, b'"\\ud800"']),
        st.none(),
    )


globs = st.one_of(
    st.sampled_from(["*", "**", "*.txt", "dir/**", "!*.txt", "[", "{a,b", "**/", "!", "\\", "a/**/b", ""]),
    st.text(st.sampled_from("*?[]{}!,\\/.a"), max_size=12),
    names,
)
glob_lists = st.lists(globs, max_size=5)
regexes = st.one_of(
    st.sampled_from(
        ["line", "(", "a{99999}", "\\", "(?i)X", "^$", ".*", "\\bfoo\\b", "[[:alpha:]]", "(a*)*b"]
    ),
    st.text(st.sampled_from("ab.*+?()[]{}|^$\\dws-"), max_size=20),
    st.text(max_size=20),
)


#: grep's options object: every key, each with good values, edge values and wrong types (a
#: context of millions of lines, a line cut of 0, unknown modes and types, NUL in a glob).
_grep_counts = st.one_of(
    st.none(), st.integers(0, 5), st.sampled_from([10_000, 2**63 - 1, 2**64, -1, 1.5, "3", True])
)
grep_options = st.fixed_dictionaries(
    {},
    optional={
        "include": st.one_of(st.none(), globs, st.just("a\0b"), st.integers()),
        "limit": _grep_counts,
        "ignore_case": st.one_of(st.booleans(), st.just(1)),
        "output_mode": st.sampled_from(["content", "files", "count", "lines", "", None, 3]),
        "before": _grep_counts,
        "after": _grep_counts,
        "context": _grep_counts,
        "multiline": st.one_of(st.booleans(), st.just("yes")),
        "file_type": st.one_of(
            st.none(), st.sampled_from(["py", "rust", "txt", "all", "", "pyton", "a\0"]), names
        ),
        "max_line_chars": _grep_counts,
        # The confinement root (see `roots` below): a folder of the scratch tree, a file, a
        # link, a missing path, empty.
        "root": st.one_of(
            st.none(), st.sampled_from([".", "dir", "dir/sub", "link", "file.txt", "nowhere", ""])
        ),
    },
)


def encoded(text_strategy: st.SearchStrategy) -> st.SearchStrategy:
    return text_strategy.map(lambda s: s.encode("utf-8", "surrogatepass"))


# ---- buffers (pointer + length) ------------------------------------------------------------------

code_lines = st.sampled_from(
    [
        "def f(x):",
        "    return x + 1",
        "",
        "\tif a:",
        "  // comment",
        "}",
        "    }",
        "x = 'a\\nb'",
        "  ",
        "\r",
        "日本 \u00a0 \u3000",
    ]
)
text_content = st.one_of(
    st.lists(code_lines, max_size=12).map("\n".join),
    st.text(max_size=300),
    st.lists(code_lines, max_size=12).map("\r\n".join),
)


@st.composite
def buffers(draw, text: st.SearchStrategy = text_content) -> tuple[bytes | None, int]:
    """One pointer + length group: text, random bytes, NUL, invalid UTF-8, huge, or NULL."""
    choice = draw(st.integers(0, 9))
    if choice <= 4:
        data = draw(text).encode("utf-8", "surrogatepass")
    elif choice <= 6:
        data = draw(st.binary(max_size=500))
    elif choice == 7:
        data = draw(st.sampled_from([b"", b"\0", b"a\0b", b"\xff\xfe", b"\xed\xa0\x80", "\ufeff".encode()]))
    elif choice == 8:
        data = draw(st.sampled_from(_huge_values))
    else:
        return None, draw(st.sampled_from([0, 0, 1, 2**63]))  # NULL: only length 0 is acceptable
    if draw(st.integers(0, 9)) == 0:  # a length shorter than the data cuts it mid-character
        return data, draw(st.integers(0, len(data)))
    return data, len(data)


class OutBuffer:
    """A writable buffer for an export's out-parameter (terminal_read_ffi's ``out``). ctypes
    passes it as its memory; it pickles as its size, for the fuzz child's call log."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._as_parameter_ = ctypes.create_string_buffer(size)

    def __reduce__(self):
        return (OutBuffer, (self.size,))

    def __repr__(self) -> str:
        return f"OutBuffer({self.size})"


@st.composite
def out_buffers(draw) -> tuple[OutBuffer | None, int]:
    """One pointer + capacity group for output: a real buffer with its size or less (0 included),
    or NULL with a capacity (only 0 is acceptable)."""
    if draw(st.integers(0, 9)) == 0:
        return None, draw(st.sampled_from([0, 1, 2**63]))
    size = draw(st.one_of(st.integers(1, 64), st.sampled_from([4096, 2 << 20])))
    return OutBuffer(size), draw(st.one_of(st.just(size), st.integers(0, size)))


@st.composite
def edit_triples(draw) -> tuple:
    """content, old, new for the replacer chain: old is often a (bent) piece of content."""
    content = draw(text_content)
    kind = draw(st.integers(0, 5))
    if kind <= 2 and content:
        start = draw(st.integers(0, len(content)))
        end = draw(st.integers(start, min(len(content), start + 200)))
        old = content[start:end]
        if kind == 1:  # bent: indentation and spacing differ, as a model's copy does
            old = "\n".join("  " + line.strip() for line in old.split("\n"))
        elif kind == 2:
            old = old.replace("\n", "\\n")
    else:
        old = draw(st.text(max_size=50))
    new = draw(st.one_of(st.text(max_size=50), st.just(old), st.just("")))
    parts = [
        draw(buffers(st.just(value))) if draw(st.integers(0, 7)) else draw(buffers())
        for value in (content, old, new)
    ]
    return tuple(x for part in parts for x in part)


@st.composite
def edit_candidate_args(draw) -> tuple:
    strategy = draw(st.one_of(st.sampled_from(STRATEGY_NAMES).map(str.encode), c_strings))
    content, content_len, old, old_len, _new, _new_len = draw(edit_triples())
    return strategy, content, content_len, old, old_len


#: Content of the files in the scratch folder, for edit_file's old strings.
FIXTURE_TEXT = {
    "file.txt": "".join(f"line {i}\n    indented {i}\n" for i in range(50)),
    "crlf.txt": "one\r\ntwo\r\nthree\r\n",
    "bom.txt": "\ufefffirst\nsecond\n",
    "empty.txt": "",
}


@st.composite
def edit_file_args(draw) -> tuple:
    name = draw(st.one_of(st.sampled_from(sorted(FIXTURE_TEXT)), names))
    text = FIXTURE_TEXT.get(name, "")
    if text and draw(st.booleans()):
        start = draw(st.integers(0, len(text) - 1))
        old = text[start : start + draw(st.integers(0, 80))]
    else:
        old = draw(st.text(max_size=40))
    new = draw(st.text(max_size=40))
    path = draw(st.one_of(st.just(name.encode()), paths))
    old_buf = draw(
        st.one_of(
            st.just((old.encode("utf-8", "surrogatepass"), len(old.encode("utf-8", "surrogatepass")))),
            buffers(),
        )
    )
    new_buf = draw(
        st.one_of(
            st.just((new.encode("utf-8", "surrogatepass"), len(new.encode("utf-8", "surrogatepass")))),
            buffers(),
        )
    )
    return (path, *old_buf, *new_buf, draw(flags))


# ---- patch ------------------------------------------------------------------------------------------

#: Targets of patch sections: the scratch folder's files (text, CRLF, BOM, binary, not UTF-8, a
#: folder, links good, looping and dangling), new names (nested ones stay inside the scratch
#: folder) and ones that must be refused (``..``).
PATCH_TARGETS = [*FIXTURE_NAMES[:10], "new.txt", "dir/new.txt", "deep/er/x.txt", "../up.txt", "", "a\0b"]
_fixture_lines = sorted(
    {line for text in FIXTURE_TEXT.values() for line in text.replace("\r", "").split("\n")}
)


@st.composite
def patch_lines(draw) -> str:
    kind = draw(st.integers(0, 9))
    if kind <= 2:
        header = draw(
            st.sampled_from(["*** Add File: ", "*** Delete File: ", "*** Update File: ", "*** Move to: "])
        )
        return header + draw(st.sampled_from(PATCH_TARGETS))
    if kind <= 6:
        prefix = draw(st.sampled_from([" ", "-", "+", "", "@@ ", "\t"]))
        return prefix + draw(st.one_of(st.sampled_from(_fixture_lines), st.text(max_size=20)))
    return draw(
        st.sampled_from(
            ["@@", "*** End of File", "*** End Patch", "*** Begin Patch", "", "   ", "@@x", "*** Odd File: x"]
        )
    )


@st.composite
def patch_texts(draw) -> tuple[bytes | None, int]:
    """A patch buffer: mostly patch-shaped text over the scratch files (wrapped in the markers,
    sometimes in a heredoc, with CRLF, huge or repeated), else any buffer."""
    choice = draw(st.integers(0, 9))
    if choice >= 8:
        return draw(buffers())
    lines = draw(st.lists(patch_lines(), max_size=25))
    if choice == 7:  # one chunk repeated: every position matches
        lines = ["*** Update File: file.txt"] + ["@@", "-    indented 1", "+    indented 1"] * draw(
            st.integers(1, 3000)
        )
    text = "\n".join(["*** Begin Patch", *lines, "*** End Patch"] if choice != 6 else lines)
    if draw(st.integers(0, 4)) == 0:
        text = "apply_patch <<'EOF'\n" + text + "\nEOF\n"
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    data = text.encode("utf-8", "surrogatepass")
    return data, len(data)


# ---- bash -----------------------------------------------------------------------------------------

#: Pairs that nest: each is one level of structure in bash (and in tree-sitter's parse stack).
BASH_NESTERS = [
    ("$(", ")"),
    ("(", ")"),
    ("{ ", "; }"),
    ("`", "`"),
    ('"$(', ')"'),
    ("$((", "))"),
    ("<(", ")"),
    ("a=(", ")"),
    ("${x:-", "}"),
    ("if ", "; then :; fi"),
    ("while ", "; do :; done"),
    ("[[ ", " ]]"),
    ("f() { ", "; }"),
    ("case x in y) ", ";; esac"),
    ("! ", ""),
    ("echo x | ", ""),
    ("true && ", ""),
]
bash_words = st.sampled_from(
    [
        "ls",
        "git log --oneline",
        "rm -rf /tmp/x",
        "cd ..",
        "echo 'a b'",
        'echo "$HOME/$(pwd)"',
        "cat < in > out",
        "2>&1",
        "x=1",
        "$'\\x41\\n'",
        "*.rs",
        "~/src",
        "\\\n",
        ";",
        "&",
        "|",
        "||",
        "#c",
        "'",
        '"',
        "\\",
        "$",
        "((",
        "]]",
        # Brace ranges, and a `{` before a code point past U+00FF: tree-sitter-bash's scanner
        # read glibc's isdigit table out of bounds there and crashed (issue 23).
        "{1..3}",
        "{\U000d8176",
        "{日..本}",
        "a{1..\U00031860}",
    ]
)


@st.composite
def heredocs(draw) -> str:
    delimiter = draw(st.sampled_from(["EOF", "'EOF'", '"E"', "-EOF", "X" * 300, "", "$x"]))
    plain = delimiter.strip("'\"-")
    body = draw(
        st.lists(st.sampled_from(["text $x", plain, "\t" + plain, "$(cmd)", "EOF ", "`b`"]), max_size=5)
    )
    end = draw(st.sampled_from([plain + "\n", "", plain]))
    tail = draw(st.sampled_from(["", " | grep x", " > f && echo y", " <<B\nb\nB"]))
    return f"cat <<{delimiter}{tail}\n" + "\n".join(body) + ("\n" if body else "") + end


bash_fragments = st.recursive(
    st.one_of(bash_words, heredocs()),
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(BASH_NESTERS), inner).map(lambda t: t[0][0] + t[1] + t[0][1]),
        st.lists(inner, min_size=2, max_size=4).map(" ".join),
        st.lists(inner, min_size=2, max_size=4).map("; ".join),
        st.tuples(st.sampled_from(BASH_NESTERS), inner).map(lambda t: t[0][0] + t[1]),  # unclosed
    ),
    max_leaves=20,
)


@st.composite
def deep_bash(draw) -> str:
    """One nester repeated ``depth`` times, closed fully, partly or not at all."""
    opener, closer = draw(st.sampled_from(BASH_NESTERS))
    depth = draw(st.one_of(st.integers(1, 300), st.sampled_from([1000, 2000])))
    closed = draw(st.sampled_from([depth, 0, depth // 2, depth + 3]))
    core = draw(st.one_of(bash_words, heredocs()))
    return opener * depth + core + closer * closed


@st.composite
def bash_commands(draw) -> tuple[bytes | None, int]:
    choice = draw(st.integers(0, 9))
    if choice <= 4:
        text = draw(bash_fragments)
    elif choice <= 6:
        text = draw(deep_bash())
    elif choice == 7:
        text = draw(heredocs()) * draw(st.integers(1, 200))
    elif choice == 8:
        text = draw(bash_fragments)
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["\0", "\ufeff", "\r\n", "\udcff", ""])) + text[cut:]
    else:
        return draw(buffers())
    data = text.encode("utf-8", "surrogatepass")
    return data, len(data)


# ---- fuzzy ---------------------------------------------------------------------------------------

fuzzy_item_lists = st.lists(
    st.one_of(
        st.sampled_from(["src/main.rs", "README.md", "a\0b", "", "ÄÖÜ/ß.txt", "x" * 3000]),
        st.text(max_size=30),
    ),
    max_size=30,
)


@st.composite
def fuzzy_items(draw) -> tuple:
    """items buffer, its length, the announced count, and the JSON flag (honest or lying)."""
    items = draw(fuzzy_item_lists)
    if draw(st.booleans()):
        data = "\0".join(items).encode("utf-8", "surrogatepass")
        count, as_json = len(items), 0
    else:
        data = json.dumps(items).encode()
        count, as_json = len(items), 1
    if draw(st.integers(0, 4)) == 0:
        data, _ = draw(buffers())
    if draw(st.integers(0, 4)) == 0:
        count = draw(sizes)
    if draw(st.integers(0, 4)) == 0:
        as_json = draw(c_ints)
    if data is None:
        return None, 0, count, as_json
    return data, len(data), count, as_json


algorithms = st.one_of(
    st.sampled_from([None, b"nucleo", b"skim", b"sublime", b"rapidfuzz", b"", b"NUCLEO"]), c_strings
)

# ---- registries ----------------------------------------------------------------------------------

#: Programs a fuzzed terminal may start: harmless whatever their arguments.
SAFE_COMMANDS = [
    None,
    ["true"],
    ["cat"],
    ["sh", "-c", "printf 'hi\\n'; exit 3"],
    ["echo"],
    ["sleep", "30"],
    ["false"],
]
terminal_commands = st.one_of(
    st.sampled_from(SAFE_COMMANDS).map(_json_text),
    st.tuples(st.sampled_from(["echo", "cat", "true"]), st.lists(st.text(max_size=10), max_size=3)).map(
        lambda t: _json_text([t[0], *t[1]])
    ),
    st.sampled_from(
        [
            b"[]",
            b'[""]',
            b'["no-such-command-ironcode"]',
            b'["/nonexistent/x"]',
            b'["./file.txt"]',
            b'["dir"]',
            b'["ca\\u0000t"]',
            b"{}",
            b"3",
            b'"cat"',
            b"[",
            b"\xff",
        ]
    ),
    st.none(),
)
terminal_env = st.one_of(
    st.none(),
    st.just(b"null"),
    st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3).map(_json_text),
    json_of(
        st.dictionaries(st.sampled_from(["A", "B=C", "", "PATH", "X\0"]), st.text(max_size=5), max_size=2)
    ),
)
terminal_ids = st.one_of(
    st.sampled_from([b"native-1", b"native-0", b"python-1", b"", b"native-18446744073709551615"]),
    c_strings,
)
terminal_dims = st.one_of(st.integers(-2, 300), st.sampled_from([65535, 65536, 2**63 - 1, -(2**63)]))
lock_modes = st.one_of(st.sampled_from([b"read", b"write", b"READ", b"", b"rw"]), c_strings)


@st.composite
def barrier_args(draw) -> tuple[int, int]:
    """parties <= 1 returns at once whatever the timeout (so the timeout may be anything);
    more parties wait, so their timeout stays a few milliseconds."""
    if draw(st.booleans()):
        return draw(st.one_of(st.integers(-5, 1), st.just(-(2**63)))), draw(i64)
    return draw(st.one_of(st.integers(2, 5), st.just(2**63 - 1))), draw(st.integers(-5, 3))


@st.composite
def extract_args(draw) -> tuple:
    archive = draw(
        st.one_of(st.sampled_from(["a.zip", "a.tar", "a.tgz", "bad.zip", "evil.zip"]).map(str.encode), paths)
    )
    dest = draw(st.one_of(st.sampled_from([b"out", b"out2", b"dir", b"file.txt", b".", b".."]), paths))
    return archive, dest


# ---- the plans ---------------------------------------------------------------------------------


def one(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """A strategy for one C argument, as a group of one."""
    return strategy.map(lambda value: (value,))


PATH, CSTR, I64, U64, FLAG, SECONDS = one(paths), one(c_strings), one(i64), one(u64), one(flags), one(seconds)
CONFINE_ROOT = one(roots)
BUF = buffers()
GLOBS_JSON = one(json_of(glob_lists))
FILES_JSON = one(json_of(st.lists(names, max_size=4)))
ENGINE = one(st.one_of(st.sampled_from([b"auto", b"git2", b"cli", b"pygit2", b""]), c_strings))
TERMINAL_ID = one(terminal_ids)

#: Argument groups per export, in lib.rs's sections (one fuzz child per section). Every export of
#: lib.rs has a row (test_fuzz checks).
PLAN_SECTIONS: dict[str, dict[str, tuple[st.SearchStrategy, ...]]] = {
    "files": {
        "read_ffi": (PATH, I64, I64, CONFINE_ROOT),
        "write_ffi": (PATH, BUF, CONFINE_ROOT),
        "ls_ffi": (PATH, GLOBS_JSON, I64, CONFINE_ROOT),
    },
    "edit": {
        "edit_replace_ffi": (edit_triples(), one(flags)),
        "edit_candidates_ffi": (edit_candidate_args(),),
        "levenshtein_ffi": (buffers(st.text(max_size=120)), buffers(st.text(max_size=120))),
        "edit_file_ffi": (edit_file_args(), CONFINE_ROOT),
    },
    "patch": {
        "apply_patch_ffi": (
            patch_texts(),
            one(st.one_of(st.just(b"."), st.just(b"dir"), paths)),
            FLAG,
            CONFINE_ROOT,
        ),
    },
    "search": {
        "file_list_ffi": (PATH, GLOBS_JSON, FLAG, FLAG, I64, CONFINE_ROOT),
        "glob_ffi": (one(encoded(globs)), PATH, I64, CONFINE_ROOT),
        "grep_ffi": (one(encoded(regexes)), PATH, one(json_of(grep_options))),
        "grep_types_ffi": (),
    },
    "git": {
        "vcs_info_ffi": (PATH, ENGINE),
        "git_status_ffi": (PATH, ENGINE),
        "git_diff_ffi": (PATH, one(st.one_of(st.none(), paths)), FLAG),
        "git_branches_ffi": (PATH,),
        "git_stage_ffi": (PATH, FILES_JSON),
        "git_unstage_ffi": (PATH, FILES_JSON),
        "git_commit_ffi": (PATH, BUF),
    },
    "shell": {
        "parse_bash_ffi": (bash_commands(), PATH),
        "command_prefix_ffi": (
            one(json_of(st.lists(st.one_of(bash_words, st.text(max_size=10)), max_size=6))),
        ),
    },
    "terminal": {
        "terminal_create_ffi": (
            one(terminal_commands),
            PATH,
            one(terminal_dims),
            one(terminal_dims),
            one(terminal_env),
        ),
        "terminal_write_ffi": (TERMINAL_ID, BUF),
        "terminal_read_ffi": (TERMINAL_ID, SECONDS, out_buffers()),
        "terminal_wait_ffi": (TERMINAL_ID, SECONDS),
        "terminal_resize_ffi": (TERMINAL_ID, one(terminal_dims), one(terminal_dims)),
        "terminal_info_ffi": (TERMINAL_ID,),
        "terminal_buffer_ffi": (TERMINAL_ID,),
        "terminal_drain_ffi": (TERMINAL_ID,),
        "terminal_clear_ffi": (TERMINAL_ID,),
        "terminal_close_ffi": (TERMINAL_ID,),
        "terminals_ffi": (),
        "terminal_cleanup_idle_ffi": (SECONDS,),
    },
    "fuzzy": {
        "fuzzy_search_ffi": (buffers(st.text(max_size=10)), fuzzy_items(), I64, one(algorithms)),
        "fuzzy_index_new_ffi": (fuzzy_items(), one(algorithms)),
        "fuzzy_index_search_ffi": (U64, buffers(st.text(max_size=10)), I64),
        "fuzzy_index_close_ffi": (U64,),
        "fuzzy_index_count_ffi": (),
    },
    "watcher": {
        "watcher_open_ffi": (PATH, GLOBS_JSON, I64),
        "watcher_poll_ffi": (U64,),
        "watcher_wait_ffi": (U64, SECONDS),
        "watcher_info_ffi": (U64,),
        "watcher_close_ffi": (U64,),
    },
    "lock": {
        "lock_try_ffi": (CSTR, one(lock_modes), I64),
        "lock_wait_ffi": (I64, I64),
        "lock_release_ffi": (I64,),
        "lock_stats_ffi": (),
        "lock_channel_open_ffi": (),
        "lock_channel_take_ffi": (I64,),
        "lock_channel_close_ffi": (I64,),
    },
    "system": {
        "stats_ffi": (),
        "extract_ffi": (extract_args(),),
    },
    "boundary": {
        "probe_noop_ffi": (),
        "probe_ints_ffi": (I64, I64),
        "probe_echo_ffi": (CSTR,),
        "probe_barrier_ffi": (barrier_args(),),
        "debug_panic_ffi": (CSTR,),
        "confine_force_walk_ffi": (one(st.one_of(st.sampled_from([0, 1]), i64)),),
        "vcs_cache_ffi": (one(st.one_of(st.sampled_from([0, 1]), i64)),),
    },
}
#: symbol -> argument groups.
PLANS = {symbol: plan for section in PLAN_SECTIONS.values() for symbol, plan in section.items()}


def arguments(symbol: str) -> st.SearchStrategy:
    """The flattened argument tuple of one call of ``symbol``."""
    groups = PLANS[symbol]
    if not groups:
        return st.just(())
    return st.tuples(*groups).map(lambda parts: tuple(x for part in parts for x in part))


def call_raw(symbol: str, args: tuple) -> dict:
    """One call through raw ctypes, checked against the C ABI contract."""
    lib = ffi.library()
    ptr = getattr(lib, symbol)(*args)
    assert ptr, f"{symbol} returned NULL"
    try:
        raw = ctypes.string_at(ptr)
    finally:
        lib.free_string(ptr)
    envelope = json.loads(raw)
    assert set(envelope) in ({"ok"}, {"error"}), envelope
    if "error" in envelope:
        error = envelope["error"]
        assert error["kind"] in KINDS, envelope
        assert isinstance(error["message"], str) and error["message"], envelope
    return envelope


# ---- the scratch folder ------------------------------------------------------------------------


def make_scratch(root: Path) -> None:
    """Fills ``root`` with what the plans name: text files in every encoding, a binary, links
    (good, dangling, a loop), archives (good, corrupt, one that climbs out), and makes it a git
    repository with one commit, so the git exports have history to read and stage."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in FIXTURE_TEXT.items():
        (root / name).write_text(text, newline="")
    (root / "bin.dat").write_bytes(b"\0\1\2" * 100)
    (root / "invalid.txt").write_bytes(b"ok\n\xff\xfe\n")
    (root / "dir" / "sub").mkdir(parents=True, exist_ok=True)
    (root / "dir" / "sub" / "deep.py").write_text("def f():\n    return 1\n")
    (root / ".gitignore").write_text("*.log\nout*/\n")
    (root / "ignored.log").write_text("line in a log\n")
    for link, target in (("link", "file.txt"), ("loop", "loop"), ("dangling", "nowhere")):
        if not os.path.lexists(root / link):
            os.symlink(target, root / link)
    with zipfile.ZipFile(root / "a.zip", "w") as zf:
        zf.writestr("x/1.txt", "one\n")
        zf.writestr("x/2.txt", "two\n")
    with zipfile.ZipFile(root / "evil.zip", "w") as zf:
        zf.writestr("../escape.txt", "no\n")
    for name, mode in (("a.tar", "w"), ("a.tgz", "w:gz")):
        with tarfile.open(root / name, mode) as tf:
            tf.add(root / "file.txt", arcname="t/file.txt")
    (root / "bad.zip").write_bytes(b"PK\x03\x04" + b"\0" * 40)
    env = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")
    git = ["git", "-C", str(root), "-c", "user.name=fuzz", "-c", "user.email=fuzz@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True, env=env)
    subprocess.run([*git, "config", "user.name", "fuzz"], check=True, env=env)
    subprocess.run([*git, "config", "user.email", "fuzz@example.com"], check=True, env=env)
    subprocess.run([*git, "add", "-A"], check=True, env=env)
    subprocess.run([*git, "commit", "-q", "-m", "fixture"], check=True, env=env)
