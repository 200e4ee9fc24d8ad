#!/usr/bin/env python3
"""Fuzzy file search: the migration plan's study (section 2.1), redone from Python, and more.

The plan compared fuzzysort (JavaScript) with three Rust matchers called per search, and kept
fuzzysort because passing the whole list across the FFI on every call cost more than native
matching saved. Here the same matchers — nucleo, skim v2, sublime — face the Python twin
(rapidfuzz), each two ways:

- per call: the list crosses the boundary on every search (``ironcode.ffi.fuzzy_search``; also
  ``native-nucleo-json``, the same call with the list sent as JSON instead of NUL-joined, to show
  what the transport costs);
- index: ``FuzzyIndex(items)`` sends the list once, ``search(query)`` sends only the query.

For 100, 1K, 5K, 10K and 100K paths (real ones from this machine: this repository, the standard
library, site-packages and the cargo registry; generated ones from their parts where they run out)
and the plan's queries ``src``, ``comp``, ``index``, ``util``: median time, and peak memory —
tracemalloc for the Python twin, resident-set growth for native calls, measured in a forked process
that has done nothing else (after warm-up the allocator reuses freed pages and any growth reads 0).
Then the ranking quality on ``test/data/fuzzy-quality.json``: where each implementation ranks the
file each query means.

    python script/bench-fuzzy-all.py [--quick] [--json PATH]
"""

from __future__ import annotations

import ctypes
import json
import os
import random
import re
import statistics
import subprocess
import sys
import sysconfig
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from benchlib import ROOT, Bench, fmt_time

from ironcode import ffi
from ironcode.twin import fuzzy as twin

SIZES = {"100": 100, "1K": 1_000, "5K": 5_000, "10K": 10_000, "100K": 100_000}
QUICK_SIZES = ("100", "1K")
QUERIES = ("src", "comp", "index", "util")
QUICK_QUERIES = ("src", "util")
LIMIT = 50
NATIVE = ("nucleo", "skim", "sublime")
#: Where the generated part of a list comes from, so every run measures the same lists.
SEED = 8
QUALITY_FILE = ROOT / "test" / "data" / "fuzzy-quality.json"
QUALITY_PATHS = ROOT / "test" / "data" / "fuzzy-paths.txt"

#: The migration plan's 10K-file table (fuzzysort | skim | nucleo | sublime, time | peak memory).
PLAN = {
    "src": "fuzzysort 1.34ms·0.00MB, skim 3.76ms·12.64MB, nucleo 1.75ms·0.12MB, sublime 11.8ms",
    "comp": "fuzzysort 1.05ms·0.00MB, skim 3.52ms·12.40MB, nucleo 1.74ms·5.84MB, sublime 12.4ms",
    "index": "fuzzysort 0.46ms·0.00MB, skim 2.56ms·12.40MB, nucleo 1.77ms·5.84MB, sublime 12.4ms",
    "util": "fuzzysort 0.99ms·0.00MB, skim 3.47ms·12.16MB, nucleo 1.47ms·5.84MB, sublime 10.8ms",
}


# ---- the path lists ----------------------------------------------------------------------------


def walk(base: Path, prefix: str) -> list[str]:
    found: list[str] = []
    if not base.is_dir():
        return found
    for folder, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", ".git", "target", ".venv"))
        rel = os.path.relpath(folder, base)
        for name in sorted(files):
            found.append(f"{prefix}{name}" if rel == "." else f"{prefix}{rel}/{name}")
    return found


def real_paths() -> list[str]:
    """Real relative paths on this machine, shuffled the same way every run."""
    repo = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False)
    paths = repo.stdout.split() if repo.returncode == 0 else walk(ROOT, "")
    paths += walk(Path(sysconfig.get_paths()["stdlib"]), "stdlib/")
    paths += walk(Path(sysconfig.get_paths()["purelib"]), "site-packages/")
    paths += walk(Path.home() / ".cargo" / "registry" / "src", "cargo/")
    paths = sorted(set(paths))
    random.Random(SEED).shuffle(paths)
    return paths


def generated_paths(real: list[str], count: int) -> list[str]:
    """Paths made of real folders and real file names, for sizes the machine does not have."""
    rng = random.Random(SEED)
    folders = sorted({p.rsplit("/", 1)[0] for p in real if "/" in p})
    names = sorted({p.rsplit("/", 1)[-1] for p in real})
    made: set[str] = set(real)
    out: list[str] = []
    while len(out) < count:
        path = f"{rng.choice(folders)}/{rng.choice(names)}"
        if path not in made:
            made.add(path)
            out.append(path)
    return out


def path_lists(labels: tuple[str, ...]) -> tuple[dict[str, list[str]], int]:
    real = real_paths()
    biggest = max(SIZES[label] for label in labels)
    pool = real[:biggest] + generated_paths(real, max(0, biggest - len(real)))
    return {label: pool[: SIZES[label]] for label in labels}, min(len(real), biggest)


# ---- the implementations -----------------------------------------------------------------------


def nucleo_json(query: str, items: list[str], limit: int | None) -> list[str]:
    """The per-call native search with the list sent as JSON (the transport for items with NUL)."""
    data = ffi._json(items)
    indices = ffi._call(
        "fuzzy_search_ffi",
        *ffi._fuzzy_query(query),
        data,
        len(data),
        len(items),
        1,
        ffi._int(limit, "limit"),
        b"nucleo",
    )
    return [items[i] for i in indices]


def implementations(items: list[str]) -> tuple[dict[str, Callable[[str, int | None], list[str]]], list]:
    """impl name -> search(query, limit); and the indexes to close afterwards."""
    impls: dict[str, Callable[[str, int | None], list[str]]] = {
        "python-rapidfuzz": lambda q, limit: twin.fuzzy_search(q, items, limit),
    }
    python_index = twin.FuzzyIndex(items)
    impls["python-index-rapidfuzz"] = python_index.search
    for name in NATIVE:
        impls[f"native-{name}"] = lambda q, limit, name=name: ffi.fuzzy_search(q, items, limit, name)
    impls["native-nucleo-json"] = lambda q, limit: nucleo_json(q, items, limit)
    indexes = [python_index]
    for name in NATIVE:
        index = ffi.FuzzyIndex(items, name)
        indexes.append(index)
        impls[f"native-index-{name}"] = index.search
    return impls, indexes


def builders(items: list[str]) -> dict[str, Callable[[], object]]:
    """impl name -> build (and free) its index: the one-time cost of the index path."""

    def native(name: str) -> Callable[[], object]:
        return lambda: ffi.FuzzyIndex(items, name).close()

    built = {"python-index-rapidfuzz": lambda: twin.FuzzyIndex(items)}
    built.update({f"native-index-{name}": native(name) for name in NATIVE})
    return built


# ---- memory: resident-set growth of one call, in a fork of a fresh interpreter ---------------


def _status_kb(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def _release_free_heap() -> None:
    """Hands the free pages of the C heap back to the kernel (glibc's malloc_trim), so a call
    that reuses them shows up as growth instead of hiding in memory freed by earlier work."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def rss_growth_mb(fn: Callable[[], object]) -> float | None:
    """Peak anonymous resident memory of one call of ``fn``, less what there was before, in MB.

    Runs in a forked child so every call starts from the same heap, with its free pages returned
    to the kernel first. The kernel's peak (VmHWM)
    also counts pages of mapped files (library code) that the child faults in again after the
    fork, so those (RssFile, RssShmem after the call) are subtracted. None where /proc cannot say.
    """
    if not Path("/proc/self/clear_refs").exists() or not hasattr(os, "fork"):
        return None
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: measure, report, leave without running the parent's cleanup
        code = 0
        try:
            os.close(read_end)
            _release_free_heap()
            Path("/proc/self/clear_refs").write_text("5")  # resets the peak (VmHWM) to VmRSS
            before = _status_kb("RssAnon")
            fn()
            peak = _status_kb("VmHWM") - _status_kb("RssFile") - _status_kb("RssShmem")
            os.write(write_end, str(max(0, peak - before)).encode())
        except BaseException:  # noqa: BLE001 - the parent sees no number and records None
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    return round(int(text) / 1024, 2) if text else None


MEMORY_CHILD = "--memory-child"


def memory_child(label: str, queries: list[str]) -> None:
    """Runs in a fresh interpreter: builds one size's list and indexes, warms every implementation
    up on a tiny list (imports, lazy set-up, code pages), then measures each call in a fork."""
    items = path_lists((label,))[0][label]
    impls, _ = implementations(items)
    tiny, _ = implementations(items[:8])
    for fn in tiny.values():
        fn(queries[0], LIMIT)
    result = []
    for query in queries:
        for impl, fn in impls.items():
            result.append(
                [f"{label} · {query}", impl, rss_growth_mb(lambda fn=fn, query=query: fn(query, LIMIT))]
            )
    for impl, build in builders(items).items():
        result.append([f"{label} · build index", impl, rss_growth_mb(build)])
    print(json.dumps(result))


def measure_memory(label: str, queries: tuple[str, ...]) -> dict[tuple[str, str], float | None]:
    done = subprocess.run(
        [sys.executable, __file__, MEMORY_CHILD, label, *queries],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory run for {label} failed:\n{done.stderr[-2000:]}")
    return {(case, impl): mb for case, impl, mb in json.loads(done.stdout.splitlines()[-1])}


# ---- quality -----------------------------------------------------------------------------------


def quality() -> dict:
    """Where every implementation ranks the expected file of each quality case."""
    paths = QUALITY_PATHS.read_text().splitlines()
    cases = json.loads(QUALITY_FILE.read_text())["cases"]
    rankers: dict[str, Callable[[str], list[str]]] = {}
    for scorer in twin.SCORERS:
        label = "python-rapidfuzz" if scorer == twin.SCORER else f"python-rapidfuzz[{scorer}]"
        rankers[label] = lambda q, s=scorer: [paths[i] for i in twin.rank(q, paths, None, scorer=s)]
    for name in NATIVE:
        rankers[f"native-{name}"] = lambda q, name=name: ffi.fuzzy_search(q, paths, None, name)
    rows = []
    for case in cases:
        ranks = {}
        for label, ranker in rankers.items():
            found = ranker(case["query"])
            ranks[label] = found.index(case["expected"]) + 1 if case["expected"] in found else None
        rows.append({"query": case["query"], "expected": case["expected"], "ranks": ranks})
    summary = {}
    for label in rankers:
        ranks = [row["ranks"][label] or len(paths) for row in rows]
        summary[label] = {
            "top1": sum(r == 1 for r in ranks),
            "top5": sum(r <= 5 for r in ranks),
            "mrr": round(statistics.mean(1 / r for r in ranks), 3),
            "worst": max(ranks),
        }
    return {"paths": len(paths), "cases": rows, "summary": summary}


def quality_table(result: dict) -> str:
    labels = list(result["summary"])
    lines = [
        f"## fuzzy ranking quality ({len(result['cases'])} queries over {result['paths']} real paths)",
        "",
        "| query | expected | " + " | ".join(labels) + " |",
        "|---|---|" + "---|" * len(labels),
    ]
    for row in result["cases"]:
        cells = [str(row["ranks"][label] or "—") for label in labels]
        lines.append(f"| `{row['query']}` | {row['expected']} | " + " | ".join(cells) + " |")
    for key, title in (("top1", "rank 1"), ("top5", "top 5"), ("mrr", "MRR"), ("worst", "worst rank")):
        cells = [str(result["summary"][label][key]) for label in labels]
        lines.append(f"| **{title}** | | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ---- tables ------------------------------------------------------------------------------------


def grid(title: str, cases: list[str], impls: list[str], cell: Callable[[str, str], str]) -> str:
    lines = [f"## {title}", "", "| case | " + " | ".join(impls) + " |", "|---|" + "---|" * len(impls)]
    for case in cases:
        lines.append(f"| {case} | " + " | ".join(cell(case, impl) for impl in impls) + " |")
    return "\n".join(lines)


def summary(bench: Bench, labels: tuple[str, ...]) -> str:
    """Per size: each implementation's median over the queries, and who is fastest how often."""
    impls = list(dict.fromkeys(r.impl for r in bench.rows))
    searches = [r for r in bench.rows if not r.case.endswith("build index") and r.median_s]
    lines = [
        "## summary: median over the queries, per size",
        "",
        "| size | " + " | ".join(impls) + " | fastest per call | fastest index |",
        "|---|" + "---|" * (len(impls) + 2),
    ]
    for label in labels:
        rows = [r for r in searches if r.case.startswith(f"{label} · ")]
        cells = []
        for impl in impls:
            times = [r.median_s for r in rows if r.impl == impl]
            cells.append(fmt_time(statistics.median(times)) if times else "—")
        winners = []
        for kind in ("per call", "index"):
            counts: Counter[str] = Counter()
            for case in dict.fromkeys(r.case for r in rows):
                pool = [r for r in rows if r.case == case and ("-index-" in r.impl) == (kind == "index")]
                counts[min(pool, key=lambda r: r.median_s).impl] += 1
            winners.append(
                ", ".join(f"{impl} {n}/{sum(counts.values())}" for impl, n in counts.most_common())
            )
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {winners[0]} | {winners[1]} |")
    return "\n".join(lines)


def main() -> None:
    bench = Bench("fuzzy-all", "fuzzy search: rapidfuzz twin vs nucleo, skim, sublime; per call vs index")
    labels = QUICK_SIZES if bench.quick else tuple(SIZES)
    queries = QUICK_QUERIES if bench.quick else QUERIES
    lists, real_count = path_lists(labels)
    bench.note(
        f"paths: {real_count} real ones from this machine, the rest generated from their folders and "
        "file names; every list is a prefix of the same shuffled list"
    )
    memory: dict[tuple[str, str], float | None] = {}
    rss: dict[tuple[str, str], float | None] = {}
    for label in labels:
        # Quick runs measure memory once, to keep the path tested.
        if not bench.quick or label == labels[-1]:
            rss.update(measure_memory(label, queries if not bench.quick else queries[:1]))
        items = lists[label]
        impls, indexes = implementations(items)
        for query in queries:
            case = f"{label} · {query}"
            if label == "10K":
                bench.plan[case] = PLAN[query]
            # Same matches for everyone (the order is each algorithm's own) ...
            bench.same(
                case,
                {impl: (lambda fn=fn, query=query: fn(query, None)) for impl, fn in impls.items()},
                Counter,
            )
            # ... and the index ranks exactly as the per-call search of its algorithm.
            for name in NATIVE:
                assert impls[f"native-index-{name}"](query, LIMIT) == impls[f"native-{name}"](query, LIMIT)
            assert impls["python-index-rapidfuzz"](query, LIMIT) == impls["python-rapidfuzz"](query, LIMIT)
            traced = (case, "python-rapidfuzz") in rss
            for impl, fn in impls.items():
                row = bench.time(
                    case,
                    impl,
                    lambda fn=fn, query=query: fn(query, LIMIT),
                    memory=traced and impl.startswith("python"),
                )
                if impl.startswith("native"):
                    row.peak_mb = rss.get((case, impl))
                memory[(case, impl)] = row.peak_mb
        build_case = f"{label} · build index"
        for impl, build in builders(items).items():
            traced = (build_case, impl) in rss
            row = bench.time(build_case, impl, build, memory=traced and impl.startswith("python"))
            if impl.startswith("native"):
                row.peak_mb = rss.get((build_case, impl))
            memory[(build_case, impl)] = row.peak_mb
        for index in indexes:
            index.close()
    bench.note(
        "memory: peak_mb is tracemalloc's peak for python-* rows and resident-set growth of one call "
        "(anonymous memory, in a fork of a fresh interpreter) for native-* rows; the RSS table below gives resident-set growth for all"
    )
    bench.note("times are medians on a shared, loaded 2-core machine: compare within a run, not across")
    judged = quality()
    report = bench.finish()

    cases = list(dict.fromkeys(r.case for r in bench.rows))
    impls = list(dict.fromkeys(r.impl for r in bench.rows))

    def mb(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f} MB"

    print()
    print(
        grid(
            "peak memory (tracemalloc for python-*, RSS growth for native-*)",
            cases,
            impls,
            lambda c, i: mb(memory.get((c, i))),
        )
    )
    print()
    print(
        grid(
            "resident-set growth of one call, every implementation",
            cases,
            impls,
            lambda c, i: mb(rss.get((c, i))),
        )
    )
    print()
    print(summary(bench, labels))
    print()
    print(quality_table(judged))
    if bench.args.json:
        out = Path(bench.args.json)
        report = json.loads(out.read_text())
        report["quality"] = judged
        report["rss_growth_mb"] = [
            {"case": case, "impl": impl, "mb": value} for (case, impl), value in rss.items()
        ]
        out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == MEMORY_CHILD:
        memory_child(sys.argv[2], sys.argv[3:])
    else:
        main()
