"""Shared pieces of the confinement tests (issue 19): the three ways a confined call runs, the
tree with every kind of escape, and a snapshot that proves nothing outside changed."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ironcode import ffi

from .conftest import Impl

#: native by openat2 (this kernel has it), native with the fallback walk forced, the twin.
MODES = ("native", "native-walk", "python")

SECRET = "SECRET outside\n"
INSIDE = "inside text\n"


@contextlib.contextmanager
def mode(name: str):
    """The backend of ``name``; for ``native-walk`` the component walk is forced meanwhile."""
    if name != "native-walk":
        yield Impl(name)
        return
    before = ffi.confine_force_walk(True)
    assert before["kernel_path"] == "walk"
    try:
        yield Impl("native")
    finally:
        ffi.confine_force_walk(before["previous"])


def kernel_path() -> str:
    """Which way the native side resolves confined paths in this process (openat2 or the walk)."""
    before = ffi.confine_force_walk(False)
    ffi.confine_force_walk(before["previous"])
    return before["kernel_path"] if not before["previous"] else "walk (forced)"


def build_tree(base: Path) -> dict[str, Path]:
    """``base/app`` (the root) with links of every kind, ``base/outside`` and ``base/app-evil``
    (the name-prefix sibling) holding secrets, and ``base/rootlink`` -> app."""
    app, outside, evil = base / "app", base / "outside", base / "app-evil"
    for folder in (app / "sub" / "deep", outside / "nested", evil):
        folder.mkdir(parents=True)
    (app / "file.txt").write_text(INSIDE)
    (app / "sub" / "inner.txt").write_text("inner SECRET-looking but inside\n")
    (app / "sub" / "deep" / "d.txt").write_text("deep\n")
    (outside / "secret.txt").write_text(SECRET)
    (outside / "nested" / "n.txt").write_text(SECRET)
    (evil / "secret.txt").write_text(SECRET)
    links = {
        "link-in": "sub/inner.txt",
        "dirlink-in": "sub",
        "abs-in": str(app / "sub" / "inner.txt"),
        "absdir-in": str(app / "sub"),
        "link-out": "../outside/secret.txt",
        "dirlink-out": "../outside",
        "abs-out": str(outside / "secret.txt"),
        "absdir-out": str(outside),
        "evil-link": "../app-evil",
    }
    for name, target in links.items():
        os.symlink(target, app / name)
    os.symlink("../../../outside", app / "sub" / "deep" / "up")  # a link out at depth
    os.symlink("app", base / "rootlink")
    return {"base": base, "app": app, "outside": outside, "evil": evil, "rootlink": base / "rootlink"}


def snapshot(*folders: Path) -> dict:
    """Every entry below the folders (hidden ones, temp files and links included) with its type
    and content or target: equal before and after means nothing there was read-modified, written,
    created or left behind."""
    found = {}
    for folder in folders:
        for dirpath, dirnames, filenames in os.walk(folder):
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                if os.path.islink(path):
                    found[path] = ("link", os.readlink(path))
                elif os.path.isdir(path):
                    found[path] = ("dir", oct(os.stat(path).st_mode))
                else:
                    with open(path, "rb") as f:
                        found[path] = ("file", f.read(), oct(os.stat(path).st_mode))
        found[str(folder)] = sorted(os.listdir(folder))
    return found
