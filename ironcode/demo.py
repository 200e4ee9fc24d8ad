"""``ironcode demo``: every tool family over a folder on both backends, timings side by side.

Each :class:`Step` is one row: a tool, what it runs on, the operation of ``backend.DECISIONS``
it exercises (so the row shows the default backend, and a test can check that every family of
the table has a row), and a call taking the backend name. Every step runs on both backends; the
answers are compared where both backends must agree, and the median of a few runs is shown.

Everything that writes works in one temporary folder, removed at the end: the edit works on a
copy, git status on a clone, the watcher on a folder of its own. The folder shown is only read.

Adding a row is one line in :func:`steps`; the material it needs (a file, a clone) comes from
:class:`Scene`.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import backend
from .backend import implementation
from .errors import IronCodeError

#: Bytes the write step writes.
WRITE_BYTES = 64 * 1024
#: Entries of the zip the extract step unpacks.
ARCHIVE_ENTRIES = 50
#: What the grep, glob and fuzzy steps look for (the repository's own Python and Rust).
GREP_PATTERN = r"\bfn \w+|\bdef \w+"
GLOB_PATTERN = "**/*.py"
FUZZY_QUERY = "clipy"
FUZZY_LIMIT = 20
#: A command line with a pipeline, a list, a redirection and a cd, as an agent's bash tool sees.
BASH_COMMAND = "cd src && cat file.txt | grep 'pattern' | sort | uniq > out.txt; git log --oneline -5"
#: The short program the pty step runs, and how long any wait in the demo may take.
PTY_COMMAND = ["/bin/sh", "-c", "echo $((6 * 7))"]
WAIT_S = 10.0
#: Lines of the block the edit step finds with a fuzzy strategy (its indentation is changed).
EDIT_BLOCK_LINES = 3
#: A file in Codex's apply_patch format updates (its own scratch copy), and the patch: one update,
#: one new file. Applied as a dry run, so every run sees the same file.
PATCH_TARGET = "alpha\nbeta\ngamma\n"
PATCH = (
    "*** Begin Patch\n*** Update File: notes.txt\n@@\n alpha\n-beta\n+beta, patched\n gamma\n"
    "*** Add File: added.txt\n+a new file\n*** End Patch\n"
)
#: The toolbox row: a model's three calls on a file of its own (read, an edit quoted without the
#: file's indentation, a content grep), through ironcode.agent.Toolbox on one backend.
TOOLBOX_FILE = "calc.py"
TOOLBOX_SOURCE = "class Calc:\n    def add(self, a, b):\n        return a - b\n"
TOOLBOX_CALLS = [
    ("read", {"file_path": TOOLBOX_FILE}),
    ("edit", {"file_path": TOOLBOX_FILE, "old_string": "return a - b", "new_string": "return a + b"}),
    ("grep", {"pattern": r"return a \+ b", "output_mode": "content"}),
]
#: The identity git needs for the commit of a scratch repository (a folder that is none).
GIT_IDENTITY = ["-c", "user.name=ironcode demo", "-c", "user.email=demo@ironcode.invalid"]


@dataclass(frozen=True)
class Step:
    """One row of the demo."""

    tool: str
    input: str
    #: the key of backend.DECISIONS this step exercises; None for a step over several operations
    #: (each then runs on its default backend unless the step's call forces one)
    op: str | None
    call: Callable[[str], Any]  #: backend name -> answer
    compare: bool = True  #: both backends must give the same answer
    prepare: Callable[[], None] | None = None  #: untimed, before every call (resets scratch state)
    summary: Callable[[Any], str] | None = None


class Scene:
    """The folder shown (``root``, only read) and the scratch material the steps need."""

    def __init__(self, root: str, scratch: str) -> None:
        self.root, self.scratch = root, scratch
        self.files: list[str] = implementation("file_list", "native" if _native() else "python")(
            root, None, True, False, None
        )
        self.text_file = self._readme() or self._own_file()
        with open(self.text_file, encoding="utf-8") as f:
            found = fuzzy_edit(f.read())
        # The README's copy is edited; a README without a block to edit, the demo's own file.
        self.edit_source = self.text_file if found else self._own_file()
        with open(self.edit_source, "rb") as f:
            self.edit_original = f.read()
        self.edit_old, self.edit_new = found or fuzzy_edit(self.edit_original.decode())
        self.edit_copy = os.path.join(scratch, "edit", os.path.basename(self.edit_source))
        os.makedirs(os.path.dirname(self.edit_copy))
        self.archive = os.path.join(scratch, "demo.zip")
        with zipfile.ZipFile(self.archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for i in range(ARCHIVE_ENTRIES):
                zf.writestr(f"pkg/module_{i}.py", f"# module {i}\n" * 50)
        self.patch_dir = os.path.join(scratch, "patch")
        os.mkdir(self.patch_dir)
        with open(os.path.join(self.patch_dir, "notes.txt"), "w") as f:
            f.write(PATCH_TARGET)
        self.toolbox_dir = os.path.join(scratch, "toolbox")
        os.mkdir(self.toolbox_dir)
        self.reset_toolbox_file()
        self.watched = os.path.join(scratch, "watched")
        os.mkdir(self.watched)
        self.clone, self.clone_note = self._git_clone()

    def reset_toolbox_file(self) -> None:
        with open(os.path.join(self.toolbox_dir, TOOLBOX_FILE), "w") as f:
            f.write(TOOLBOX_SOURCE)

    def _readme(self) -> str | None:
        """The folder's README, if it has a UTF-8 one."""
        for name in ("README.md", "README", "README.rst"):
            path = os.path.join(self.root, name)
            try:
                with open(path, encoding="utf-8") as f:
                    f.read()
                return path
            except (OSError, UnicodeDecodeError):
                continue
        return None

    def _own_file(self) -> str:
        """A text file of the demo's own, in the scratch folder."""
        path = os.path.join(self.scratch, "steps.py")
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(
                    "".join(f"def step_{i}():\n    value = {i}\n    return value * 2\n\n" for i in range(20))
                )
        return path

    def _git_clone(self) -> tuple[str | None, str]:
        """A clone of the repository holding ``root`` (or a new repository when it is none), with
        one tracked file changed and one file added: (its path, what it is), or (None, why not)."""
        git = shutil.which("git")
        if git is None:
            return None, "git is not installed"
        clone = os.path.join(self.scratch, "clone")
        env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")

        def run(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess:
            return subprocess.run([git, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)

        top = run("rev-parse", "--show-toplevel", cwd=self.root)
        if top.returncode == 0:
            # --shared borrows the objects (nothing copied, nothing written in the original).
            made = run("clone", "--quiet", "--shared", top.stdout.strip(), clone)
            what = "a clone of this repository"
        else:
            os.mkdir(clone)
            with open(os.path.join(clone, "README.md"), "w") as f:
                f.write("# scratch\n")
            made = run("init", "--quiet", clone)
            made = made if made.returncode else run("add", "README.md", cwd=clone)
            made = made if made.returncode else run(*GIT_IDENTITY, "commit", "-qm", "start", cwd=clone)
            what = "a new repository (the folder is none)"
        if made.returncode != 0:
            return None, f"git could not make the scratch repository: {made.stderr.strip()[:200]}"
        tracked = run("ls-files", cwd=clone).stdout.splitlines()
        if tracked:
            with open(os.path.join(clone, tracked[0]), "a") as f:
                f.write("\nchanged by ironcode demo\n")
        with open(os.path.join(clone, "demo-new-file.txt"), "w") as f:
            f.write("new\n")
        return clone, f"{what}, 1 file changed, 1 added"

    def reset_edit_copy(self) -> None:
        with open(self.edit_copy, "wb") as f:
            f.write(self.edit_original)


def _native() -> bool:
    from . import ffi

    return ffi.available()


def fuzzy_edit(text: str) -> tuple[str, str] | None:
    """(old, new) for an edit that only a fuzzy strategy finds: a block of lines that occurs once,
    given with its indentation changed (so the exact search misses and the trimmed-lines strategy
    matches), replaced by itself plus one line; None if the text has no such block."""
    lines = text.split("\n")
    for i in range(len(lines) - EDIT_BLOCK_LINES):
        block = lines[i : i + EDIT_BLOCK_LINES]
        if not all(line.strip() for line in block):
            continue
        if text.count("\n".join(block)) != 1:
            continue
        shifted = ["    " + line.strip() for line in block]
        old = "\n".join(shifted)
        if old in text:
            continue
        return old, old + "\n    (edited by ironcode demo)"
    return None


def op(name: str, *args: Any) -> Callable[[str], Any]:
    """A step call: operation ``name`` on the given backend with ``args``."""
    return lambda be: implementation(name, be)(*args)


def pty_output(be: str) -> str:
    session = implementation("Terminal", be)(PTY_COMMAND, ".", 24, 80, None)
    try:
        session.wait(WAIT_S)
        return session.buffer().decode("utf-8", "replace")
    finally:
        session.close()


def one_event(scene: Scene, be: str) -> list[tuple[str, str]]:
    """Start a watcher, create a file, take the first event, stop."""
    with implementation("Watcher", be)(scene.watched, None, 1000) as watcher:
        with open(os.path.join(scene.watched, "probe.txt"), "w") as f:
            f.write("x")
        events = watcher.wait(WAIT_S)
    return [(os.path.basename(e["path"]), e["kind"]) for e in events[:1]]


def toolbox_session(scene: Scene, be: str) -> list[str]:
    """The texts a model reads for :data:`TOOLBOX_CALLS`, every call through one toolbox."""
    from .agent import Toolbox

    with backend.use(be), Toolbox(roots=[scene.toolbox_dir], bash=False) as box:
        results = [box.call(name, args) for name, args in TOOLBOX_CALLS]
    failed = [r.text for r in results if r.is_error]
    if failed:
        raise IronCodeError("io", f"the toolbox row failed: {failed[0]}")
    return [r.text for r in results]


def remove(path: str) -> None:
    if os.path.lexists(path):
        os.unlink(path)


def lock_round(be: str) -> dict:
    """A write hold, then a read hold of one key; the registry's counts inside each and after."""
    lock = implementation("RWLock", be)("ironcode-demo")
    counts = implementation("lock_stats", be)
    with lock.write(timeout=WAIT_S):
        writing = counts()
    with lock.read(timeout=WAIT_S):
        reading = counts()
    return {"writing": writing, "reading": reading, "after": counts()}


def git_status_summary(status: dict) -> str:
    return f"branch {status['branch']}, {len(status['files'])} changed files"


def steps(scene: Scene) -> list[Step]:
    """The demo's rows, one tool family each (a test checks every family of DECISIONS is here).

    A new family is one more entry.
    """
    root, s = scene.root, scene
    extracted = os.path.join(scene.scratch, "extracted")
    written = os.path.join(scene.scratch, "written.txt")
    rel = (
        os.path.relpath(s.text_file, root)
        if Path(s.text_file).is_relative_to(root)
        else f"{os.path.basename(s.text_file)} (the demo's own)"
    )
    out = [
        Step("read", rel, "read", op("read", s.text_file, 1, 2000)),
        Step(
            "write",
            f"{WRITE_BYTES // 1024} KB file",
            "write",
            op("write", written, "x" * WRITE_BYTES),
            prepare=lambda: remove(written),
        ),
        Step("ls", "all files", "ls", op("ls", root, None, None)),
        Step(
            "edit",
            f"fuzzy edit of a copy of {os.path.basename(s.edit_source)}",
            "edit_file",
            op("edit_file", s.edit_copy, s.edit_old, s.edit_new, False),
            prepare=s.reset_edit_copy,
            summary=lambda r: f"+{r['additions']} -{r['deletions']} lines",
        ),
        Step(
            "patch",
            "update + add, dry run",
            "apply_patch",
            op("apply_patch", PATCH, s.patch_dir, True),
            summary=lambda r: ", ".join(f"{f['action']} {f['path']}" for f in r["files"]),
        ),
        Step(
            "grep",
            GREP_PATTERN,
            "grep",
            op("grep", GREP_PATTERN, root, None, 100, False),
            summary=lambda r: f"{r['total']} matches, first {len(r['matches'])} returned",
        ),
        Step(
            "glob",
            GLOB_PATTERN,
            "glob",
            op("glob", GLOB_PATTERN, root, 100),
            summary=lambda r: f"{r['total']} files",
        ),
        Step(
            "files",
            "rg --files --hidden",
            "file_list",
            op("file_list", root, None, True, False, None),
            summary=lambda r: f"{len(r)} files",
        ),
        Step("parse-bash", BASH_COMMAND, "parse_bash", op("parse_bash", BASH_COMMAND, root)),
        Step(
            "fuzzy",
            f"{FUZZY_QUERY!r} in {len(s.files)} files",
            "fuzzy_search",
            op("fuzzy_search", FUZZY_QUERY, s.files, FUZZY_LIMIT, None),
            compare=False,
            summary=lambda r: f"best: {r[0]}" if r else "no match",
        ),
        Step("pty", " ".join(PTY_COMMAND), "Terminal", pty_output, summary=lambda r: repr(r)),
        Step(
            "watcher",
            "start, 1 file created, 1 event",
            "Watcher",
            lambda be: one_event(s, be),
            prepare=lambda: remove(os.path.join(s.watched, "probe.txt")),
            summary=lambda r: " ".join(r[0][::-1]) if r else "no event",
        ),
        Step(
            "lock",
            "write then read hold",
            "RWLock",
            lock_round,
            summary=lambda r: (
                f"{r['writing']['active_writers']} writer, then {r['reading']['active_readers']} reader"
            ),
        ),
        Step(
            "extract",
            f"zip, {ARCHIVE_ENTRIES} entries",
            "extract",
            op("extract", s.archive, extracted),
            prepare=lambda: shutil.rmtree(extracted, ignore_errors=True),
        ),
        Step("stats", "cpu + memory", "stats", op("stats"), compare=False),
        Step(
            "toolbox",
            "read, edit, grep (agent tools)",
            None,
            lambda be: toolbox_session(s, be),
            prepare=s.reset_toolbox_file,
            summary=lambda texts: f"{len(texts)} calls, edit: {texts[1].splitlines()[0][:40]}",
        ),
    ]
    if scene.clone:
        out.insert(
            8,
            Step(
                "git status",
                scene.clone_note,
                "git_status",
                op("git_status", scene.clone, "auto"),
                summary=git_status_summary,
            ),
        )
    return out


def absent_steps(scene: Scene) -> list[tuple[str, str, str]]:
    """(tool, op, why) for the rows this machine cannot run."""
    return [] if scene.clone else [("git status", "git_status", scene.clone_note)]


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


def run_step(step: Step, runs: int) -> dict:
    timings: dict[str, float] = {}
    answers: dict[str, Any] = {}
    for be in backend.BACKENDS:
        if step.prepare:
            step.prepare()
        answers[be] = step.call(be)
        samples = []
        for _ in range(max(1, runs)):
            if step.prepare:
                step.prepare()
            t0 = time.perf_counter()
            step.call(be)
            samples.append(time.perf_counter() - t0)
        timings[be] = statistics.median(samples)
    default = backend.choose(step.op) if step.op else "native"
    return {
        "tool": step.tool,
        "input": step.input,
        "op": step.op,
        "family": backend.decision(step.op).module if step.op else step.tool,
        "native_ms": round(timings["native"] * 1e3, 3),
        "python_ms": round(timings["python"] * 1e3, 3),
        "speedup": round(timings["python"] / timings["native"], 2) if timings["native"] else None,
        "same_answer": answers["native"] == answers["python"] if step.compare else None,
        "result": (step.summary or _summary)(answers[default]),
        "default": default if step.op else "per operation",
    }


def run_demo(path: str = ".", runs: int = 5) -> dict:
    root = os.path.abspath(path)
    if not os.path.isdir(root):
        raise IronCodeError("not_found", f"Folder not found: {path}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ironcode-demo-") as scratch:
        scene = Scene(root, scratch)
        rows = [run_step(step, runs) for step in steps(scene)]
        absent = [{"tool": t, "op": o, "why": why} for t, o, why in absent_steps(scene)]
    return {
        "path": root,
        "runs": runs,
        "rows": rows,
        "absent": absent,
        "seconds": round(time.perf_counter() - started, 2),
    }


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
    out += [f"{a['tool']}: not run ({a['why']})" for a in report.get("absent", [])]
    out += [
        "",
        f"{len(report['rows'])} tools in {report['seconds']:.1f} s; n/a: the backends may differ there "
        "(fuzzy ranks with other algorithms, stats measure the moment)",
    ]
    return "\n".join(out)
