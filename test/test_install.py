"""The package a user installs: `python -m build` makes an sdist and, from it, a wheel tagged for
any Python 3 that carries the release library (no test-only exports) and meets a manylinux
policy; the wheel installed into a fresh virtualenv outside the checkout works from any folder,
with the native backend loaded from the installed package."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

from .conftest import require_tool
from .helpers import ROOT

#: Where the wheel build keeps its cargo output between runs: its own folder (the library it
#: builds lacks the test exports, so it must not replace `make native`'s target/release), kept so
#: the dependencies compile once. What is stale is cargo's call, as in any build: the crate is
#: recompiled whenever a source file in the sdist is newer than the last build from it.
WHEEL_TARGET_DIR = os.path.join(ROOT, "native", "tool", "target", "wheel")
BUILD_TIMEOUT_S = 1800
#: The library's file inside the package (setup.py: one name for every Python on the platform).
PACKAGED_LIBRARY = "ironcode/_native.so"
#: An export built only with the crate's test-exports feature (make native), never in a wheel.
TEST_ONLY_EXPORT = "debug_panic_ffi"


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without anything that points at the checkout or its venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "IRONCODE_LIB", "VIRTUAL_ENV")}
    return {**env, **extra}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """`python -m build` of the checkout: the sdist, then the wheel built from that sdist."""
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), ROOT],
        capture_output=True,
        text=True,
        env=clean_env(CARGO_TARGET_DIR=WHEEL_TARGET_DIR),
        timeout=BUILD_TIMEOUT_S,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    # build makes the wheel from the unpacked sdist unless told otherwise: say it did.
    assert "Building wheel from sdist" in proc.stdout + proc.stderr, proc.stderr[-2000:]
    sdists, wheels = sorted(out.glob("*.tar.gz")), sorted(out.glob("*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, sorted(out.iterdir())
    return {"sdist": sdists[0], "wheel": wheels[0]}


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory) -> Path:
    """A new virtualenv, outside the checkout, with the wheel installed: its folder."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True).create(env_dir)
    proc = subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", str(built["wheel"])],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return env_dir


@pytest.mark.slow
def test_wheel_is_tagged_for_any_python_3_and_carries_the_release_library(built):
    wheel = built["wheel"]
    assert re.fullmatch(r"ironcode-[\d.]+-py3-none-linux_\w+\.whl", wheel.name), wheel.name
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta = zf.read(next(n for n in names if n.endswith(".dist-info/WHEEL"))).decode()
    assert PACKAGED_LIBRARY in names
    assert not [n for n in names if n.startswith("ironcode/_native") and n != PACKAGED_LIBRARY]
    assert not [n for n in names if n.startswith(("native/", "test/", "script/"))]
    assert "Root-Is-Purelib: false" in meta
    assert re.search(r"^Tag: py3-none-linux_\w+$", meta, re.MULTILINE), meta


@pytest.mark.slow
def test_sdist_carries_the_crate_a_wheel_is_built_from(built):
    with tarfile.open(built["sdist"]) as tf:
        names = {name.split("/", 1)[1] for name in tf.getnames() if "/" in name}
    for needed in ("setup.py", "pyproject.toml", "native/tool/Cargo.toml", "native/tool/Cargo.lock"):
        assert needed in names
    assert "native/tool/src/lib.rs" in names
    assert not [n for n in names if n.startswith("native/tool/target")]


@pytest.mark.slow
def test_auditwheel_finds_the_wheel_consistent_with_a_manylinux_policy(built):
    proc = subprocess.run(
        [sys.executable, "-m", "auditwheel", "show", str(built["wheel"])],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = " ".join(proc.stdout.split())
    assert re.search(r'consistent with the following platform tag: "manylinux_2_\d+_\w+"', text), text


@pytest.mark.slow
def test_installed_wheel_works_from_another_folder_with_the_packaged_library(installed, tmp_path):
    git = require_tool("git")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "README.md").write_text("# hello\nfrom a fresh install\n")
    env = clean_env()
    for args in (
        ["init", "-q"],
        ["add", "."],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
    ):
        subprocess.run([git, *args], cwd=elsewhere, check=True, capture_output=True, env=env)
    (elsewhere / "new.txt").write_text("hello again\n")
    ironcode = str(installed / "bin" / "ironcode")

    def run(*args: str) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [ironcode, *args], capture_output=True, text=True, cwd=elsewhere, env=env, timeout=300
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc

    read = json.loads(run("--json", "--backend", "native", "read", "README.md").stdout)
    assert read["lines"] == ["# hello", "from a fresh install"]
    grep = json.loads(run("--json", "--backend", "native", "grep", "hello", ".").stdout)
    assert sorted(os.path.basename(m["path"]) for m in grep["matches"]) == ["README.md", "new.txt"]
    status = json.loads(run("--json", "--backend", "native", "status", ".").stdout)
    assert [(f["path"], f["xy"]) for f in status["files"]] == [("new.txt", "??")]
    demo = json.loads(run("--json", "demo", "--runs", "1").stdout)
    assert len(demo["rows"]) >= 15 and demo["absent"] == []
    assert all(row["native_ms"] > 0 for row in demo["rows"])

    where = subprocess.run(
        [
            str(installed / "bin" / "python"),
            "-c",
            f"from ironcode import ffi; print(ffi.library_path()); print(ffi.has_symbol({TEST_ONLY_EXPORT!r}))",
        ],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        timeout=60,
    )
    assert where.returncode == 0, where.stderr
    library, has_test_export = where.stdout.split()
    assert Path(library).resolve().is_relative_to(installed.resolve()), f"loaded {library}"
    assert library.endswith(PACKAGED_LIBRARY), library
    assert has_test_export == "False"  # the release build, without the test exports
