#!/usr/bin/env python3
"""Benchmark the edit engine: the replacer chain on realistic code, Python twin vs Rust FFI.

Reproduces the migration plan's table (10, 100, 1K, 5K and 10K-line files) for three paths:

- ``exact``: a unique snippet of the file, found by the first step;
- ``fuzzy``: a block of the file re-indented, so the exact step fails and line_trimmed finds it;
- ``no match``: a block that is not in the file, so every strategy of the chain runs.

Impls: ``python`` (the twin), ``native`` (``ironcode.ffi``), and ``native-dispatch``
(``ironcode.edit_replace`` as dispatched with the native backend: a Python exact fast path,
then the library). Every impl's answer (the edited text, or the error kind) is checked equal
before timing.

    python script/bench-edit.py [--quick] [--json out.json]
"""

from __future__ import annotations

import random

from benchlib import Bench

import ironcode
from ironcode import IronCodeError, ffi
from ironcode import backend as backend_mod
from ironcode.twin import edit as twin

SIZES = [(10, "10"), (100, "100"), (1_000, "1K"), (5_000, "5K"), (10_000, "10K")]
PATHS = ("exact", "fuzzy", "no match")
#: The migration plan's table (TypeScript vs its Rust port, `bun script/bench-edit.ts`).
PLAN = {
    "10": "TS 61.57 µs · Rust 30.06 µs (2.05x)",
    "100": "TS 419.84 µs · Rust 250.86 µs (1.67x)",
    "1K": "TS 6.17 ms · Rust 2.78 ms (2.22x)",
    "5K": "TS 126.06 ms · Rust 29.67 ms (4.25x)",
    "10K": "TS 451.59 ms · Rust 74.88 ms (6.03x)",
}

WORDS = (
    "user request response value index item result config path name data count total "
    "buffer token entry record state cache handler client session message payload"
).split()


def make_function(rng: random.Random, number: int) -> list[str]:
    """One method of a class: a signature, a docstring, a body with nesting, a return."""
    a, b, c = rng.sample(WORDS, 3)
    lines = [
        f"    def {a}_{b}_{number}(self, {c}, *, limit=None):",
        f'        """Return the {a} of {c} after applying {b} rules."""',
        f"        {a} = self.{b}s.get({c}.id, {number})",
    ]
    for _ in range(rng.randint(2, 6)):
        x, y = rng.sample(WORDS, 2)
        kind = rng.random()
        if kind < 0.3:
            lines += [f"        if {x} is not None and {x}.{y}:", f"            {a} += len({x}.{y})"]
        elif kind < 0.5:
            lines += [
                f"        for {x} in {c}.{y}s:",
                f"            # skip {x}s without a {y}",
                f"            if not {x}:",
                "                continue",
                f"            {a} = self._merge({a}, {x})",
            ]
        elif kind < 0.7:
            lines += [f"        {x} = {{'{y}': {a}, 'limit': limit or {rng.randint(1, 999)}}}"]
        else:
            lines += [f"        self.log.debug('{x} %s for %s', {a}, {c})"]
    lines += [f"        return {a}", ""]
    return lines


def make_file(n_lines: int, seed: int = 7) -> tuple[str, list[int]]:
    """About ``n_lines`` lines of Python-like code, and where each method starts."""
    rng = random.Random(seed)
    lines = ['"""Generated module for the edit benchmark."""', "", "import logging", "", ""]
    if n_lines < 50:
        lines = []
    starts = []
    number = 0
    while len(lines) < n_lines:
        if number % 12 == 0:
            lines += [f"class Service{number // 12}:", f'    """Service number {number // 12}."""', ""]
        starts.append(len(lines))
        lines += make_function(rng, number)
        number += 1
    return "\n".join(lines[:n_lines]) + "\n", starts


def cases_for(n_lines: int) -> dict[str, tuple[str, str, str]]:
    content, starts = make_file(n_lines)
    lines = content.split("\n")
    middle = [s for s in starts if s + 6 <= len(lines)]
    start = middle[len(middle) // 2] if middle else 0
    exact = "\n".join(lines[start : start + 3])
    block = lines[start : start + 6]
    # Re-indented by 4 to the left: not in the file exactly, found by line_trimmed.
    fuzzy = "\n".join(line[4:] if line.startswith("    ") else line for line in block)
    missing = "\n".join(
        [
            "    def handle_missing_request(self, request, *, retries=3):",
            '        """Retry a request that the upstream service dropped."""',
            "        attempt = self.backoff.first(request.deadline)",
            "        while attempt.remaining and not request.cancelled:",
            "            outcome = self.transport.resend(request, attempt)",
            "        return outcome",
        ]
    )
    assert content.count(exact) == 1 and fuzzy not in content and missing not in content
    return {
        "exact": (content, exact, exact.replace("self.", "this.")),
        "fuzzy": (content, fuzzy, fuzzy.replace("self.", "this.")),
        "no match": (content, missing, "    pass"),
    }


def answer(fn, *args):
    """The edited text, or the error kind: what every impl must agree on."""
    try:
        return fn(*args)
    except IronCodeError as e:
        return ("error", e.kind)


def run_cases(bench: Bench, sizes: list[tuple[int, str]], impls: dict) -> None:
    for n_lines, label in sizes:
        for path, (content, old, new) in cases_for(n_lines).items():
            case = f"{label} lines, {path}"
            bench.plan[case] = PLAN[label]
            bench.same(
                case, {impl: (lambda f=fn: answer(f, content, old, new)) for impl, fn in impls.items()}
            )
            for impl, fn in impls.items():
                bench.time(case, impl, lambda f=fn: answer(f, content, old, new))


def main() -> None:
    bench = Bench("edit", "edit_replace on realistic code: Python twin vs Rust FFI")
    sizes = SIZES[:3] if bench.quick else SIZES
    # native-dispatch is the public function with the native backend chosen once for the whole
    # run, so no per-call `use()` is timed.
    impls = {
        "python": twin.edit_replace,
        "native": ffi.edit_replace,
        "native-dispatch": ironcode.edit_replace,
    }
    with backend_mod.use("native"):
        run_cases(bench, sizes, impls)
    bench.note(
        "Target (issue 3): native ≥ 20x the twin on the 10K-line fuzzy and no-match rows; the "
        "plan's own Rust port reached 6.03x over TypeScript. `native-dispatch` is the default "
        "`ironcode.edit_replace`: an exact `old` is tried in Python below 64K characters, the rest "
        "goes native."
    )
    bench.note("Times are medians; ratios are side by side in one run. The CI machine has 2 shared cores.")
    bench.finish()


if __name__ == "__main__":
    main()
