#!/usr/bin/env python3
"""Resource bounds: huge inputs must not make ironcode's memory grow with them.

    python script/resource-bounds.py [--scale full|small] [--backend native,python] [--json PATH]

Cases (full scale; ``--scale small`` divides the inputs by 10, for the test suite):
- ``read`` of a 1 GB text file with a small limit (100 lines);
- ``grep`` of a 100 MB file that is one single line (a minified bundle, a log without newlines),
  also with ``multiline=True`` (``grep_multiline``: the searcher would hold the whole file);
- ``grep`` in count mode of a pattern that matches the empty string on every line of a 100 MB
  file (``grep_count``: 1M matches, counted as they stream);
- ``ls``, ``file_list`` and ``glob`` over a tree of 200K files.

Each (case, backend) runs in a fresh child process: it warms the operation up on a tiny input,
notes its resident memory, resets the peak (``/proc/self/clear_refs``), makes the call and
reads the peak (``VmHWM``). The growth — peak minus the resident memory before the call — is
what the call cost, its answer included. Prints one JSON document of figures and exits non-zero
if any growth passes its bound (:data:`BOUNDS_MB`, the same at both scales: the point is that
memory does not follow the input). Inputs are written fast (1 MB writes, empty files), in a
temporary folder removed at the end. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Inputs at full scale; ``--scale small`` divides each by :data:`SMALL_DIVISOR`.
READ_FILE_BYTES = 1 << 30
READ_LIMIT_LINES = 100
GREP_LINE_BYTES = 100 << 20
TREE_FILES = 200_000
SMALL_DIVISOR = 10
#: Files per folder of the listed tree.
FILES_PER_FOLDER = 1000

#: Peak resident growth allowed per case, in MB, whatever the input size. Why each bound:
#: - read: the reader keeps at most ``limit`` lines of at most 2000 characters (50 KB of
#:   output) and scans the rest in 1 MB chunks, so a few MB suffice; 16 MB leaves room for the
#:   allocator.
#: - grep: the line buffer stops growing at 8 MiB (grep.rs MAX_LINE_BYTES):
#:   a longer line ends the search of its file, which is named in ``long_lines``. Native holds
#:   the first 1 MiB it read (WHOLE_FILE_BYTES, handed to the searcher as the stream's start)
#:   beside that buffer; the twin holds the unfinished line as bytes and briefly a second copy
#:   while appending to it.
#: - ls / glob: the walk keeps the relative paths it will sort (200K × ~40 bytes in Rust, more as
#:   Python strings); the answer is 100 paths.
#: - file_list: the answer itself is all 200K paths, as a Python list.
#: - grep_count: nothing is kept per match; native reads 1 MiB whole, then streams.
#: - grep_multiline: a multi-line search needs the whole file: files of 8 MiB or more are not
#:   searched (named in long_lines), so at most 8 MiB is read.
BOUNDS_MB = {
    "read": 16,
    "grep": 32,
    "grep_count": 32,
    "grep_multiline": 32,
    "ls": 64,
    "glob": 96,
    "file_list": 96,
}

CHILD = r"""
import json, sys
from ironcode import backend

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError(key)

case = json.loads(sys.argv[1])
op = "grep" if case["op"].startswith("grep_") else case["op"]  # grep with keywords
keywords = case.get("keywords", {})
fn = backend.implementation(op, case["backend"])
fn(*case["warm_args"], **keywords)
before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # resets VmHWM to the current resident size
start = __import__("time").perf_counter()
result = fn(*case["args"], **keywords)
seconds = __import__("time").perf_counter() - start
peak = status("VmHWM")
if case["op"] == "read":
    shape = {"lines": len(result["lines"]), "total_lines": result["total_lines"]}
elif case["op"] == "grep_count":
    shape = {"total": result["total"], "files": len(result["counts"])}
elif op == "grep":
    shape = {"matches": result["total"], "long_lines": len(result.get("long_lines", []))}
elif case["op"] == "file_list":
    shape = {"files": len(result)}
else:
    shape = {"files": len(result["files"]), "truncated": result["truncated"]}
print(json.dumps({"before_mb": before / 1024, "peak_mb": peak / 1024, "seconds": seconds, "answer": shape}))
"""


def write_text_file(path: Path, size: int) -> None:
    """``size`` bytes of numbered 100-byte lines, written 1 MB at a time."""
    line = b"%09d " + b"x" * 89 + b"\n"
    block = b"".join(line % i for i in range(10_486))[: 1 << 20]
    block = block[: block.rfind(b"\n") + 1]
    with open(path, "wb") as f:
        written = 0
        while written < size:
            f.write(block)
            written += len(block)


def write_single_line(path: Path, size: int) -> None:
    """One line of ``size`` bytes holding ``needle`` in its middle, no newline anywhere."""
    chunk = b"a" * (1 << 20)
    with open(path, "wb") as f:
        for i in range(size >> 20):
            f.write(b"needle" + chunk[6:] if i == (size >> 21) else chunk)


def make_tree(root: Path, files: int) -> None:
    """``files`` empty files, :data:`FILES_PER_FOLDER` per folder."""
    for i in range(files):
        folder = root / f"d{i // FILES_PER_FOLDER:04d}"
        if i % FILES_PER_FOLDER == 0:
            folder.mkdir(parents=True)
        os.close(os.open(folder / f"f{i:06d}.txt", os.O_CREAT | os.O_WRONLY, 0o644))


def build_inputs(work: Path, divisor: int) -> list[dict]:
    """The cases as child arguments, their inputs written under ``work``."""
    tiny = work / "tiny"
    tiny.mkdir()
    (tiny / "a.txt").write_text("needle\n")
    big = work / "big.txt"
    write_text_file(big, READ_FILE_BYTES // divisor)
    line = work / "line.txt"
    write_single_line(line, GREP_LINE_BYTES // divisor)
    lines = work / "lines.txt"
    write_text_file(lines, GREP_LINE_BYTES // divisor)
    tree = work / "tree"
    make_tree(tree, TREE_FILES // divisor)
    small = str(tiny / "a.txt")
    return [
        {
            "op": "read",
            "input": f"{big.stat().st_size >> 20} MB text file",
            "args": [str(big), 1, READ_LIMIT_LINES],
            "warm_args": [small, 1, 10],
        },
        {
            "op": "grep",
            "input": f"{line.stat().st_size >> 20} MB single line",
            "args": ["needle", str(line), None, 100],
            "warm_args": ["needle", small, None, 100],
        },
        {
            "op": "grep_count",
            "input": f"{lines.stat().st_size >> 20} MB of 100-byte lines, '^'",
            "args": ["^", str(lines), None, 100],
            "warm_args": ["^", small, None, 100],
            "keywords": {"output_mode": "count"},
        },
        {
            "op": "grep_multiline",
            "input": f"{line.stat().st_size >> 20} MB single line, multiline",
            "args": ["a\\nb|needle", str(line), None, 100],
            "warm_args": ["a\\nb|needle", small, None, 100],
            "keywords": {"multiline": True},
        },
        {
            "op": "ls",
            "input": f"{TREE_FILES // divisor} files",
            "args": [str(tree), None, 100],
            "warm_args": [str(tiny), None, 100],
        },
        {
            "op": "file_list",
            "input": f"{TREE_FILES // divisor} files",
            "args": [str(tree)],
            "warm_args": [str(tiny)],
        },
        {
            "op": "glob",
            "input": f"{TREE_FILES // divisor} files",
            "args": ["**/*.txt", str(tree), 100],
            "warm_args": ["**/*.txt", str(tiny), 100],
        },
    ]


def measure(case: dict, backend: str) -> dict:
    arguments = json.dumps({**case, "backend": backend})
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, arguments], capture_output=True, text=True, env=env, timeout=1800
    )
    if proc.returncode != 0:
        return {
            "error": proc.stderr.strip().splitlines()[-1]
            if proc.stderr.strip()
            else f"exit {proc.returncode}"
        }
    return json.loads(proc.stdout)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=["full", "small"], default="full")
    parser.add_argument("--backend", default="native,python")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--dir", help="where to write the inputs (default: the system's temporary folder)")
    args = parser.parse_args(argv)
    divisor = 1 if args.scale == "full" else SMALL_DIVISOR
    work = Path(tempfile.mkdtemp(prefix="ironcode-bounds-", dir=args.dir))
    rows, failed = [], False
    try:
        start = time.perf_counter()
        cases = build_inputs(work, divisor)
        setup_s = time.perf_counter() - start
        for case in cases:
            for backend in args.backend.split(","):
                figure = measure(case, backend)
                bound = BOUNDS_MB[case["op"]]
                row = {"op": case["op"], "backend": backend, "input": case["input"], "bound_mb": bound}
                if "error" in figure:
                    row.update(error=figure["error"], ok=False)
                else:
                    growth = figure["peak_mb"] - figure["before_mb"]
                    row.update(
                        growth_mb=round(growth, 1),
                        peak_mb=round(figure["peak_mb"], 1),
                        seconds=round(figure["seconds"], 2),
                        answer=figure["answer"],
                        ok=growth <= bound,
                    )
                failed |= not row["ok"]
                rows.append(row)
                print(json.dumps(row), file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = {"scale": args.scale, "setup_s": round(setup_s, 1), "rows": rows, "ok": not failed}
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
