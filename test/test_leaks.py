"""No export leaks: a driver calls each one with good and bad arguments under valgrind, and RSS
stays flat across many calls from Python (the long versions run in `make leakcheck`)."""

from __future__ import annotations

import os
import subprocess
import sys

from .conftest import require_tool
from .helpers import ROOT

CRATE = os.path.join(ROOT, "native", "tool")


def test_every_export_under_valgrind_has_no_definite_leak():
    valgrind = require_tool("valgrind")
    build = subprocess.run(
        ["cargo", "build", "--release", "--features", "test-exports", "--example", "leakcheck"],
        cwd=CRATE,
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    driver = os.path.join(CRATE, "target", "release", "examples", "leakcheck")
    run = subprocess.run(
        [
            valgrind,
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--error-exitcode=1",
            "-q",
            driver,
            "20",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    assert "rounds of every export done" in run.stdout


def test_rss_stays_flat_across_many_calls():
    run = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "script", "leakcheck-rss.py"),
            "--small",
            "100000",
            "--large",
            "1000",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "GROWING" not in run.stdout
