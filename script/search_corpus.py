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


def time_interleaved(
    bench: Bench,
    case: str,
    impls: dict[str, Callable[[], Any]],
    min_rounds: int = MIN_ROUNDS,
    max_rounds: int = MAX_ROUNDS,
) -> dict[str, float]:
    """Times every implementation of ``case`` in rounds (native, python, rg, native, ...) instead
    of one block each: the machine is shared, and load that comes and goes then hits every
    implementation alike, so the ratios stay fair. One warm-up call each first; ``min_rounds``
    lowers the floor for a case whose peer takes minutes a call, ``max_rounds`` raises the
    ceiling for one of microseconds.

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
            elif rounds >= max_rounds or (
                rounds >= min_rounds and time.perf_counter() - started > ROUND_BUDGET_S
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


# ---- grep's output modes, as a tool built on rg gets them ----------------------------------------

#: rg 13's `py` type lacks the stubs (`*.pyi`) the linked ignore crate counts as Python: added to the
#: peer so both search the same files.
RG_PY_STUBS = ["--type-add", "py:*.pyi"]


def _newest_first(paths) -> list[str]:
    return sorted(paths, key=lambda p: (-os.stat(p).st_mtime_ns, p))


def rg_files_mode(root: Path, pattern: str, flags: list[str], limit: int | None) -> list[str]:
    """``rg -l``: the paths, newest first, limited."""
    out = _rg(["-l", "--hidden", "-g", "!.git", *flags, "-e", pattern, str(root)], root)
    paths = _newest_first(line.decode("utf-8", "replace") for line in out.split(b"\n") if line)
    return paths if limit is None else paths[:limit]


def rg_count_mode(root: Path, pattern: str, flags: list[str], limit: int | None) -> list[tuple[str, int]]:
    """``rg -c``: (path, count) of the newest files first, limited."""
    out = _rg(
        ["-c", "--with-filename", "--null", "--hidden", "-g", "!.git", *flags, "-e", pattern, str(root)], root
    )
    counts = {}
    for line in out.split(b"\n"):
        if line:
            path, count = line.split(b"\0", 1)
            counts[path.decode("utf-8", "replace")] = int(count)
    found = [(p, counts[p]) for p in _newest_first(counts)]
    return found if limit is None else found[:limit]


def rg_lines_mode(
    root: Path, pattern: str, flags: list[str], limit: int | None
) -> list[tuple[str, int, str]]:
    """``rg -n`` with ``flags`` (context, multi-line, a type): (path, line, "match"|"context") of
    the newest files first, at most ``limit`` match lines (the last one's after-context kept up
    to the next match, as ironcode's grep keeps it)."""
    args = ["-n", "--null", "--no-heading", "--with-filename", "--hidden", "-g", "!.git", *flags]
    out = _rg([*args, "-e", pattern, str(root)], root)
    by_file: dict[str, list[tuple[int, str]]] = {}
    for raw in out.split(b"\n"):
        if not raw or raw == b"--" or b"\0" not in raw:
            continue
        path, rest = raw.split(b"\0", 1)
        digits = 0
        while digits < len(rest) and 48 <= rest[digits] <= 57:
            digits += 1
        kind = "match" if rest[digits : digits + 1] == b":" else "context"
        by_file.setdefault(path.decode("utf-8", "replace"), []).append((int(rest[:digits]), kind))
    found = []
    kept = 0
    for path in _newest_first(by_file):
        for line, kind in by_file[path]:
            if kept == limit and kind == "match":
                return found
            kept += kind == "match"
            found.append((path, line, kind))
    return found


#: The one-big-folder case: this many files of this many bytes in one folder (issue 23).
BIG_FOLDER_FILES, BIG_FOLDER_FILE_BYTES = 3000, 110_000
QUICK_BIG_FOLDER_FILES = 200


def big_folder(quick: bool) -> Path:
    """A folder of BIG_FOLDER_FILES text files of ~110 KB each under the temp folder (made on
    first use); every file holds a few lines with ``needle``."""
    count = QUICK_BIG_FOLDER_FILES if quick else BIG_FOLDER_FILES
    root = Path(tempfile.gettempdir()).resolve() / f"ironcode-bench-bigfolder-{count}"
    marker = root.parent / f"{root.name}{COMPLETE_MARKER}"  # beside it: not a file it holds
    if marker.exists():
        return root
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    line = b"the quick brown fox jumps over the lazy dog while the cat sleeps on a warm mat %05d\n"
    for i in range(count):
        lines = [line % n for n in range(BIG_FOLDER_FILE_BYTES // len(line % 0))]
        for n in range(i % 7, len(lines), 400):
            lines[n] = b"a needle in the hay, line %05d of this file\n" % n
        (root / f"file{i:05}.txt").write_bytes(b"".join(lines))
    marker.write_text("")
    return root


#: How often :func:`thread_cpu_split` looks at the process's threads, in seconds.
THREAD_SAMPLE_S = 0.02


def thread_cpu_split(fn: Callable[[], Any], calls: int) -> tuple[float, float]:
    """Runs ``fn`` ``calls`` times on this thread while a sampler thread reads every thread's
    CPU time (``/proc/self/task/*/stat``, utime + stime, last seen value per thread); returns
    the CPU seconds of the calling thread and of all other threads (the sampler left out).
    Unlike CPU time over wall time, the split does not depend on how much of the machine other
    processes take: it says whether the work was spread over threads at all (a thread's last
    ``THREAD_SAMPLE_S`` before it ends is not seen)."""
    import threading

    tick = os.sysconf("SC_CLK_TCK")
    seen: dict[int, float] = {}

    def sample() -> None:
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # it ended meanwhile
            seen[int(tid)] = (int(fields[11]) + int(fields[12])) / tick

    stop = threading.Event()

    def sampler() -> None:
        while not stop.wait(THREAD_SAMPLE_S):
            sample()

    sample()
    before = dict(seen)
    watcher = threading.Thread(target=sampler, daemon=True)
    watcher.start()
    try:
        for _ in range(calls):
            fn()
    finally:
        stop.set()
        watcher.join()
    sample()
    me = threading.get_native_id()
    spent = {tid: used - before.get(tid, 0.0) for tid, used in seen.items() if tid != watcher.native_id}
    mine = spent.pop(me, 0.0)
    return mine, sum(spent.values())
