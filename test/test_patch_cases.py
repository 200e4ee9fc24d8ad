"""A table-driven runner over patch cases kept as folders, the layout other apply_patch
implementations publish theirs in (Codex's ``tests/fixtures/scenarios``):

    test/data/patch-cases/NNN_name/input/     the files before (absent: an empty folder)
    test/data/patch-cases/NNN_name/patch.txt  the patch, applied with the case folder's copy as cwd
    test/data/patch-cases/NNN_name/expected/  every file after, byte for byte
    test/data/patch-cases/NNN_name/error.txt  (optional) the error kind the patch must raise;
                                              the files must then be exactly the input

Each case runs on both backends; a new case is a new folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ironcode import IronCodeError

CASES = Path(__file__).parent / "data" / "patch-cases"
CASE_NAMES = sorted(p.name for p in CASES.iterdir() if p.is_dir())


def tree(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (relative path -> bytes); a missing root is empty."""
    if not root.exists():
        return {}
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def test_there_are_cases_for_success_and_failure():
    errors = [name for name in CASE_NAMES if (CASES / name / "error.txt").exists()]
    assert len(CASE_NAMES) >= 20 and 5 <= len(errors) < len(CASE_NAMES)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_folder_gives_its_expected_files(impl, tmp_path, name):
    case = CASES / name
    work = tmp_path / "work"
    if (case / "input").exists():
        shutil.copytree(case / "input", work)
    else:
        work.mkdir()
    patch = (case / "patch.txt").read_bytes()
    error_file = case / "error.txt"
    if error_file.exists():
        kind = error_file.read_text().strip()
        with pytest.raises(IronCodeError) as info:
            impl.apply_patch(patch, str(work))
        assert info.value.kind == kind, info.value.message
        assert tree(work) == tree(case / "input"), "a failed patch changed files"
        return
    result = impl.apply_patch(patch, str(work))
    assert tree(work) == tree(case / "expected")
    assert [f["action"] for f in result["files"]]
    # A dry run of the same patch on a fresh copy answers the same and writes nothing.
    fresh = tmp_path / "fresh"
    if (case / "input").exists():
        shutil.copytree(case / "input", fresh)
    else:
        fresh.mkdir()
    assert impl.apply_patch(patch, str(fresh), dry_run=True) == result
    assert tree(fresh) == tree(case / "input")
    # No folder goes: a move or delete leaves the source's folder in place.
    if (case / "input").exists():
        for folder in (case / "input").rglob("*"):
            if folder.is_dir():
                assert (work / folder.relative_to(case / "input")).is_dir(), folder
