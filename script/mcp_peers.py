"""The peers of bench-mcp.py: a venv each under bench-out/peers/, made from PyPI on first use and
reused after, and the worker that runs OpenHands' editor in its own process.

    python script/mcp_peers.py                      # make (or check) every peer's venv
    PEER_PYTHON script/mcp_peers.py openhands-worker WORKSPACE    # what OpenHandsEditor starts

Each peer has its own venv because they cannot share one: mcp-filesystem-encoding imports
``mcp.server.fastmcp``, which mcp 2.x removed (it needs ``mcp<2``), and openhands-aci needs
Python >= 3.12 while ironcode's venv may be older. A venv is reused while its ``.installed`` stamp
names the same packages and base Python; otherwise it is made again.

This file is run by the peer venvs' own interpreters too, so it imports only the standard library.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS_DIR = ROOT / "bench-out" / "peers"


@dataclass(frozen=True)
class Peer:
    venv: str  #: folder under bench-out/peers/
    impl: str  #: its column in the table
    packages: tuple[str, ...]
    min_python: tuple[int, int] = (3, 10)


PEERS = {
    "git": Peer("git", "mcp-server-git", ("mcp-server-git==2026.10.19", "mcp>=2.3,<3")),
    "fs": Peer("fs", "mcp-filesystem", ("mcp-filesystem-encoding==0.2.4", "mcp<2")),
    "openhands": Peer("openhands", "openhands-aci", ("openhands-aci==0.3.3",), min_python=(3, 12)),
}


class PeerUnavailable(Exception):
    """A peer that cannot be had here; the benchmark says so in its table (``Bench.absent``)."""


def python_version(python: str) -> tuple[int, int] | None:
    """(major, minor) of the interpreter at ``python``, or None where it does not run (a pyenv
    shim for a version that is installed but not selected exits 127)."""
    try:
        proc = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    major, minor = proc.stdout.split()
    return int(major), int(minor)


def base_python(minimum: tuple[int, int]) -> str | None:
    """The oldest interpreter here that is at least ``minimum``: this one, ``python3.N`` on PATH,
    or a pyenv version (pyenv's shims refuse a version that is not selected, so its folders are
    looked at directly)."""
    if sys.version_info[:2] >= minimum:
        return sys.executable
    candidates = [shutil.which(f"python3.{minor}") for minor in range(minimum[1], 20)]
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(os.path.join(pyenv, "versions", "3.*", "bin", "python3")))
    found = []
    for python in dict.fromkeys(c for c in candidates if c):
        version = python_version(python)
        if version and version >= minimum:
            found.append((version, python))
    return min(found)[1] if found else None


def ensure(key: str, *, quick: bool = False) -> Path:
    """The peer's venv Python, the venv made and filled from PyPI first if need be.

    Raises PeerUnavailable where no Python is new enough, or where the install failed in a
    ``--quick`` run outside CI (a smoke run on a machine without the network); a failed install in
    a full run or in CI (``CI`` set) raises RuntimeError: the numbers would lack a peer silently.
    """
    peer = PEERS[key]
    venv = PEERS_DIR / peer.venv
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    base = base_python(peer.min_python)
    if base is None:
        raise PeerUnavailable(f"no Python >= {'.'.join(map(str, peer.min_python))} on this machine")
    want = {"packages": list(peer.packages), "base": list(python_version(base) or ())}
    if python.exists() and stamp.exists():
        try:
            if json.loads(stamp.read_text()) == want:
                return python
        except ValueError:
            pass
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    steps = {
        f"{base} -m venv": [base, "-m", "venv", str(venv)],
        f"pip install {' '.join(peer.packages)}": [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *peer.packages,
        ],
    }
    for what, cmd in steps.items():
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
            why = f"{what} failed: {last[0][:160]}"
            if quick and not os.environ.get("CI"):
                raise PeerUnavailable(f"install failed ({why})")
            raise RuntimeError(f"installing the peer {peer.impl} into {venv}: {why}")
    stamp.write_text(json.dumps(want) + "\n")
    return python


class OpenHandsEditor:
    """OpenHands' editor (``OHEditor``, a library, no MCP server) run in a worker on the peer
    venv's Python. Every call runs there in-process and is timed there, so the time returned is
    the editor's own, without the pipe to the worker."""

    def __init__(self, python: Path, workspace: Path) -> None:
        self.proc = subprocess.Popen(
            [str(python), __file__, "openhands-worker", str(workspace)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        hello = self._receive()
        self.version = hello["version"]

    def call(self, **args) -> dict:
        """``{"seconds", "output", "error"}`` of ``OHEditor()(**args)`` (error: the exception's
        type and text, output None)."""
        self.proc.stdin.write(json.dumps(args) + "\n")
        return self._receive()

    def _receive(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the openhands-aci worker exited ({self.proc.wait()})")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> OpenHandsEditor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def openhands_worker(workspace: str) -> int:
    """One JSON line in (OHEditor's keyword arguments), one out, until stdin closes."""
    import importlib.metadata
    import logging

    protocol, sys.stdout = sys.stdout, sys.stderr  # nothing the editor prints can break a reply
    from openhands_aci.editor.editor import OHEditor

    # openhands_aci/editor/file_cache.py runs logging.basicConfig(level=DEBUG) on import, so each
    # str_replace logged about twenty DEBUG lines (binaryornot, charset_normalizer) to stderr: 0.6 of
    # its 2.5 ms. An agent that embeds it configures logging itself; the baseline does not pay that.
    logging.disable(logging.INFO)
    editor = OHEditor(workspace_root=workspace)
    hello = {"version": importlib.metadata.version("openhands-aci")}
    protocol.write(json.dumps(hello) + "\n")
    protocol.flush()
    for line in sys.stdin:
        args = json.loads(line)
        t0 = time.perf_counter()
        try:
            output, error = editor(**args).output, None
        except Exception as e:  # noqa: BLE001 - the editor's refusals are ToolError subclasses
            output, error = None, f"{type(e).__name__}: {e}"
        seconds = time.perf_counter() - t0
        protocol.write(json.dumps({"seconds": seconds, "output": output, "error": error}) + "\n")
        protocol.flush()
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["openhands-worker"] and len(argv) == 2:
        return openhands_worker(argv[1])
    if argv:
        sys.exit(__doc__)
    for key, peer in PEERS.items():
        try:
            print(f"{peer.impl}: {ensure(key)}")
        except PeerUnavailable as e:
            print(f"{peer.impl}: absent: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
