"""Shared fixtures: every operation runs against both backends through the ``impl`` fixture.

``impl`` is a namespace of the operations of one backend (``impl.read(...)`` is
``ironcode.ffi.read`` or the twin's ``read``), so one test body proves both. The native backend is
never skipped: a missing library fails the tests (run ``make native``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import ironcode
from ironcode import backend as backend_mod

BACKENDS = ("native", "python")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


class Impl:
    """The operations of one backend, by their public names."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, op: str):
        return backend_mod.implementation(op, self.name)

    def __repr__(self) -> str:
        return f"Impl({self.name})"


@pytest.fixture(params=BACKENDS)
def impl(request) -> Impl:
    if request.param == "native":
        from ironcode import ffi

        ffi.library()  # raises native_unavailable (a failure, not a skip) when it is missing
    return Impl(request.param)


@pytest.fixture
def both() -> tuple[Impl, Impl]:
    """Both backends at once, for parity checks inside one test."""
    from ironcode import ffi

    ffi.library()
    return Impl("native"), Impl("python")


def require_tool(name: str) -> str:
    """Path of an external tool (rg, git, unzip). Missing: a failure in CI, a skip elsewhere."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (make install installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def run(cmd: list[str], cwd: Path | str | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False, **kw)


@pytest.fixture
def expect_error():
    """``expect_error(kind, fn, *args)``: calls fn and asserts it raises IronCodeError of ``kind``."""

    def check(kind: str, fn, *args, **kwargs) -> ironcode.IronCodeError:
        with pytest.raises(ironcode.IronCodeError) as info:
            fn(*args, **kwargs)
        assert info.value.kind == kind, f"expected {kind}, got {info.value.kind}: {info.value}"
        return info.value

    return check


@pytest.fixture
def unreadable_file(tmp_path_factory) -> str:
    """A file with no permission bits (see helpers.run_without_root_powers)."""
    folder = str(tmp_path_factory.mktemp("perm"))
    path = os.path.join(folder, "secret.txt")
    with open(path, "w") as f:
        f.write("secret\n")
    os.chmod(path, 0)
    yield path
    os.chmod(path, 0o600)
