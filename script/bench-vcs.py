"""Benchmark vcs_info: libgit2 in-process (native) vs pygit2 (python) vs spawning git.

Peers: ``git-2spawn`` is the migration plan's old pattern (``git rev-parse --abbrev-ref HEAD``
then ``git status --porcelain``); ``git-v2`` is one ``git status --porcelain=v2 --branch`` spawn.
``native`` / ``python`` are the defaults users get (engine "auto": in-process, or one git spawn
from GIT_SPAWN_MIN_INDEX_ENTRIES index entries on); ``native-libgit2`` / ``python-pygit2`` force
the in-process path, to show where git overtakes it.

Cases: ``this repo`` (a clone of this repository with a few changes: edits, a staged edit, a
deletion, a staged rename and untracked files) and ``50K files`` (a generated repository with
the same kinds of changes); the full run adds ``1K`` to ``15K files`` to place the threshold.
``git_diff: this repo`` times the unstaged patch against a ``git diff`` spawn. Every
implementation's answer (branch and counts, or the patch) is checked equal before timing.
Setup commands run without the user's global git config; the timed commands with it, as libgit2.
The implementations are timed in turns, round by round, because the machine is shared: load from
other processes then falls on every implementation alike.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import ROOT, Bench, Row, percentile

from ironcode import ffi
from ironcode.twin import vcs as twin

SETUP_ENV = {
    **os.environ,
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}
#: Files per generated folder.
FILES_PER_DIR = 100
#: The size of the "50K files" case in a --quick run.
QUICK_LARGE_FILES = 2000
#: Interleaved timing per case: time budget and bounds on the number of rounds.
ROUND_BUDGET_S, MIN_ROUNDS, MAX_ROUNDS = 8.0, 10, 400
PLAN_FIGURE = "1.83x vs 2 spawns (9.43 ms vs 17.25 ms)"
CONFLICT_CODES = {"DD", "AU", "UD", "UA", "DU", "AA", "UU"}


def setup_git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=SETUP_ENV, check=True, capture_output=True)


def apply_changes(repo: Path) -> None:
    """The same handful of changes in every case: 2 edits (one staged), a deletion, a staged
    rename, 2 untracked files in tracked folders (so git's default -unormal lists them as -uall)."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=repo, env=SETUP_ENV, check=True, capture_output=True
    ).stdout.split(b"\0")
    files = [
        f.decode()
        for f in tracked
        if f and (repo / f.decode()).is_file() and not (repo / f.decode()).is_symlink()
    ]
    files = [f for f in files if not f.startswith(".")][:5]
    edit, staged_edit, delete, rename = files[0], files[1], files[2], files[3]
    with open(repo / edit, "a") as f:
        f.write("\n# bench edit\n")
    with open(repo / staged_edit, "a") as f:
        f.write("\n# bench staged edit\n")
    setup_git(repo, "add", "--", staged_edit)
    os.remove(repo / delete)
    setup_git(repo, "mv", rename, rename + ".moved")
    folder = (repo / edit).parent
    (folder / "bench-untracked-1.txt").write_text("new\n")
    (folder / "bench-untracked-2.txt").write_text("new\n")


def clone_this_repo(base: Path) -> Path:
    target = base / "this-repo"
    setup_git(base, "clone", "-q", "--no-local", str(ROOT), str(target))
    apply_changes(target)
    return target


def generated_repo(base: Path, n_files: int) -> Path:
    repo = base / f"gen-{n_files}"
    repo.mkdir()
    setup_git(repo, "init", "-q", "-b", "main")
    for i in range(n_files):
        folder = repo / f"pkg{i // FILES_PER_DIR:04d}"
        if i % FILES_PER_DIR == 0:
            folder.mkdir()
        (folder / f"module_{i}.py").write_text(f"# module {i}\nVALUE = {i}\n\ndef f():\n    return VALUE\n")
    setup_git(repo, "add", "-A")
    setup_git(repo, "commit", "-q", "-m", "generated")
    apply_changes(repo)
    return repo


def counts_from_xy(codes: list[str]) -> dict:
    """vcs_info's counting rule applied to porcelain XY codes."""
    counts = {"added": 0, "modified": 0, "deleted": 0}
    for xy in codes:
        if xy == "??":
            counts["added"] += 1
        elif xy in CONFLICT_CODES:
            counts["modified"] += 1
        else:
            letter = xy[0] if xy[0] not in " ." else xy[1]
            key = {"A": "added", "C": "added", "D": "deleted"}.get(letter, "modified")
            counts[key] += 1
    return counts


def git_two_spawns(repo: Path) -> dict:
    """The migration plan's old pattern: branch from rev-parse, changes from porcelain v1."""
    branch = subprocess.run(
        ["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=repo, capture_output=True, check=True, text=True
    ).stdout.strip()
    out = subprocess.run(
        ["git", "status", "--porcelain"], cwd=repo, capture_output=True, check=True, text=True
    ).stdout
    return {"branch": branch, **counts_from_xy([line[:2] for line in out.splitlines() if line])}


def git_porcelain_v2(repo: Path) -> dict:
    """One spawn: branch header and changes from porcelain v2."""
    out = subprocess.run(
        ["git", "status", "--porcelain=v2", "--branch"], cwd=repo, capture_output=True, check=True, text=True
    ).stdout
    branch, codes = "", []
    for line in out.splitlines():
        if line.startswith("# branch.head "):
            branch = line[len("# branch.head ") :]
        elif line[:2] in ("1 ", "2 ", "u "):
            codes.append(line.split(" ", 2)[1])
        elif line.startswith("? "):
            codes.append("??")
    return {"branch": branch, **counts_from_xy(codes)}


def time_interleaved(bench: Bench, case: str, impls: dict) -> None:
    """Times the implementations in turns (one call each per round, the order rotating), so
    that load from other processes on a shared machine falls on all of them alike; records one
    row per implementation, as Bench.time does."""
    budget, min_rounds, max_rounds = (0.2, 3, 20) if bench.quick else (ROUND_BUDGET_S, MIN_ROUNDS, MAX_ROUNDS)
    names = list(impls)
    for fn in impls.values():
        fn()  # warm-up
    samples: dict[str, list[float]] = {name: [] for name in names}
    started = time.perf_counter()
    rounds = 0
    while rounds < max_rounds and (rounds < min_rounds or time.perf_counter() - started < budget):
        order = names[rounds % len(names) :] + names[: rounds % len(names)]
        for name in order:
            t0 = time.perf_counter()
            impls[name]()
            samples[name].append(time.perf_counter() - t0)
        rounds += 1
    for name in names:
        runs = samples[name]
        bench.rows.append(Row(case, name, statistics.median(runs), percentile(runs, 95), len(runs)))


def git_diff_no_renames(repo: Path) -> str:
    return subprocess.run(
        ["git", "diff", "--no-renames"], cwd=repo, capture_output=True, check=True, text=True
    ).stdout


def main() -> None:
    bench = Bench("vcs", "vcs_info: libgit2 in-process vs pygit2 vs spawning git")
    git = shutil.which("git")
    if git is None:
        for case in ("this repo", "50K files"):
            for impl in ("native", "python"):
                bench.absent(case, impl, "git is needed to build the repositories")
            bench.absent(case, "git-2spawn", "git not installed")
            bench.absent(case, "git-v2", "git not installed")
        bench.finish()
        return
    large = QUICK_LARGE_FILES if bench.quick else 50_000
    sizes = [("this repo", None)]
    if not bench.quick:
        sizes += [("1K files", 1_000), ("2K files", 2_000), ("5K files", 5_000), ("15K files", 15_000)]
    sizes.append(("50K files", large))
    bench.plan["this repo"] = PLAN_FIGURE
    with tempfile.TemporaryDirectory(prefix="bench-vcs-") as scratch:
        base = Path(scratch)
        for case, n_files in sizes:
            repo = clone_this_repo(base) if n_files is None else generated_repo(base, n_files)
            root = str(repo)
            git_two_spawns(repo)  # lets git refresh the index once, as any user's git would
            impls = {
                "native": lambda root=root: ffi.vcs_info(root),
                "python": lambda root=root: twin.vcs_info(root),
                "native-libgit2": lambda root=root: ffi.vcs_info(root, "library"),
                "python-pygit2": lambda root=root: twin.vcs_info(root, "library"),
                "git-2spawn": lambda repo=repo: git_two_spawns(repo),
                "git-v2": lambda repo=repo: git_porcelain_v2(repo),
            }
            bench.same(case, impls)
            time_interleaved(bench, case, impls)
            if n_files is None:
                diff_case = "git_diff: this repo"
                diffs = {
                    "native": lambda root=root: ffi.git_diff(root),
                    "python": lambda root=root: twin.git_diff(root),
                    "git": lambda repo=repo: git_diff_no_renames(repo),
                }
                bench.same(diff_case, diffs)
                time_interleaved(bench, diff_case, diffs)
            entries = len(ffi.git_status(root, "library")["files"])
            bench.note(
                f"{case}: {n_files or 'clone'} files, {entries} changed; native (auto) is "
                f"{ratio(bench, case, 'git-2spawn', 'native')} the two-spawn pattern, libgit2 in-process "
                f"{ratio(bench, case, 'git-v2', 'native-libgit2')} one porcelain-v2 spawn"
            )
    if bench.quick:
        bench.note(f"quick run: the '50K files' case has {QUICK_LARGE_FILES} files")
    bench.note(
        f"engine auto spawns git from {twin.GIT_SPAWN_MIN_INDEX_ENTRIES} index entries on "
        "(GIT_SPAWN_MIN_INDEX_ENTRIES); absolute times are noisy, ratios are side by side"
    )
    bench.finish()


def ratio(bench: Bench, case: str, baseline: str, candidate: str) -> str:
    base, cand = bench.median(case, baseline), bench.median(case, candidate)
    if not base or not cand:
        return "n/a"
    r = base / cand
    return f"{r:.2f}x faster than" if r >= 1 else f"{1 / r:.2f}x slower than"


if __name__ == "__main__":
    sys.exit(main())
