"""Running out of inotify watches or instances: a clear ``io`` error naming the sysctl, never a
hang or a silent partial watch — on both backends.

Limits are lowered only for a child process: file descriptors with ``RLIMIT_NOFILE``, and the
inotify limits inside a user namespace of its own (``unshare --user``; since Linux 5.11 the
limits are per user namespace), so the machine's sysctls are never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

ROOT = Path(__file__).resolve().parent.parent
#: A child process that does not answer by then has hung: that is a failure.
CHILD_TIMEOUT_S = 120

CHILD = r"""
import json, os, resource, sys, time
import ironcode
from ironcode import backend, ffi
import ironcode.twin.watcher

ffi.library()
mode, backend_name, folder = sys.argv[1:4]


def report(kind, message=""):
    print(json.dumps([kind, message]), flush=True)


def exhaust_descriptors():
    # Every descriptor but one is taken: the watcher gets one, and fails on the next it needs.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))
    held = []
    try:
        while True:
            held.append(os.open("/dev/null", os.O_RDONLY))
    except OSError:
        os.close(held.pop())
    return held


try:
    with backend.use(backend_name):
        if mode == "descriptors":
            held = exhaust_descriptors()
            ironcode.Watcher(folder).close()
        elif mode == "start":
            ironcode.Watcher(folder).close()
        elif mode == "new-folders":
            with ironcode.Watcher(folder) as w:
                for i in range(8):
                    os.mkdir(os.path.join(folder, f"new{i}"))
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    w.wait(deadline - time.monotonic())
    report("ok")
except ironcode.IronCodeError as e:
    report(e.kind, e.message)
"""


def run_child(mode: str, backend: str, folder: Path, limits: dict[str, int] | None = None) -> tuple[str, str]:
    args = [sys.executable, "-c", CHILD, mode, backend, str(folder)]
    if limits:
        setup = " && ".join(f"echo {value} > /proc/sys/user/{name}" for name, value in limits.items())
        args = ["unshare", "--user", "--map-root-user", "sh", "-c", f'{setup} && exec "$0" "$@"', *args]
    result = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    kind, message = json.loads(result.stdout.strip().splitlines()[-1])
    return kind, message


def require_user_namespaces() -> None:
    """Lowering inotify limits needs a user namespace; missing: a failure in CI, a skip elsewhere."""
    ok = shutil.which("unshare") is not None
    if ok:
        probe = subprocess.run(
            [
                "unshare",
                "--user",
                "--map-root-user",
                "sh",
                "-c",
                "echo 7 > /proc/sys/user/max_inotify_watches",
            ],
            capture_output=True,
            timeout=30,
        )
        ok = probe.returncode == 0
    if not ok:
        message = "user namespaces with their own inotify limits are unavailable (unshare --user)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def make_tree(root: Path, folders: int) -> None:
    for i in range(folders):
        (root / f"d{i}").mkdir()


@pytest.mark.parametrize("backend", ["native", "python"])
def test_running_out_of_descriptors_for_an_inotify_instance_names_the_sysctl(backend, tmp_path):
    kind, message = run_child("descriptors", backend, tmp_path)
    assert kind == "io", message
    assert "fs.inotify.max_user_instances" in message and "ulimit -n" in message


@pytest.mark.parametrize("backend", ["native", "python"])
def test_running_out_of_inotify_instances_names_the_sysctl(backend, tmp_path):
    require_user_namespaces()
    kind, message = run_child("start", backend, tmp_path, {"max_inotify_instances": 0})
    assert kind == "io", message
    assert "fs.inotify.max_user_instances" in message


@pytest.mark.parametrize("backend", ["native", "python"])
def test_running_out_of_inotify_watches_at_start_names_the_sysctl(backend, tmp_path):
    require_user_namespaces()
    make_tree(tmp_path, 12)
    kind, message = run_child("start", backend, tmp_path, {"max_inotify_watches": 5})
    assert kind == "io", message
    assert "fs.inotify.max_user_watches" in message


@pytest.mark.parametrize("backend", ["native", "python"])
def test_running_out_of_inotify_watches_for_new_folders_is_raised_by_wait(backend, tmp_path):
    require_user_namespaces()
    make_tree(tmp_path, 2)  # the root and two folders: 3 of the 5 watches
    kind, message = run_child("new-folders", backend, tmp_path, {"max_inotify_watches": 5})
    assert kind == "io", message
    assert "fs.inotify.max_user_watches" in message


def test_a_tree_within_the_limit_is_watched_without_error(tmp_path):
    require_user_namespaces()
    make_tree(tmp_path, 3)
    for backend in ("native", "python"):
        assert run_child("start", backend, tmp_path, {"max_inotify_watches": 5}) == ("ok", "")
