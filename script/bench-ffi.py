#!/usr/bin/env python3
"""The cost of crossing into the native library from Python, and the break-even it implies.

    python script/bench-ffi.py [--quick] [--json out.json]

Measures one call through ctypes (what ironcode/ffi.py does: call, copy the returned string,
free_string, json.loads) and through cffi (ABI mode, and API mode when a C compiler is available)
for: no arguments; two integers; a string in and a JSON string out of 10 B, 1 KB, 100 KB and 10 MB;
and the JSON decoding with `json` vs `orjson`. The `python` rows are the same work done by a plain
Python function (nothing, an addition, returning the string), so native minus python is the price
of the crossing itself. From the fixed and the per-byte price it derives the break-even: how much
time a native implementation must save before crossing pays.
"""

from __future__ import annotations

import ctypes
import json
import os
import statistics
import sys
import tempfile

from benchlib import Bench

from ironcode import ffi

SIZES = {"10 B": 10, "1 KB": 1 << 10, "100 KB": 100 << 10, "10 MB": 10 << 20}
CDEF = """
    char *probe_noop_ffi(void);
    char *probe_ints_ffi(int64_t a, int64_t b);
    char *probe_echo_ffi(const char *text);
    void free_string(char *ptr);
"""


def ctypes_caller(decode):
    lib = ffi.library()
    string_at, free = ctypes.string_at, lib.free_string

    def call(symbol, *args):
        ptr = symbol(*args)
        try:
            raw = string_at(ptr)
        finally:
            free(ptr)
        return decode(raw)["ok"]

    return lib, call


def cffi_abi():
    import cffi

    builder = cffi.FFI()
    builder.cdef(CDEF)
    lib = builder.dlopen(str(ffi.library_path()))
    return builder, lib


def cffi_api():
    """Compiles a small cffi extension against the library; None if no compiler is available."""
    import cffi

    lib_path = ffi.library_path()
    builder = cffi.FFI()
    builder.cdef(CDEF)
    builder.set_source(
        "_ironcode_probe",
        "#include <stdint.h>\n" + CDEF,
        extra_objects=[str(lib_path)],
        extra_link_args=[f"-Wl,-rpath,{lib_path.parent}"],
    )
    out = tempfile.mkdtemp(prefix="ironcode-cffi-")
    try:
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            builder.compile(tmpdir=out, verbose=False)
    except Exception as e:  # no compiler, no headers: reported as absent
        return None, f"cffi API mode could not compile here: {type(e).__name__}"
    sys.path.insert(0, out)
    import _ironcode_probe  # type: ignore[import-not-found]

    return _ironcode_probe, ""


def cffi_caller(module_ffi, lib, decode):
    string, free = module_ffi.string, lib.free_string

    def call(symbol, *args):
        ptr = symbol(*args)
        try:
            raw = string(ptr)
        finally:
            free(ptr)
        return decode(raw)["ok"]

    return call


def main() -> None:
    bench = Bench("ffi", "the cost of one native call from Python: ctypes vs cffi, json vs orjson")
    try:
        import orjson
    except ImportError:
        orjson = None
    lib, via_ctypes = ctypes_caller(json.loads)
    abi_ffi, abi_lib = cffi_abi()
    via_abi = cffi_caller(abi_ffi, abi_lib, json.loads)
    api_module, api_why = cffi_api()
    via_api = cffi_caller(api_module.ffi, api_module.lib, json.loads) if api_module else None
    impls = {
        "native-ctypes": (via_ctypes, lib),
        "native-cffi-abi": (via_abi, abi_lib),
    }
    if via_api:
        impls["native-cffi-api"] = (via_api, api_module.lib)

    def run_case(case, python_fn, symbol, *args, expected=None):
        calls = {name: (lambda c=c, lb=lb: c(getattr(lb, symbol), *args)) for name, (c, lb) in impls.items()}
        bench.same(case, {"python": python_fn, **calls})
        bench.time(case, "python", python_fn)
        for name, fn in calls.items():
            bench.time(case, name, fn)
        if not via_api:
            bench.absent(case, "native-cffi-api", api_why)

    run_case("call, no arguments", lambda: None, "probe_noop_ffi")
    run_case("call, 2 integers", lambda: 2 + 3, "probe_ints_ffi", 2, 3)
    sizes = dict(list(SIZES.items())[:3]) if bench.quick else SIZES
    for label, size in sizes.items():
        text = "x" * size
        encoded = text.encode()
        run_case(f"string in, JSON out: {label}", lambda t=text: t, "probe_echo_ffi", encoded)
        if orjson:
            case = f"string in, JSON out: {label}"
            _, via_orjson = ctypes_caller(orjson.loads)
            bench.time(case, "native-ctypes-orjson", lambda e=encoded: via_orjson(lib.probe_echo_ffi, e))
        else:
            bench.absent(f"string in, JSON out: {label}", "native-ctypes-orjson", "orjson is not installed")

    # The break-even: the fixed price of a crossing, and its price per byte carried, on the path
    # ironcode/ffi.py takes (ctypes + orjson).
    current = "native-ctypes-orjson" if orjson else "native-ctypes"
    if orjson:
        _, via_orjson = ctypes_caller(orjson.loads)
        bench.time("call, no arguments", current, lambda: via_orjson(lib.probe_noop_ffi))
    fixed = bench.median("call, no arguments", current) - bench.median("call, no arguments", "python")
    small, large = list(sizes)[0], list(sizes)[-1]
    per_kb = (
        (
            bench.median(f"string in, JSON out: {large}", current)
            - bench.median(f"string in, JSON out: {small}", current)
        )
        / (sizes[large] - sizes[small])
        * 1024
    )
    bench.note(
        f"Crossing price on ffi.py's path ({current}: call, copy, free_string, decode): "
        f"{fixed * 1e6:.2f} µs per call + {per_kb * 1e6:.2f} µs per KB carried (in and out)."
    )
    bench.note(
        f"Break-even: a native implementation pays only when it saves more than {fixed * 1e6:.1f} µs "
        f"+ {per_kb * 1e6:.1f} µs per KB of arguments and results over the Python one (the migration "
        "plan's rule in its host was ~1 ms)."
    )
    before = bench.median(f"string in, JSON out: {small}", "native-ctypes")
    after = bench.median(f"string in, JSON out: {small}", current)
    if orjson and before and after:
        bench.note(
            f"json -> orjson in ffi.py: a small call went from {before * 1e6:.1f} µs to {after * 1e6:.1f} µs."
        )
    ratios = []
    for case in {r.case for r in bench.rows}:
        ct, abi = bench.median(case, "native-ctypes"), bench.median(case, "native-cffi-abi")
        if ct and abi:
            ratios.append(ct / abi)
    if ratios:
        bench.note(
            f"cffi ABI vs ctypes: median {statistics.median(ratios):.2f}x across cases (>1: cffi faster)."
        )
    bench.finish()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
