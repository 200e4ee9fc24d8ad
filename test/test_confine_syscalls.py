"""No confined operation opens, stats, lists or creates anything inside its root by name (issue 19):
every confined operation runs under ``strace``, and every system call that names a path inside
the root must name it relative to a folder descriptor. The one exception is opening the root
itself, once per call. This is the lint of ``test_confine_lint.py`` made exact: it sees what the
code does, mixed code paths and libraries included, on both native paths and the twin."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from .confinelib import MODES, build_tree
from .conftest import require_tool
from .helpers import ROOT

#: System calls that take a path and no folder descriptor: any path they get is by name.
BY_NAME_CALLS = {
    "open", "creat", "stat", "lstat", "access", "readlink", "mkdir", "rmdir", "unlink", "rename", "link",
    "symlink", "chmod", "chown", "lchown", "truncate", "utime", "utimes", "statfs", "chdir", "execve", "getxattr",
    "lgetxattr", "listxattr", "llistxattr", "mknod",
}  # fmt: skip
#: The *at system calls and which argument is the folder descriptor of the path after it.
AT_CALLS = {
    "openat", "openat2", "newfstatat", "fstatat64", "statx", "readlinkat", "mkdirat", "unlinkat", "renameat",
    "renameat2", "linkat", "fchmodat", "fchownat", "faccessat", "faccessat2", "utimensat", "mknodat", "symlinkat",
    "name_to_handle_at", "execveat", "fchmodat2",
}  # fmt: skip
LINE = re.compile(r"^\d+\s+(\w+)\((.*)$")
STRING = re.compile(r'"((?:\\.|[^"\\])*)"')
AT_PATH = re.compile(r'(AT_FDCWD|-?\d+), "((?:\\.|[^"\\])*)"')

#: Every confined operation, run by the traced child on a tree built before it starts.
CODE = r"""
import json, os, sys
import ironcode
from ironcode import backend, ffi
mode, app, base = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "native-walk":
    ffi.confine_force_walk(True)
impl = lambda op: backend.implementation(op, "python" if mode == "python" else "native")
def attempt(fn, *args, **kw):
    try:
        fn(*args, root=app, **kw)
    except ironcode.IronCodeError as e:
        pass
for path in ["file.txt", "link-in", "abs-in", "dirlink-in/inner.txt", app + "/file.txt", "link-out", "dirlink-out/secret.txt"]:
    attempt(impl("read"), path)
for path in ["w/new.txt", "link-in", "dirlink-in/w.txt", "dirlink-out/x.txt"]:
    attempt(impl("write"), path, "x\n")
attempt(impl("edit_file"), "file.txt", "inside", "INSIDE")
attempt(impl("edit_file"), "made/e.txt", "", "new\n")
attempt(impl("edit_file"), "link-out", "", "new\n")
for path in [".", "sub", "dirlink-in", ".."]:
    attempt(impl("ls"), path)
    attempt(impl("file_list"), path, follow=True)
    attempt(impl("glob"), "**/*", path)
    attempt(impl("grep"), "i", path)
    attempt(impl("grep"), "i", path, output_mode="count", context=1)
attempt(impl("grep"), "i", "file.txt")
patch = "*** Begin Patch\n*** Add File: p/a.txt\n+a\n*** Update File: sub/inner.txt\n@@\n-inner SECRET-looking but inside\n+patched\n*** Delete File: link-in\n*** End Patch"
attempt(impl("apply_patch"), patch)
attempt(impl("apply_patch"), "*** Begin Patch\n*** Update File: p/a.txt\n*** Move to: sub/m.txt\n@@\n-a\n+b\n*** End Patch")
attempt(impl("apply_patch"), "*** Begin Patch\n*** Delete File: dirlink-out/secret.txt\n*** End Patch")
print("done")
"""


def by_name_paths(log: str) -> list[tuple[str, str]]:
    """(system call, path) of every call in an ``strace`` log that names a path by name: the
    path of a call without a folder descriptor, or one given with ``AT_FDCWD``."""
    found = []
    for line in log.splitlines():
        match = LINE.match(line)
        if not match:
            continue
        call, args = match.groups()
        if call in BY_NAME_CALLS:
            strings = STRING.findall(args)
            if strings:
                found.append((call, strings[0]))
        elif call in AT_CALLS:
            # Each path follows its folder descriptor (renameat and linkat name two); the target
            # of symlinkat is the link's text, not a path that is looked up.
            for folder, path in AT_PATH.findall(args):
                if folder == "AT_FDCWD":
                    found.append((call, path))
    return found


def inside(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r + "/") for r in roots)


@pytest.mark.parametrize("mode", MODES)
def test_no_confined_operation_names_a_path_inside_its_root(tmp_path, mode):
    strace = require_tool("strace")
    tree = build_tree(tmp_path)
    app, real = str(tree["rootlink"]), str(tree["app"])
    log = tmp_path / "trace.log"
    run = subprocess.run(
        [strace, "-f", "-qq", "-s", "4096", "-e", "trace=%file", "-o", str(log), sys.executable, "-c", CODE,
         mode, app, str(tmp_path)],
        capture_output=True, text=True, cwd=str(tmp_path), timeout=300,
        env=dict(os.environ, PYTHONPATH=ROOT),
    )  # fmt: skip
    assert run.returncode == 0 and run.stdout.strip() == "done", run.stderr[-3000:]
    named = [(call, path) for call, path in by_name_paths(log.read_text()) if inside(path, [app, real])]
    # Opening the root itself is the one open by name, once per confined call.
    opens_of_root = [c for c in named if c[1] in (app, real) and c[0] in ("openat", "open")]
    strays = [c for c in named if c not in opens_of_root]
    assert strays == [], json.dumps(strays[:20], indent=1)
    assert opens_of_root, "the trace saw no confined call at all"


def test_the_trace_check_flags_an_open_by_name_inside_the_root():
    log = (
        '12 openat(AT_FDCWD, "/r/app", O_RDONLY|O_DIRECTORY|O_CLOEXEC) = 3\n'
        '12 openat(3, "file.txt", O_RDONLY|O_NOFOLLOW|O_CLOEXEC) = 4\n'
        '12 newfstatat(AT_FDCWD, "/r/app/file.txt", {st_mode=S_IFREG|0644, ...}, 0) = 0\n'
        '12 readlink("/r/app/link", "x", 4096) = 1\n'
        '12 symlinkat("/r/app/x", 5, "name") = 0\n'
        '12 openat(AT_FDCWD, "/usr/lib/x.so", O_RDONLY) = 6\n'
    )
    named = [c for c in by_name_paths(log) if inside(c[1], ["/r/app"])]
    assert named == [
        ("openat", "/r/app"),
        ("newfstatat", "/r/app/file.txt"),
        ("readlink", "/r/app/link"),
    ]
