"""The pure-Python twins: one module per native tool module, same function names, same answers.

Each ``ironcode.twin.<module>`` mirrors ``native/tool/src/<module>.rs`` function for function, so
the two can be read side by side. Parity is tested (``test/test_parity.py``): both backends return
the same value or raise the same error kind.

Intended differences (the only ones; everything else is a bug):

- ``stats``: both sample /proc, but each backend keeps its own previous CPU sample, and two samples
  are never taken at the same instant, so values differ by what changed between calls.
- ``extract``: a zip holding several entries of the same name is read by the zip crate as one
  entry per name and by Python's zipfile as every entry, so the results may differ for such
  (malformed) archives.
- Error *messages* may differ in wording; error *kinds* never do.
- ``confine`` (``root=``; issue 19): Python has no ``openat2``, so the twin always resolves a confined
  path by the component walk the native side falls back to (plain names first, opened one by one
  with ``O_NOFOLLOW``, then the full walk). Answers, kinds and ``outside_root`` messages are the same
  (tested on both native paths and the twin).
- ``fuzzy``: each backend ranks with its own algorithms (native: nucleo, skim, sublime; Python:
  rapidfuzz), so the *order* of ``fuzzy_search`` results differs, and with a ``limit`` so may which
  items make the cut. Which items match (the in-order, smart-case rule) is the same, and tested.

- ``patch``: none between the backends — but both differ from Codex's apply_patch on purpose:
  *all or nothing* (every file is resolved in memory before any is written, and a write failing
  part-way restores what was written; Codex keeps the files changed before a failing one);
  *final newline and BOM kept* (an updated file keeps whether it ended with a newline, its BOM
  and its line endings; Codex always ends it with ``\n`` and drops a BOM); *``@@ TEXT`` is an
  insertion point* (a chunk of only ``+`` lines goes right after its ``@@ TEXT`` line; Codex
  appends it at the end of the file). ``unwrap_heredoc`` (both backends) reads a heredoc'd
  patch, leaving a ``<<-`` body's tabs as they are (a shell would strip them).

Intended differences from opencode (both backends alike):

- ``edit_replace`` / ``edit_file`` (issue 22): after a tolerant match of whole lines, ``new`` is
  re-indented by the one leading-whitespace prefix that the matched lines and ``old``'s lines
  differ by (added where ``old`` lacks it, removed where ``old`` has it extra); opencode inserts
  ``new`` as written (its golden test pins that), which breaks the file's indentation after the
  commonest model mistake, an ``old_string`` without the code's indentation. The exact match is
  never re-indented (``edit_reindent.py``).

Search (``walk``, ``file_list``, ``glob``, ``grep``; issue 4). The twin ports ripgrep's ``ignore``
and ``globset`` crates (``ripgrep_ignore.py``, ``globset.py``) and grep-searcher's reading rules,
and translates Rust regex syntax to ``re`` (``rust_regex.py``); what remains different:

- Regex features ``re`` cannot express are refused by the twin (``invalid_pattern``, the message
  names the Python backend) and accepted natively: Unicode property classes (``\\p{Greek}``),
  nested classes and class set operations (``[a[bc]]``, ``&&``, ``--``, ``~~``), negated ASCII
  classes (``[[:^alpha:]]``) and the flags ``(?x)``, ``(?R)`` and ``(?-u)`` (byte mode).
- ``\\w``, ``\\b``, ``\\B``, ``\\<``, ``\\>``: Rust's word characters include combining marks,
  connector punctuation, ZWJ/ZWNJ and every Alphabetic character; Python's are ``str.isalnum()``
  plus ``_`` (which adds numbers such as ``²``). ``\\d`` is Unicode ``Nd`` on both sides, but of
  each library's Unicode version.
- Case-insensitive matching: Rust uses Unicode simple case folding, ``re.IGNORECASE`` its own
  tables; a few characters fold differently.
- Size limits: Rust refuses regexes over its compiled-size limit (huge counted repetitions) that
  ``re`` compiles; the twin approximates the nesting limit of 250 by counting groups. Near that limit (from about 245 nested
  groups, depending on how deep the caller's stack already is) the twin's recursive parser runs out
  of Python stack and refuses the pattern as ``invalid_pattern`` (it used to escape as RecursionError).
- A literal ``\\n`` without ``multiline``: regex-syntax folds an alternation of single characters
  into a class (``\\n|a`` is ``[\\na]``), from which the line terminator is then stripped, so the
  native side accepts such a pattern; the twin refuses every literal ``\\n`` (``invalid_pattern``).
- ``multiline`` count mode (``rg -U -c``) finds each match again up to 128 bytes past the matched
  lines; the twin measures those 128 bytes in whole characters, so a match that needs to see
  past a character cut there may count differently.
- UTF-16 files (byte-order mark): the twin transcodes the whole file, so if one holds U+0000 after
  its first read, the lines searched before stopping may differ from the native transcoding
  reader's; malformed UTF-16 may yield a different number of U+FFFD.

Where the native side (current ``ignore`` 0.4.35, ``globset``, ``regex``, ``grep-searcher``) and the
Debian ripgrep 13 used as the test oracle differ, ironcode follows the current crates and the
oracle tests keep to the common ground:

- ``follow=True``: a symlink to a folder above the search root is a loop and skipped; rg 13 walks
  that folder once before noticing.
- A binary file whose first NUL comes after the first read: rg 13 reuses grown line buffers
  across files, so which earlier lines it reports varies between runs (and ``--no-messages``
  drops them); ironcode reads each file of 64 KiB or more with a fresh buffer, deterministically.
- Globs: nested braces (``{a,{b,c}}``), POSIX classes (``[[:alpha:]]``) and ``/`` inside classes
  are handled by the current globset; rg 13 refuses or reads them differently.
- Ignore files: invalid UTF-8 lines are skipped (rg 13 stops reading the file there), a UTF-8 BOM
  is dropped, only unescaped trailing spaces are trimmed; ``.jj`` marks a repository; the global
  excludes file is also found through ``GIT_CONFIG_GLOBAL`` and the system config, and its
  anchored patterns match relative to the search root.
- Regex: ``\\<``, ``\\>`` and ``\\b{start}`` exist (rg 13: "unrecognized escape sequence").
- grep on one file: rg searches an explicitly named file in "convert" binary mode and prints
  "binary file matches"; ironcode skips binary data exactly as in a walk.
- grep's ``file_type``: the table is the linked crate's (``py`` includes ``*.pyi``, ``scheme`` has
  its own type, ``fut`` is ``*.fut``); rg 13's older table lacks those. With ``include`` too, a
  file must match both the glob and the type (rg lets the glob override the type).
"""


def __getattr__(name: str):
    """``ironcode.twin.read`` etc. without importing every twin (and its libraries) up front."""
    import importlib

    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as e:
        if e.name == f"{__name__}.{name}":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        raise
