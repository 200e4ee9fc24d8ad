"""The roots hold against races (AGENT.md "Roots"): a thread swaps a path component between a folder
inside the root and a symlink to a folder outside, while read, write, edit, the text editor and
apply_patch run through the toolbox. Nothing outside is ever read, changed or left behind."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from .agentlib import call, toolbox_on, write
from .conftest import BACKENDS

SECRET = "OUTSIDE-SECRET"
#: How long the swapping runs per backend; the calls loop for as long.
RACE_SECONDS = 3.0


def swapper(root: Path, outside: Path, stop: threading.Event) -> threading.Thread:
    """Flips ``root/sw`` between a real folder (holding ``f.txt``) and a link to ``outside``."""
    inside = root / "sw"
    parked = root / "parked"

    def flip() -> None:
        while not stop.is_set():
            try:
                os.rename(inside, parked)  # the real folder steps aside...
                os.symlink(outside, inside)  # ...and a link out takes its name
                time.sleep(0.0005)
                os.unlink(inside)
                os.rename(parked, inside)
            except OSError:
                continue
            time.sleep(0.0005)

    return threading.Thread(target=flip, daemon=True)


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_a_component_swapped_for_a_link_out_never_lets_a_call_through(backend_name, tmp_path):
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    write(root / "sw" / "f.txt", "inside\n")
    write(outside / "f.txt", SECRET + "\n")
    before = {p.name: p.read_bytes() for p in outside.iterdir()}
    stop = threading.Event()
    thread = swapper(root, outside, stop)
    seen_texts: list[str] = []
    patch = "*** Begin Patch\n*** Update File: sw/f.txt\n@@\n-inside\n+patched\n*** End Patch\n"
    calls = [
        ("read", {"file_path": "sw/f.txt"}),
        ("str_replace_based_edit_tool", {"command": "view", "path": "sw/f.txt"}),
        ("str_replace_based_edit_tool", {"command": "view", "path": "sw"}),
        ("write", {"file_path": "sw/f.txt", "content": "written\n"}),
        ("write", {"file_path": "sw/new.txt", "content": "new\n"}),
        ("edit", {"file_path": "sw/f.txt", "old_string": "inside", "new_string": "edited"}),
        ("edit", {"file_path": "sw/made.txt", "old_string": "", "new_string": "made\n"}),
        (
            "str_replace_based_edit_tool",
            {"command": "str_replace", "path": "sw/f.txt", "old_str": "inside", "new_str": "x"},
        ),
        (
            "str_replace_based_edit_tool",
            {"command": "insert", "path": "sw/f.txt", "insert_line": 0, "new_str": "x"},
        ),
        ("str_replace_based_edit_tool", {"command": "create", "path": "sw/created.txt", "file_text": "c\n"}),
        ("apply_patch", {"patch": patch}),
        ("apply_patch", {"patch": "*** Begin Patch\n*** Add File: sw/added.txt\n+a\n*** End Patch\n"}),
        ("apply_patch", {"patch": "*** Begin Patch\n*** Delete File: sw/f.txt\n*** End Patch\n"}),
        ("grep", {"pattern": "SECRET", "path": "sw", "output_mode": "content"}),
        ("glob", {"pattern": "**/*", "path": "sw"}),
        ("ls", {"path": "sw"}),
    ]
    rounds = 0
    with toolbox_on(backend_name, [root], require_read=False) as box:
        thread.start()
        try:
            end = time.monotonic() + RACE_SECONDS
            while time.monotonic() < end:
                for name, args in calls:
                    seen_texts.append(call(box, name, args).text)
                rounds += 1
                if not (root / "sw").is_symlink() and not (root / "sw" / "f.txt").exists():
                    write(root / "sw" / "f.txt", "inside\n")
        finally:
            stop.set()
            thread.join()
    assert rounds > 0
    assert not any(SECRET in text for text in seen_texts), "a call read the folder outside the root"
    after = {p.name: p.read_bytes() for p in outside.iterdir()}
    assert after == before, f"the folder outside the root changed: {sorted(set(after) ^ set(before))}"
