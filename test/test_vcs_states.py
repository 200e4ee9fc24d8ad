"""Parity on generated repository states: native == python == git, for status and diff.

Hypothesis builds a committed tree, then edits, deletes, moves (with or without edits), type
changes, mode changes, new files in new folders, ignored files and `git add -N` files, stages a
subset and edits some staged files again, under each rename setting.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import require_tool
from .vcs_helpers import Repo, lines_of

NAMES = ["a.txt", "b.py", "c d.md", "é.txt", "日本.txt", "Makefile"]
DIRS = ["", "src/", "src/deep/", "new dir/"]
LINES = [f"line {i} " + "y" * (i % 5) for i in range(30)]

paths = st.builds(lambda d, n: d + n, st.sampled_from(DIRS), st.sampled_from(NAMES))
contents = st.lists(st.sampled_from(LINES), max_size=10).map(lambda ls: "".join(f"{x}\n" for x in ls))
operations = st.lists(
    st.tuples(
        st.sampled_from(["edit", "delete", "move", "move-edit", "symlink", "chmod", "new", "ita", "ignored"]),
        st.integers(0, 50),
        paths,
        contents,
    ),
    max_size=7,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    initial=st.dictionaries(paths, contents, min_size=1, max_size=6),
    ops=operations,
    stage=st.lists(st.booleans(), max_size=12),
    edit_after_staging=st.lists(st.booleans(), max_size=12),
    renames=st.sampled_from([None, None, "false", "copies"]),
)
def test_generated_states_match_git_on_both_backends(
    tmp_path_factory, initial, ops, stage, edit_after_staging, renames
):
    require_tool("git")
    from ironcode import ffi
    from ironcode.twin import vcs as twin

    repo = Repo(tmp_path_factory.mktemp("state") / "repo")
    if renames:
        repo.git("config", "status.renames", renames)
    for path, content in initial.items():
        repo.write(path, content)
    repo.commit()
    touched: list[str] = []
    intent: list[str] = []
    for kind, pick, new_path, content in ops:
        files = sorted(p for p in initial if (repo.root / p).is_file() and not (repo.root / p).is_symlink())
        target = files[pick % len(files)] if files else None
        if kind in ("new", "ita") or target is None:
            new_path = f"fresh/{pick % 3}/{new_path}"
            if (repo.root / new_path).exists():
                continue
            repo.write(new_path, content)
            (intent if kind == "ita" else touched).append(new_path)
        elif kind == "edit":
            repo.write(target, (repo.root / target).read_text() + content)
            touched.append(target)
        elif kind == "delete":
            os.remove(repo.root / target)
            touched.append(target)
        elif kind in ("move", "move-edit"):
            if (repo.root / new_path).exists() or os.path.lexists(repo.root / new_path):
                continue
            data = (repo.root / target).read_text()
            os.remove(repo.root / target)
            repo.write(new_path, data + (content if kind == "move-edit" else ""))
            touched += [target, new_path]
        elif kind == "symlink":
            os.remove(repo.root / target)
            os.symlink("points/elsewhere", repo.root / target)
            touched.append(target)
        elif kind == "chmod":
            os.chmod(repo.root / target, 0o755)
            touched.append(target)
        elif kind == "ignored":
            repo.write(".gitignore", "*.log\n")
            repo.write(f"logs/{pick}.log", content)
            touched.append(".gitignore")
    chosen = [p for p, yes in zip(touched, stage, strict=False) if yes]
    if chosen:
        repo.git("add", "-A", "--", *sorted(set(chosen)))
    if intent:
        repo.git("add", "-N", "--", *sorted(set(intent)))
    for path, yes in zip(chosen, edit_after_staging, strict=False):
        full = repo.root / path
        if yes and full.is_file() and not full.is_symlink():
            repo.write(path, full.read_text() + "after staging\n")
    want = repo.porcelain()
    native = ffi.git_status(str(repo.root), "library")
    python = twin.git_status(str(repo.root), "library")
    assert lines_of(native) == want
    assert native == python
    assert ffi.vcs_info(str(repo.root), "library") == twin.vcs_info(str(repo.root), "library")
    for staged in (False, True):
        patch = repo.git("diff", "--no-renames", *(["--cached"] if staged else []))
        assert ffi.git_diff(str(repo.root), None, staged) == patch
        assert twin.git_diff(str(repo.root), None, staged) == patch
