#!/usr/bin/env python3
"""Runs every benchmark and writes BENCHMARKS.md, a chart, and an audit of the backend choices.

    python script/bench-all.py            # full run: the real numbers (tens of minutes)
    python script/bench-all.py --quick    # every script in --quick mode (a few minutes)
    python script/bench-all.py fs edit    # only these benchmarks (bench-fs.py, bench-edit.py)

Each `script/bench-*.py` runs in its own process and writes its JSON report to `bench-out/`.
From those reports this script writes `BENCHMARKS.md` (the migration plan's "Performance Targets"
table re-measured in Python, then one table per benchmark), `BENCHMARKS.png` beside it (speedup by module
and by input size), and the headline table into README.md. It then audits
`ironcode/backend.py`: a default that the fresh numbers contradict by more than
AUDIT_MARGIN is flagged in the report and makes the script exit 1.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchlib import (
    ROOT,
    Bench,
    Row,
    cell_text,
    fmt_time,
    machine,
    markdown_table,
    run_text,
    speedup_text,
)

from ironcode import backend

SCRIPT_DIR = ROOT / "script"
OUT_DIR = ROOT / "bench-out"
REPORT = ROOT / "BENCHMARKS.md"
README = ROOT / "README.md"
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"
#: A default is contradicted only when the other backend is faster by more than this factor, so
#: noise in a close call (e.g. fsync-bound writes) does not flip a decision.
AUDIT_MARGIN = 1.10


@dataclass(frozen=True)
class Target:
    """A row of the migration plan's Performance Targets table, and where we measure it."""

    module: str
    bench: str
    case: str  #: regex matched at the start of case names; the last (largest) match is the headline
    plan: str  #: the migration plan's goal and figure
    op: str  #: the DECISIONS key whose default the row shows
    peer: str = ""  #: a peer impl in the same rows (rg, git, unzip)


#: The plan's table (its "Speedup Goal" and "Actual Achieved" columns), then rows it does not have.
TARGETS = [
    Target("Edit/Replace", "edit", r".* lines, fuzzy$", "goal 20x; 6.03x (10K lines)", "edit_replace"),
    Target("File Search (grep)", "grep", "stdlib, import os", "goal 10x; kept rg", "grep", "rg"),
    Target(
        "Fuzzy Search",
        "fuzzy-all",
        r"\d+K? · util",
        "goal 10x; kept fuzzysort (Rust 1.5-3.5x slower)",
        "fuzzy_search",
    ),
    Target("Bash Parsing", "bash-parse", "parse all", "goal 15x; 50-100x (0.020 ms a command)", "parse_bash"),
    Target("Git Status", "vcs", "this repo", "goal 10x; 1.83x (9.43 ms)", "vcs_info", "git-2spawn"),
    Target(
        "File Listing", "file-list", "stdlib", "goal 2x; 1.37x (11.50 ms) vs spawning rg", "file_list", "rg"
    ),
    Target("PTY I/O", "pty", "workflow", "goal 10x; 15.29x (3.80 ms) vs Bun's PTY", "Terminal"),
    Target("Lock Operations", "lock", "", "goal 10x; 0.79x (kept TypeScript)", "RWLock"),
    Target("Glob", "glob", r"stdlib, \*\*/", "2.99x vs spawning rg (not in the table)", "glob", "rg"),
    Target("File Watcher", "watcher", "latency", "kept @parcel/watcher (4% slower single file)", "Watcher"),
    Target("Read", "fs", "read ", "— (not in the plan)", "read"),
    Target("Extract", "fs", "extract ", "— (not in the plan)", "extract", "unzip"),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="benchmark names to run (fs, edit, ...); default: all")
    parser.add_argument("--quick", action="store_true", help="run every benchmark in --quick mode")
    parser.add_argument("--no-run", action="store_true", help="only rebuild the report from the JSON reports")
    parser.add_argument(
        "--report", type=Path, default=REPORT, help="where to write the report (default: BENCHMARKS.md)"
    )
    parser.add_argument(
        "--json-dir", type=Path, default=OUT_DIR, help="where the JSON reports go (default: bench-out/)"
    )
    parser.add_argument("--no-readme", action="store_true", help="leave README.md's headline table alone")
    return parser.parse_args(argv)


def scripts(selected: list[str]) -> list[Path]:
    found = sorted(p for p in SCRIPT_DIR.glob("bench-*.py") if p.name != "bench-all.py")
    names = {p.stem.removeprefix("bench-"): p for p in found}
    unknown = [m for m in selected if m not in names]
    if unknown:
        sys.exit(f"bench-all: no benchmark named {', '.join(unknown)} (have: {', '.join(names)})")
    return [names[m] for m in selected] if selected else found


def progress(done: int, total: int, label: str, width: int = 30) -> None:
    filled = int(width * done / total) if total else width
    bar = "#" * filled + "-" * (width - filled)
    print(
        f"\r[{bar}] {done}/{total} {label:<40}", end="" if done < total else "\n", file=sys.stderr, flush=True
    )


def run_all(paths: list[Path], quick: bool, out_dir: Path) -> dict[str, str]:
    """Runs each script; returns name -> error text for the ones that failed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    failures: dict[str, str] = {}
    for i, path in enumerate(paths):
        name = path.stem.removeprefix("bench-")
        progress(i, len(paths), f"running {path.name}")
        cmd = [sys.executable, str(path), "--json", str(out_dir / f"{path.stem}.json")]
        if quick:
            cmd.append("--quick")
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        (out_dir / f"{path.stem}.txt").write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            failures[name] = (proc.stderr or proc.stdout).strip().splitlines()[-1:] and (
                (proc.stderr or proc.stdout).strip().splitlines()[-1]
            )
        progress(i + 1, len(paths), f"{path.name} {time.perf_counter() - started:.0f} s")
    return failures


def load_reports(out_dir: Path) -> dict[str, dict]:
    reports = {}
    for path in sorted(out_dir.glob("bench-*.json")):
        if path.stem == "bench-all":
            continue
        data = json.loads(path.read_text())
        reports[data["bench"]] = data
    return reports


def as_bench(report: dict) -> Bench:
    bench = Bench.__new__(Bench)
    bench.name = report["bench"]
    bench.description = ""
    bench.args = argparse.Namespace(quick=report.get("quick", False), json=None)
    bench.rows = [
        Row(
            **{k: r.get(k) for k in ("case", "impl", "median_s", "p95_s", "n", "peak_mb")},
            note=r.get("note", ""),
        )
        for r in report["rows"]
    ]
    bench.notes = report.get("notes", [])
    bench.plan = report.get("plan", {})
    bench.started = report.get("run", {}).get("started", {})
    return bench


def headline(report: dict, pattern: str) -> tuple[str, dict[str, float]] | None:
    """The last (largest) case matching ``pattern`` at its start that has native and python times."""
    cases: dict[str, dict[str, float]] = {}
    for row in report["rows"]:
        if re.match(pattern, row["case"]) and row.get("median_s"):
            cases.setdefault(row["case"], {})[row["impl"]] = row["median_s"]
    both = [(c, t) for c, t in cases.items() if pick(t, "native") and pick(t, "python")]
    return both[-1] if both else None


def pick(times: dict[str, float], side: str) -> float | None:
    """The time of ``native``/``python``, or of its fastest variant (``native-*``)."""
    if side in times:
        return times[side]
    variants = [t for impl, t in times.items() if impl.startswith(side + "-")]
    return min(variants) if variants else None


def targets_table(reports: dict[str, dict]) -> list[str]:
    lines = [
        "| module (headline case) | Python twin | Rust native | native vs twin | peer | migration plan | default |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in TARGETS:
        default = backend.DECISIONS[t.op].backend if t.op in backend.DECISIONS else "—"
        report = reports.get(t.bench)
        found = headline(report, t.case) if report else None
        if not found:
            lines.append(f"| {t.module} | not measured | | | | {t.plan} | {default} |")
            continue
        case, times = found
        native, python = pick(times, "native"), pick(times, "python")
        peer = ""
        if t.peer and times.get(t.peer):
            peer = f"{t.peer} {fmt_time(times[t.peer])} (native {speedup_text(times[t.peer], native)})"
        lines.append(
            f"| {t.module} ({cell_text(case)}) | {fmt_time(python)} | {fmt_time(native)} | "
            f"{speedup_text(python, native)} | {peer} | {t.plan} | {default} |"
        )
    return lines


def audit(reports: dict[str, dict]) -> tuple[list[str], list[str]]:
    """(report lines, contradictions): each decision re-checked against its evidence rows."""
    lines = [
        "| op | default | evidence | native wins | median python/native | verdict |",
        "|---|---|---|---|---|---|",
    ]
    contradictions = []
    for op, d in backend.DECISIONS.items():
        if not d.evidence:
            lines.append(
                f"| {op} | {d.backend} | — | | | not audited (decided on other grounds: {d.reason}) |"
            )
            continue
        bench, prefix = d.evidence
        report = reports.get(bench)
        if not report:
            lines.append(f"| {op} | {d.backend} | {bench}: {prefix!r} | | | not run |")
            continue
        cases: dict[str, dict[str, float]] = {}
        for row in report["rows"]:
            if row["case"].startswith(prefix) and row.get("median_s"):
                cases.setdefault(row["case"], {})[row["impl"]] = row["median_s"]
        ratios = [
            pick(t, "python") / pick(t, "native")
            for t in cases.values()
            if pick(t, "native") and pick(t, "python")
        ]
        if not ratios:
            lines.append(f"| {op} | {d.backend} | {bench}: {prefix!r} | | | no rows |")
            continue
        ratios.sort()
        median = ratios[len(ratios) // 2]
        wins = sum(r > 1 for r in ratios)
        contradicted = (d.backend == "native" and median < 1 / AUDIT_MARGIN) or (
            d.backend == "python" and median > AUDIT_MARGIN
        )
        verdict = "**CONTRADICTED**" if contradicted else "holds"
        if contradicted:
            contradictions.append(
                f"{op}: default {d.backend}, but python/native = {median:.2f} over {bench} {prefix!r}"
            )
        lines.append(
            f"| {op} | {d.backend} | {bench}: {prefix!r} | {wins}/{len(ratios)} | {median:.2f} | {verdict} |"
        )
    return lines, contradictions


def size_series(report: dict) -> dict[str, list[tuple[float, float]]]:
    """Cases that differ only by a number: label -> [(size, python/native)]."""
    groups: dict[str, list[tuple[float, float]]] = {}
    cases: dict[str, dict[str, float]] = {}
    for row in report["rows"]:
        if row.get("median_s"):
            cases.setdefault(row["case"], {})[row["impl"]] = row["median_s"]
    for case, times in cases.items():
        native, python = pick(times, "native"), pick(times, "python")
        m = re.search(r"(\d[\d,]*(?:\.\d+)?)(?:\s*(KB|MB|K|M|B)\b)?", case)
        if not (native and python and m):
            continue
        size = float(m.group(1).replace(",", "")) * {"K": 1e3, "M": 1e6, "KB": 1e3, "MB": 1e6}.get(
            m.group(2) or "", 1
        )
        label = f"{report['bench']}: " + (case[: m.start()] + "N" + case[m.end() :]).strip()
        groups.setdefault(label, []).append((size, python / native))
    return {k: sorted(v) for k, v in groups.items() if len(v) >= 3}


def chart(reports: dict[str, dict], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5.5))
    names, values = [], []
    for t in TARGETS:
        found = headline(reports[t.bench], t.case) if t.bench in reports else None
        if found:
            names.append(t.module)
            values.append(pick(found[1], "python") / pick(found[1], "native"))
    colors = ["tab:green" if v >= 1 else "tab:red" for v in values]
    left.barh(names, values, color=colors)
    for y, v in enumerate(values):
        left.text(v, y, f" {v:.2f}x", va="center", fontsize=8)
    left.axvline(1, color="black", linewidth=0.8)
    left.set_xscale("log")
    left.set_xlabel("speedup of native over the Python twin (log; >1: native faster)")
    left.set_title("By module (headline case)")
    left.invert_yaxis()
    for name, report in reports.items():
        if name == "ffi":  # its "python" rows are a no-op reference, not a twin
            continue
        for label, points in size_series(report).items():
            xs, ys = zip(*points, strict=True)
            right.plot(xs, ys, marker="o", label=label)
    right.axhline(1, color="black", linewidth=0.8)
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("input size (lines, entries, items, bytes)")
    right.set_ylabel("python / native")
    right.set_title("By input size")
    if right.lines:
        right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_report(
    reports: dict[str, dict],
    quick: bool,
    failures: dict[str, str],
    chart_path: Path | None,
    report: Path,
    readme: bool,
) -> list[str]:
    m = machine()
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    audit_lines, contradictions = audit(reports)
    targets = targets_table(reports)
    out = [
        "# ironcode benchmarks",
        "",
        f"Generated by `python script/bench-all.py{' --quick' if quick else ''}` on {when}.",
        f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}."
        + (" **Quick mode: few runs, numbers are smoke values.**" if quick else ""),
        "",
        "Method: every benchmark checks that all implementations return the same result before",
        "timing them; times are wall-clock medians after a warm-up, measured side by side in one run",
        "(ratios are meaningful, absolute times are noisy on a shared machine). `native` is the Rust",
        "library through ctypes, `python` the pure-Python twin; other columns are variants or peers.",
        "Each module's section ends with when it ran and the machine's load average then.",
        "",
        "## Performance targets (the migration plan's table, re-measured in Python)",
        "",
        *targets,
        "",
    ]
    if chart_path:
        out += [f"![speedup by module and by input size]({chart_path.name})", ""]
    out += ["## Audit of the backend defaults (ironcode/backend.py)", "", *audit_lines, ""]
    if contradictions:
        out += ["**Contradicted defaults:**", "", *[f"- {c}" for c in contradictions], ""]
    if failures:
        out += ["## Benchmarks that failed", "", *[f"- {k}: {v}" for k, v in failures.items()], ""]
    for name in sorted(reports):
        bench = as_bench(reports[name])
        out += [markdown_table(bench).replace(f"## {name}", f"## {name}", 1), ""]
        out += [f"- {n}" for n in bench.notes] + [f"- {run_text(reports[name].get('run'))}", ""]
    report.write_text("\n".join(out))
    if readme:
        update_readme(targets, when, quick)
    return contradictions


def update_readme(targets: list[str], when: str, quick: bool) -> None:
    if not README.exists():
        return
    text = README.read_text()
    if README_START not in text or README_END not in text:
        return
    block = "\n".join(
        [
            README_START,
            "",
            *targets,
            "",
            f"Measured {when}{' (quick mode)' if quick else ''}; details in [BENCHMARKS.md](BENCHMARKS.md).",
            "",
            README_END,
        ]
    )
    start, end = text.index(README_START), text.index(README_END) + len(README_END)
    README.write_text(text[:start] + block + text[end:])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    failures = {} if args.no_run else run_all(scripts(args.modules), args.quick, args.json_dir)
    reports = load_reports(args.json_dir)
    chart_path = args.report.with_suffix(".png")
    charted = chart(reports, chart_path)
    contradictions = write_report(
        reports, args.quick, failures, chart_path if charted else None, args.report, not args.no_readme
    )
    print(f"wrote {args.report}" + (f" and {chart_path}" if charted else ""))
    for c in contradictions:
        print(f"CONTRADICTED: {c}", file=sys.stderr)
    for name, error in failures.items():
        print(f"FAILED: bench-{name}.py: {error}", file=sys.stderr)
    return 1 if contradictions or failures else 0


if __name__ == "__main__":
    sys.exit(main())
