"""grep's type table: the same on both backends, generated from the linked crate, and ripgrep's.

The native side selects ``file_type`` with the ``ignore`` crate's built-in table; the twin carries
a copy generated from the crate's source (``script/gen-grep-types.py``). The installed rg (13) is
older than the crate: its table is the oracle on the types and globs both have.
"""

from __future__ import annotations

import os
import subprocess
import sys

from ironcode import ffi
from ironcode.twin import grep as twin_grep

from .helpers import ROOT
from .searchlib import rg_type_list

#: Globs rg 13 has that the linked crate changed since: rg 13's `fut` type had a typo (".fut"
#: for "*.fut"), and Scheme's globs moved from `lisp` to a `scheme` type of their own.
RG13_GLOBS_CHANGED_SINCE = {("fut", ".fut"), ("lisp", "*.sc"), ("lisp", "*.scm")}


def test_native_and_twin_type_tables_are_equal():
    native = ffi.grep_types()
    assert native == twin_grep.grep_types()
    assert len(native) > 200
    assert {"py", "rust", "js", "ts", "md"} <= {t["name"] for t in native}


def test_the_committed_twin_table_is_what_the_generator_makes_from_the_crate():
    script = os.path.join(ROOT, "script", "gen-grep-types.py")
    out = subprocess.run([sys.executable, script, "--check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_the_table_agrees_with_rg_type_list_on_what_both_have():
    ours = {t["name"]: set(t["globs"]) for t in ffi.grep_types()}
    theirs = rg_type_list()
    assert set(theirs) <= set(ours)  # every type rg 13 knows is still there
    differ = {(name, glob) for name, globs in theirs.items() for glob in globs - ours[name]}
    assert differ == RG13_GLOBS_CHANGED_SINCE
    assert sum(len(globs & ours[name]) for name, globs in theirs.items()) > 400
