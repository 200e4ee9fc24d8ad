"""grep: ripgrep's searcher in-process vs the Python twin vs spawning ``rg -n``, and what
``root=`` costs on a grep of this repository.

The rg peer does what a grep tool built on rg must: spawn it, parse its output, stat the matching
files to list the newest first. Answers ((path, line) pairs, all of them) are checked equal
before timing; the timed calls keep the tool's default limit of 100.
Targets: native no slower than spawning rg on the standard library, and >= 10x faster than the twin.
Implementations are timed in interleaved rounds (the machine is shared); each case also notes the
CPU time per call (all threads, and the rg process), which load does not skew as it skews wall time.
"""

from __future__ import annotations

from benchconfine import time_confined
from benchlib import ROOT, Bench
from search_corpus import cpu_note, rg_grep, rg_path, stdlib_repo, time_interleaved

from ironcode import ffi
from ironcode.twin import grep as twin

LIMIT = 100
bench = Bench("grep", "grep: native vs twin vs spawning rg -n")
stdlib = stdlib_repo(bench.quick)
cases = [
    ("this repo, fn \\w+", ROOT, r"fn \w+"),
    ("stdlib, import os", stdlib, "import os"),
    ("stdlib, def \\w+\\(self", stdlib, r"def \w+\(self"),
    ("stdlib, no match", stdlib, "zqxjkv_no_such_text"),
]
bench.plan["stdlib, import os"] = "rg spawned per search (no native figure)"


def pairs(result: dict) -> list[tuple[str, int]]:
    return [(m["path"], m["line"]) for m in result["matches"]]


for case, root, pattern in cases:
    impls = {
        "native": lambda root=root, pattern=pattern, limit=LIMIT: pairs(
            ffi.grep(pattern, str(root), None, limit)
        ),
        "python": lambda root=root, pattern=pattern, limit=LIMIT: pairs(
            twin.grep(pattern, str(root), None, limit)
        ),
    }
    if rg_path():
        impls["rg"] = lambda root=root, pattern=pattern, limit=LIMIT: rg_grep(root, pattern, limit)
    full = {name: (lambda fn=fn: fn(limit=None)) for name, fn in impls.items()}
    total = len(bench.same(case, full, normalize=sorted))
    cpu = time_interleaved(bench, case, impls)
    twin_ratio = bench.median(case, "python") / bench.median(case, "native")
    if not rg_path():
        bench.absent(case, "rg", "rg is not installed (make install installs it)")
        bench.note(f"{case} ({total} lines): native {twin_ratio:.1f}x faster than the twin")
    else:
        ratio = bench.median(case, "rg") / bench.median(case, "native")
        bench.note(
            f"{case} ({total} lines): native {ratio:.2f}x vs spawning rg (target >= 1x), "
            f"{twin_ratio:.1f}x faster than the twin (target >= 10x)"
        )
    bench.note(cpu_note(case, cpu))

# The cost of confinement: the same grep of this repository with the repository as the root.
greps = {"native": ffi.grep, "python": twin.grep}
time_confined(
    bench,
    "grep this repo, fn \\w+",
    {impl: (lambda fn=fn: pairs(fn(r"fn \w+", str(ROOT), None, LIMIT))) for impl, fn in greps.items()},
    {
        impl: (lambda fn=fn: pairs(fn(r"fn \w+", str(ROOT), None, LIMIT, root=str(ROOT))))
        for impl, fn in greps.items()
    },
)
bench.finish()
