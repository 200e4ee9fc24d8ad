"""Builds the Rust cdylib into the package as ironcode/_native.so, loaded with ctypes.

setuptools-rust with Binding.NoBinding (not maturin): the library is a plain C ABI loaded by
ctypes, not a CPython extension, and setuptools-rust builds exactly that with the ordinary
`pip install .` / `python -m build` and no PyO3 glue. It is built without the crate's
`test-exports` feature. `make install` sets IRONCODE_SKIP_NATIVE_BUILD=1 for the editable install,
because it builds the library with cargo itself (native/tool/target/release).

Nothing in the library depends on the Python that builds it, so the wheel is tagged
py3-none-<platform> and the file is named `_native.so` (a suffix every Python on the platform
lists in importlib.machinery.EXTENSION_SUFFIXES, where ironcode/ffi.py looks), not
`_native.cpython-311-x86_64-linux-gnu.so`, which only CPython 3.11 would find.
"""

import os
import sysconfig

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools_rust import Binding, RustExtension
from setuptools_rust.build import build_rust

#: The suffix the library gets in place of the building interpreter's EXT_SUFFIX.
PLAIN_SUFFIX = ".so"


class build_rust_plain_name(build_rust):  # noqa: N801 - setuptools command classes are lower case
    """setuptools-rust's build, naming the library `_native.so` (any Python on the platform)."""

    def get_dylib_ext_path(self, ext: RustExtension, target_fname: str) -> str:
        path = super().get_dylib_ext_path(ext, target_fname)
        ext_suffix = sysconfig.get_config_var("EXT_SUFFIX") or ""
        if ext_suffix.endswith(PLAIN_SUFFIX) and path.endswith(ext_suffix):
            return path[: -len(ext_suffix)] + PLAIN_SUFFIX
        return path


class bdist_wheel_any_python(bdist_wheel):  # noqa: N801
    """Tags the wheel py3-none-<platform>: the library is loaded by ctypes, so it fits any Python 3
    (the default tag, cp311-cp311, would tie it to the interpreter that built it)."""

    def get_tag(self) -> tuple[str, str, str]:
        _, _, platform = super().get_tag()
        return "py3", "none", platform


rust_extensions = []
if os.environ.get("IRONCODE_SKIP_NATIVE_BUILD") != "1":
    rust_extensions.append(
        RustExtension(
            "ironcode._native",
            path="native/tool/Cargo.toml",
            binding=Binding.NoBinding,
            debug=False,
        )
    )

setup(
    rust_extensions=rust_extensions,
    # setuptools-rust wraps these (its bdist_wheel subclasses ours), so both changes hold.
    cmdclass={"build_rust": build_rust_plain_name, "bdist_wheel": bdist_wheel_any_python},
    zip_safe=False,
)
