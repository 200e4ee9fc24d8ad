"""Building repository states for the vcs tests, and reading real git's answer about them.

Setup commands run with the user's global and system git config switched off (no hooks, signing
or templates sneak in) and a fixed identity. The oracle (`git status`) runs with the ordinary
environment, so it reads the same config files libgit2 reads.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SETUP_ENV = {
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
    "LC_ALL": "C",
}


class Repo:
    """A scratch repository: ``git(...)`` for setup, ``porcelain()`` for git's status."""

    def __init__(self, root: Path, init: bool = True) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        if init:
            self.git("init", "-q", "-b", "main")
            self.git("config", "user.name", "Test Author")
            self.git("config", "user.email", "author@example.com")

    def git(self, *args: str, check: bool = True, env: dict | None = None) -> str:
        done = subprocess.run(
            ["git", *args],
            cwd=self.root,
            env={**os.environ, **SETUP_ENV, **(env or {})},
            capture_output=True,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {done.stderr.decode(errors='replace')}")
        return done.stdout.decode("utf-8", "replace")

    def write(self, path: str, content: str | bytes = "x\n") -> Path:
        full = self.root / path
        full.parent.mkdir(parents=True, exist_ok=True)
        if full.is_symlink():
            full.unlink()
        data = content.encode() if isinstance(content, str) else content
        full.write_bytes(data)
        return full

    def commit(self, message: str = "commit") -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)

    def porcelain(self) -> list[tuple[str, str, str | None]]:
        """``git status --porcelain=v1 -z --untracked-files=all`` as (xy, path, orig_path)."""
        out = subprocess.run(
            ["git", "status", "--porcelain=v1", "-z", "--untracked-files=all"],
            cwd=self.root,
            capture_output=True,
            check=True,
        ).stdout
        records = out.split(b"\0")
        result = []
        i = 0
        while i < len(records):
            record = records[i]
            i += 1
            if not record:
                continue
            xy = record[:2].decode()
            path = record[3:].decode("utf-8", "replace")
            orig = None
            if "R" in xy or "C" in xy:
                orig = records[i].decode("utf-8", "replace")
                i += 1
            result.append((xy, path, orig))
        return result

    def rename_scores(self) -> dict[str, int]:
        """path -> similarity percent of every rename or copy, from porcelain v2."""
        out = subprocess.run(
            ["git", "status", "--porcelain=v2", "-z", "--untracked-files=all"],
            cwd=self.root,
            capture_output=True,
            check=True,
        ).stdout
        scores = {}
        for record in out.split(b"\0"):
            if record.startswith(b"2 "):
                fields = record.split(b" ", 9)
                scores[fields[9].decode()] = int(fields[8][1:])
        return scores


def lines_of(status: dict) -> list[tuple[str, str, str | None]]:
    """Our status entries in the oracle's shape."""
    return [(f["xy"], f["path"], f["orig_path"]) for f in status["files"]]
