"""Helpers for the toolbox tests: a toolbox on one backend, and calls whose answers are checked
against the contract every tool shares (AGENT.md): data matches output_schema on success and is
``{"kind", "message"}`` on error, the kind is a known one, the text is bounded and never empty.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema

from ironcode import agent, backend
from ironcode.agent import Toolbox, ToolResult

#: Bounds the waits for an outside condition (a process gone, output arrived); never a speed test.
PATIENCE_S = 15.0


@contextlib.contextmanager
def toolbox_on(backend_name: str, roots: list, **options) -> Iterator[Toolbox]:
    """A toolbox over ``roots`` whose operations all run on ``backend_name``."""
    with backend.use(backend_name), Toolbox(roots=[str(r) for r in roots], **options) as box:
        yield box


def call(box: Toolbox, name: str, args: dict | None = None) -> ToolResult:
    """``box.call``, with the shared contract checked on the answer."""
    result = box.call(name, args)
    assert isinstance(result, ToolResult)
    assert result.text, f"{name} answered with an empty text"
    assert len(result.text.encode()) <= agent.MAX_TEXT_BYTES + agent.MAX_FRAME_BYTES
    assert result.text.count("\n") < agent.MAX_TEXT_LINES + agent.MAX_FRAME_LINES
    if result.is_error:
        assert result.kind in agent.KINDS, result.kind
        assert result.data == {"kind": result.kind, "message": result.text}
    else:
        assert result.kind is None
        tool = next(t for t in box.tools if t.name == name)
        jsonschema.validate(result.data, tool.output_schema)
    return result


def ok(box: Toolbox, name: str, args: dict | None = None) -> ToolResult:
    result = call(box, name, args)
    assert not result.is_error, f"{name} failed: {result.kind}: {result.text}"
    return result


def fails(box: Toolbox, name: str, args: dict | None, kind: str) -> ToolResult:
    result = call(box, name, args)
    assert result.is_error, f"{name} succeeded, expected {kind}: {result.text}"
    assert result.kind == kind, f"expected {kind}, got {result.kind}: {result.text}"
    return result


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env=env, check=True)
    return done.stdout


def git_repo(root: Path, files: dict[str, str]) -> Path:
    """A repository at ``root`` with ``files`` committed."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "t")
    git(root, "config", "user.email", "t@example.com")
    for name, content in files.items():
        write(root / name, content)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "initial")
    return root


def process_running(pid: int) -> bool:
    """True while ``pid`` is a live process (not a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] not in (b"Z", b"X")


def wait_until(condition, what: str) -> None:
    end = time.monotonic() + PATIENCE_S
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def read_pid(path: Path) -> int:
    wait_until(lambda: path.exists() and path.read_text().strip(), f"a pid in {path}")
    return int(path.read_text().split()[0])


def kill_quietly(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
