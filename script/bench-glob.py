"""glob: the native walk vs the Python twin vs spawning ``rg --files -g PATTERN``.

The rg peer does what a glob tool built on rg must: spawn it, stat every file, sort newest first,
keep the first 100. Answers are checked equal before timing.
Target (the migration plan): native >= 3x faster than spawning rg (it measured 2.99x).
Implementations are timed in interleaved rounds (the machine is shared); each case also notes the
CPU time per call (all threads, and the rg process), which load does not skew as it skews wall time.
"""

from __future__ import annotations

from benchlib import ROOT, Bench
from search_corpus import cpu_note, rg_glob, rg_path, stdlib_repo, time_interleaved

from ironcode import ffi
from ironcode.twin import glob as twin

LIMIT = 100
bench = Bench("glob", "glob: native vs twin vs spawning rg --files -g")
stdlib = stdlib_repo(bench.quick)
cases = [
    ("this repo, **/*.py", ROOT, "**/*.py"),
    ("stdlib, **/*.py", stdlib, "**/*.py"),
    ("stdlib, email/**/*.py", stdlib, "email/**/*.py"),
]
bench.plan["this repo, **/*.py"] = "2.99x faster than spawning rg"
for case, root, pattern in cases:
    impls = {
        "native": lambda root=root, pattern=pattern: ffi.glob(pattern, str(root), LIMIT)["files"],
        "python": lambda root=root, pattern=pattern: twin.glob(pattern, str(root), LIMIT)["files"],
    }
    if rg_path():
        impls["rg"] = lambda root=root, pattern=pattern: rg_glob(root, pattern, LIMIT)
    bench.same(case, impls)
    cpu = time_interleaved(bench, case, impls)
    if not rg_path():
        bench.absent(case, "rg", "rg is not installed (make install installs it)")
    else:
        ratio = bench.median(case, "rg") / bench.median(case, "native")
        bench.note(f"{case}: native {ratio:.2f}x faster than spawning rg (target >= 3x)")
    bench.note(cpu_note(case, cpu))
bench.finish()
