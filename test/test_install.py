"""`pip install <checkout>` into a fresh virtualenv ships the library inside the package, so the
installed `ironcode` works from any directory without the source tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv

import pytest

from .helpers import ROOT


@pytest.mark.slow
def test_pip_install_into_a_fresh_venv_works_from_another_directory(tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # Reuse the checkout's cargo target folder: only this crate is rebuilt (without test exports).
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "IRONCODE_LIB", "VIRTUAL_ENV")}
    env["CARGO_TARGET_DIR"] = os.path.join(ROOT, "native", "tool", "target", "wheel")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", ROOT],
        capture_output=True,
        text=True,
        env=env,
        timeout=1500,
    )
    assert install.returncode == 0, install.stderr[-4000:]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "README.md").write_text("# hello\nfrom a fresh install\n")
    ironcode = str(env_dir / "bin" / "ironcode")
    read = subprocess.run(
        [ironcode, "read", "README.md"], capture_output=True, text=True, cwd=elsewhere, env=env
    )
    assert read.returncode == 0, read.stderr
    assert "1: # hello" in read.stdout and "2: from a fresh install" in read.stdout
    stats = subprocess.run(
        [ironcode, "--json", "stats"], capture_output=True, text=True, cwd=elsewhere, env=env
    )
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["memory_total_mb"] > 0

    where = subprocess.run(
        [str(python), "-c", "from ironcode import ffi; print(ffi.library_path())"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
    )
    library = where.stdout.strip()
    assert library.startswith(str(env_dir)), f"loaded {library}, not the installed copy"
    assert sys.prefix not in library
