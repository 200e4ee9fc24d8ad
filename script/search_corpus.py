"""Trees and ripgrep peers shared by bench-file-list, bench-glob and bench-grep.

``stdlib_repo()`` mirrors the interpreter's standard library folder (~46K files with its
site-packages) into a temporary git repository with hard links, once: later runs reuse it. The
``rg_*`` functions are the fair peers: they spawn ``rg`` and do what a caller must do with its
output to get the same answer as the ironcode operation (parse, stat for newest-first, limit).
"""

from __future__ import annotations

import gc
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib import Bench, Row, percentile

ROOT = Path(__file__).resolve().parent.parent
#: The .gitignore of the benchmark repository: rules to evaluate, few files dropped.
STDLIB_GITIGNORE = "*.exe\n*.whl\n!pip-*.whl\nidlelib/Icons/\n"
#: In --quick mode only these top-level folders of the standard library are mirrored.
QUICK_SUBSET = ("json", "email", "html", "http")
COMPLETE_MARKER = ".ironcode-bench-complete"


#: Interleaved timing: at least this many rounds, more while a case has used less than its budget.
MIN_ROUNDS, MAX_ROUNDS, ROUND_BUDGET_S = 5, 200, 3.0
QUICK_ROUNDS = 2


def time_interleaved(bench: Bench, case: str, impls: dict[str, Callable[[], Any]]) -> dict[str, float]:
    """Times every implementation of ``case`` in rounds (native, python, rg, native, ...) instead
    of one block each: the machine is shared, and load that comes and goes then hits every
    implementation alike, so the ratios stay fair. One warm-up call each first.

    Returns each implementation's median CPU time per call (this process's threads and the
    child processes it waited for): on a loaded machine wall times say how much CPU share a
    call happened to get, CPU times what it cost."""
    for fn in impls.values():
        fn()
    samples: dict[str, list[float]] = {name: [] for name in impls}
    cpu: dict[str, list[float]] = {name: [] for name in impls}
    started = time.perf_counter()
    rounds = 0
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        while True:
            for name, fn in impls.items():
                c0 = cpu_seconds()
                t0 = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - t0)
                cpu[name].append(cpu_seconds() - c0)
            rounds += 1
            if bench.quick:
                if rounds >= QUICK_ROUNDS:
                    break
            elif rounds >= MAX_ROUNDS or (
                rounds >= MIN_ROUNDS and time.perf_counter() - started > ROUND_BUDGET_S
            ):
                break
    finally:
        if gc_was_enabled:
            gc.enable()
    for name, values in samples.items():
        bench.rows.append(Row(case, name, statistics.median(values), percentile(values, 95), len(values)))
    return {name: statistics.median(values) for name, values in cpu.items()}


def cpu_seconds() -> float:
    """CPU time used so far by this process (all threads) and the children it waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def cpu_note(case: str, cpu: dict[str, float]) -> str:
    """One line with the CPU time per call of each implementation of ``case``, and native's
    ratios by that measure."""
    parts = [f"{name} {cpu[name] * 1e3:.1f} ms" for name in cpu]
    ratios = [
        f"{cpu[peer] / cpu['native']:.2f}x vs {peer}"
        for peer in cpu
        if peer != "native" and cpu.get("native")
    ]
    return f"{case}: CPU time per call: {', '.join(parts)} (native {', '.join(ratios)})"


def rg_path() -> str | None:
    return shutil.which("rg")


def stdlib_repo(quick: bool) -> Path:
    """The standard library in a git repository under the temp folder (made on first use)."""
    source = Path(sysconfig.get_paths()["stdlib"])
    name = f"ironcode-bench-stdlib-{platform.python_version()}{'-quick' if quick else ''}"
    root = Path(tempfile.gettempdir()).resolve() / name
    if (root / ".git" / COMPLETE_MARKER).exists():
        return root
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True, capture_output=True)
    only = set(QUICK_SUBSET) if quick else None
    for folder, dirs, files in os.walk(source):
        rel = os.path.relpath(folder, source)
        if rel == "." and only is not None:
            dirs[:] = [d for d in dirs if d in only]
            files = []
        (root / rel).mkdir(parents=True, exist_ok=True)
        for file in files:
            src = os.path.join(folder, file)
            if os.path.islink(src) or not os.path.isfile(src):
                continue
            try:
                os.link(src, root / rel / file)
            except OSError:
                shutil.copy2(src, root / rel / file)
    (root / ".gitignore").write_text(STDLIB_GITIGNORE)
    (root / ".git" / COMPLETE_MARKER).write_text("")
    return root


def _rg(args: list[str], cwd: Path) -> bytes:
    return subprocess.run([rg_path(), *args], cwd=cwd, capture_output=True, check=False).stdout


def rg_files(root: Path, globs: list[str] = ()) -> list[str]:
    """``rg --files --hidden -g GLOB... -g '!.git'`` from ``root``: its relative paths, unsorted
    (sorting is left to the comparison, not charged to rg)."""
    args = ["--files", "--hidden"]
    for glob in [*globs, "!.git"]:
        args += ["-g", glob]
    return _rg(args, root).decode("utf-8", "replace").splitlines()


def rg_glob(root: Path, pattern: str, limit: int | None) -> list[str]:
    """What a glob tool built on rg does: list with the glob, stat each file, newest first, limit."""
    found = []
    for rel in rg_files(root, [pattern]):
        path = os.path.join(root, rel)
        try:
            found.append((-os.stat(path).st_mtime_ns, path))
        except OSError:
            continue
    found.sort()
    return [p for _, p in (found if limit is None else found[:limit])]


def rg_grep(root: Path, pattern: str, limit: int | None) -> list[tuple[str, int]]:
    """What a grep tool built on rg does: parse ``rg -n`` output, newest files first, limit;
    returns (path, line) pairs."""
    out = _rg(
        ["-n", "--hidden", "--no-heading", "--with-filename", "-g", "!.git", "-e", pattern, str(root)], root
    )
    by_file: dict[str, list[int]] = {}
    for raw in out.split(b"\n"):
        if not raw or b": WARNING: " in raw:
            continue
        path, line, _ = raw.split(b":", 2)
        by_file.setdefault(path.decode("utf-8", "replace"), []).append(int(line))
    ordered = sorted(by_file, key=lambda p: (-os.stat(p).st_mtime_ns, p))
    pairs = [(p, n) for p in ordered for n in by_file[p]]
    return pairs if limit is None else pairs[:limit]
