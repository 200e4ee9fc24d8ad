#!/usr/bin/env python3
"""Benchmark apply_patch: Rust FFI vs the Python twin on patches built from real diffs.

Cases (each as a dry run — parsing, matching, diffs, no disk — and applied, with atomic writes):

- ``50 files``: a patch touching 50 source files of this repository (copied to a temporary
  folder), three edits each, built with difflib as a model writes hunks (three context lines);
- ``10K lines × 100 chunks``: one 10,000-line generated module with 100 edits;
- ``10K lines × 100 chunks, re-spaced``: the same patch with every context and removed line
  re-indented and given trailing spaces, so the exact pass fails and later passes find each chunk.

Every impl's answer (the result, and the files it leaves) is checked equal before timing; applied
runs restore the files before each run (untimed).

    python script/bench-patch.py [--quick] [--json out.json]
"""

from __future__ import annotations

import difflib
import random
import shutil
import tempfile
from pathlib import Path

from benchlib import ROOT, Bench

from ironcode import ffi
from ironcode.twin import patch as twin

IMPLS = {"native": ffi.apply_patch, "python": twin.apply_patch}
CONTEXT = 3


def hunks(path: str, a: list[str], b: list[str], respace: bool = False) -> list[str]:
    """The Update section turning ``a`` into ``b`` (lines without endings)."""

    def old(line: str) -> str:
        return ("  " + line.strip() + "   ") if respace and line.strip() else line

    out = [f"*** Update File: {path}"]
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(CONTEXT):
        out.append("@@")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [" " + old(line) for line in a[i1:i2]]
                continue
            out += ["-" + old(line) for line in a[i1:i2]]
            out += ["+" + line for line in b[j1:j2]]
    return out


def edited(lines: list[str], edits: int, rng: random.Random) -> list[str]:
    """``lines`` with ``edits`` lines changed, spread over the file."""
    out = list(lines)
    # Never the empty string after a final newline: that is no line of the file.
    usable = len(out) - 1 if out and out[-1] == "" else len(out)
    step = max(1, usable // edits)
    for k in range(edits):
        at = min(usable - 1, k * step + rng.randrange(step))
        out[at] = out[at].rstrip() + f"  # edited {k}"
    return out


def unambiguous(a: list[str], b: list[str]) -> bool:
    """True if every hunk's old lines occur once in ``a``: a chunk lands on the first place its
    lines occur, so a file that repeats a hunk's lines would not come out as ``b``."""
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(CONTEXT):
        old = [line for tag, i1, i2, _, _ in group for line in a[i1:i2]]
        places = sum(1 for i in range(len(a) - len(old) + 1) if a[i : i + len(old)] == old)
        if places != 1:
            return False
    return True


def wrap(sections: list[str]) -> str:
    return "*** Begin Patch\n" + "\n".join(sections) + "\n*** End Patch\n"


def tree_files() -> list[Path]:
    """Source files of this repository with at least 60 lines each, in a fixed order."""
    return sorted(
        p
        for pattern in ("ironcode/**/*.py", "native/tool/src/**/*.rs", "test/*.py", "script/*.py")
        for p in ROOT.glob(pattern)
        if p.is_file() and len(p.read_text().split("\n")) >= 60
    )


def module(n_lines: int, rng: random.Random) -> list[str]:
    """About ``n_lines`` lines of Python-like code."""
    words = "user request value index item result config path name data count token entry".split()
    lines: list[str] = []
    number = 0
    while len(lines) < n_lines:
        a, b, c = rng.sample(words, 3)
        lines += [
            f"def {a}_{b}_{number}({c}, limit=None):",
            f'    """Return the {a} of {c}."""',
            f"    {a} = lookup({c}, {number})",
            f"    if {a} is not None and {b}:",
            f"        {a} += len({b})",
            f"    return {a}",
            "",
        ]
        number += 1
    return lines[:n_lines]


class Case:
    """One benchmark input: files under a folder and a patch for them."""

    def __init__(self, name: str, files: dict[str, str], patch: str, expected: dict[str, str]) -> None:
        self.name = name
        self.files = files
        self.patch = patch
        self.expected = expected  #: what the files hold once the patch is applied

    def restore(self, folder: Path) -> None:
        for rel, text in self.files.items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)


def make_cases(quick: bool) -> list[Case]:
    rng = random.Random(17)
    n_files, n_lines, n_chunks = (10, 1_000, 20) if quick else (50, 10_000, 100)
    files: dict[str, str] = {}
    expected: dict[str, str] = {}
    sections: list[str] = []
    for path in tree_files():
        if len(files) == n_files:
            break
        rel = str(path.relative_to(ROOT))
        text = path.read_text()
        a = text.split("\n")
        b = edited(a, 3, rng)
        if not unambiguous(a, b):
            continue
        files[rel], expected[rel] = text, "\n".join(b)
        sections += hunks(rel, a, b)
    cases = [Case(f"{len(files)} files of this repo, 3 edits each", files, wrap(sections), expected)]
    a = module(n_lines, rng)
    b = edited(a, n_chunks, rng)
    text, after = "\n".join(a) + "\n", {"module.py": "\n".join(b) + "\n"}
    label = f"{n_lines // 1000}K lines × {n_chunks} chunks"
    cases.append(Case(label, {"module.py": text}, wrap(hunks("module.py", a, b)), after))
    respaced = wrap(hunks("module.py", a, b, respace=True))
    # Re-spaced context lines are written as the patch spells them: only the count is checked.
    cases.append(Case(f"{label}, re-spaced", {"module.py": text}, respaced, {}))
    return cases


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def main() -> None:
    bench = Bench("patch", "apply_patch on patches from real diffs: Python twin vs Rust FFI")
    work = Path(tempfile.mkdtemp(prefix="ironcode-bench-patch-"))
    try:
        for case in make_cases(bench.quick):
            folders = {impl: work / impl for impl in IMPLS}
            for folder in folders.values():
                shutil.rmtree(folder, ignore_errors=True)
                case.restore(folder)
            # Same answer (paths are relative, so the folders do not show) and same files left.
            dry = f"{case.name}, dry run"
            bench.same(
                dry, {i: (lambda f=f, d=folders[i]: f(case.patch, str(d), True)) for i, f in IMPLS.items()}
            )
            result, files = bench.same(
                case.name,
                {
                    i: (lambda f=f, d=folders[i]: (f(case.patch, str(d)), snapshot(d)))
                    for i, f in IMPLS.items()
                },
            )
            assert len(result["files"]) == len(case.files) or not case.expected
            for rel, text in case.expected.items():
                assert files[rel] == text.encode(), f"{case.name}: {rel} is not what the diff made"
            for folder in folders.values():
                case.restore(folder)
            for impl, fn in IMPLS.items():
                bench.time(dry, impl, lambda f=fn, d=folders[impl]: f(case.patch, str(d), True))
            for impl, fn in IMPLS.items():
                folder = folders[impl]
                bench.time(
                    f"{case.name}, applied",
                    impl,
                    lambda f=fn, d=folder: f(case.patch, str(d)),
                    setup=lambda c=case, d=folder: c.restore(d),
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    bench.note(
        "Dry runs parse, match every chunk and build the diffs; applied runs also write every file "
        "atomically (temp file, fsync, rename), which dominates the 50-file row."
    )
    bench.note("Times are medians; ratios are side by side in one run. The CI machine has 2 shared cores.")
    bench.finish()


if __name__ == "__main__":
    main()
