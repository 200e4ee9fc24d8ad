"""Fuzzing the C boundary: every export of lib.rs through raw ctypes, and random call sequences
for the registries (terminals, watchers, locks, fuzzy indexes).

Whatever comes in, an export must return a JSON envelope — never NULL, never crash the process,
never a ``panic`` error, always a known error kind with a message. A registry must always agree
with a model of what was opened and closed. The calls run in a child process
(``test/fuzz_child.py``): a segfault or abort kills the child, and this test names the call that
did it (the child logs each call before making it) and keeps a reproducer. Any crash is a bug to
fix in the library, with its input added below as a regression test.

``make test`` runs a short pass (:data:`EXAMPLES` per export); ``make fuzz`` a long one
(``IRONCODE_FUZZ_EXAMPLES``). The figures — calls per export, sequences per registry, wall
time — are printed at the end and written to ``$IRONCODE_FUZZ_REPORT`` when it is set.

The child works on tmpfs (``/dev/shm``) when it can: every write fsyncs, which costs ~100 ms per
call on a loaded disk and would make the writing exports a hundred times slower than the rest.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from ctypes import c_int64
from pathlib import Path

import pytest

from ironcode import IronCodeError, ffi

from . import fuzz_child, fuzzlib
from .conftest import require_tool
from .helpers import ROOT, exports_in_lib_rs, run_python

EXAMPLES = int(os.environ.get("IRONCODE_FUZZ_EXAMPLES", "100"))
#: Random call sequences per registry, each of up to :data:`STEPS` steps.
SEQUENCES = int(os.environ.get("IRONCODE_FUZZ_SEQUENCES", str(max(10, EXAMPLES // 20))))
STEPS = 30
#: A child that has logged no new call for this long is hung (a call takes milliseconds; a loaded
#: machine and 8 MB inputs stretch a few to seconds): it is killed and the call in progress named.
STALL_SECONDS = 60

#: The exports, in lib.rs's sections; one child per section.
GROUPS = {name: list(section) for name, section in fuzzlib.PLAN_SECTIONS.items()}

FIGURES: dict[str, dict] = {"exports": {}, "registries": {}}


@pytest.fixture(scope="module", autouse=True)
def fuzz_report(request):
    """Prints the figures after the module (and writes them to $IRONCODE_FUZZ_REPORT)."""
    start = time.perf_counter()
    yield
    exports, registries = FIGURES["exports"], FIGURES["registries"]
    if not exports and not registries:
        return
    summary = {
        "examples_per_export": EXAMPLES,
        "exports": len(exports),
        "calls": sum(f["examples"] for f in exports.values()),
        "sequences": sum(f["runs"] for f in registries.values()),
        "sequence_calls": sum(f["calls"] for f in registries.values()),
        "wall_s": round(time.perf_counter() - start, 1),
    }
    report = {"summary": summary, **FIGURES}
    path = os.environ.get("IRONCODE_FUZZ_REPORT")
    if path:
        Path(path).write_text(json.dumps(report, indent=2) + "\n")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # else a teardown's output is swallowed
            reporter.write_line("")
            reporter.write_line(f"fuzz figures: {json.dumps(summary)}")
            for name, figure in registries.items():
                reporter.write_line(f"  registry {name}: {json.dumps(figure)}")


@pytest.fixture
def fuzz_root(tmp_path):
    """An empty folder for the child (on tmpfs when there is one), removed afterwards. Every
    child's scratch tree is a git repository, so git is needed whatever the group."""
    require_tool("git")
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else tmp_path
    root = Path(tempfile.mkdtemp(prefix="ironcode-fuzz-", dir=base))
    yield root
    shutil.rmtree(root, ignore_errors=True)


def run_child(mode: str, names: list[str], examples: int, root: Path, keep: Path) -> dict:
    """Runs the child; returns its figures, or fails naming the call that crashed or hung it."""
    log = root / "calls.log"
    command = [sys.executable, "-m", "test.fuzz_child", mode, *names, "--examples", str(examples)]
    command += ["--log", str(log), "--steps", str(STEPS)]
    env = dict(
        os.environ,
        PYTHONPATH=ROOT,
        HOME=str(root),
        SHELL="/bin/sh",
        GIT_CONFIG_GLOBAL="/dev/null",
        GIT_CONFIG_NOSYSTEM="1",
    )
    out_path, err_path = keep / "child.out", keep / "child.err"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=err)
        started = time.time()
        while True:
            try:
                proc.wait(timeout=1)
                break
            except subprocess.TimeoutExpired:
                last_call = log.stat().st_mtime if log.exists() else started
                if time.time() - max(last_call, started) > STALL_SECONDS:
                    proc.kill()
                    proc.wait()
                    pytest.fail(
                        f"the child hung (no new call for {STALL_SECONDS} s); "
                        f"{describe_last_call(mode, log, keep)}"
                    )
    stdout, stderr = out_path.read_text(), err_path.read_text()
    if proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name
        pytest.fail(
            f"the child was killed by {name}; {describe_last_call(mode, log, keep)}\nstderr: {stderr[-3000:]}"
        )
    assert proc.returncode == 0, f"stdout: {stdout[-5000:]}\nstderr: {stderr[-8000:]}"
    return json.loads(stdout.strip().splitlines()[-1])["figures"]


def describe_last_call(mode: str, log: Path, keep: Path) -> str:
    """The call in progress when the child died, and where its reproducer was kept."""
    if not log.exists():
        return "no call was logged"
    kept = keep / ("crash.pickle" if mode == "stateless" else "crash-sequence.txt")
    shutil.copy(log, kept)
    if mode == "stateful":
        return f"the sequence so far (kept in {kept}):\n" + "\n".join(log.read_text().splitlines()[-40:])
    call = fuzz_child.load_call(str(log))
    if call is None:
        return "the log was unreadable"
    symbol, args = call
    shown = ", ".join(repr(a)[:300] for a in args)
    return f"the call was {symbol}({shown}); reproducer: fuzz_child.load_call({str(kept)!r})"


def test_every_export_of_lib_rs_has_a_plan_in_one_group():
    assert set(fuzzlib.PLANS) == exports_in_lib_rs()
    grouped = [symbol for names in GROUPS.values() for symbol in names]
    assert len(grouped) == len(fuzzlib.PLANS), "an export is planned in two sections"


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_exports_survive_random_arguments(group, fuzz_root, tmp_path):
    names = GROUPS[group]
    figures = run_child("stateless", names, EXAMPLES, fuzz_root, tmp_path)
    for symbol in names:
        assert figures[symbol]["examples"] >= min(EXAMPLES, 1), figures[symbol]
    FIGURES["exports"].update(figures)


@pytest.mark.parametrize("machine", ["terminals", "watchers", "locks", "fuzzy_index"])
def test_registries_survive_random_call_sequences(machine, fuzz_root, tmp_path):
    figures = run_child("stateful", [machine], SEQUENCES, fuzz_root, tmp_path)
    assert figures[machine]["runs"] >= 1
    FIGURES["registries"].update(figures)


def test_the_parent_names_the_call_that_killed_the_child(fuzz_root, tmp_path):
    """The crash report works: a child killed mid-call is reported with that call."""
    log = fuzz_root / "calls.log"
    recorder = fuzz_child.Recorder(str(log))
    recorder.record("parse_bash_ffi", (b"$(" * 3, 6, fuzzlib.BIG_CONSTANTS[0]))
    recorder.file.close()
    text = describe_last_call("stateless", log, tmp_path)
    assert "parse_bash_ffi(b'$($($(', 6, b'aaaa" in text
    assert fuzz_child.load_call(str(tmp_path / "crash.pickle"))[1][2] is fuzzlib.BIG_CONSTANTS[0]


def test_nul_truncation_is_impossible_through_the_wrappers(tmp_path):
    from ironcode import IronCodeError

    with pytest.raises(IronCodeError) as info:
        ffi.write(str(tmp_path / "a\0b"), "x")
    assert info.value.kind == "invalid_argument"
    assert not (tmp_path / "a").exists()


def test_int_arguments_accept_the_full_c_range():
    assert ffi._call("probe_ints_ffi", c_int64(2**63 - 1), c_int64(1)) == -(2**63)


# ---- regressions: what the fuzzer found -----------------------------------------------------------


def test_deep_nesting_is_refused_before_its_text_is_copied(impl):
    """48 KB of ``$(`` used to build a 4.7 GB answer: each command's text holds every command
    nested in it (n²/2 bytes). Now it is ``invalid_argument`` past 16 MiB of command text. Run
    under a 2 GB address-space limit, so a regression fails this test instead of the machine."""
    code = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "from ironcode import backend, IronCodeError\n"
        f"parse_bash = backend.implementation('parse_bash', {impl.name!r})\n"
        "try:\n"
        "    parse_bash('$(' * 16000 + 'x' + ')' * 16000, '/')\n"
        "    print('answered')\n"
        "except IronCodeError as e:\n"
        "    print(e.kind, '|', e)\n"
    )
    out = run_python(code)
    assert out.returncode == 0, out.stderr[-2000:]
    kind, message = out.stdout.strip().split(" | ", 1)
    assert kind == "invalid_argument" and "too complex" in message


@pytest.mark.parametrize("depth", [1, 300, 3343, 3344, 5000])
def test_both_backends_draw_the_nesting_line_at_the_same_depth(both, depth):
    """n nested ``$(`` make n + 1 commands of 1, 4, 7, … bytes of text, 3n(n+1)/2 + n + 1 in
    all: 3343 deep is the last depth within 16 MiB."""
    command = "$(" * depth + "x" + ")" * depth
    answers = []
    for backend in both:
        try:
            answers.append(backend.parse_bash(command, "/"))
        except IronCodeError as e:
            answers.append(e.kind)
    assert answers[0] == answers[1]
    if depth <= 3343:
        assert len(answers[0]["commands"]) == depth + 1
    else:
        assert answers[0] == "invalid_argument"
