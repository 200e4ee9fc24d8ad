"""`ironcode pty -- CMD ARGS...`: runs a command on a PTY, streams its output, exits with its code."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Generous bound on one command, so a broken backend fails instead of hanging.
DEADLINE_S = 15.0

pytestmark = pytest.mark.parametrize("backend", ["native", "python"])


def pty(backend: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ironcode.cli", "--backend", backend, "pty", *args],
        input=stdin.encode(),
        capture_output=True,
        timeout=DEADLINE_S * 2,
        check=False,
    )


def test_streams_output_and_exits_with_the_programs_code(backend):
    done = pty(backend, "--", "sh", "-c", "echo out; echo err >&2; exit 4")
    assert done.returncode == 4
    # both streams go through the terminal, which ends lines with \r\n
    assert b"out\r\n" in done.stdout and b"err\r\n" in done.stdout
    assert done.stderr == b""


def test_a_signal_exit_is_128_plus_the_signal(backend):
    assert pty(backend, "--", "sh", "-c", "kill -TERM $$").returncode == 128 + 15


def test_piped_input_reaches_the_program_then_end_of_file(backend):
    done = pty(backend, "--", "cat", stdin="typed ahead\n")
    assert done.returncode == 0
    assert done.stdout.count(b"typed ahead\r\n") == 2  # echoed by the terminal, written by cat


def test_json_reports_exit_code_and_output(backend):
    done = pty(backend, "--json", "--rows", "33", "--cols", "99", "--", "stty", "size")
    report = json.loads(done.stdout)
    assert done.returncode == 0
    assert report["exit_code"] == 0 and report["output"] == "33 99\r\n"
    assert report["backend"] == backend and report["timed_out"] is False


def test_timeout_kills_the_program_and_exits_124(backend):
    assert pty(backend, "--timeout", "0.2", "--", "sleep", "300").returncode == 124


def test_missing_command_is_a_one_line_error(backend):
    done = pty(backend, "--", "no-such-program-ironcode")
    assert done.returncode == 1
    assert done.stderr.decode().strip() == "ironcode: not_found: Command not found: no-such-program-ironcode"
