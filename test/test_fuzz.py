"""Fuzzing the C boundary: every export through raw ctypes with random strings, bytes and integers.

Whatever comes in, an export must return a JSON envelope — never NULL, never crash the process,
never a ``panic`` error (a panic is a bug to fix, with its input added as a regression test).
`make test` runs a short pass; `make fuzz` runs a long one (IRONCODE_FUZZ_EXAMPLES per export).

Safety: the fuzzer runs in a scratch folder, and generated paths never contain '/', so an export
that writes can only write there. Exports that start processes are fuzzed by their own tests with
safe strategies, not here.
"""

from __future__ import annotations

import ctypes
import json
import os
from ctypes import c_char_p, c_int64, c_size_t

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ironcode import ffi

EXAMPLES = int(os.environ.get("IRONCODE_FUZZ_EXAMPLES", "150"))
#: Exports that spawn processes or block for a caller-chosen time; covered by their own tests.
NOT_FUZZED = {"debug_panic_ffi", "probe_barrier_ffi"}
NOT_FUZZED_PREFIXES = ("terminal_", "bash_", "pty_", "watcher_", "lock_")

names = st.text(st.characters(blacklist_characters="/\0", blacklist_categories=("Cs",)), max_size=40)
nasty_bytes = st.binary(max_size=300).map(lambda b: b.replace(b"\0", b"").replace(b"/", b""))
json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | names,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(names, inner, max_size=4),
    max_leaves=10,
).map(lambda v: json.dumps(v).replace("/", ""))
c_strings = st.one_of(
    names.map(lambda s: s.encode()),
    nasty_bytes,
    json_like.map(str.encode),
    st.sampled_from([b"", b".", b"..", b"\xff\xfe", b"\xc3", b"[]", b"{}", b"null", b'["*"]', b"x" * 5000]),
    st.none(),
)
ints = st.one_of(st.integers(-3, 3000), st.sampled_from([-(2**63), 2**63 - 1, 0, -1, 1]))
buffers = st.one_of(
    st.binary(max_size=2000), st.sampled_from([b"", b"\0", b"\xff" * 10, "日本\r\n\ufeff".encode()])
)


def fuzzable() -> list[str]:
    symbols = {**ffi.SIGNATURES, **ffi.PROBE_SIGNATURES}
    return sorted(s for s in symbols if s not in NOT_FUZZED and not s.startswith(NOT_FUZZED_PREFIXES))


def argument_strategy(argtypes: tuple) -> st.SearchStrategy:
    """One strategy per argument; a c_char_p followed by c_size_t is a pointer + length buffer."""
    parts = []
    i = 0
    while i < len(argtypes):
        kind = argtypes[i]
        if kind is c_char_p and i + 1 < len(argtypes) and argtypes[i + 1] is c_size_t:
            parts.append(buffers.map(lambda b: (b, len(b))))
            i += 2
            continue
        parts.append(c_strings.map(lambda v: (v,)) if kind is c_char_p else ints.map(lambda v: (v,)))
        i += 1
    return st.tuples(*parts).map(lambda groups: tuple(x for g in groups for x in g))


@pytest.fixture(autouse=True)
def scratch_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("symbol", fuzzable())
def test_export_survives_random_arguments(symbol):
    signatures = {**ffi.SIGNATURES, **ffi.PROBE_SIGNATURES}
    lib = ffi.library()
    fn = getattr(lib, symbol)

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(args=argument_strategy(signatures[symbol]))
    def check(args):
        cwd = os.getcwd()
        assert os.path.dirname(os.path.abspath(".")) != "/"  # never fuzz at the file system root
        ptr = fn(*args)
        assert ptr, f"{symbol}{args!r} returned NULL"
        try:
            envelope = json.loads(ctypes.string_at(ptr))
        finally:
            lib.free_string(ptr)
        assert set(envelope) in ({"ok"}, {"error"}), envelope
        if "error" in envelope:
            assert envelope["error"]["kind"] != "panic", f"{symbol}{args!r} panicked: {envelope}"
        assert os.getcwd() == cwd

    check()


def test_nul_truncation_is_impossible_through_the_wrappers(tmp_path):
    from ironcode import IronCodeError

    with pytest.raises(IronCodeError) as info:
        ffi.write(str(tmp_path / "a\0b"), "x")
    assert info.value.kind == "invalid_argument"
    assert not (tmp_path / "a").exists()


def test_int_arguments_accept_the_full_c_range():
    assert ffi._call("probe_ints_ffi", c_int64(2**63 - 1), c_int64(1)) == -(2**63)
