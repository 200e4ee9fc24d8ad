"""Confinement as a property (issue 19): random trees of folders, files and symlinks (inside to
inside, inside to outside, absolute and relative, loops) and random relative paths. The answer of
a confined call equals: resolve the path as the kernel does, one component at a time (``..``
physically, after links); inside without ever stepping above the root, the operation's normal
answer for what it resolved to; otherwise ``outside_root``. The same on openat2, on the forced walk
and on the twin.

The oracle here resolves by name with ``os.lstat``/``os.readlink`` on a tree nobody changes (no
race to fear), and is checked against ``os.path.realpath`` wherever the path exists."""

from __future__ import annotations

import os
import shutil
import tempfile

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import ironcode

from .confinelib import MODES, mode

SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NAMES = ["a", "b", "c"]
OUTSIDE = ("outside",)
MAX_SYMLINKS = 40


def relative_targets():
    parts = st.sampled_from([*NAMES, "..", ".", "x"])
    return st.lists(parts, min_size=1, max_size=4).map("/".join)


#: A link's target: relative (may climb out), absolute into the root (by its real path or as given
#: through the root link), absolute elsewhere (the sibling sharing the root's name as a prefix, an
#: outside folder), or itself.
link_targets = st.one_of(
    relative_targets().map(lambda t: ("rel", t)),
    relative_targets().map(lambda t: ("abs-root", t)),
    relative_targets().map(lambda t: ("abs-given", t)),
    st.sampled_from(["r-evil", "r-evil/a", "out", "out/b", "out/b/a", ""]).map(lambda t: ("abs-base", t)),
    st.just(("self", "")),
)
entry = st.one_of(
    st.just(("absent",)),
    st.just(("file",)),
    st.just(("dir",)),
    link_targets.map(lambda t: ("link", *t)),
)
trees = st.fixed_dictionaries({name: entry for name in NAMES}).flatmap(
    lambda top: st.fixed_dictionaries(
        {
            name: st.fixed_dictionaries({sub: entry for sub in NAMES})
            for name in NAMES
            if top[name] == ("dir",)
        }
    ).map(lambda subs: (top, subs))
)
paths = st.lists(st.sampled_from([*NAMES, "..", "."]), min_size=1, max_size=5).map("/".join)


def build(base: str, tree) -> str:
    """The tree under ``base/r`` (``base/rl`` links to it), with ``base/out`` and ``base/r-evil``
    beside it, each holding a file ``a`` and a folder ``b`` with a file ``a``."""
    root = os.path.join(base, "r")
    for folder in ("r", "out/b", "r-evil/b"):
        os.makedirs(os.path.join(base, folder), exist_ok=True)
    for place in ("out", "out/b", "r-evil", "r-evil/b"):
        with open(os.path.join(base, place, "a"), "w") as f:
            f.write(f"SECRET {place}\n")
    os.symlink("r", os.path.join(base, "rl"))
    top, subs = tree

    def make(path: str, spec) -> None:
        if spec[0] == "file":
            with open(path, "w") as f:
                f.write(f"inside {os.path.relpath(path, root)}\n")
        elif spec[0] == "dir":
            os.mkdir(path)
        elif spec[0] == "link":
            how, target = spec[1], spec[2]
            target = {
                "rel": target,
                "abs-root": os.path.join(root, target),
                "abs-given": os.path.join(base, "rl", target),
                "abs-base": os.path.join(base, target),
                "self": os.path.basename(path),
            }[how]
            os.symlink(target, path)

    for name, spec in top.items():
        make(os.path.join(root, name), spec)
    for name, children in subs.items():
        for child, spec in children.items():
            make(os.path.join(root, name, child), spec)
    return root


def oracle(root: str, given_root: str, path: str):
    """("outside",), ("error", kind), or ("target", physical path): the kernel's resolution of
    ``path`` from ``root``, refusing a step above the root and a link that names another place."""
    stack: list[str] = []
    todo = [p for p in reversed(path.split("/")) if p]
    links = 0
    while todo:
        part = todo.pop()
        if part == ".":
            continue
        if part == "..":
            if not stack:
                return ("outside",)
            stack.pop()
            continue
        here = os.path.join(root, *stack, part)
        more = bool(todo)
        if os.path.islink(here):
            links += 1
            if links > MAX_SYMLINKS:
                return ("error", "io")
            target = os.readlink(here)
            if target.startswith("/"):
                rest = None
                for prefix in (given_root, root):
                    if target == prefix or target.startswith(prefix + "/"):
                        rest = target[len(prefix) :]
                        break
                if rest is None:
                    return ("outside",)
                stack = []
                target = rest
            todo.extend(p for p in reversed(target.split("/")) if p)
            continue
        if not os.path.lexists(here):
            return ("error", "not_found") if more else ("target", here)
        if not os.path.isdir(here):
            if more:
                return ("error", "not_a_directory")
            return ("target", here)
        stack.append(part)
    return ("target", os.path.join(root, *stack))


def outcome(call):
    try:
        return call()
    except ironcode.IronCodeError as e:
        return ("error", e.kind)


def expected_read(impl, verdict, spelled: str):
    """The normal answer of read for what the path resolved to, spelled as the confined call spells it."""
    if verdict[0] == "outside":
        return ("error", "outside_root")
    if verdict[0] == "error":
        return verdict
    result = outcome(lambda: impl.read(verdict[1]))
    return {**result, "path": spelled} if isinstance(result, dict) else result


def expected_list(impl, verdict):
    if verdict[0] == "outside":
        return ("error", "outside_root")
    if verdict[0] == "error":
        return verdict
    return outcome(lambda: impl.file_list(verdict[1]))


@SETTINGS
@given(tree=trees, path=paths, through_link=st.booleans())
def test_confined_answers_equal_the_kernels_resolution_on_every_backend(tree, path, through_link):
    base = tempfile.mkdtemp(prefix="ironcode-confine-")
    try:
        root = build(base, tree)
        given_root = os.path.join(base, "rl") if through_link else root
        verdict = oracle(root, given_root, path)
        event(verdict[0] if verdict[0] != "error" else verdict[1])
        if verdict[0] == "target" and os.path.exists(verdict[1]):
            # The oracle resolves as the kernel does.
            assert os.path.realpath(os.path.join(root, path)) == os.path.realpath(verdict[1])
        spelled = os.path.normpath(os.path.join(given_root, path))
        answers = {}
        for name in MODES:
            with mode(name) as impl:
                read = outcome(lambda impl=impl: impl.read(path, root=given_root))
                listed = outcome(lambda impl=impl: impl.file_list(path, root=given_root))
                answers[name] = (read, listed)
                assert read == expected_read(impl, verdict, spelled), (name, verdict)
                assert listed == expected_list(impl, verdict), (name, verdict)
        assert answers["native"] == answers["native-walk"] == answers["python"]
    finally:
        shutil.rmtree(base, ignore_errors=True)
