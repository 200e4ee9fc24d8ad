"""ironcode — the tool layer of an AI coding agent, native (Rust) and pure Python.

Every operation below dispatches to the backend chosen for it in :mod:`ironcode.backend`
(benchmark-backed), overridable with ``IRONCODE_BACKEND=native|python`` or
``with ironcode.backend.use("python"):``. Both backends return the same plain JSON-compatible
values and raise :class:`IronCodeError` with the same kinds.

>>> import ironcode
>>> ironcode.write("/tmp/ironcode-doc.txt", "a\\nb\\n")["bytes"]
4
>>> ironcode.read("/tmp/ironcode-doc.txt")["lines"]
['a', 'b']
"""

from __future__ import annotations

from . import backend, ffi, twin
from .backend import implementation as _impl
from .errors import IronCodeError

__version__ = "0.1.0"

__all__ = [
    "IronCodeError",
    "backend",
    "ffi",
    "twin",
    # files
    "read",
    "write",
    "ls",
    # edit
    "edit_replace",
    "edit_candidates",
    "levenshtein",
    "edit_file",
    # patch
    "apply_patch",
    # search
    "file_list",
    "glob",
    "grep",
    # git
    "vcs_info",
    "git_status",
    "git_diff",
    "git_branches",
    "git_stage",
    "git_unstage",
    "git_commit",
    # shell
    "parse_bash",
    "command_prefix",
    # terminal
    "Terminal",
    "terminals",
    "cleanup_idle",
    # fuzzy
    "fuzzy_search",
    "FuzzyIndex",
    # watcher
    "Watcher",
    # lock
    "RWLock",
    "LockGuard",
    "lock_stats",
    # system
    "stats",
    "extract",
]


# ---- files -----------------------------------------------------------------------------------


# Every file and search operation takes a keyword ``root``: with it, the path (relative to the
# root, or absolute) and everything the operation finds or creates are resolved beneath the
# root's descriptor, and a path that leaves it raises ``outside_root`` (OPERATIONS.md, "Confined
# operations"); result paths are spelled from the root as given.


def read(path: str, offset: int = 1, limit: int = 2000, *, root: str | None = None) -> dict:
    """Lines of a UTF-8 text file: ``{"path", "lines", "offset", "total_lines", "truncated"}``.

    ``offset`` is 1-based; lines over 2000 characters are cut; reading stops before 50 KB.
    Raises ``not_found``, ``is_directory``, ``binary_file``, ``encoding``, ``invalid_argument``
    (and ``outside_root`` with a ``root``).
    """
    return _impl("read")(path, offset, limit, root=root)


def write(path: str, content: str | bytes, *, root: str | None = None) -> dict:
    """Atomically writes ``content`` (creating parent folders): ``{"path", "bytes", "created"}``."""
    return _impl("write")(path, content, root=root)


def ls(
    path: str = ".", ignore: list[str] | None = None, limit: int | None = 100, *, root: str | None = None
) -> dict:
    """Files below ``path``, recursive and sorted: ``{"root", "files", "truncated"}``.

    Skips dependency, build and cache folders and any matching the gitignore-style ``ignore`` globs.
    """
    return _impl("ls")(path, ignore, limit, root=root)


# ---- edit (issue 3) -----------------------------------------------------------


#: Below this many characters the dispatcher tries an exact ``old`` in Python before choosing a
#: backend: for small files the library's round trip costs more than the search (bench-edit
#: "exact" rows: the twin is 1.2-4x faster up to 1K lines, level at 5K, slower at 10K).
EXACT_FAST_PATH_MAX_CHARS = 64 * 1024
_exact_replace = None


def edit_replace(content: str, old: str, new: str, replace_all: bool = False) -> str:
    """``content`` with the text ``old`` means replaced by ``new``.

    Tries ``old`` exactly, then opencode's fuzzy strategies in order (trimmed lines, block
    anchors, collapsed whitespace, indentation, escapes, trimmed ends, context). An exact match
    gets ``new`` as written. A tolerant match of whole lines keeps the file's indentation: with
    trailing whitespace and blank lines left out of the comparison, if every matched line is P +
    its line of ``old`` for one whitespace string P, every non-blank line of ``new`` gets P in
    front; if every line of ``old`` is P + its matched line, P is taken off the front of every
    non-blank line of ``new`` that starts with it; blank lines of ``new`` stay as they are, and in
    every other case ``new`` goes in as written. With ``replace_all`` every copy gets the same text.

    >>> edit_replace("    if x:\\n        y()\\n", "if x:\\n    y()", "if z:\\n    w()")
    '    if z:\\n        w()\\n'

    Raises ``no_match``, ``multiple_matches`` (lists the lines; exact duplicates never fall
    through to fuzzy matching), ``disproportionate``, ``same_strings``, ``empty_old_string``,
    ``search_too_large``.
    """
    # The exact step is the same code on both backends, so it runs before the backend is even
    # chosen; only a fuzzy search goes to the chosen one.
    if isinstance(content, str) and len(content) < EXACT_FAST_PATH_MAX_CHARS:
        global _exact_replace
        if _exact_replace is None:
            # Bound once: an import statement here would cost more than a small exact edit.
            from .twin.edit import exact_replace as _exact_replace
        done = _exact_replace(content, old, new, replace_all)
        if done is not None:
            return done
    return _impl("edit_replace")(content, old, new, replace_all)


def edit_candidates(strategy: str, content: str, find: str) -> list[str]:
    """What one replacer strategy proposes for ``find``, in file order (for debugging edits).

    ``strategy`` is one of simple, line_trimmed, block_anchor, whitespace_normalized,
    indentation_flexible, escape_normalized, trimmed_boundary, context_aware, multi_occurrence.
    """
    return _impl("edit_candidates")(strategy, content, find)


def levenshtein(a: str, b: str) -> int:
    """Edit distance in code points; ``search_too_large`` past 4,000,000 table cells."""
    return _impl("levenshtein")(a, b)


def edit_file(path: str, old: str, new: str, replace_all: bool = False, *, root: str | None = None) -> dict:
    """Edits a UTF-8 file in place: ``{"path", "diff", "additions", "deletions"}``.

    Finds ``old`` as :func:`edit_replace` does, re-indenting ``new`` after a tolerant match of
    whole lines by the whitespace the file's lines and ``old``'s differ by (same rule). Keeps the
    file's BOM and line endings (``old``/``new`` are converted to them), writes atomically, and
    returns a unified diff. ``old == ""`` creates a missing file. ``no_match`` names the most
    similar region; ``multiple_matches`` lists every match's line.
    """
    return _impl("edit_file")(path, old, new, replace_all, root=root)


# ---- patch (issue 17) ---------------------------------------------------------


def apply_patch(
    patch: str | bytes, cwd: str = ".", dry_run: bool = False, *, root: str | None = None
) -> dict:
    """Applies a Codex ``*** Begin Patch`` patch: ``{"files": [{"path", "action", "move_path"?,
    "additions", "deletions", "diff"}]}``, one entry per file section.

    Every file is resolved in memory first, so a patch that fails anywhere changes nothing;
    files keep their line endings, BOM and final-newline state; ``dry_run`` writes nothing.
    Raises ``invalid_patch`` (grammar), ``patch_failed`` (a chunk not found, with the closest
    region), ``not_found``, ``is_directory``, ``binary_file``, ``encoding``, ``unsafe_path``, ``io``.
    """
    return _impl("apply_patch")(patch, cwd, dry_run, root=root)


# ---- search (issue 4) ---------------------------------------------------------


def file_list(
    path: str = ".",
    globs: list[str] | None = None,
    hidden: bool = True,
    follow: bool = False,
    max_depth: int | None = None,
    *,
    root: str | None = None,
) -> list[str]:
    """The files a ripgrep search of ``path`` would look at, relative and sorted.

    Equals ``rg --files --hidden [-g GLOB ...] -g '!.git' PATH`` run from ``PATH``: .gitignore
    (inside a git repository), .ignore, .rgignore, .git/info/exclude and the global git excludes
    apply, also from parent folders; ``globs`` are rg ``--glob`` overrides (``!glob`` excludes);
    ``.git`` is never listed. ``hidden=False`` skips dot-files, ``follow`` follows symlinks,
    ``max_depth=1`` lists direct children only.

    >>> ironcode.file_list("src", globs=["*.py"])   # doctest: +SKIP
    ['app.py', 'pkg/util.py']
    """
    return _impl("file_list")(path, globs, hidden, follow, max_depth, root=root)


def glob(pattern: str, path: str = ".", limit: int | None = 100, *, root: str | None = None) -> dict:
    """Files below ``path`` matching the rg glob ``pattern``, newest first: ``{"files", "total",
    "truncated"}`` with absolute paths. ``**/*.py`` or ``*.py`` match at any depth.
    """
    return _impl("glob")(pattern, path, limit, root=root)


def grep(
    pattern: str,
    path: str = ".",
    include: str | None = None,
    limit: int | None = 100,
    ignore_case: bool = False,
    *,
    output_mode: str = "content",
    before: int | None = None,
    after: int | None = None,
    context: int | None = None,
    multiline: bool = False,
    file_type: str | None = None,
    max_line_chars: int | None = None,
    root: str | None = None,
) -> dict:
    """Lines matching the Rust-regex ``pattern`` in the files rg would search below ``path``:
    ``{"matches": [{"path", "line", "text"}], "total", "truncated"}``, newest files first.

    Binary files are skipped as rg skips them; ``include`` is an rg glob choosing files. Memory
    stays bounded: a line longer than 8 MiB ends the search of its file (matches before it are
    kept) and the file is listed in an extra ``"long_lines"`` key, present only then; a match's
    text is cut to 262,144 characters. Raises ``invalid_pattern`` for a bad regex or glob,
    ``not_found`` for a missing path, ``permission_denied`` for an unreadable file named by
    ``path`` (unreadable files inside a folder are skipped, as rg skips them).

    Keyword-only, each as ripgrep's flag of that name (OPERATIONS.md):

    - ``output_mode="files"`` (``rg -l``): ``{"files", "total", "truncated"}``;
      ``"count"`` (``rg -c``): ``{"counts": [{"path", "count"}], "total", "truncated"}``;
    - ``before``/``after``/``context`` (``-B/-A/-C``): context lines too, each entry with
      ``"kind": "match"|"context"``;
    - ``multiline=True`` (``-U``): a match may span lines, one entry per line it spans (files
      of 8 MiB or more are then not searched, and listed in ``long_lines``);
    - ``file_type="py"`` (``--type``; :func:`ironcode.ffi.grep_types` lists them), with
      ``include`` too a file must match both;
    - ``max_line_chars=N``: texts cut to N characters, the entry marked ``"cut": true`` with the
      line's length in ``"chars"``.

    >>> ironcode.grep("TODO", "src", output_mode="count")   # doctest: +SKIP
    {'counts': [{'path': '/abs/src/app.py', 'count': 2}], 'total': 2, 'truncated': False}
    """
    return _impl("grep")(
        pattern,
        path,
        include,
        limit,
        ignore_case,
        output_mode=output_mode,
        before=before,
        after=after,
        context=context,
        multiline=multiline,
        file_type=file_type,
        max_line_chars=max_line_chars,
        root=root,
    )


# ---- git (issue 5) ------------------------------------------------------------


def vcs_info(path: str = ".", engine: str = "auto") -> dict:
    """Branch and change counts of the repository containing ``path``:
    ``{"branch", "added", "modified", "deleted"}`` (untracked files count as added; renames, type
    changes and conflicts as modified).

    ``engine``: ``"auto"`` (in-process, or one ``git`` spawn for a large index), ``"library"``
    (always in-process) or ``"git"`` (always the git binary). Not a repository: kind ``git``.
    """
    return _impl("vcs_info")(path, engine)


def git_status(path: str = ".", engine: str = "auto") -> dict:
    """``git status --porcelain=v1 --untracked-files=all`` as data: ``{"root", "branch",
    "files": [{"path", "xy", "status", "staged", "orig_path", "similarity"}]}``.

    >>> ironcode.git_status(".")["files"][0]  # doctest: +SKIP
    {'path': 'b.txt', 'xy': 'R ', 'status': 'renamed', 'staged': True, 'orig_path': 'a.txt', 'similarity': 100}

    ``status`` is one of added, modified, deleted, renamed, copied, typechange, untracked,
    conflicted; the branch is ``HEAD (detached at <short id>)`` when detached. Read-only: the
    index is never rewritten.
    """
    return _impl("git_status")(path, engine)


def git_diff(path: str = ".", file: str | None = None, staged: bool = False) -> str:
    """The unified patch of unstaged changes (``git diff --no-renames``), or of staged ones with
    ``staged=True`` (``--cached``), limited to ``file`` (relative to ``path``) if given."""
    return _impl("git_diff")(path, file, staged)


def git_branches(path: str = ".") -> dict:
    """``{"current", "branches": [{"name", "commit", "subject", "current", "upstream"}]}``."""
    return _impl("git_branches")(path)


def git_stage(path: str, files: list[str]) -> dict:
    """``git add -- FILES`` (FILES relative to ``path``): ``{"root", "paths"}``."""
    return _impl("git_stage")(path, files)


def git_unstage(path: str, files: list[str]) -> dict:
    """``git restore --staged -- FILES``: ``{"root", "paths"}``."""
    return _impl("git_unstage")(path, files)


def git_commit(path: str, message: str) -> str:
    """Commits the index (``git commit -m``, no hooks) and returns the short commit id.

    The author comes from GIT_AUTHOR_NAME/EMAIL or user.name/user.email; none set is kind ``git``.
    """
    return _impl("git_commit")(path, message)


# ---- shell (issue 6) ----------------------------------------------------------


def parse_bash(command: str, cwd: str = ".") -> dict:
    """What a bash command line will do: ``{"commands", "directories", "patterns", "always"}``.

    ``commands`` is every command anywhere in it (pipelines, lists, subshells, loop bodies,
    substitutions) as ``{"name", "args", "text"}``; ``directories`` the absolute folders that
    file commands (cd, rm, cp, mv, mkdir, touch, chmod, chown, cat) touch, relative paths resolved
    against ``cwd``; ``patterns`` each command's text and ``always`` its ``command_prefix + " *"``
    (cd-like commands excluded). Never raises on the command itself:

    >>> parse_bash("git log --oneline -5 && echo done > out")["always"]
    ['git log *', 'echo *']
    """
    return _impl("parse_bash")(command, cwd)


def command_prefix(tokens: list[str]) -> str:
    """The tokens that name what a command does: ``["git", "checkout", "main"]`` → ``"git checkout"``."""
    return _impl("command_prefix")(tokens)


# ---- terminal (issue 7) -------------------------------------------------------


class Terminal:
    """A program on a pseudo-terminal, its output kept in a 2 MiB ring buffer.

    ::

        with ironcode.Terminal(["sh"]) as t:
            t.write("echo $((6 * 7))\\n")
            t.read(timeout=1.0)  # b'echo $((6 * 7))\\r\\n42\\r\\n$ ' (once the shell answers)

    ``command`` is an argv list (None: ``$SHELL``, else /bin/sh), started in ``cwd`` as the leader
    of its own process group, with ``env`` on top of this process's environment (``TERM`` defaults
    to xterm-256color). The backend is chosen once, here (row ``Terminal`` of
    :data:`ironcode.backend.DECISIONS`); ``.backend`` says which. A missing command raises
    ``not_found`` naming it.

    ``read(timeout)`` returns the output not yet read, waiting up to ``timeout`` seconds for some
    (without holding the GIL or polling); ``buffer()`` is the retained output whatever was read;
    ``status()`` turns "exited" and ``exit_code`` is set as soon as the program exits;
    ``close()`` kills every process of the session, reaps it and frees the PTY.
    """

    def __init__(
        self,
        command: list[str] | None = None,
        cwd: str = ".",
        rows: int = 24,
        cols: int = 80,
        env: dict[str, str] | None = None,
    ) -> None:
        self._session = _impl("Terminal")(command, cwd, rows, cols, env)
        self.id: str = self._session.id
        self.pid: int = self._session.pid  # leader of its own process group
        self.backend: str = self._session.backend

    def write(self, data: str | bytes) -> int:
        """Sends input (str as UTF-8); returns the bytes written. An exited program: ``invalid_argument``."""
        return self._session.write(data)

    def read(self, timeout: float = 0.0) -> bytes:
        """Output since the last read, waiting up to ``timeout`` s for some; b"" if none came."""
        return self._session.read(timeout)

    def wait(self, timeout: float) -> int | None:
        """Waits up to ``timeout`` s for the exit and the end of output; the exit code or None."""
        return self._session.wait(timeout)

    def resize(self, rows: int, cols: int) -> None:
        """Resizes the terminal; the program gets SIGWINCH."""
        self._session.resize(rows, cols)

    def status(self) -> str:
        """``"running"`` or ``"exited"``."""
        return self._session.status()

    @property
    def exit_code(self) -> int | None:
        """The exit status (minus the signal number if killed by one); None while running."""
        return self._session.exit_code

    def buffer(self) -> bytes:
        """The retained output: the last ≤ 2 MiB, independent of read()."""
        return self._session.buffer()

    def drain(self) -> bytes:
        """The retained output, emptying the buffer."""
        return self._session.drain()

    def clear(self) -> None:
        """Empties the buffer."""
        self._session.clear()

    def info(self) -> dict:
        """``{"id", "backend", "pid", "command", "cwd", "rows", "cols", "status", "exit_code",
        "created", "idle_seconds", "buffered", "received", "dropped", "output_closed"}``."""
        return self._session.info()

    def close(self) -> dict | None:
        """Kills the session's processes, reaps them, frees the PTY; the final info (None if it
        was already closed). Safe to call twice."""
        return self._session.close()

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ironcode.Terminal {self.id} pid={self.pid} backend={self.backend}>"


def _terminal_backends() -> list:
    """The backends whose registries may hold sessions: the twin, and the native library if it loads."""
    from .twin import terminal as twin_terminal

    backends: list = [twin_terminal]
    try:
        from . import ffi

        ffi.library()
        backends.insert(0, ffi)
    except IronCodeError:
        pass  # no native library, so no native sessions
    return backends


def terminals() -> list[dict]:
    """Every open terminal session of this process, on either backend: a list of ``info()`` dicts."""
    return [info for module in _terminal_backends() for info in module.terminals()]


def cleanup_idle(seconds: float) -> list[str]:
    """Closes the sessions whose program exited and that were idle more than ``seconds``; their ids."""
    return [sid for module in _terminal_backends() for sid in module.cleanup_idle(seconds)]


# ---- fuzzy (issue 8) ----------------------------------------------------------


def _fuzzy_impl(op: str, algorithm: str | None):
    """An explicitly named algorithm is served by the backend that has it (rapidfuzz: Python;
    nucleo, skim, sublime: native), whatever backend is forced; otherwise the decision table."""
    from .twin.fuzzy import DEFAULT_ALGORITHM, NATIVE_ALGORITHMS

    if algorithm in NATIVE_ALGORITHMS:
        return _impl(op, "native")
    if algorithm == DEFAULT_ALGORITHM:
        return _impl(op, "python")
    return _impl(op)


def fuzzy_search(
    query: str, items: list[str], limit: int | None = 50, algorithm: str | None = None
) -> list[str]:
    """The items that hold ``query``'s characters in order, best first, at most ``limit``.

    Smart case: case is ignored unless the query has an upper-case letter. An empty query returns
    the first ``limit`` items; ties keep input order. ``algorithm`` is one of ``nucleo``, ``skim``,
    ``sublime`` (native) or ``rapidfuzz`` (Python); the default is the benchmark's choice.

    >>> fuzzy_search("clipy", ["ironcode/cli.py", "click/core.py", "README.md"])
    ['ironcode/cli.py', 'click/core.py']
    """
    return _fuzzy_impl("fuzzy_search", algorithm)(query, items, limit, algorithm)


def FuzzyIndex(items: list[str], algorithm: str | None = None):  # noqa: N802 - used like a class
    """An index of ``items`` for many searches: ``FuzzyIndex(paths).search("clipy", 10)``.

    The native index copies the items into the library once, so a search sends only the query and
    scores on several threads. Close it with ``close()`` or use it as a context manager.
    """
    return _fuzzy_impl("FuzzyIndex", algorithm)(items, algorithm)


# ---- watcher (issue 9) --------------------------------------------------------


class Watcher:
    """Watches the folder ``path`` and everything below it, new subfolders included.

    Events are ``{"path", "kind", "timestamp"}``: an absolute path, ``kind`` ``add`` / ``change`` /
    ``unlink`` (a rename is ``unlink`` + ``add``), and when it was queued (``time.time()`` seconds).
    ``ignore`` holds gitignore-style globs matched against paths relative to ``path``
    (``node_modules``, ``.git``, ``**/*.log``). At most ``max_queue`` events wait between two polls:
    the newest are kept and ``info()["dropped"]`` counts the rest. Repeats merge while pending: a
    file written in ten chunks gives one ``change``, a new file gives ``add`` without ``change``.

    >>> import ironcode, os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with ironcode.Watcher(folder, ignore=["*.log"]) as w:
    ...     _ = ironcode.write(os.path.join(folder, "a.txt"), "hi")
    ...     [(os.path.basename(e["path"]), e["kind"]) for e in w.wait(5.0)]
    [('a.txt', 'add')]

    The backend is chosen once, at construction (``backend.py``, row ``Watcher``). Raises
    ``not_found`` / ``not_a_directory`` for the path, ``invalid_pattern`` for a bad glob, and
    ``io`` naming the sysctl to raise when inotify watches or instances run out.
    """

    def __init__(self, path: str, ignore: list[str] | None = None, max_queue: int = 1000) -> None:
        self.backend: str = backend.choose("Watcher")
        self._watcher = _impl("Watcher", self.backend)(path, ignore, max_queue)
        self.path: str = self._watcher.path

    def poll(self) -> list[dict]:
        """The queued events, oldest first, without waiting (``[]`` if none)."""
        return self._watcher.poll()

    def wait(self, timeout: float) -> list[dict]:
        """Blocks until there is at least one event, then returns them all; ``[]`` after
        ``timeout`` seconds. Sleeps without holding the GIL and without a polling interval.
        A failure seen meanwhile (inotify watches ran out for a new folder) is raised once."""
        return self._watcher.wait(timeout)

    def info(self) -> dict:
        """``{"path", "pending", "dropped", "error"}``."""
        return self._watcher.info()

    def close(self) -> None:
        """Stops the OS watches and the watcher's threads; waiters wake with what was queued."""
        self._watcher.close()

    def __enter__(self) -> Watcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ironcode.Watcher {self.path} ({self.backend})>"


# ---- lock (issue 10) ----------------------------------------------------------

from .rwlock import LockGuard, RWLock  # noqa: E402


def lock_stats() -> dict:
    """Counts of the lock registry that serves :class:`RWLock`: ``{"total_locks", "active_readers",
    "active_writers", "waiting_readers", "waiting_writers"}`` (keys with no holders are gone)."""
    return _impl("lock_stats")()


# ---- system ----------------------------------------------------------------------------------


def stats() -> dict:
    """``{"cpu_percent", "memory_used_mb", "memory_total_mb", "memory_percent", "rss_mb"}``; never sleeps."""
    return _impl("stats")()


def extract(archive: str, dest: str) -> dict:
    """Extracts a zip, tar or tar.gz into ``dest``: ``{"files", "dest"}``.

    An entry that would land outside ``dest`` raises ``unsafe_path`` and nothing is written.
    """
    return _impl("extract")(archive, dest)
