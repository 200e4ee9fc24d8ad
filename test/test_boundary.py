"""The C boundary itself: envelopes, panics, NULL and invalid UTF-8, library lookup."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import pytest

import ironcode
from ironcode import ffi

from .helpers import ROOT


def raw_call(symbol: str, *args):
    """Calls an export directly and returns the decoded envelope (freeing the string)."""
    import json

    lib = ffi.library()
    ptr = getattr(lib, symbol)(*args)
    assert ptr, f"{symbol} returned NULL"
    try:
        return json.loads(ctypes.string_at(ptr))
    finally:
        lib.free_string(ptr)


def test_panic_comes_back_as_kind_panic_and_the_process_lives(expect_error):
    err = expect_error("panic", ffi.debug_panic, "deliberate test panic")
    assert "deliberate test panic" in err.message
    assert ironcode.ffi.read(__file__)["total_lines"] > 0  # the library still works


def test_panic_does_not_print_to_stderr():
    code = "from ironcode import ffi\ntry:\n    ffi.debug_panic('quiet please')\nexcept Exception as e:\n    print(e.kind)\n"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=ROOT)
    )
    assert proc.stdout.strip() == "panic" and "quiet please" not in proc.stderr


def test_many_panics_in_threads_are_all_caught():
    from concurrent.futures import ThreadPoolExecutor

    def one(i):
        try:
            ffi.debug_panic(f"panic {i}")
        except ironcode.IronCodeError as e:
            return e.kind
        return "no error"

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(one, range(200))) == {"panic"}


def test_null_argument_is_invalid_argument():
    envelope = raw_call("read_ffi", None, 1, 10, None)
    assert envelope["error"]["kind"] == "invalid_argument" and "NULL" in envelope["error"]["message"]


def test_invalid_utf8_argument_is_invalid_argument():
    envelope = raw_call("read_ffi", b"/tmp/\xff\xfe", 1, 10, None)
    assert envelope["error"]["kind"] == "invalid_argument"
    assert "UTF-8" in envelope["error"]["message"]


def test_null_content_pointer_with_length_is_invalid_argument(tmp_path):
    envelope = raw_call("write_ffi", str(tmp_path / "x").encode(), None, 5, None)
    assert envelope["error"]["kind"] == "invalid_argument"
    assert not (tmp_path / "x").exists()


def test_invalid_json_argument_is_invalid_argument(tmp_path):
    envelope = raw_call("ls_ffi", str(tmp_path).encode(), b"[not json", -1, None)
    assert envelope["error"]["kind"] == "invalid_argument"


def test_nul_in_a_string_argument_is_refused_not_truncated(tmp_path, expect_error):
    (tmp_path / "a").write_text("x")
    # "a\0b" must not silently become "a".
    expect_error("invalid_argument", ffi.read, str(tmp_path / "a") + "\0b")


def test_success_envelope_is_ok():
    assert set(raw_call("stats_ffi")) == {"ok"}


def test_free_string_accepts_null():
    ffi.library().free_string(None)


def test_missing_library_says_to_run_make_native(tmp_path):
    code = "import ironcode\ntry:\n    ironcode.ffi.read('x')\nexcept ironcode.IronCodeError as e:\n    print(e.kind); print(e)\n"
    env = dict(os.environ, PYTHONPATH=ROOT, IRONCODE_LIB=str(tmp_path / "missing.so"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env).stdout
    kind, message = out.split("\n", 1)
    assert kind == "native_unavailable" and "make native" in message


def test_missing_library_still_leaves_the_python_backend_working(tmp_path):
    code = "import ironcode\nwith ironcode.backend.use('python'):\n    print(ironcode.read(__import__('sys').argv[1])['total_lines'])\n"
    env = dict(os.environ, PYTHONPATH=ROOT, IRONCODE_LIB=str(tmp_path / "missing.so"))
    out = subprocess.run([sys.executable, "-c", code, __file__], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and int(out.stdout) > 0


def test_every_declared_symbol_exists_in_the_library():
    lib = ffi.library()
    for name in ffi.SIGNATURES:
        assert hasattr(lib, name), name


def test_the_library_in_use_is_reported():
    assert ffi.library_path().exists()


@pytest.mark.parametrize("bad", [1.5, None, object()])
def test_non_string_path_is_invalid_argument(bad, expect_error):
    expect_error("invalid_argument", ffi.read, bad)


def test_out_of_range_integer_is_invalid_argument(expect_error):
    expect_error("invalid_argument", ffi.read, __file__, 2**70)


def test_public_names_reach_both_backends():
    assert ironcode.twin.read.read(__file__) == ironcode.ffi.read(__file__)
    with pytest.raises(AttributeError):
        ironcode.twin.no_such_module  # noqa: B018
