"""The fuzzer's child process: makes the calls, so a crash kills it and not pytest.

    python -m test.fuzz_child stateless --examples N --log PATH SYMBOL...
    python -m test.fuzz_child stateful --examples N --steps S --log PATH MACHINE...

Runs in its working directory, which it fills with a scratch folder (``fuzzlib.make_scratch``).
Before every call it writes the call to ``--log`` — a pickle of ``(symbol, args)`` in stateless
mode, the sequence of calls of the current run in stateful mode — so when a signal kills it the
parent can name the input. On success it prints one JSON line: the figures per symbol or machine.
A failed check raises inside hypothesis, which shrinks it and prints the falsifying example.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis.stateful import run_state_machine_as_test

from ironcode import ffi

from . import fuzz_machines, fuzzlib

#: The scratch folder is rebuilt after this many calls, so random writes cannot pile up.
RESET_EVERY = 300
#: Log markers for the large prebuilt values, which are not worth pickling on every call.
_CONSTANTS = {id(value): index for index, value in enumerate(fuzzlib.BIG_CONSTANTS)}


def _settings(examples: int, **extra) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        **extra,
    )


class Recorder:
    """Writes the call about to be made, replacing the previous one."""

    def __init__(self, path: str) -> None:
        self.file = open(path, "wb")  # noqa: SIM115 - open for the life of the child

    def record(self, symbol: str, args: tuple) -> None:
        portable = tuple(("constant", _CONSTANTS[id(a)]) if id(a) in _CONSTANTS else a for a in args)
        self.file.seek(0)
        self.file.truncate()
        pickle.dump((symbol, portable), self.file)
        self.file.flush()


def load_call(path: str) -> tuple[str, tuple] | None:
    """The call a stateless child was making when it died (for the parent)."""
    try:
        with open(path, "rb") as f:
            symbol, args = pickle.load(f)
    except (OSError, EOFError, pickle.UnpicklingError):
        return None
    return symbol, tuple(
        fuzzlib.BIG_CONSTANTS[a[1]] if isinstance(a, tuple) and a[:1] == ("constant",) else a for a in args
    )


def expect_no_panic(symbol: str, args: tuple, envelope: dict) -> None:
    kind = envelope.get("error", {}).get("kind")
    if symbol == "debug_panic_ffi":
        # It panics on purpose for any non-empty UTF-8 message: the panic must come back as a kind.
        message = args[0]
        should_panic = bool(message) and _is_utf8(message)
        assert (kind == "panic") == should_panic, envelope
        return
    assert kind != "panic", f"{symbol} panicked: {envelope}"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


#: What each creating export registers, and how to undo it after the call.
_CLEANUP = {
    "terminal_create_ffi": lambda v: fuzzlib.call_raw("terminal_close_ffi", (v["id"].encode(),)),
    "watcher_open_ffi": lambda v: fuzzlib.call_raw("watcher_close_ffi", (v["id"],)),
    "lock_try_ffi": lambda v: fuzzlib.call_raw("lock_release_ffi", (v["ticket"],)),
    "lock_channel_open_ffi": lambda v: fuzzlib.call_raw("lock_channel_close_ffi", (v["channel"],)),
    "fuzzy_index_new_ffi": lambda v: fuzzlib.call_raw("fuzzy_index_close_ffi", (v["id"],)),
}


def undo(symbol: str, envelope: dict) -> None:
    """Closes what the call opened, so the next call meets empty registries (a wait on a live id
    with a huge timeout would block; on an unknown id it must answer at once)."""
    if "ok" in envelope and symbol in _CLEANUP:
        assert "ok" in _CLEANUP[symbol](envelope["ok"])


class Scratch:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.calls = 0
        self.reset()

    def reset(self) -> None:
        os.chdir(self.root.parent)
        shutil.rmtree(self.root, ignore_errors=True)
        fuzzlib.make_scratch(self.root)
        os.chdir(self.root)

    def tick(self) -> None:
        self.calls += 1
        if self.calls % RESET_EVERY == 0:
            self.reset()


def run_stateless(symbols: list[str], examples: int, log: str) -> dict:
    recorder = Recorder(log)
    scratch = Scratch(Path.cwd() / "scratch")
    figures = {}
    for symbol in symbols:
        start = time.perf_counter()
        count = fuzz_one(symbol, examples, recorder, scratch)
        figures[symbol] = {"examples": count, "seconds": round(time.perf_counter() - start, 3)}
    return figures


def fuzz_one(symbol: str, examples: int, recorder: Recorder, scratch: Scratch) -> int:
    """Runs ``examples`` random calls of ``symbol``; returns how many calls were made."""
    count = 0
    if not fuzzlib.PLANS[symbol]:  # no arguments: hypothesis would run it once; call it N times
        for _ in range(examples):
            recorder.record(symbol, ())
            envelope = fuzzlib.call_raw(symbol, ())
            expect_no_panic(symbol, (), envelope)
            undo(symbol, envelope)
        return examples

    @_settings(examples)
    @given(args=fuzzlib.arguments(symbol))
    def check(args):
        nonlocal count
        count += 1
        cwd = os.getcwd()
        recorder.record(symbol, args)
        envelope = fuzzlib.call_raw(symbol, args)
        expect_no_panic(symbol, args, envelope)
        undo(symbol, envelope)
        assert os.getcwd() == cwd
        scratch.tick()

    check()
    return count


def run_stateful(machines: list[str], examples: int, steps: int, log: str) -> dict:
    figures = {}
    log_file = open(log, "w")  # noqa: SIM115 - open for the life of the child
    os.makedirs("scratch", exist_ok=True)
    os.chdir("scratch")
    for name in machines:
        machine = fuzz_machines.MACHINES[name]
        counts = {"runs": 0, "calls": 0}
        start = time.perf_counter()

        def log_call(line: str, counts=counts) -> None:
            counts["calls"] += 1
            log_file.write(line + "\n")
            log_file.flush()

        class Counted(machine):  # type: ignore[misc, valid-type]
            def __init__(self, counts=counts) -> None:
                counts["runs"] += 1
                log_file.seek(0)
                log_file.truncate()
                super().__init__()

        Counted.__name__ = machine.__name__
        fuzz_machines.before_call = log_call
        run_state_machine_as_test(Counted, settings=_settings(examples, stateful_step_count=steps))
        figures[name] = {**counts, "seconds": round(time.perf_counter() - start, 3)}
    return figures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["stateless", "stateful"])
    parser.add_argument("names", nargs="+")
    parser.add_argument("--examples", type=int, required=True)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--log", required=True)
    args = parser.parse_args(argv)
    ffi.library()
    if args.mode == "stateless":
        figures = run_stateless(args.names, args.examples, args.log)
    else:
        figures = run_stateful(args.names, args.examples, args.steps, args.log)
    print(json.dumps({"figures": figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
