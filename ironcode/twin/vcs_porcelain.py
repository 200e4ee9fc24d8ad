"""Twin of native/tool/src/vcs/porcelain.rs: status from one spawn of the git binary.

Used for large repositories, where git (which checks the working tree on several threads) beats
libgit2. Runs ``git --no-optional-locks status --porcelain=v2 -z --untracked-files=all`` on the
repository libgit2 opened (explicit ``--git-dir`` / ``--work-tree``), with a timeout, and parses
its NUL-separated records into the same entries the in-process path builds.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from ..errors import IronCodeError

#: How long one git status may take before it is killed.
GIT_TIMEOUT_S = 120.0
#: Variables that would point git at another repository or index than the one libgit2 opened.
SCRUBBED_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_NAMESPACE")


def status_files(git_dir: str, work_tree: str) -> list[dict]:
    """The status entries as git prints them for the repository at ``git_dir``."""
    git = shutil.which("git")
    if git is None:
        raise IronCodeError("not_found", "the git executable is not on PATH; use engine='library'")
    command = [
        git,
        f"--git-dir={git_dir}",
        f"--work-tree={work_tree}",
        "--no-optional-locks",
        "status",
        "--porcelain=v2",
        "-z",
        "--untracked-files=all",
        "--ignored=no",
    ]
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    try:
        done = subprocess.run(
            command, cwd=work_tree, env=env, capture_output=True, timeout=GIT_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise IronCodeError("timeout", f"git status did not finish within {GIT_TIMEOUT_S:.0f} s") from None
    except OSError as e:
        raise IronCodeError("git", f"could not run git: {e}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise IronCodeError("git", message[0] if message else f"git status exited with {done.returncode}")
    return parse_porcelain_v2(done.stdout)


def parse_porcelain_v2(output: bytes) -> list[dict]:
    """Entries of ``git status --porcelain=v2 -z`` output (headers and ignored files skipped)."""
    from .vcs import make_entry

    records = output.split(b"\0")
    out = []
    i = 0
    while i < len(records):
        record = records[i]
        i += 1
        kind = record[:2]
        if kind == b"1 ":
            fields = record.split(b" ", 8)
            out.append(make_entry(_path(fields[8]), _xy(fields[1])))
        elif kind == b"2 ":
            fields = record.split(b" ", 9)
            orig = records[i] if i < len(records) else b""
            i += 1
            similarity = int(fields[8][1:])
            out.append(make_entry(_path(fields[9]), _xy(fields[1]), _path(orig), similarity))
        elif kind == b"u ":
            fields = record.split(b" ", 10)
            out.append(make_entry(_path(fields[10]), _xy(fields[1])))
        elif kind == b"? ":
            out.append(make_entry(_path(record[2:]), "??"))
    return out


def _xy(field: bytes) -> str:
    """Porcelain v2 writes an unchanged side as '.', v1 as ' '."""
    return field.decode("ascii").replace(".", " ")


def _path(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")
