#!/usr/bin/env python3
"""File tools, native vs twin: read (100 / 1K / 10K / 100K lines), write, ls, extract (with unzip),
and what ``root=`` costs on read, write and edit_file.

    python script/bench-fs.py [--quick] [--json out.json]

Every case checks that both backends (and unzip, for extract) produce the same result before
anything is timed. read returns at most 2000 lines / 50 KB (the tool's limits), so the larger files
measure what an agent pays: reading and decoding the whole file, then cutting the window.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import zipfile

from benchconfine import time_confined
from benchlib import ROOT, Bench

from ironcode import ffi
from ironcode.twin import archive as twin_archive
from ironcode.twin import edit_file as twin_edit
from ironcode.twin import ls as twin_ls
from ironcode.twin import read as twin_read
from ironcode.twin import stats as twin_stats
from ironcode.twin import write as twin_write

READ_SIZES = (100, 1_000, 10_000, 100_000)
WRITE_SIZES = {"1 KB": 1 << 10, "100 KB": 100 << 10, "10 MB": 10 << 20}
ARCHIVE_SIZES = (10, 100, 500)


def source_line(i: int) -> str:
    return f"    def method_{i}(self, value: int) -> int:  # line {i} of a typical source file\n"


def tree_snapshot(root: str) -> list[tuple[str, bytes]]:
    out = []
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            full = os.path.join(dirpath, name)
            out.append((os.path.relpath(full, root), open(full, "rb").read()))
    return sorted(out)


def main() -> None:
    bench = Bench("fs", "read, write, ls, extract: native vs Python twin (unzip as a peer)")
    work = tempfile.mkdtemp(prefix="ironcode-bench-fs-")
    try:
        bench_read(bench, work)
        bench_write(bench, work)
        bench_ls(bench)
        bench_extract(bench, work)
        bench_stats(bench)
        bench_confined(bench, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    bench.note("read returns the first 2000 lines / 50 KB; both backends decode the whole file first.")
    bench.note("write: atomic (temp file + fsync + rename) on both backends; fsync dominates small writes.")
    bench.note("Times are medians on a shared 2-core machine: ratios are side by side, absolute times noisy.")
    bench.finish()


def bench_read(bench: Bench, work: str) -> None:
    sizes = READ_SIZES[:2] if bench.quick else READ_SIZES
    for n in sizes:
        path = os.path.join(work, f"read-{n}.py")
        with open(path, "w") as f:
            f.writelines(source_line(i) for i in range(n))
        case = f"read {n:,} lines"
        bench.same(case, {"native": lambda: ffi.read(path), "python": lambda: twin_read.read(path)})
        bench.time(case, "native", lambda: ffi.read(path))
        bench.time(case, "python", lambda: twin_read.read(path))


def bench_write(bench: Bench, work: str) -> None:
    sizes = dict(list(WRITE_SIZES.items())[:1]) if bench.quick else WRITE_SIZES
    for label, size in sizes.items():
        content = ("x" * 79 + "\n") * (size // 80)
        case = f"write {label}"
        a, b = os.path.join(work, "wa.txt"), os.path.join(work, "wb.txt")
        ffi.write(a, content)
        twin_write.write(b, content)
        assert open(a, "rb").read() == open(b, "rb").read()
        bench.time(case, "native", lambda: ffi.write(a, content))
        bench.time(case, "python", lambda: twin_write.write(b, content))


def bench_ls(bench: Bench) -> None:
    case = "ls this repository (all files)"
    root = str(ROOT)
    bench.same(
        case, {"native": lambda: ffi.ls(root, None, None), "python": lambda: twin_ls.ls(root, None, None)}
    )
    bench.time(case, "native", lambda: ffi.ls(root, None, None))
    bench.time(case, "python", lambda: twin_ls.ls(root, None, None))


def bench_extract(bench: Bench, work: str) -> None:
    unzip = shutil.which("unzip")
    sizes = ARCHIVE_SIZES[:1] if bench.quick else ARCHIVE_SIZES
    for n in sizes:
        archive = os.path.join(work, f"a{n}.zip")
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for i in range(n):
                zf.writestr(f"pkg/sub{i % 10}/module_{i}.py", "".join(source_line(j) for j in range(40)))
        case = f"extract zip, {n} entries"
        counter = iter(range(10**9))

        def dest() -> str:
            return os.path.join(work, f"out-{next(counter)}")

        outs = {"native": dest(), "python": dest(), "unzip": dest()}
        ffi.extract(archive, outs["native"])
        twin_archive.extract(archive, outs["python"])
        snapshots = {"native": tree_snapshot(outs["native"]), "python": tree_snapshot(outs["python"])}
        if unzip:
            subprocess.run([unzip, "-q", "-o", archive, "-d", outs["unzip"]], check=True)
            snapshots["unzip"] = tree_snapshot(outs["unzip"])
        bench.same(case, {k: (lambda v=v: v) for k, v in snapshots.items()})
        for path in outs.values():
            shutil.rmtree(path, ignore_errors=True)

        target = {"path": ""}

        def fresh() -> None:
            if target["path"]:
                shutil.rmtree(target["path"], ignore_errors=True)
            target["path"] = dest()

        bench.time(case, "native", lambda: ffi.extract(archive, target["path"]), setup=fresh)
        bench.time(case, "python", lambda: twin_archive.extract(archive, target["path"]), setup=fresh)
        if unzip:
            bench.time(
                case,
                "unzip",
                lambda: subprocess.run([unzip, "-q", "-o", archive, "-d", target["path"]], check=True),
                setup=fresh,
            )
        else:
            bench.absent(case, "unzip", "unzip is not installed")
        fresh()


def bench_stats(bench: Bench) -> None:
    case = "stats"
    bench.time(case, "native", ffi.stats)
    bench.time(case, "python", twin_stats.stats)


def bench_confined(bench: Bench, work: str) -> None:
    """read (100 lines), write (1 KB) and edit_file with root= beside the same calls without one
    (the same absolute path, so the answers are equal)."""
    folder = os.path.join(work, "confined")
    os.makedirs(folder)
    source = os.path.join(folder, "read-100.py")
    with open(source, "w") as f:
        f.writelines(source_line(i) for i in range(100))
    read = {"native": ffi.read, "python": twin_read.read}
    time_confined(
        bench,
        "read 100 lines",
        {impl: (lambda fn=fn: fn(source)) for impl, fn in read.items()},
        {impl: (lambda fn=fn: fn(source, root=folder)) for impl, fn in read.items()},
    )
    written, content = os.path.join(folder, "write.txt"), ("x" * 79 + "\n") * (1024 // 80)
    ffi.write(written, content)  # every timed call replaces it
    write = {"native": ffi.write, "python": twin_write.write}
    time_confined(
        bench,
        "write 1 KB",
        {impl: (lambda fn=fn: fn(written, content)) for impl, fn in write.items()},
        {impl: (lambda fn=fn: fn(written, content, root=folder)) for impl, fn in write.items()},
    )
    edited = os.path.join(folder, "edit.py")
    with open(edited, "w") as f:
        f.writelines(source_line(i) for i in range(100))
    old, new = source_line(50).strip(), source_line(50).strip().replace("value", "amount")

    def there_and_back(fn, **root):
        return fn(edited, old, new, **root)["diff"], fn(edited, new, old, **root)["diff"]

    edit = {"native": ffi.edit_file, "python": twin_edit.edit_file}
    time_confined(
        bench,
        "edit_file 100 lines (a change and back)",
        {impl: (lambda fn=fn: there_and_back(fn)) for impl, fn in edit.items()},
        {impl: (lambda fn=fn: there_and_back(fn, root=folder)) for impl, fn in edit.items()},
    )


if __name__ == "__main__":
    main()
