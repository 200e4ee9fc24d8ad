"""Helpers shared by several test files (fixtures live in conftest.py)."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def exports_in_lib_rs() -> set[str]:
    """Every ``*_ffi`` export declared in native/tool/src/lib.rs."""
    with open(os.path.join(ROOT, "native", "tool", "src", "lib.rs")) as f:
        return set(re.findall(r"^\s*fn (\w+_ffi)\(", f.read(), flags=re.MULTILINE))


def run_python(code: str, cwd: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Runs ``code`` in a fresh interpreter that imports this checkout's ironcode."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env=dict(os.environ, PYTHONPATH=ROOT),
    )


def run_without_root_powers(code: str) -> str:
    """Runs Python ``code`` in a child that lost root's power to ignore permission bits.

    Root reads every file, so permission tests would prove nothing under root (as CI runs).
    ``setpriv`` (util-linux) drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the child's
    bounding set, so permission bits apply to it as to any user.
    """
    cmd = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *cmd]
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60, cwd="/")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@functools.cache
def quick_bench(script: str) -> tuple[dict, str]:
    """(JSON report, stdout) of ``script/<script> --quick``, run once per test session.

    Several tests read the same quick run (the common report format in test_bench.py, each
    benchmark's own cases elsewhere), so each script runs once, not once per test.
    """
    with tempfile.TemporaryDirectory(prefix="ironcode-bench-") as tmp:
        out = os.path.join(tmp, "report.json")
        proc = subprocess.run(
            [sys.executable, os.path.join(ROOT, "script", script), "--quick", "--json", out],
            capture_output=True,
            text=True,
            timeout=600,
            env=dict(os.environ, PYTHONPATH=ROOT),
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        with open(out) as f:
            return json.load(f), proc.stdout
