"""No confined code path opens by name (issue 19): a lint over the sources of both backends
(``test_confine_syscalls.py`` checks the same on the system calls themselves).

Confined code is: the whole ``confine`` module (native ``confine.rs``, twin ``confine.py``) except
the one function that opens the root itself and the one that reads where it really is; every
function named ``*_beneath``, ``*_located`` or ``*_in`` (the descriptor-taking variants); and the
shared helpers listed below that serve both the confined and the unconfined call with descriptors.
In them, every open, stat, create, rename and listing must name a folder descriptor: the Rust side
may not use ``std::fs`` or ``CWD`` at all, the twin passes ``dir_fd=`` (or an open descriptor) to
every ``os`` call that takes a path and never calls ``open``/``os.path``/``shutil`` on a name.
"""

from __future__ import annotations

import ast
import os
import re

from .helpers import ROOT

NATIVE = os.path.join(ROOT, "native", "tool", "src")
TWIN = os.path.join(ROOT, "ironcode", "twin")

#: Functions of the confine modules that may name a path: opening the root, and /proc/self/fd.
ALLOWED = {"open", "real", "use_openat2"}
CONFINED_SUFFIXES = ("_beneath", "_located", "_in")
#: The native confine module: every function but ALLOWED is checked.
CONFINE_MODULES = {"confine.rs", "confine/walker.rs"}
#: Descriptor-only helpers shared by the confined and the unconfined calls.
NATIVE_SHARED = {
    "write.rs": {"create_temp"},
    "ls.rs": {"collect", "entries", "link_is_file"},
    "walk/beneath.rs": {
        "impl RuleFiles for RuleFilesIn<'_>",
        "impl RuleFiles for RuleFilesBelow",
        "relative_bytes",
    },
}
TWIN_SHARED = {
    "write.py": {"_create_temp", "_remove_quietly"},
    "ls.py": {"collect", "_link_is_file"},
    "walk.py": {"RuleFilesIn", "RuleFilesBelow", "_read_fd"},
    "grep_search.py": {"search_file"},
    "glob.py": {"modified_ns"},
}

RUST_BY_NAME = [
    r"\bCWD\b",
    r"(?<!rustix::)\bfs::",  # std::fs; rustix::fs takes descriptors
    r"\bFile::(open|create)",
    r"\bOpenOptions\b",
    r"\bcanonicalize\b",
    r"\bread_dir\b",
    r"\bsymlink_metadata\b",
    r"\.exists\(\)",
    r"\.is_dir\(\)",
    r"\.is_file\(\)",
]
#: os functions that take a path: allowed only with dir_fd= (or, for scandir, an open descriptor).
OS_PATH_CALLS = {
    "open",
    "stat",
    "lstat",
    "mkdir",
    "rename",
    "replace",
    "unlink",
    "remove",
    "readlink",
    "rmdir",
    "chmod",
    "listdir",
    "scandir",
    "utime",
    "link",
    "symlink",
}


def strip_rust(source: str) -> str:
    """Comments, strings and char literals blanked, so braces in them do not count."""
    source = re.sub(r"//[^\n]*", "", source)
    source = re.sub(r'"(\\.|[^"\\])*"', '""', source)
    return re.sub(r"'(\\.|[^'\\])'", "' '", source)


def rust_items(source: str):
    """(name, body) of every ``fn`` and ``impl`` block outside the unit tests, bodies by brace
    matching."""
    clean = strip_rust(source.split("#[cfg(test)]\nmod tests")[0])
    for match in re.finditer(r"\bfn (\w+)|^(impl [^{]+?)\s*\{", clean, flags=re.MULTILINE):
        name = match.group(1) or match.group(2).strip()
        start = clean.find("{", match.end() - 1 if match.group(2) else match.end())
        if start < 0 or (match.group(1) and ";" in clean[match.end() : start]):
            continue
        depth, at = 0, start
        while at < len(clean):
            depth += {"{": 1, "}": -1}.get(clean[at], 0)
            if depth == 0:
                break
            at += 1
        yield name, clean[start : at + 1]


def rust_violations(file_name: str, source: str, whole_module: bool) -> list[str]:
    found = []
    shared = NATIVE_SHARED.get(file_name, set())
    for name, body in rust_items(source):
        if name.startswith("impl ") and name not in shared:
            continue  # an impl block's functions are items of their own
        if not ((whole_module and name not in ALLOWED) or name.endswith(CONFINED_SUFFIXES) or name in shared):
            continue
        for pattern in RUST_BY_NAME:
            if re.search(pattern, body):
                found.append(f"{file_name}: {name}: {pattern}")
    return found


def twin_violations(file_name: str, source: str, whole_module: bool) -> list[str]:
    found = []
    shared = TWIN_SHARED.get(file_name, set())
    tree = ast.parse(source)

    def check(node, where: str) -> None:
        for call in [n for n in ast.walk(node) if isinstance(n, ast.Call)]:
            func = call.func
            keywords = {k.arg for k in call.keywords}
            if {"src_dir_fd", "dst_dir_fd"} <= keywords:
                keywords.add("dir_fd")
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                if func.value.id == "os" and func.attr in OS_PATH_CALLS and "dir_fd" not in keywords:
                    if not (func.attr == "scandir" and call.args and _is_descriptor(call.args[0])):
                        found.append(f"{file_name}: {where}: os.{func.attr} without dir_fd")
                if func.value.id in ("shutil", "pathlib", "glob"):
                    found.append(f"{file_name}: {where}: {func.value.id}.{func.attr}")
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute):
                if (
                    isinstance(func.value.value, ast.Name)
                    and func.value.value.id == "os"
                    and func.value.attr == "path"
                ):
                    if func.attr not in ("join", "basename", "dirname", "normpath", "isabs"):
                        found.append(f"{file_name}: {where}: os.path.{func.attr}")
            if (
                isinstance(func, ast.Name)
                and func.id == "open"
                and call.args
                and not _is_descriptor(call.args[0])
            ):
                found.append(f"{file_name}: {where}: open() of a name")

    def confined(name: str) -> bool:
        return (whole_module and name not in ALLOWED) or name.endswith(CONFINED_SUFFIXES) or name in shared

    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and confined(node.name):
            check(node, node.name)
        elif isinstance(node, ast.ClassDef):
            for method in node.body:
                if isinstance(method, ast.FunctionDef) and (node.name in shared or confined(method.name)):
                    check(method, f"{node.name}.{method.name}")
    return found


def _is_descriptor(arg: ast.expr) -> bool:
    """An open descriptor by the house's naming (``fd``, ``dir_fd``, ``listing``), or a call or
    conditional that yields one (``located.open(...)``)."""
    if isinstance(arg, ast.Name):
        return arg.id.endswith("fd") or arg.id in ("listing", "dir_fd")
    if isinstance(arg, ast.Attribute):
        return arg.attr.endswith("fd")
    return isinstance(arg, (ast.Call, ast.IfExp))


def sources(folder: str, suffix: str):
    """(path relative to ``folder``, text) of every source file below it."""
    for dirpath, _, files in os.walk(folder):
        for name in sorted(files):
            if name.endswith(suffix):
                path = os.path.join(dirpath, name)
                with open(path) as f:
                    yield os.path.relpath(path, folder), f.read()


def test_no_native_confined_code_path_opens_by_name():
    found = []
    checked = 0
    for name, source in sources(NATIVE, ".rs"):
        found += rust_violations(name, source, whole_module=name in CONFINE_MODULES)
        checked += sum(1 for item, _ in rust_items(source) if item.endswith(CONFINED_SUFFIXES))
    assert found == []
    assert checked >= 10  # the lint sees the confined functions (names did not drift away)


def test_no_twin_confined_code_path_opens_by_name():
    found = []
    for name, source in sources(TWIN, ".py"):
        found += twin_violations(name, source, whole_module=name == "confine.py")
    assert found == []


def test_the_lint_flags_a_by_name_open_in_confined_code():
    rust = 'fn write_beneath(p: &Path) { let f = File::open(p); let s = "}"; }\nfn other() { fs::read(p); }'
    assert rust_violations("x.rs", rust, whole_module=False) == [
        r"x.rs: write_beneath: \bFile::(open|create)"
    ]
    twin = (
        "def read_beneath(root, name, fd):\n    os.open(name, 0)\n    open(name)\n    os.stat(name, dir_fd=fd)\n"
        "    os.path.exists(name)\n    with open(fd) as f: pass\n"
    )
    assert twin_violations("x.py", twin, whole_module=False) == [
        "x.py: read_beneath: os.open without dir_fd",
        "x.py: read_beneath: open() of a name",
        "x.py: read_beneath: os.path.exists",
    ]
