"""The bash tool (ironcode.tools.bash) and the `ironcode bash` / `ironcode parse-bash` commands."""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import ironcode
from ironcode import backend
from ironcode.cli import main
from ironcode.tools import bash

#: Bounds the waits for an external condition (a pid file appearing, a killed process going away);
#: never a measure of speed: the conditions normally hold within milliseconds.
PATIENCE_S = 10.0


def running(pid: int, group: int) -> bool:
    """True while ``pid`` runs in process group ``group``. A zombie left for init to reap has
    stopped running; a pid the kernel has since reused for another process (this machine spawns
    many) is in another group, so it is not mistaken for ours."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state, _ppid, pgrp = stat[stat.rfind(b")") + 2 :].split()[:3]
    return int(pgrp) == group and state not in (b"Z", b"X")


def wait_for(condition, what: str) -> None:
    end = time.monotonic() + PATIENCE_S
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)


def read_pids(path: Path) -> list[int]:
    """The pids a command wrote, one a line; by convention the first is the top bash's ``$$``,
    which is also the process group of everything it starts."""
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def still_running(pids: list[int]) -> list[int]:
    return [pid for pid in pids if running(pid, pids[0])]


@pytest.fixture
def stray_pids():
    """Pids a test starts (group leader first); whatever of that group still runs is killed."""
    pids: list[int] = []
    yield pids
    for pid in still_running(pids) if pids else []:
        os.kill(pid, signal.SIGKILL)


# ---- running ---------------------------------------------------------------------------------


def test_stdout_and_stderr_are_merged_in_order_with_the_exit_code():
    result = bash.run("echo one; echo two >&2; echo three; exit 3")
    assert result["output"] == "one\ntwo\nthree\n"
    assert result["exit_code"] == 3
    assert not result["timed_out"] and not result["truncated"] and result["output_path"] is None
    assert bash.format_bash(result).endswith("three\n\nExit code: 3")


def test_empty_output_says_no_output():
    assert bash.format_bash(bash.run("true")) == "(no output)\n\nExit code: 0"


def test_stdin_is_closed_so_reading_it_ends_at_once():
    result = bash.run('cat; read -r line; echo "got:$line"', timeout=30_000)
    assert result["output"] == "got:\n" and not result["timed_out"]


def test_command_runs_in_its_own_process_group_and_session():
    probe = "import os; print(os.getpgid(0), os.getsid(0))"
    result = bash.run(f"'{sys.executable}' -c '{probe}'")
    group, session = map(int, result["output"].split())
    assert group == session != os.getpgrp()


def test_workdir_is_where_the_command_runs(tmp_path):
    assert bash.run("pwd", workdir=str(tmp_path))["output"] == f"{tmp_path}\n"


def test_huge_timeout_is_accepted():
    assert bash.run("echo ok", timeout=1e15)["output"] == "ok\n"


def test_signal_exit_is_reported_as_a_negative_code():
    assert bash.run("kill -9 $$")["exit_code"] == -9


def test_parse_result_comes_with_the_run(tmp_path):
    result = bash.run("mkdir -p out/x && echo done > out/log", workdir=str(tmp_path))
    assert result["parsed"]["always"] == ["mkdir *", "echo *"]
    assert result["parsed"]["directories"] == [str(tmp_path / "out")]


def test_refused_command_does_not_run(tmp_path, expect_error):
    seen = []

    def approve(parsed: dict) -> bool:
        seen.append(parsed["patterns"])
        return False

    expect_error("permission_denied", bash.run, "touch marker", workdir=str(tmp_path), approve=approve)
    assert seen == [["touch marker"]]
    assert not (tmp_path / "marker").exists()


def test_parsing_follows_the_chosen_backend(monkeypatch):
    calls = []
    real = backend.implementation

    def spy(op, name=None):
        calls.append((op, name or backend.choose(op)))
        return real(op, name)

    monkeypatch.setattr("ironcode.backend.implementation", spy)
    monkeypatch.setattr("ironcode._impl", spy)
    with backend.use("python"):
        bash.run("true")
    assert ("parse_bash", "python") in calls


# ---- timeouts, Ctrl-C and background children ----------------------------------------------


def test_timeout_kills_the_whole_process_tree(tmp_path, stray_pids):
    pids = tmp_path / "pids"
    command = (
        f"echo $$ >> {pids}; sleep 60 & echo $! >> {pids}; "
        f"( sleep 60 & echo $! >> {pids}; wait ) & "
        f"bash -c 'echo $$ >> {pids}; sleep 60' & wait"
    )
    result = bash.run(command, timeout=1500)
    stray_pids.extend(read_pids(pids))
    assert result["timed_out"]
    assert len(read_pids(pids)) == 4, "the tree had not started before the timeout"
    assert still_running(read_pids(pids)) == []
    assert "(Command timed out after 1500 ms; its process group was killed.)" in bash.format_bash(result)


def test_children_that_ignore_term_are_killed_after_the_grace_period(tmp_path, stray_pids):
    pids = tmp_path / "pids"
    result = bash.run(f"echo $$ >> {pids}; trap '' TERM; sleep 60 & echo $! >> {pids}; sleep 60", timeout=800)
    stray_pids.extend(read_pids(pids))
    assert result["timed_out"] and result["exit_code"] == -signal.SIGKILL
    assert len(read_pids(pids)) == 2 and still_running(read_pids(pids)) == []


def test_background_child_holding_the_pipe_does_not_hold_the_run(stray_pids):
    # Before the fix in other agents' tools, this waited for `sleep 60` to close the pipe.
    result = bash.run("sleep 60 & echo started $$ $!", timeout=30_000)
    group, pid = map(int, result["output"].split()[1:])
    stray_pids.extend([group, pid])
    assert not result["timed_out"] and result["exit_code"] == 0
    assert result["output"].startswith("started ")
    assert running(pid, group), "a background child the command started on purpose is left running"


def test_output_still_in_the_pipe_when_bash_exits_is_read(stray_pids):
    # A background child keeps the pipe open, so no end of file comes: what bash wrote just before
    # exiting must be drained from the pipe rather than waited for.
    result = bash.run("sleep 60 & for i in $(seq 1 1500); do echo line $i; done; echo end $$ $!")
    last = result["output"].splitlines()[-1].split()
    stray_pids.extend([int(last[1]), int(last[2])])
    assert last[0] == "end" and result["total_lines"] == 1501 and not result["timed_out"]


def test_ctrl_c_kills_the_process_group_and_is_raised_again(tmp_path, stray_pids):
    pids = tmp_path / "pids"

    def press_ctrl_c() -> None:
        end = time.monotonic() + PATIENCE_S
        while len(read_pids(pids)) < 2 and time.monotonic() < end:
            time.sleep(0.01)
        # To the main thread, as a terminal's Ctrl-C reaches it: a process-wide kill() may land on
        # this thread, and then the main thread only notices when its select() returns.
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    presser = threading.Thread(target=press_ctrl_c)
    presser.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            bash.run(f"echo $$ >> {pids}; sleep 60 & echo $! >> {pids}; wait", timeout=60_000)
    finally:
        presser.join()
    stray_pids.extend(read_pids(pids))
    assert len(read_pids(pids)) == 2
    wait_for(lambda: not still_running(read_pids(pids)), "the killed group to go")


# ---- truncation ------------------------------------------------------------------------------


def test_long_output_keeps_the_last_lines_and_saves_the_full_output():
    result = bash.run("seq 1 5000")
    try:
        lines = result["output"].splitlines()
        assert lines == [str(i) for i in range(3001, 5001)]
        assert result["truncated"] and result["total_lines"] == 5000
        saved = Path(result["output_path"])
        assert saved.read_text() == "".join(f"{i}\n" for i in range(1, 5001))
        text = bash.format_bash(result)
        assert text.startswith("(Output truncated: showing the last 2000 of 5000 lines")
        assert str(saved) in text
    finally:
        os.unlink(result["output_path"])


def test_wide_output_is_cut_at_50_kb_on_a_line_start():
    result = bash.run(f"'{sys.executable}' -c \"[print(str(i).rjust(999, 'x')) for i in range(200)]\"")
    try:
        kept = result["output"].encode()
        assert len(kept) <= bash.MAX_OUTPUT_BYTES
        assert result["output"].splitlines()[-1].endswith("199")
        assert all(len(line) == 999 for line in result["output"].splitlines())
        assert result["truncated"] and result["total_bytes"] == 200 * 1000
        assert len(Path(result["output_path"]).read_bytes()) == 200 * 1000
    finally:
        os.unlink(result["output_path"])


def test_one_huge_line_is_cut_on_a_character_boundary():
    result = bash.run(f"'{sys.executable}' -c \"print('é' * 100000, end='')\"")
    try:
        assert result["output"] and set(result["output"]) == {"é"}
        assert len(result["output"].encode()) <= bash.MAX_OUTPUT_BYTES
        assert result["total_lines"] == 1 and result["truncated"]
    finally:
        os.unlink(result["output_path"])


def test_output_within_the_limits_saves_no_file():
    before = {p for p in os.listdir(tempfile.gettempdir()) if p.startswith(bash.OUTPUT_FILE_PREFIX)}
    result = bash.run("seq 1 2000")
    after = {p for p in os.listdir(tempfile.gettempdir()) if p.startswith(bash.OUTPUT_FILE_PREFIX)}
    assert not result["truncated"] and result["output_path"] is None
    assert result["output"] == "".join(f"{i}\n" for i in range(1, 2001))
    assert after <= before


def test_invalid_utf8_output_is_replaced_not_fatal():
    assert bash.run("printf 'a\\377b'")["output"] == "a\ufffdb"


# ---- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", [0, -5, -0.5, "10", True])
def test_timeout_must_be_a_positive_number(expect_error, timeout):
    expect_error("invalid_argument", bash.run, "true", timeout=timeout)


def test_missing_workdir_is_not_found(tmp_path, expect_error):
    expect_error("not_found", bash.run, "true", workdir=str(tmp_path / "nope"))


def test_file_as_workdir_is_not_a_directory(tmp_path, expect_error):
    (tmp_path / "f").write_text("x")
    expect_error("not_a_directory", bash.run, "true", workdir=str(tmp_path / "f"))


def test_nul_in_the_command_is_invalid(expect_error):
    expect_error("invalid_argument", bash.run, "echo a\0b")


# ---- CLI -------------------------------------------------------------------------------------


def test_cli_bash_prints_the_tool_text_and_exits_with_the_command_status():
    outcome = CliRunner().invoke(main, ["bash", "echo hi; exit 3"])
    assert outcome.exit_code == 3
    assert outcome.output == "hi\n\nExit code: 3\n"


def test_cli_bash_timeout_exits_124():
    outcome = CliRunner().invoke(main, ["bash", "sleep 30", "--timeout", "200"])
    assert outcome.exit_code == bash.TIMEOUT_EXIT_STATUS
    assert "timed out after 200 ms" in outcome.output


def test_cli_bash_json_and_workdir(tmp_path):
    outcome = CliRunner().invoke(main, ["--json", "bash", "pwd", "--workdir", str(tmp_path)])
    assert outcome.exit_code == 0
    assert json.loads(outcome.output)["output"] == f"{tmp_path}\n"


def test_cli_bash_bad_timeout_is_a_one_line_error():
    outcome = CliRunner().invoke(main, ["bash", "true", "--timeout", "0"])
    assert outcome.exit_code == 1
    assert outcome.output.startswith("ironcode: invalid_argument: ") and outcome.output.count("\n") == 1


@pytest.mark.parametrize("backend_name", ["native", "python"])
def test_cli_parse_bash_json_is_the_operation_result(backend_name):
    args = ["--json", "--backend", backend_name, "parse-bash", "cd .. && git log -5", "--cwd", "/usr/lib"]
    outcome = CliRunner().invoke(main, args)
    assert outcome.exit_code == 0
    assert json.loads(outcome.output) == ironcode.parse_bash("cd .. && git log -5", "/usr/lib")


def test_cli_parse_bash_text_lists_each_section(tmp_path):
    (tmp_path / "sub").mkdir()
    outcome = CliRunner().invoke(main, ["parse-bash", "rm -rf sub/x*", "--cwd", str(tmp_path)])
    assert outcome.exit_code == 0
    assert outcome.output.splitlines() == [
        "commands:",
        "  rm -rf sub/x*    (name 'rm', args ['-rf', 'sub/x*'])",
        "directories:",
        f"  {tmp_path / 'sub'}",
        "patterns:",
        "  rm -rf sub/x*",
        "always:",
        "  rm *",
    ]
