"""``ironcode demo``: a few tools over a folder on both backends, with timings side by side.

Each step is (tool, what it runs, a call taking the backend name). Steps are run on both
backends, their answers compared, and the median of a few runs shown.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import zipfile
from collections.abc import Callable
from typing import Any

from . import backend
from .backend import implementation


def _summary(value: Any) -> str:
    if isinstance(value, dict):
        if "bytes" in value:
            return f"{value['bytes']:,} bytes written"
        if "cpu_percent" in value:
            return f"cpu {value['cpu_percent']:.0f} %, memory {value['memory_used_mb']:.0f} MB used"
        for key in ("total_lines", "files", "matches", "commands"):
            if key in value:
                item = value[key]
                return f"{len(item) if isinstance(item, list) else item} {key.replace('_', ' ')}"
        return ", ".join(f"{k}={v}" for k, v in list(value.items())[:2])
    if isinstance(value, list):
        return f"{len(value)} items"
    return str(value)[:40]


def steps(root: str, scratch: str) -> list[tuple[str, str, Callable[[str], Any], bool]]:
    """(tool, description, call(backend), compare answers?) for the folder ``root``."""
    readme = next(
        (
            os.path.join(root, n)
            for n in ("README.md", "README", "README.rst")
            if os.path.isfile(os.path.join(root, n))
        ),
        None,
    )
    archive = os.path.join(scratch, "demo.zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(50):
            zf.writestr(f"pkg/module_{i}.py", f"# module {i}\n" * 50)
    counter = iter(range(10**9))

    def op(name: str, *args: Any) -> Callable[[str], Any]:
        return lambda be: implementation(name, be)(*args)

    out = []
    if readme:
        out.append(("read", os.path.relpath(readme, root), op("read", readme), True))
    out += [
        ("ls", f"{root} (all files)", op("ls", root, None, None), True),
        (
            "write",
            "64 KB file",
            lambda be: implementation("write", be)(os.path.join(scratch, "w.txt"), "x" * 65536),
            False,
        ),
        (
            "extract",
            "zip, 50 entries",
            lambda be: implementation("extract", be)(archive, os.path.join(scratch, f"x{next(counter)}")),
            False,
        ),
        ("stats", "cpu + memory", op("stats"), False),
    ]
    return out


def run_demo(path: str = ".", runs: int = 5) -> dict:
    root = os.path.abspath(path)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ironcode-demo-") as scratch:
        for tool, what, call, compare in steps(root, scratch):
            timings: dict[str, float] = {}
            answers: dict[str, Any] = {}
            for be in backend.BACKENDS:
                answers[be] = call(be)
                samples = []
                for _ in range(max(1, runs)):
                    t0 = time.perf_counter()
                    call(be)
                    samples.append(time.perf_counter() - t0)
                timings[be] = statistics.median(samples)
            same = answers["native"] == answers["python"] if compare else None
            rows.append(
                {
                    "tool": tool,
                    "input": what,
                    "native_ms": round(timings["native"] * 1e3, 3),
                    "python_ms": round(timings["python"] * 1e3, 3),
                    "speedup": round(timings["python"] / timings["native"], 2) if timings["native"] else None,
                    "same_answer": same,
                    "result": _summary(
                        answers[backend.choose(tool) if tool in backend.DECISIONS else "native"]
                    ),
                    "default": backend.choose(tool) if tool in backend.DECISIONS else "native",
                }
            )
    return {"path": root, "runs": runs, "rows": rows}


def format_demo(report: dict) -> str:
    head = ["tool", "input", "native", "python", "native vs python", "same answer", "default", "result"]
    body = []
    for r in report["rows"]:
        ratio = r["speedup"]
        speed = (
            "" if ratio is None else (f"{ratio:.2f}x faster" if ratio >= 1 else f"{1 / ratio:.2f}x slower")
        )
        same = {True: "yes", False: "NO", None: "n/a"}[r["same_answer"]]
        body.append(
            [
                r["tool"],
                r["input"],
                f"{r['native_ms']:.3f} ms",
                f"{r['python_ms']:.3f} ms",
                speed,
                same,
                r["default"],
                r["result"],
            ]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=False)]

    def line(cells: list[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()

    out = [f"ironcode demo over {report['path']} (median of {report['runs']} runs per backend)", ""]
    out.append(line(head))
    out.append(line(["-" * w for w in widths]))
    out += [line(row) for row in body]
    return "\n".join(out)
