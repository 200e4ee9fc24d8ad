"""The bash sandbox: every command of a ``sandbox=True`` toolbox runs under bubblewrap (``bwrap``).

What the command sees (AGENT.md "Roots"):

- the whole file system read-only (``--ro-bind / /``), a fresh ``/dev`` and ``/proc``, a private
  ``/tmp`` that disappears with the command;
- the roots read-write, and the git folder of the repository each root is in (a worktree's or a
  submodule's ``.git`` file points outside the working tree, and a root may be a subfolder of its
  repository): without it ``git commit`` fails, the sandbox complaint Codex users raise most;
- no network (``--unshare-net``: only a loopback of its own) unless ``network=True``;
- its own pid and IPC namespaces, and no capabilities (``--cap-drop ALL``): run as root, bwrap
  keeps every capability otherwise, and ``mount -o remount,rw /`` undoes the read-only view.

A write outside the roots fails inside the command with the kernel's "Read-only file system", which
the command's own output shows. bwrap is looked up on PATH; a toolbox that cannot start it raises
``sandbox_unavailable`` from its constructor (the Debian package is ``bubblewrap``; ``make install``
installs it).
"""

from __future__ import annotations

import os
import shutil
import subprocess

from .errors import IronCodeError

BWRAP = "bwrap"
#: How long the constructor's trial run of bwrap may take.
PROBE_TIMEOUT_S = 20.0
#: What the kernel says to a write on a read-only mount; the bash text explains it when it shows up.
READ_ONLY_MESSAGE = "Read-only file system"
#: The folder each command gets a private, empty copy of.
TMP = "/tmp"


class Sandbox:
    """bwrap's command line for the folders of ``writable`` (resolved, existing folders)."""

    def __init__(self, writable: tuple[str, ...] | list[str], network: bool = False) -> None:
        self.bwrap = shutil.which(BWRAP)
        if self.bwrap is None:
            raise IronCodeError(
                "sandbox_unavailable",
                f"sandbox=True needs {BWRAP} (bubblewrap) on PATH, and there is none: install the "
                "Debian package bubblewrap (make install does), or use sandbox=False.",
            )
        self.network = network
        self.roots = tuple(writable)
        self.writable = _with_git_folders(self.roots)
        self._probe()

    def wrap(self, argv: list[str], cwd: str) -> list[str]:
        """``argv`` run inside the sandbox, starting in ``cwd``."""
        return [*self.arguments(cwd), "--", *argv]

    def arguments(self, cwd: str) -> list[str]:
        args = [
            self.bwrap,
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--tmpfs",
            TMP,
        ]
        # A root under /tmp: the host's folder holding it comes back read-only over the private
        # /tmp, so a write beside the root fails as everywhere else instead of landing unseen in
        # the tmpfs (and the root's neighbours stay visible, as outside /tmp).
        for top in _tmp_tops(self.writable):
            args += ["--ro-bind", top, top]
        for folder in self.writable:
            args += ["--bind", folder, folder]
        args += ["--unshare-pid", "--unshare-ipc", "--cap-drop", "ALL"]
        if not self.network:
            args.append("--unshare-net")
        args += ["--chdir", cwd]
        return args

    def _probe(self) -> None:
        """Runs ``true`` in the sandbox once: user namespaces refused, a seccomp profile, a broken
        install all show up here rather than in the first command."""
        argv = self.wrap(["/bin/true"], self.roots[0] if self.roots else "/")
        try:
            done = subprocess.run(
                argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=PROBE_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise IronCodeError("sandbox_unavailable", f"{BWRAP} could not be started: {e}") from None
        if done.returncode != 0:
            why = done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"
            raise IronCodeError(
                "sandbox_unavailable",
                f"{BWRAP} cannot run a sandbox here ({why}). Allow unprivileged user namespaces, or "
                "use sandbox=False.",
            )


def _tmp_tops(folders: list[str]) -> list[str]:
    """The entries of /tmp that hold one of ``folders`` (``/tmp/a`` for ``/tmp/a/b/root``), once each."""
    tops: list[str] = []
    for folder in folders:
        parts = folder.split(os.sep)
        if len(parts) > 3 and parts[1] == TMP.strip(os.sep):
            top = os.sep.join(parts[:3])
            if top not in tops:
                tops.append(top)
    return tops


def _with_git_folders(roots: tuple[str, ...]) -> list[str]:
    """The roots, plus the git folders (and a worktree's common folder) of the repositories they
    are in, when those lie outside every root."""
    folders = list(roots)
    for root in roots:
        for git_folder in git_folders(root):
            if not any(_within(git_folder, f) for f in folders):
                folders.append(git_folder)
    return folders


def git_folders(start: str) -> list[str]:
    """The git folder of the repository containing ``start`` (``.git`` found upwards, a
    ``gitdir:`` file followed), and its ``commondir`` for a linked worktree."""
    folder = start
    while True:
        dot_git = os.path.join(folder, ".git")
        if os.path.isdir(dot_git):
            return [os.path.realpath(dot_git)]
        if os.path.isfile(dot_git):
            return _linked_git_folders(dot_git, folder)
        parent = os.path.dirname(folder)
        if parent == folder:
            return []
        folder = parent


def _linked_git_folders(dot_git: str, top: str) -> list[str]:
    try:
        with open(dot_git, encoding="utf-8") as f:
            line = f.readline().strip()
    except (OSError, UnicodeDecodeError):
        return []
    if not line.startswith("gitdir:"):
        return []
    git_dir = os.path.realpath(os.path.join(top, line[len("gitdir:") :].strip()))
    found = [git_dir] if os.path.isdir(git_dir) else []
    try:
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as f:
            common = os.path.realpath(os.path.join(git_dir, f.readline().strip()))
        if os.path.isdir(common):
            found.append(common)
    except (OSError, UnicodeDecodeError):
        pass
    return found


def _within(path: str, folder: str) -> bool:
    from .agent_roots import is_within

    return is_within(path, folder)


#: What a command's output says when the sandbox stopped it, and what the model is told then.
NETWORK_FAILURES = (
    "Network is unreachable",
    "Could not resolve host",
    "Temporary failure in name resolution",
)


def sandbox_notes(output: str, sandbox: Sandbox) -> list[str]:
    notes = []
    if READ_ONLY_MESSAGE in output:
        notes.append(
            "(Sandbox: everything outside the project is read-only; only "
            f"{', '.join(sandbox.roots)} and a private /tmp are writable.)"
        )
    if not sandbox.network and any(failure in output for failure in NETWORK_FAILURES):
        notes.append("(Sandbox: this session has no network access.)")
    return notes
