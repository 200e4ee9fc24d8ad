"""An agent session, scripted: a toolbox driven through the calls a model makes to fix a failing test
in a small real git repository, asserting on the text the model reads at each step (both backends)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from .agentlib import git, git_repo, ok, toolbox_on
from .conftest import BACKENDS, require_tool

CALC = '''class Calc:
    """Arithmetic for the tests."""

    def add(self, a, b):
        return a - b

    def mul(self, a, b):
        return a * b
'''
TEST = """from calc import Calc


def test_add():
    assert Calc().add(1, 2) == 3


def test_mul():
    assert Calc().mul(2, 3) == 6
"""


@pytest.fixture
def repo(tmp_path) -> Path:
    require_tool("git")
    return git_repo(tmp_path / "calc", {"calc.py": CALC, "test_calc.py": TEST})


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_a_scripted_session_fixes_a_failing_test_and_commits(backend_name, repo):
    pytest_command = f"PYTHONDONTWRITEBYTECODE=1 {shlex.quote(sys.executable)} -m pytest -q -p no:cacheprovider test_calc.py"
    with toolbox_on(backend_name, [repo]) as box:
        # 1. run the tests: one fails; a failing command is not a tool error
        first = ok(box, "bash", {"command": pytest_command, "description": "Run the tests"})
        assert "1 failed, 1 passed" in first.text
        assert "assert -1 == 3" in first.text
        assert first.text.endswith("Exit code: 1")

        # 2. read the failing test
        read = ok(box, "read", {"file_path": "test_calc.py"})
        assert "5:     assert Calc().add(1, 2) == 3" in read.text
        assert "(End of file - total 9 lines)" in read.text

        # 3. find where add is defined
        found = ok(box, "grep", {"pattern": r"def add\(", "output_mode": "content"})
        assert found.text == f"{repo / 'calc.py'}:4:    def add(self, a, b):"
        ok(box, "read", {"file_path": "calc.py", "offset": 4, "limit": 2})

        # 4. edit it, quoting the method without the class's indentation: the edit engine still
        #    places it, and re-indents the new text to the file's indentation
        edit = ok(
            box,
            "edit",
            {
                "file_path": "calc.py",
                "old_string": "def add(self, a, b):\n    return a - b",
                "new_string": "def add(self, a, b):\n    return a + b",
            },
        )
        assert edit.text.startswith(f"Edit applied successfully to {repo / 'calc.py'} (+1 -1 lines).")
        assert "-        return a - b" in edit.text and "+        return a + b" in edit.text
        assert (repo / "calc.py").read_text() == CALC.replace("a - b", "a + b")

        # 5. the tests pass now
        second = ok(box, "bash", {"command": pytest_command})
        assert "2 passed" in second.text and second.text.endswith("Exit code: 0")

        # 6. look at the change
        diff = ok(box, "git_diff", {})
        assert diff.text == git(repo, "diff", "--no-renames")
        assert "-        return a - b\n+        return a + b" in diff.text

        # 7. commit it
        assert ok(box, "git_stage", {"paths": ["calc.py"]}).text == "Staged: calc.py"
        commit = ok(box, "git_commit", {"message": "Fix Calc.add: it subtracted"})
        assert commit.text == f"[main {commit.data['short']}] Fix Calc.add: it subtracted"
        status = ok(box, "git_status", {})
        assert status.text == "On branch main\nnothing to commit, working tree clean"
    assert git(repo, "log", "--format=%s").splitlines() == ["Fix Calc.add: it subtracted", "initial"]
