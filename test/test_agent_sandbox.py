"""sandbox=True: every bash command under bubblewrap (AGENT.md "Roots"). bwrap missing or failing is a
failure in CI (conftest.require_tool), never a skip that hides it."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
from pathlib import Path

import pytest

import ironcode
from ironcode.agent import Toolbox
from ironcode.agent_shells import group_alive

from .agentlib import git, git_repo, ok, toolbox_on, wait_until, write
from .conftest import require_tool
from .helpers import ROOT


@pytest.fixture(autouse=True)
def bwrap():
    return require_tool("bwrap")


@pytest.fixture
def root(tmp_path) -> Path:
    folder = tmp_path / "root"
    folder.mkdir()
    return folder


@pytest.fixture
def box(root):
    with toolbox_on("native", [root], sandbox=True) as toolbox:
        yield toolbox


@pytest.fixture
def outside():
    """A folder outside the roots and outside /tmp (the sandbox's /tmp is private, so a write there
    would succeed inside and vanish: that proves nothing about the read-only view)."""
    # The checkout, unless it is itself under /tmp (a fresh clone in a temporary folder): then home.
    base = Path.home() if Path(ROOT).resolve().is_relative_to("/tmp") else ROOT
    folder = Path(tempfile.mkdtemp(prefix=".sandbox-outside-", dir=base))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def run(box, command: str, **extra):
    return ok(box, "bash", {"command": command, **extra})


def test_a_write_outside_the_roots_fails_inside_the_command_and_says_so(box, outside):
    result = run(box, f"echo x > {outside}/escaped.txt")
    assert result.data["exit_code"] != 0
    assert "Read-only file system" in result.text
    assert "Sandbox: everything outside the project is read-only" in result.text
    assert not (outside / "escaped.txt").exists()


def test_a_write_beside_a_root_under_tmp_fails_instead_of_landing_in_the_private_tmp(box, root):
    # pytest's roots live under /tmp: the host's folder holding the root is read-only inside too,
    # so a write next to the root is refused (not written into the throwaway tmpfs and lost)
    (root.parent / "sibling").mkdir()
    for target in (root.parent / "beside.txt", root.parent / "sibling" / "in.txt"):
        result = run(box, f"echo x > {target}")
        assert result.data["exit_code"] != 0, result.text
        assert "Read-only file system" in result.text
        assert not target.exists()
    assert "sibling" in run(box, f"ls {root.parent}").text  # neighbours stay visible, read-only


def test_the_guard_is_off_under_the_sandbox(box, root):
    result = run(box, "echo x > ../next-to-root.txt; cat /etc/hostname > /dev/null && echo read-ok")
    assert "read-ok" in result.data["output"]
    assert not (root.parent / "next-to-root.txt").exists()  # /tmp is the sandbox's own


def test_a_write_inside_a_root_succeeds(box, root):
    result = run(box, "mkdir -p out && echo made > out/file.txt && cat out/file.txt")
    assert result.data["exit_code"] == 0, result.text
    assert (root / "out" / "file.txt").read_text() == "made\n"


def test_tmp_is_private_to_the_command(box):
    marker = Path("/tmp/ironcode-sandbox-private-marker")
    assert run(box, f"echo x > {marker} && cat {marker}").data["output"] == "x\n"
    assert not marker.exists()


def test_the_git_folder_is_writable_so_commits_work(root):
    git_repo(root, {"a.txt": "1\n"})
    with toolbox_on("native", [root], sandbox=True) as box:
        result = run(
            box,
            "echo 2 > a.txt && git add a.txt && git -c user.name=t -c user.email=t@e commit -qm two && git log --oneline | wc -l",
        )
    assert result.data["exit_code"] == 0, result.text
    assert result.data["output"].strip() == "2"
    assert "two" in git(root, "log", "-1", "--format=%s")


def test_a_linked_worktree_whose_git_folder_is_outside_the_root_can_commit(tmp_path):
    main = git_repo(tmp_path / "main", {"a.txt": "1\n"})
    worktree = tmp_path / "wt"
    git(main, "worktree", "add", "-q", "-b", "side", str(worktree))
    with toolbox_on("native", [worktree], sandbox=True) as box:
        result = run(box, "echo 2 > a.txt && git -c user.name=t -c user.email=t@e commit -qam side-change")
    assert result.data["exit_code"] == 0, result.text
    assert "side-change" in git(main, "log", "-1", "--format=%s", "side"), result.text


def test_no_network_unless_allowed(root):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    connect = f"exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected"
    try:
        with toolbox_on("native", [root], sandbox=True) as box:
            blocked = run(box, connect, timeout_ms=10_000)
        assert "connected" not in blocked.data["output"] and blocked.data["exit_code"] != 0
        with toolbox_on("native", [root], sandbox=True, network=True) as box:
            allowed = run(box, connect, timeout_ms=10_000)
        assert "connected" in allowed.data["output"], allowed.text
    finally:
        stop.set()
        thread.join()
        listener.close()
        for conn in accepted:
            conn.close()


def test_background_shells_run_in_the_sandbox_too(box, outside):
    shell = run(box, f"echo x > {outside}/bg.txt; echo status=$?; sleep 1000", run_in_background=True).data[
        "shell_id"
    ]
    seen: list[str] = []

    def status_printed() -> bool:
        seen.append(ok(box, "bash_output", {"shell_id": shell, "wait_ms": 200}).data["output"])
        return "status=" in "".join(seen)

    wait_until(status_printed, "the background command's status line")
    ok(box, "bash_kill", {"shell_id": shell})
    assert "status=1" in "".join(seen)
    assert not (outside / "bg.txt").exists()


def test_a_sandboxed_command_is_killed_whole_on_timeout_and_at_close(root):
    with toolbox_on("native", [root], sandbox=True) as box:
        timed = run(box, "sleep 30", timeout_ms=300)
        assert timed.data["timed_out"] is True
        run(box, "sleep 1000 &")
        # The sleep's pid inside the sandbox's pid namespace is not ours to see: its group is.
        groups = box.groups.alive()
        assert groups, "the group of a command that left something running is kept for close"
        assert all(group_alive(g) for g in groups)
    for group in groups:
        wait_until(lambda group=group: not group_alive(group), "the sandbox's process group to be gone")


def test_sandbox_unavailable_when_bwrap_is_not_on_path(root, tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(ironcode.IronCodeError) as info:
        Toolbox(roots=[root], sandbox=True)
    assert info.value.kind == "sandbox_unavailable"
    assert "bubblewrap" in info.value.message


def test_sandbox_unavailable_when_bwrap_cannot_start(root, tmp_path, monkeypatch):
    fake = write(
        tmp_path / "bin" / "bwrap",
        "#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n",
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    with pytest.raises(ironcode.IronCodeError) as info:
        Toolbox(roots=[root], sandbox=True)
    assert info.value.kind == "sandbox_unavailable"
    assert "Permission denied" in info.value.message


def test_root_inside_the_sandbox_cannot_remount_the_file_system_writable(box, outside):
    result = run(box, f"mount -o remount,rw / 2>&1; echo x > {outside}/after-remount.txt")
    assert not (outside / "after-remount.txt").exists(), result.text
