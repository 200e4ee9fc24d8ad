"""Helpers shared by several test files (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
