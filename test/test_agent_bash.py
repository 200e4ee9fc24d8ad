"""bash, bash_output, bash_input, bash_kill and parse_bash through the toolbox (AGENT.md "Roots" for
bash's guard, "Background shells"), on both backends."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import pytest

from ironcode import agent_shells

from .agentlib import (
    fails,
    kill_quietly,
    ok,
    process_running,
    read_pid,
    toolbox_on,
    wait_until,
    write,
)
from .conftest import BACKENDS


@pytest.fixture
def root(tmp_path) -> Path:
    folder = tmp_path / "root"
    folder.mkdir()
    return folder


@pytest.fixture(params=BACKENDS)
def box(request, root):
    with toolbox_on(request.param, [root]) as toolbox:
        yield toolbox


def run(box, command: str, **extra):
    return ok(box, "bash", {"command": command, **extra})


# ---- foreground --------------------------------------------------------------------------------


def test_a_failing_command_is_not_an_error_and_says_how_it_ended(box):
    result = run(box, "echo out; echo err >&2; exit 3")
    assert result.text == "out\nerr\n\nExit code: 3"
    data = result.data
    assert (data["exit_code"], data["signal"], data["timed_out"], data["truncated"]) == (
        3,
        None,
        False,
        False,
    )
    assert data["output"] == "out\nerr\n" and data["spill_path"] is None
    assert isinstance(data["duration_ms"], int)


def test_a_signal_is_named_and_the_exit_code_is_null(box):
    result = run(box, "kill -KILL $$")
    assert (result.data["exit_code"], result.data["signal"]) == (None, "SIGKILL")
    assert result.text.endswith("Killed by signal SIGKILL")


def test_a_timeout_kills_the_group_and_says_so(box):
    result = run(box, "sleep 30", timeout_ms=300)
    assert result.data["timed_out"] is True
    assert "timed out after 300 ms" in result.text


def test_the_command_runs_in_the_first_root_or_cwd_and_cd_does_not_persist(box, root):
    (root / "sub").mkdir()
    assert run(box, "pwd").data["output"] == f"{root}\n"
    assert run(box, "pwd", cwd="sub").data["output"] == f"{root / 'sub'}\n"
    run(box, "cd sub")
    assert run(box, "pwd").data["output"] == f"{root}\n"


def test_cwd_outside_missing_or_a_file_is_refused(box, root):
    write(root / "f.txt", "")
    fails(box, "bash", {"command": "pwd", "cwd": ".."}, "outside_root")
    fails(box, "bash", {"command": "pwd", "cwd": "nope"}, "not_found")
    fails(box, "bash", {"command": "pwd", "cwd": "f.txt"}, "not_a_directory")


def test_stdin_is_empty_so_a_read_ends_at_once(box):
    assert run(box, "read line; echo got:$line").data["output"] == "got:\n"


def test_long_output_keeps_the_tail_and_the_spill_file_is_readable(box):
    result = run(box, "seq 1 5000")
    data = result.data
    assert data["truncated"] is True and data["output"].endswith("5000\n")
    assert f"Full output saved to {data['spill_path']}" in result.text
    spilled = ok(box, "read", {"file_path": data["spill_path"], "limit": 2})
    assert "1: 1\n2: 2" in spilled.text
    assert "outside_root" not in run(box, f"cat {data['spill_path']} | wc -l").text


def test_a_spill_file_can_be_read_but_never_changed(box):
    path = run(box, "seq 1 5000").data["spill_path"]
    ok(box, "read", {"file_path": path, "limit": 1})
    before = open(path, "rb").read()
    fails(box, "write", {"file_path": path, "content": "x"}, "outside_root")
    fails(box, "edit", {"file_path": path, "old_string": "4999", "new_string": "x"}, "outside_root")
    fails(
        box,
        "str_replace_based_edit_tool",
        {"command": "insert", "path": path, "insert_line": 0, "new_str": "x"},
        "outside_root",
    )
    assert open(path, "rb").read() == before


def test_spill_files_are_removed_when_the_toolbox_closes(root):
    with toolbox_on("python", [root]) as box:
        path = run(box, "seq 1 5000").data["spill_path"]
        assert os.path.exists(path)
    assert not os.path.exists(path)


def test_a_background_child_does_not_hold_the_call_and_dies_with_the_toolbox(root):
    pid_file = root / "server.pid"
    with toolbox_on("native", [root]) as box:
        result = run(box, f"sleep 1000 & echo $! > {pid_file.name}; echo up")
        assert result.data["output"] == "up\n"
        pid = read_pid(pid_file)
        assert process_running(pid)
    wait_until(lambda: not process_running(pid), "the server left running to be killed with the toolbox")


def test_nul_in_the_command_is_invalid(box):
    fails(box, "bash", {"command": "echo a\0b"}, "invalid_argument")


# ---- the outside-root guard ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "echo x > ../out",
        "echo x >> /tmp/elsewhere.txt",
        "cat < ../secret",
        "cat /etc/hostname",
        "rm -rf ..",
        "cd .. && ls",
        "cd / ; rm x",
        "cd sub && echo x > ../../out",
        "bash -lc 'echo x > ../out'",
        'sh -c "rm ../x"',
        "ls; (cp a.txt /tmp/copy)",
        "cd",
    ],
)
def test_a_command_naming_a_folder_outside_is_refused_and_not_run(box, root, command):
    (root / "sub").mkdir(exist_ok=True)
    write(root / "a.txt", "a")
    result = fails(box, "bash", {"command": command}, "outside_root")
    assert "not a sandbox" in result.text
    assert not (root.parent / "out").exists()


@pytest.mark.parametrize(
    "command",
    [
        "echo x > /dev/null 2>/dev/stderr",
        "echo x > /dev/stdout; cat /dev/null",
        "exec 3>/dev/tty 2>/dev/null || true; echo x >/dev/fd/1",
        "mkdir -p sub && cd sub && echo x > ../inside.txt",
        "echo $HOME > inside2.txt",
        "make 2>&1 | tee build.log || true",
        "ls ..",
    ],
)
def test_streams_and_paths_inside_are_allowed(box, command):
    run(box, command)


def test_parse_bash_reports_commands_redirections_and_what_is_outside(box, root):
    result = ok(box, "parse_bash", {"command": "cd sub && echo x > ../../out; git log -1"})
    assert [c["name"] for c in result.data["commands"]] == ["cd", "echo", "git"]
    assert result.data["commands"][1]["redirects"] == ["../../out"]
    assert result.data["outside"] == [str(root.parent / "out")]
    assert "The bash tool would refuse it." in result.text
    clean = ok(box, "parse_bash", {"command": "git status"})
    assert clean.data["outside"] == [] and "would run it" in clean.text


# ---- background shells -------------------------------------------------------------------------


def start(box, command: str) -> str:
    return run(box, command, run_in_background=True).data["shell_id"]


def output_until(box, shell_id: str, needle: str) -> str:
    seen = ""
    end = time.monotonic() + 15
    while needle not in seen and time.monotonic() < end:
        seen += ok(box, "bash_output", {"shell_id": shell_id, "wait_ms": 500}).data["output"]
    assert needle in seen, seen
    return seen


def test_a_background_shell_returns_its_id_at_once_and_its_output_since_the_last_look(box):
    shell = start(box, "echo one; sleep 0.3; echo two; sleep 1000")
    assert shell.startswith("shell-")
    output_until(box, shell, "one")
    later = output_until(box, shell, "two")
    assert "one" not in later
    status = ok(box, "bash_output", {"shell_id": shell})
    assert status.data["status"] == "running" and status.data["exit_code"] is None
    assert "is still running" in status.text
    ok(box, "bash_kill", {"shell_id": shell})


def test_an_exited_shell_keeps_its_output_and_exit_code_until_killed(box):
    shell = start(box, "echo done; exit 4")
    output_until(box, shell, "done")
    wait_until(lambda: ok(box, "bash_output", {"shell_id": shell}).data["status"] == "exited", "the exit")
    result = ok(box, "bash_output", {"shell_id": shell})
    assert (result.data["status"], result.data["exit_code"]) == ("exited", 4)
    assert "exited with code 4" in result.text
    killed = ok(box, "bash_kill", {"shell_id": shell})
    assert "already exited with exit code 4" in killed.text
    fails(box, "bash_output", {"shell_id": shell}, "not_found")


def test_bash_input_types_into_the_shell(box):
    shell = start(box, "read name; echo hello-$name")
    ok(box, "bash_input", {"shell_id": shell, "text": "world\n"})
    output_until(box, shell, "hello-world")
    ok(box, "bash_kill", {"shell_id": shell})


def test_bash_kill_kills_a_command_that_ignores_hangups(box, root):
    pid_file = root / "pid"
    shell = start(box, f"trap '' HUP; sleep 1000 & echo $! > {pid_file.name}; wait")
    pid = read_pid(pid_file)
    assert "Killed" in ok(box, "bash_kill", {"shell_id": shell}).text
    wait_until(lambda: not process_running(pid), "the HUP-ignoring child to be killed")


def test_closing_the_toolbox_kills_background_shells(root):
    pid_file = root / "pid"
    with toolbox_on("native", [root]) as box:
        start(box, f"trap '' HUP; sleep 1000 & echo $! > {pid_file.name}; wait")
        pid = read_pid(pid_file)
    try:
        wait_until(lambda: not process_running(pid), "the shell's child to be killed at close")
    finally:
        kill_quietly(pid)


def test_the_seventeenth_shell_is_too_many_and_exited_ones_count(box):
    shells = [start(box, "exit 0") for _ in range(agent_shells.MAX_SHELLS)]
    result = fails(box, "bash", {"command": "true", "run_in_background": True}, "too_many_shells")
    assert "bash_kill" in result.text
    ok(box, "bash_kill", {"shell_id": shells[0]})
    start(box, "true")


def test_background_output_drops_terminal_escapes_and_crlf(box):
    shell = start(box, "printf '\\033[31mred\\033[0m\\n'; sleep 1000")
    seen = output_until(box, shell, "red")
    assert "\x1b" not in seen and "\r" not in seen
    ok(box, "bash_kill", {"shell_id": shell})


@pytest.mark.slow
def test_a_shell_printing_a_gigabyte_keeps_the_tail_in_bounded_memory(root):
    with toolbox_on("native", [root]) as box:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        shell = start(box, "head -c 1000000000 /dev/zero | tr '\\0' x; echo; echo THE-END")
        terminal = box.shells.get(shell).terminal
        end = time.monotonic() + 300
        while terminal.status() != "exited" and time.monotonic() < end:
            time.sleep(0.1)  # not looking: the whole gigabyte piles up behind the ring buffer
        terminal.wait(10)
        result = ok(box, "bash_output", {"shell_id": shell})
        grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert result.data["output"].endswith("THE-END\n")  # the tail starts at a line start
    assert result.data["lost_bytes"] > 990_000_000
    assert "bytes of output were lost" in result.text
    assert len(result.data["output"]) <= 50 * 1024
    assert grown_mb < 100, grown_mb
