"""Terminal: PTY sessions on both backends (native ring buffer, ptyprocess twin).

Every wait in here has a deadline (``read_until``, ``wait(timeout)``), so a broken backend fails a
test instead of hanging the suite. Nothing asserts on time.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ironcode
from ironcode import ffi
from ironcode.twin import terminal as twin_terminal

from .conftest import require_tool

#: Generous deadline for output or an exit that should come within milliseconds.
DEADLINE_S = 15.0
RING = 2 * 1024 * 1024
PY = sys.executable


@pytest.fixture
def term(impl):
    """``term(command, ...)``: a Terminal on the backend under test, closed after the test."""
    made = []

    def start(*args, **kwargs):
        t = impl.Terminal(*args, **kwargs)
        made.append(t)
        return t

    yield start
    for t in made:
        t.close()


def read_until(t, marker: bytes, deadline_s: float = DEADLINE_S) -> bytes:
    """Reads until ``marker`` shows up; fails (never hangs) if it does not within the deadline."""
    seen = b""
    deadline = time.monotonic() + deadline_s
    while marker not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"{marker!r} did not appear within {deadline_s} s; got {seen[-500:]!r}")
        seen += t.read(min(left, 1.0))
    return seen


def finish(t) -> int | None:
    """Waits for the program to exit and its output to end; fails past the deadline."""
    code = t.wait(DEADLINE_S)
    assert t.status() == "exited", f"still running after {DEADLINE_S} s: {t.info()}"
    return code


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def process_state(pid: int) -> str | None:
    """The state letter of ``pid`` (R, S, Z, ...), or None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 1 :].split()[0]


def assert_gone(pid: int) -> None:
    """``pid`` no longer runs: gone, or a zombie left for init (never one of ours)."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        state = process_state(pid)
        if state is None:
            return
        if state == "Z":
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[2])
            assert ppid != os.getpid(), f"{pid} is a zombie child of this process: not reaped"
            return
        threading.Event().wait(0.05)
    pytest.fail(f"process {pid} is still running ({process_state(pid)})")


# ---- talking to programs -----------------------------------------------------------------------


def test_echo_round_trip_through_cat(term):
    t = term(["cat"])
    assert t.write("hello terminal\n") == len("hello terminal\n")
    # the terminal echoes the line, then cat writes it back
    out = read_until(t, b"hello terminal\r\nhello terminal\r\n")
    assert out.count(b"hello terminal") == 2


def test_interactive_python_driven_by_write_and_read(term):
    t = term([PY, "-i", "-q", "-u"])
    read_until(t, b">>> ")
    t.write("x = 6 * 7\n")
    read_until(t, b">>> ")
    t.write("print('answer', x)\n")
    assert b"answer 42\r\n" in read_until(t, b"answer 42\r\n")
    t.write("raise SystemExit(5)\n")
    assert finish(t) == 5
    assert t.exit_code == 5


def test_resize_is_seen_by_stty_size(term):
    t = term(["sh"], rows=30, cols=100)
    t.write("stty size\n")
    read_until(t, b"30 100\r\n")
    t.resize(50, 132)
    t.write("stty size\n")
    read_until(t, b"50 132\r\n")
    assert (t.info()["rows"], t.info()["cols"]) == (50, 132)


def test_output_beyond_2_mib_keeps_exactly_the_last_2_mib(term):
    # 8-digit counters, no newline: the terminal passes the bytes through unchanged
    count = 400_000
    expected = "".join(f"{i:08d}" for i in range(count)).encode()
    program = (
        f"import sys; sys.stdout.write(''.join(f'{{i:08d}}' for i in range({count}))); sys.stdout.flush()"
    )
    t = term([PY, "-c", program])
    assert finish(t) == 0
    kept = t.buffer()
    assert len(kept) == RING
    assert kept == expected[-RING:]
    info = t.info()
    assert info["received"] == len(expected)
    assert info["dropped"] == len(expected) - RING
    assert info["buffered"] == RING


def test_every_byte_value_survives_the_boundary(term):
    t = term([PY, "-c", "import sys; sys.stdout.buffer.write(bytes(range(256)))"])
    assert finish(t) == 0
    # the terminal's output processing turns \n into \r\n; every other byte is passed through
    assert t.buffer() == bytes(range(256)).replace(b"\n", b"\r\n")


def test_env_cwd_and_term_reach_the_program(term, tmp_path):
    t = term(["sh", "-c", 'echo "$GREETING|$(pwd)|$TERM"'], cwd=str(tmp_path), env={"GREETING": "hi there"})
    finish(t)
    assert f"hi there|{tmp_path}|xterm-256color\r\n".encode() in t.buffer()


def test_default_command_is_the_users_shell(term, monkeypatch):
    monkeypatch.setenv("SHELL", "/bin/sh")
    t = term()
    assert t.info()["command"] == ["/bin/sh"]
    t.write("echo shell-ok\n")
    read_until(t, b"shell-ok\r\n")


# ---- exit, status, wait ------------------------------------------------------------------------


def test_exit_code_of_sh_exit_3(term):
    t = term(["sh", "-c", "exit 3"])
    assert finish(t) == 3
    assert (t.status(), t.exit_code) == ("exited", 3)


def test_exit_is_noticed_without_anyone_waiting_or_reading(term):
    t = term(["sh", "-c", "exit 7"])
    # only look at the state: neither read() nor wait() is called, nothing polls the child
    deadline = time.monotonic() + DEADLINE_S
    while t.info()["status"] != "exited" and time.monotonic() < deadline:
        threading.Event().wait(0.01)
    assert (t.info()["status"], t.info()["exit_code"]) == ("exited", 7)


def test_killed_program_reports_minus_the_signal(term):
    t = term(["sh", "-c", "kill -9 $$"])
    assert finish(t) == -9


def test_wait_returns_none_while_running(term):
    t = term(["cat"])
    assert t.wait(0.05) is None
    assert (t.status(), t.exit_code) == ("running", None)


def test_read_returns_empty_once_nothing_more_can_come(term):
    t = term(["true"])
    finish(t)
    t.read()
    # would wait the whole timeout if the end of output were not noticed; either way it returns
    assert t.read(DEADLINE_S) == b""
    assert t.info()["output_closed"] is True


def test_read_with_nothing_to_read_returns_empty(term):
    t = term(["cat"])
    assert t.read(0.05) == b""
    assert t.read() == b""


def test_blocked_read_wakes_when_output_arrives_from_another_thread(term):
    t = term(["cat"])
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(read_until(t, b"ping\r\nping\r\n")))
    reader.start()
    # the reader blocks inside read(); this thread still runs (the GIL is released) and writes
    t.write("ping\n")
    reader.join(DEADLINE_S + 5)
    assert not reader.is_alive()
    assert got and got[0].endswith(b"ping\r\nping\r\n")


def test_blocked_reads_beside_a_blocked_wait_all_wake_for_output_and_the_exit(term):
    # Output wakes only the readers (a wait is not woken per chunk): each blocked reader must
    # still get output, and the wait its wake-up at the exit.
    t = term(["cat"])
    got: list[bytes] = []
    exit_codes: list[int | None] = []
    readers = [threading.Thread(target=lambda: got.append(t.read(DEADLINE_S))) for _ in range(2)]
    waiter = threading.Thread(target=lambda: exit_codes.append(t.wait(DEADLINE_S)))
    for thread in [*readers, waiter]:
        thread.start()
    time.sleep(0.2)  # all three are blocked inside the library by now
    t.write("one\n")
    deadline = time.monotonic() + DEADLINE_S
    while not got and time.monotonic() < deadline:
        time.sleep(0.01)
    t.write("two\n")  # for the reader the first output did not reach (read takes all there is)
    for reader in readers:
        reader.join(DEADLINE_S + 5)
        assert not reader.is_alive()
    assert len(got) == 2 and all(got), got  # neither ran into its timeout empty-handed
    assert waiter.is_alive()  # cat still runs
    t.write(b"\x04")
    waiter.join(DEADLINE_S + 5)
    assert exit_codes == [0]


# ---- the buffer --------------------------------------------------------------------------------


def test_buffer_is_independent_of_read_and_drain_empties_it(term):
    t = term(["sh", "-c", "echo one; echo two"])
    finish(t)
    assert t.read() == t.buffer()
    assert t.read() == b""  # read moved on...
    assert b"one\r\ntwo\r\n" in t.buffer()  # ...the buffer did not
    assert b"two" in t.drain()
    assert t.buffer() == b""
    assert t.info()["received"] > 0


def test_clear_forgets_output_and_read_only_sees_what_follows(term):
    t = term(["cat"])
    t.write("before\n")
    read_until(t, b"before\r\nbefore\r\n")
    t.write("unread\n")
    read_until(t, b"unread\r\nunread\r\n")  # consumed by read, still in the buffer
    t.clear()
    assert t.buffer() == b""
    t.write("after\n")
    out = read_until(t, b"after\r\nafter\r\n")
    assert b"before" not in out and b"unread" not in out


# ---- close: processes and descriptors ----------------------------------------------------------


def test_close_reaps_the_program_no_zombie(term):
    t = term(["sleep", "300"])
    pid = t.pid
    final = t.close()
    assert final["status"] == "exited" and final["exit_code"] == -9
    assert process_state(pid) is None  # reaped at once, not a zombie


def test_close_kills_a_background_child_of_the_shell(term):
    t = term(["sh", "-c", "sleep 300 & echo bg=$!; wait"])
    out = read_until(t, b"\r\n")
    background = int(out.split(b"bg=")[1].split(b"\r")[0])
    assert process_state(background) not in (None, "Z")
    t.close()
    assert process_state(t.pid) is None
    assert_gone(background)


def test_close_kills_jobs_an_interactive_shell_put_in_their_own_group(term):
    require_tool("bash")  # a failure under CI=true, a skip elsewhere
    t = term(["bash", "--norc", "--noprofile", "-i"])
    t.write("sleep 300 &\n")
    t.write("printf 'J%sJ\\n' $!\n")
    deadline = time.monotonic() + DEADLINE_S
    seen = b""
    while (found := re.search(rb"J(\d+)J", seen)) is None and time.monotonic() < deadline:
        seen += t.read(0.5)
    assert found, f"no job pid in {seen!r}"
    job = int(found.group(1))
    pgid = int(Path(f"/proc/{job}/stat").read_text().rsplit(")", 1)[1].split()[2])
    assert pgid != t.pid  # job control: the job is not in the shell's process group
    t.close()
    assert_gone(job)


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


def test_100_sessions_leave_the_open_descriptor_count_unchanged(impl):
    impl.Terminal(["true"]).close()  # warm-up: load the library, start lazy machinery
    before, threads_before = open_fds(), threads()
    for _ in range(100):
        t = impl.Terminal(["true"])
        t.close()
    assert open_fds() == before
    # both threads of every session were joined (<=: a thread of an earlier test, such as a
    # watcher reaping its own, may end meanwhile)
    assert threads() <= threads_before


def test_sessions_from_many_threads_at_once(impl):
    before = open_fds()
    failures: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(5):
                with impl.Terminal(["cat"]) as t:
                    t.write(f"w{n}-{i}\n")
                    read_until(t, f"w{n}-{i}\r\nw{n}-{i}\r\n".encode())
        except BaseException as e:  # reported below, in the test's thread
            failures.append(e)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(DEADLINE_S * 4)
    assert not any(w.is_alive() for w in workers) and not failures, failures
    assert open_fds() == before


def test_sessions_that_exit_on_their_own_release_everything_at_close(impl):
    before = open_fds()
    sessions = [impl.Terminal(["sh", "-c", "echo done"]) for _ in range(10)]
    for t in sessions:
        assert t.wait(DEADLINE_S) == 0
    for t in sessions:
        t.close()
        assert process_state(t.pid) is None
    assert open_fds() == before


def test_close_twice_and_context_manager(term, impl):
    t = term(["cat"])
    first = t.close()
    assert first is not None and first["id"] == t.id
    assert t.close() == first
    with impl.Terminal(["cat"]) as inner:
        pid = inner.pid
    assert process_state(pid) is None


# ---- the registry ------------------------------------------------------------------------------


def test_terminals_lists_open_sessions_and_cleanup_idle_closes_exited_ones(term, impl):
    running = term(["cat"])
    exited = term(["sh", "-c", "exit 0"])
    finish(exited)
    ids = [info["id"] for info in impl.terminals()]
    assert running.id in ids and exited.id in ids
    assert impl.cleanup_idle(3600.0) == []  # not idle that long
    assert impl.cleanup_idle(0.0) == [exited.id]  # running sessions are never cleaned up
    ids = [info["id"] for info in impl.terminals()]
    assert running.id in ids and exited.id not in ids
    assert process_state(exited.pid) is None


def test_public_terminal_uses_the_chosen_backend_and_lists_both_registries():
    with ironcode.backend.use("python"):
        py = ironcode.Terminal(["cat"])
    native = ironcode.Terminal(["cat"])
    try:
        assert py.backend == "python"
        assert native.backend == ironcode.backend.choose("Terminal")
        ids = {info["id"] for info in ironcode.terminals()}
        assert {py.id, native.id} <= ids
        py.write("x\n")
        read_until(py, b"x\r\nx\r\n")
    finally:
        py.close()
        native.close()
    assert not {py.id, native.id} & {info["id"] for info in ironcode.terminals()}


def test_atexit_hooks_exist_for_both_backends():
    # a session left open must not outlive Python: both backends register a close-all hook
    assert callable(ffi._close_all_terminals) and callable(twin_terminal._close_all)


# ---- errors ------------------------------------------------------------------------------------


def test_unknown_or_closed_session_is_not_found(term, expect_error):
    t = term(["cat"])
    t.close()
    for call in (t.read, t.info, t.buffer, t.drain, t.clear, t.status):
        expect_error("not_found", call)
    expect_error("not_found", t.write, "x")
    expect_error("not_found", t.resize, 10, 10)
    expect_error("not_found", t.wait, 0.0)


def test_missing_command_is_not_found_with_its_name(impl, expect_error):
    error = expect_error("not_found", impl.Terminal, ["no-such-program-ironcode"])
    assert "no-such-program-ironcode" in error.message
    expect_error("not_found", impl.Terminal, ["./no/such/path"])


def test_non_executable_file_is_permission_denied(impl, expect_error, tmp_path):
    script = tmp_path / "script.sh"
    script.write_text("echo hi\n")
    script.chmod(0o644)
    expect_error("permission_denied", impl.Terminal, [str(script)])


def test_write_to_an_exited_session_is_invalid_argument(term, expect_error):
    t = term(["sh", "-c", "exit 0"])
    finish(t)
    expect_error("invalid_argument", t.write, "too late\n")


def test_missing_or_file_cwd(impl, expect_error, tmp_path):
    expect_error("not_found", impl.Terminal, ["true"], cwd=str(tmp_path / "nope"))
    (tmp_path / "f").write_text("")
    expect_error("not_a_directory", impl.Terminal, ["true"], cwd=str(tmp_path / "f"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"command": []},
        {"command": [""]},
        {"command": "ls -l"},
        {"command": ["echo", "nul\0byte"]},
        {"command": ["echo", 3]},
        {"command": ["true"], "rows": 0},
        {"command": ["true"], "cols": 70_000},
        {"command": ["true"], "rows": -1},
        {"command": ["true"], "env": {"A=B": "x"}},
        {"command": ["true"], "env": {"": "x"}},
        {"command": ["true"], "env": {"A": "nul\0"}},
        {"command": ["true"], "env": {"A": 1}},
        {"command": ["true"], "cwd": "nul\0dir"},
    ],
)
def test_bad_arguments_are_invalid_argument(impl, expect_error, kwargs):
    expect_error("invalid_argument", impl.Terminal, **kwargs)


@pytest.mark.parametrize("timeout", [-1, float("nan"), float("inf"), 10**9, "1", None, True])
def test_bad_timeouts_are_invalid_argument(term, expect_error, timeout):
    t = term(["cat"])
    expect_error("invalid_argument", t.read, timeout)
    expect_error("invalid_argument", t.wait, timeout)


def test_bad_resize_and_cleanup_arguments_are_invalid_argument(term, impl, expect_error):
    t = term(["cat"])
    expect_error("invalid_argument", t.resize, 0, 80)
    expect_error("invalid_argument", t.resize, 24, 65_536)
    expect_error("invalid_argument", impl.cleanup_idle, -1)
    expect_error("invalid_argument", impl.cleanup_idle, float("nan"))
    expect_error("invalid_argument", t.write, 12)


# ---- parity ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished_pair():
    """One finished session per backend: a read or wait with any valid timeout returns at once."""
    ffi.library()
    sessions = (ffi.Terminal(["true"]), twin_terminal.Terminal(["true"]))
    for t in sessions:
        assert t.wait(DEADLINE_S) == 0
    yield sessions
    for t in sessions:
        t.close()


def outcome(fn, *args):
    try:
        fn(*args)
    except ironcode.IronCodeError as e:
        return ("error", e.kind)
    return ("ok",)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    timeout=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(2**40), max_value=2**40),
        st.floats(min_value=86_399, max_value=86_401),
    )
)
def test_read_and_wait_accept_and_refuse_the_same_timeouts(finished_pair, timeout):
    native, python = finished_pair
    assert outcome(native.read, timeout) == outcome(python.read, timeout)
    assert outcome(native.wait, timeout) == outcome(python.wait, timeout)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.integers(min_value=-5, max_value=70_000), cols=st.integers(min_value=-5, max_value=70_000))
def test_resize_accepts_and_refuses_the_same_sizes(finished_pair, rows, cols):
    native, python = finished_pair
    assert outcome(native.resize, rows, cols) == outcome(python.resize, rows, cols)


@settings(max_examples=25, deadline=None)
@given(payload=st.binary(max_size=3000))
def test_both_backends_deliver_the_same_bytes(payload):
    ffi.library()
    program = f"import sys; sys.stdout.buffer.write(bytes.fromhex('{payload.hex()}'))"
    buffers = []
    for Terminal in (ffi.Terminal, twin_terminal.Terminal):
        with Terminal([PY, "-c", program]) as t:
            assert t.wait(DEADLINE_S) == 0
            buffers.append(t.buffer())
    assert buffers[0] == buffers[1] == payload.replace(b"\n", b"\r\n")
