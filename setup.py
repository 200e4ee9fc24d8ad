"""Builds the Rust cdylib into the package as ironcode/_native<EXT_SUFFIX>, loaded with ctypes.

setuptools-rust with Binding.NoBinding (not maturin): the library is a plain C ABI loaded by
ctypes, not a CPython extension, and setuptools-rust builds exactly that with the ordinary
`pip install .` and no PyO3 glue. `make install` sets IRONCODE_SKIP_NATIVE_BUILD=1 for the editable
install, because it builds the library with cargo itself (native/tool/target/release).
"""

import os

from setuptools import setup
from setuptools_rust import Binding, RustExtension

rust_extensions = []
if os.environ.get("IRONCODE_SKIP_NATIVE_BUILD") != "1":
    rust_extensions.append(
        RustExtension(
            "ironcode._native",
            path="native/tool/Cargo.toml",
            binding=Binding.NoBinding,
            py_limited_api=False,
            debug=False,
        )
    )

setup(rust_extensions=rust_extensions, zip_safe=False)
