"""Helpers for the search tests (file_list, glob, grep): trees on disk and ripgrep as the oracle.

ripgrep is the reference: ``rg_files`` and ``rg_grep`` run the real binary the way OPERATIONS.md
defines each operation (``rg --files --hidden -g '!.git' PATH`` from ``PATH``, and
``rg -n --hidden -g '!.git' PATTERN PATH``).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

from .conftest import require_tool


def make_tree(root: Path, files: dict[str, str | bytes | None]) -> Path:
    """Writes ``files`` (relative path -> content; None makes a folder) below ``root``."""
    for name, content in files.items():
        path = root / name
        if content is None:
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return root


def git_init(root: Path) -> Path:
    git = require_tool("git")
    subprocess.run([git, "init", "-q", str(root)], check=True, capture_output=True)
    return root


def rg_files(
    root: Path, globs: list[str] = (), hidden: bool = True, follow: bool = False, max_depth: int | None = None
) -> list[str]:
    """``rg --files`` run from ``root``, as sorted paths relative to it."""
    rg = require_tool("rg")
    cmd = [rg, "--files"]
    if hidden:
        cmd.append("--hidden")
    if follow:
        cmd.append("--follow")
    if max_depth is not None:
        cmd += ["--max-depth", str(max_depth)]
    for glob in [*globs, "!.git"]:
        cmd += ["-g", glob]
    out = subprocess.run([*cmd, str(root)], cwd=root, capture_output=True, timeout=120).stdout
    prefix = str(root).rstrip("/") + "/"
    names = out.decode("utf-8", "replace").splitlines()
    return sorted(n[len(prefix) :] if n.startswith(prefix) else n for n in names)


def rg_grep(
    root: Path, pattern: str, include: str | None = None, ignore_case: bool = False
) -> set[tuple[str, int]]:
    """``rg -n --hidden -g '!.git' PATTERN ROOT`` run from ``root``, as (path, line) pairs."""
    rg = require_tool("rg")
    cmd = [rg, "-n", "--hidden", "--no-heading", "--with-filename", "-g", "!.git"]
    if include is not None:
        cmd += ["-g", include]
    if ignore_case:
        cmd.append("-i")
    # Not --no-messages: rg 13 then also drops the lines it found before a NUL byte.
    out = subprocess.run([*cmd, "-e", pattern, str(root)], cwd=root, capture_output=True, timeout=120).stdout
    found = set()
    for raw in out.split(b"\n"):
        if not raw or b": WARNING: " in raw or raw.endswith(b"binary file matches"):
            continue
        path, line, _ = raw.split(b":", 2)
        found.add((path.decode("utf-8", "replace"), int(line)))
    return found


def pairs(result: dict) -> set[tuple[str, int]]:
    return {(m["path"], m["line"]) for m in result["matches"]}


def isolate_git_env(tmp_path_factory, monkeypatch) -> Path:
    """A private HOME, so no one's global git excludes or config leak into the answers (each
    search test module wraps this in its ``git_env`` fixture)."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    empty = home / "empty-system-gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_SYSTEM", str(empty))
    return home


def stdlib_dir() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def link_or_copy_tree(src: Path, dst: Path, skip: set[str] = frozenset()) -> int:
    """Mirrors ``src`` into ``dst`` with hard links (copies across file systems), skipping
    top-level names in ``skip``; symlinks are not followed. Returns the number of files."""
    count = 0
    for folder, dirs, files in os.walk(src):
        rel = os.path.relpath(folder, src)
        if rel == ".":
            dirs[:] = [d for d in dirs if d not in skip]
            files = [f for f in files if f not in skip]
        target = dst / rel
        target.mkdir(parents=True, exist_ok=True)
        for name in files:
            source = os.path.join(folder, name)
            if os.path.islink(source) or not os.path.isfile(source):
                continue
            try:
                os.link(source, target / name)
            except OSError:
                shutil.copy2(source, target / name)
            count += 1
    return count


_stdlib_repo: Path | None = None


def stdlib_repo(tmp_path_factory) -> Path:
    """The interpreter's standard library (without site-packages) hard-linked into a temporary
    git repository with a .gitignore a project might have; made once per test session."""
    global _stdlib_repo
    if _stdlib_repo is None:
        root = tmp_path_factory.mktemp("stdlib").resolve()
        link_or_copy_tree(stdlib_dir(), root, skip={"site-packages"})
        git_init(root)
        (root / ".gitignore").write_text("__pycache__/\n*.exe\nidlelib/Icons/\n!idlelib/Icons/idle.ico\n")
        _stdlib_repo = root
    return _stdlib_repo


# ---- grep's keyword extensions (output modes, context, multiline, types) ------------------------


def _rg_run(root: Path, pattern: str, flags: list[str]) -> bytes:
    rg = require_tool("rg")
    cmd = [rg, "--hidden", "-g", "!.git", *flags, "-e", pattern, str(root)]
    return subprocess.run(cmd, cwd=root, capture_output=True, timeout=300).stdout


def rg_files_with_matches(root: Path, pattern: str, flags: list[str] = ()) -> set[str]:
    """``rg -l`` (plus ``flags``) as a set of paths."""
    out = _rg_run(root, pattern, ["-l", *flags])
    return {line.decode("utf-8", "replace") for line in out.split(b"\n") if line}


def rg_counts(root: Path, pattern: str, flags: list[str] = ()) -> dict[str, int]:
    """``rg -c --with-filename`` (plus ``flags``) as path -> count."""
    out = _rg_run(root, pattern, ["-c", "--with-filename", *flags])
    counts = {}
    for line in out.split(b"\n"):
        if line:
            path, count = line.rsplit(b":", 1)
            counts[path.decode("utf-8", "replace")] = int(count)
    return counts


def _json_text(value: dict) -> str:
    if "text" in value:
        return value["text"]
    return base64.b64decode(value["bytes"]).decode("utf-8", "replace")


def rg_json_lines(root: Path, pattern: str, flags: list[str] = ()) -> dict[tuple[str, int, str], str]:
    """``rg --json`` (plus ``flags``): every line of its match and context events as
    (path, line, "match"|"context") -> the line's text (lossy, without its line end); a match
    spanning lines gives one entry per line."""
    out = _rg_run(root, pattern, ["--json", *flags])
    found = {}
    for raw in out.split(b"\n"):
        if not raw:
            continue
        event = json.loads(raw)
        if event["type"] not in ("match", "context"):
            continue
        data = event["data"]
        path = _json_text(data["path"])
        text = _json_text(data["lines"])
        lines = text.split("\n")
        if text.endswith("\n"):
            lines.pop()
        for i, line in enumerate(lines or [""]):
            found[(path, data["line_number"] + i, event["type"])] = line.removesuffix("\r")
    return found


def entries(result: dict) -> dict[tuple[str, int, str], str]:
    """A content answer as :func:`rg_json_lines` gives rg's."""
    return {(m["path"], m["line"], m.get("kind", "match")): m["text"] for m in result["matches"]}


def rg_type_list() -> dict[str, set[str]]:
    """``rg --type-list``: type -> globs."""
    rg = require_tool("rg")
    out = subprocess.run([rg, "--type-list"], capture_output=True, text=True, check=True).stdout
    table = {}
    for line in out.splitlines():
        name, globs = line.split(": ", 1)
        table[name] = set(globs.split(", "))
    return table
