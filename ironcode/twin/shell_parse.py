"""Twin of native/tool/src/shell/parse.rs: parsing a command line with py-tree-sitter, around two
faults of the libraries (issue 23; the Rust module's docs explain both).

- tree-sitter-bash 0.25.1's scanner calls C's ``isdigit()`` on the code point after a ``{``;
  glibc's is a 384-entry table lookup, so a code point past U+00FF reads up to 2.2 MB past it and
  segfaults the process when that is unmapped (``{`` + U+D8176: about every other run). The
  wheel's scanner has the same code, so when a command line holds a ``{`` and such a code point,
  the parse runs with this thread's ctype table pointer (``__ctype_b_loc``) swapped for a copy
  extended to every code point, zeros past 255, and restored after.
- A pipeline of three or more commands at the very end costs tree-sitter a wasted error
  recovery (~100 µs); with a ``\\n`` appended it does not. Command lines with a ``|`` are parsed
  so; that tree is used when it is clean and the newline lies in no node but the root; otherwise
  (and without a ``|``) the command line is parsed as given.
"""

from __future__ import annotations

import ctypes
import mmap
import sys
import threading

import tree_sitter
import tree_sitter_bash

_LANGUAGE = tree_sitter.Language(tree_sitter_bash.language())

#: Entries below 0 in glibc's ctype table, entries it has (-128..255), and entries of the
#: extended table (-128 up to U+10FFFF).
NEGATIVE = 128
GLIBC_ENTRIES = NEGATIVE + 256
ENTRIES = NEGATIVE + 0x110000

#: One parser (and extended ctype table) per thread: py-tree-sitter releases the GIL while parsing.
_local = threading.local()


def parse_tree(source: bytes) -> tree_sitter.Tree | None:
    """The syntax tree of ``source``; no node but the root reaches past ``source``."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = tree_sitter.Parser(_LANGUAGE)
    if needs_wide_ctype(source):
        return _with_wide_table(lambda: _terminated_parse(parser, source))
    return _terminated_parse(parser, source)


def needs_wide_ctype(source: bytes) -> bool:
    """True if the scanner could call ``isdigit`` on a code point past U+00FF: a ``{`` and a
    UTF-8 lead byte of U+0100 or more (0xC4..)."""
    return b"{" in source and max(source) >= 0xC4


def may_end_in_a_pipeline(source: bytes) -> bool:
    """True if ``source`` has a ``|`` (every slow case measured had one) and does not end in a
    newline or a backslash (which would make the appended newline a continuation)."""
    return b"|" in source and not source.endswith((b"\n", b"\\"))


def _terminated_parse(parser: tree_sitter.Parser, source: bytes) -> tree_sitter.Tree | None:
    if may_end_in_a_pipeline(source):
        parser.reset()
        tree = parser.parse(source + b"\n")
        if _newline_only_terminates(tree, len(source)):
            return tree
    parser.reset()
    return parser.parse(source)


def _newline_only_terminates(tree: tree_sitter.Tree, at: int) -> bool:
    root = tree.root_node
    if root.has_error:
        return False
    node = root.descendant_for_byte_range(at, at + 1)
    return node is not None and node.id == root.id


def _glibc_table_slot():
    """This thread's ``const unsigned short **`` ctype slot getter, or None off glibc."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        getter = ctypes.CDLL(None).__ctype_b_loc
    except AttributeError:  # musl and others: isdigit compares, reads no table
        return None
    getter.argtypes = ()
    getter.restype = ctypes.POINTER(ctypes.c_void_p)
    return getter


_ctype_b_loc = _glibc_table_slot()


def _with_wide_table(parse):
    """Runs ``parse()`` with this thread's ctype table extended to every code point."""
    if _ctype_b_loc is None:
        return parse()
    table = getattr(_local, "table", None)
    if table is None:
        # Anonymous memory is zero and unbacked until touched: only the copied page is resident.
        _local.memory = mmap.mmap(-1, ENTRIES * 2)
        table = _local.table = (ctypes.c_uint16 * ENTRIES).from_buffer(_local.memory)
    slot = _ctype_b_loc()
    previous = slot[0]
    ctypes.memmove(table, previous - NEGATIVE * 2, GLIBC_ENTRIES * 2)
    slot[0] = ctypes.addressof(table) + NEGATIVE * 2
    try:
        return parse()
    finally:
        slot[0] = previous
