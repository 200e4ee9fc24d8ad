"""apply_patch through the toolbox, on both backends: confined, all files or none, the read rule for
an Add over an existing file only, and bash's interception of apply_patch heredocs."""

from __future__ import annotations

from pathlib import Path

import pytest

from .agentlib import fails, ok, toolbox_on, write
from .conftest import BACKENDS


@pytest.fixture
def root(tmp_path) -> Path:
    folder = tmp_path / "root"
    write(folder / "a.py", "def f():\n    return 1\n")
    write(folder / "gone.txt", "bye\n")
    return folder


@pytest.fixture(params=BACKENDS)
def box(request, root):
    with toolbox_on(request.param, [root]) as toolbox:
        yield toolbox


UPDATE = """*** Begin Patch
*** Update File: a.py
@@ def f():
-    return 1
+    return 2
*** End Patch
"""


def test_update_and_delete_need_no_prior_read(box, root):
    patch = UPDATE.replace("*** End Patch", "*** Delete File: gone.txt\n*** End Patch")
    result = ok(box, "apply_patch", {"patch": patch})
    assert result.text.splitlines()[:3] == ["Success. Updated the following files:", "M a.py", "D gone.txt"]
    assert "-    return 1\n+    return 2" in result.text
    assert (root / "a.py").read_text() == "def f():\n    return 2\n"
    assert not (root / "gone.txt").exists()
    assert [f["action"] for f in result.data["files"]] == ["update", "delete"]


def test_the_patched_files_versions_are_recorded(box, root):
    ok(box, "apply_patch", {"patch": UPDATE})
    ok(box, "edit", {"file_path": "a.py", "old_string": "return 2", "new_string": "return 3"})


def test_add_over_an_existing_file_is_under_the_read_rule(box, root):
    add = "*** Begin Patch\n*** Add File: a.py\n+x = 1\n*** End Patch\n"
    fails(box, "apply_patch", {"patch": add}, "not_read")
    assert (root / "a.py").read_text() == "def f():\n    return 1\n"
    ok(box, "read", {"file_path": "a.py"})
    write(root / "a.py", "changed behind its back\n")
    fails(box, "apply_patch", {"patch": add}, "stale_file")
    ok(box, "read", {"file_path": "a.py"})
    ok(box, "apply_patch", {"patch": add})
    assert (root / "a.py").read_text() == "x = 1\n"


def test_add_of_a_new_file_needs_nothing(box, root):
    ok(box, "apply_patch", {"patch": "*** Begin Patch\n*** Add File: pkg/new.py\n+y = 2\n*** End Patch\n"})
    assert (root / "pkg" / "new.py").read_text() == "y = 2\n"


def test_a_failing_chunk_writes_nothing(box, root):
    patch = UPDATE.replace("*** End Patch", "*** Update File: gone.txt\n@@\n-not there\n+x\n*** End Patch")
    result = fails(box, "apply_patch", {"patch": patch}, "patch_failed")
    assert "gone.txt" in result.text
    assert (root / "a.py").read_text() == "def f():\n    return 1\n"


def test_bad_grammar_is_invalid_patch(box):
    fails(box, "apply_patch", {"patch": "--- a.py\n+++ a.py\n"}, "invalid_patch")


def test_a_path_outside_the_root_is_refused_and_nothing_written(box, root):
    patch = "*** Begin Patch\n*** Add File: ../escaped.txt\n+x\n*** End Patch\n"
    fails(box, "apply_patch", {"patch": patch}, "outside_root")
    assert not (root.parent / "escaped.txt").exists()
    moved = UPDATE.replace("*** Update File: a.py\n", "*** Update File: a.py\n*** Move to: ../moved.py\n")
    fails(box, "apply_patch", {"patch": moved}, "outside_root")
    assert not (root.parent / "moved.py").exists() and (root / "a.py").exists()


def test_a_move_records_the_new_path(box, root):
    moved = UPDATE.replace("*** Update File: a.py\n", "*** Update File: a.py\n*** Move to: b.py\n")
    result = ok(box, "apply_patch", {"patch": moved})
    assert "M b.py" in result.text
    ok(box, "edit", {"file_path": "b.py", "old_string": "return 2", "new_string": "return 3"})


@pytest.mark.parametrize(
    "command",
    [
        "apply_patch <<'EOF'\n{patch}EOF",
        "applypatch <<EOF\n{patch}EOF",
        "bash -lc \"apply_patch <<'EOF'\n{patch}EOF\"",
        "cd sub && apply_patch <<'PATCH'\n{patch}PATCH",
    ],
)
def test_bash_applies_an_apply_patch_heredoc_instead_of_running_it(box, root, command):
    write(root / "sub" / "a.py", "def f():\n    return 1\n")
    target = root / "sub" / "a.py" if command.startswith("cd sub") else root / "a.py"
    result = ok(box, "bash", {"command": command.format(patch=UPDATE)})
    assert "Success. Updated the following files:" in result.text
    assert result.text.endswith("Exit code: 0")
    assert target.read_text() == "def f():\n    return 2\n"
    # answered in bash's shape, as the model called bash
    assert result.data["exit_code"] == 0 and result.data["signal"] is None
    assert result.data["output"].startswith("Success.") and result.data["timed_out"] is False
    assert [f["action"] for f in result.data["files"]] == ["update"]


def test_a_failing_intercepted_patch_is_the_patch_error(box, root):
    write(root / "a.py", "def f():\n    return 9\n")
    fails(box, "bash", {"command": f"apply_patch <<'EOF'\n{UPDATE}EOF"}, "patch_failed")
    assert (root / "a.py").read_text() == "def f():\n    return 9\n"


def test_a_heredoc_of_another_command_is_run_not_applied(box, root):
    result = ok(box, "bash", {"command": f"cat <<'EOF'\n{UPDATE}EOF"})
    assert "*** Begin Patch" in result.data["output"]
    assert (root / "a.py").read_text() == "def f():\n    return 1\n"
