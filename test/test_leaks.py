"""No export leaks: a driver calls each one with good and bad arguments under valgrind, and RSS
stays flat across many calls from Python (the long versions run in `make leakcheck`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from ironcode import ffi

from .conftest import require_tool
from .helpers import ROOT, exports_in_lib_rs

CRATE = os.path.join(ROOT, "native", "tool")
#: Rounds of the valgrind driver here: each one calls every export with good and bad arguments,
#: and a leak shows on its first call, so two are enough (make leakcheck runs hundreds).
VALGRIND_ROUNDS = 2
#: Watchers opened and closed in a row: more than the default per-user limit of inotify
#: instances (fs.inotify.max_user_instances = 128), so any instance outliving close() shows.
WATCHER_CYCLES = 300


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
            str(VALGRIND_ROUNDS),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    assert "rounds of every export done" in run.stdout
    called = set(re.search(r"^exports: (.*)$", run.stdout, flags=re.MULTILINE).group(1).split())
    assert called == exports_in_lib_rs()


def test_lib_rs_exports_are_found_by_the_coverage_check():
    # The comparison above is only as good as this parse of lib.rs.
    exports = exports_in_lib_rs()
    assert {"read_ffi", "edit_replace_ffi", "terminal_create_ffi", "lock_try_ffi"} <= exports
    assert set(ffi.SIGNATURES) | set(ffi.PROBE_SIGNATURES) | set(ffi.OPTIONAL_SIGNATURES) == exports


def test_closed_watcher_holds_no_descriptor_or_inotify_instance(tmp_path):
    # close() used to return while notify's thread still held the inotify instance: a loop of
    # open/close ran out of instances ("Too many open files") with every watcher closed.
    baseline = len(os.listdir("/proc/self/fd"))
    most = baseline
    for _ in range(WATCHER_CYCLES):
        ffi.Watcher(str(tmp_path)).close()
        most = max(most, len(os.listdir("/proc/self/fd")))
    assert most == baseline


def test_rss_stays_flat_across_many_calls():
    run = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "script", "leakcheck-rss.py"),
            "--quick",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "GROWING" not in run.stdout
    assert "LEAKED" not in run.stdout
