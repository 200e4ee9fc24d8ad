"""The ``ironcode`` command line: every tool on either backend, as text for a person or ``--json``.

    ironcode read README.md
    ironcode --json --backend python ls src
    ironcode stats --json            # options are accepted after the subcommand too

Errors print one line on stderr (``ironcode: <kind>: <message>``) and exit 1; usage errors exit 2.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any

import click

from . import backend as backend_mod
from .errors import IronCodeError
from .tools.grep import MAX_LINE_CHARS as MAX_GREP_LINE_CHARS

#: Exit status of an operation that failed (click uses 2 for usage errors).
EXIT_ERROR = 1


class Context:
    """What the group options chose; subcommand options may override them."""

    def __init__(self) -> None:
        self.json = False
        self.backend: str | None = None


def _apply_common(ctx_obj: Context, as_json: bool, backend: str | None) -> None:
    ctx_obj.json = ctx_obj.json or as_json
    if backend:
        ctx_obj.backend = backend


def common_options(fn: Callable) -> Callable:
    """Adds ``--json`` and ``--backend`` to a subcommand (they are group options too)."""

    @click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
    @click.option(
        "--backend",
        type=click.Choice(backend_mod.BACKENDS),
        help="Serve this call from the native or the Python backend.",
    )
    @click.pass_obj
    @functools.wraps(fn)
    def wrapper(obj: Context, as_json: bool, backend: str | None, **kwargs: Any) -> Any:
        _apply_common(obj, as_json, backend)
        return fn(obj, **kwargs)

    return wrapper


def run_op(obj: Context, call: Callable[[], Any], text: Callable[[Any], str] | None = None) -> Any:
    """Runs ``call`` on the chosen backend and prints its result as JSON or ``text(result)``."""
    try:
        if obj.backend:
            with backend_mod.use(obj.backend):
                result = call()
        else:
            result = call()
    except IronCodeError as e:
        click.echo(f"ironcode: {e.kind}: {e.message}", err=True)
        sys.exit(EXIT_ERROR)
    if obj.json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    elif text is not None:
        click.echo(text(result))
    else:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    return result


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON (for programs).")
@click.option(
    "--backend",
    type=click.Choice(backend_mod.BACKENDS),
    help="Force the native (Rust) or python backend; default: the benchmark-backed choice per tool.",
)
@click.version_option(package_name="ironcode")
@click.pass_context
def main(ctx: click.Context, as_json: bool, backend: str | None) -> None:
    """ironcode — the tool layer of an AI coding agent.

    Every command runs on the backend the benchmarks chose for it; --backend forces one.
    Add --json for machine-readable output. `ironcode COMMAND --help` explains each command.
    """
    ctx.obj = Context()
    _apply_common(ctx.obj, as_json, backend)


# ---- files -----------------------------------------------------------------------------------


@main.command()
@click.argument("path")
@click.option("--offset", default=1, show_default=True, help="First line to show (1-based).")
@click.option("--limit", default=2000, show_default=True, help="How many lines at most.")
@common_options
def read(obj: Context, path: str, offset: int, limit: int) -> None:
    """Show a text file with line numbers, as a model sees it.

    Long files stop at --limit lines or 50 KB; the footer says how to continue:

        ironcode read big.py --offset 2001
    """
    import ironcode

    from .tools.read import format_read

    run_op(obj, lambda: ironcode.read(path, offset, limit), format_read)


@main.command()
@click.argument("path")
@click.option("-c", "--content", help="The text to write. Without it, the content is read from stdin.")
@common_options
def write(obj: Context, path: str, content: str | None) -> None:
    """Write a file atomically (parent folders are created).

    echo hello | ironcode write notes/today.txt
    ironcode write notes/today.txt -c 'hello'
    """
    import ironcode

    data: str | bytes = content if content is not None else sys.stdin.buffer.read()
    run_op(
        obj,
        lambda: ironcode.write(path, data),
        lambda r: f"{'Created' if r['created'] else 'Wrote'} {r['path']} ({r['bytes']} bytes)",
    )


@main.command()
@click.argument("path", default=".")
@click.option("-i", "--ignore", multiple=True, help="A gitignore-style glob to skip (repeatable).")
@click.option("--limit", default=100, show_default=True, help="How many files at most (0: all).")
@common_options
def ls(obj: Context, path: str, ignore: tuple[str, ...], limit: int) -> None:
    """List the files below PATH as a tree.

    Dependency, build and cache folders (node_modules, .git, target, .venv, ...) are skipped.
    """
    import ironcode

    from .tools.ls import format_ls

    run_op(obj, lambda: ironcode.ls(path, list(ignore), limit or None), format_ls)


# ---- edit (issue 3) -----------------------------------------------------------


def _read_text_argument(path: str, option: str) -> str:
    """The UTF-8 text of a file (``-``: stdin), bytes kept exactly (no newline translation)."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as f:
                data = f.read()
    except OSError as e:
        raise click.BadParameter(f"cannot read {path}: {e.strerror or e}", param_hint=option) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise click.BadParameter(f"{path} is not valid UTF-8 ({e.reason})", param_hint=option) from None


@main.command()
@click.argument("path")
@click.option("--old", help="The text to replace.")
@click.option("--new", help="The text to put in its place.")
@click.option("--old-file", metavar="FILE", help="Read the text to replace from FILE (- for stdin).")
@click.option("--new-file", metavar="FILE", help="Read the replacement from FILE (- for stdin).")
@click.option("--all", "replace_all", is_flag=True, help="Replace every occurrence, not just a unique one.")
@common_options
def edit(
    obj: Context,
    path: str,
    old: str | None,
    new: str | None,
    old_file: str | None,
    new_file: str | None,
    replace_all: bool,
) -> None:
    """Replace text in a file and print the diff.

    The old text is found exactly or, failing that, with small differences in indentation,
    whitespace or escaping, but only where the match is unique (or everywhere with --all).
    When whole lines matched with every line off by the same leading whitespace, the new text
    is shifted by it too, so it keeps the file's indentation (blank lines stay as they are;
    lines off by different amounts leave the new text as given). The file keeps its line
    endings and BOM. An empty --old creates a new file.

        ironcode edit app.py --old 'x = 1' --new 'x = 2'
        ironcode edit app.py --old-file before.txt --new-file after.txt
    """
    import ironcode

    from .tools.edit import format_edit

    if (old is None) == (old_file is None):
        raise click.UsageError("give the text to replace with exactly one of --old and --old-file")
    if (new is None) == (new_file is None):
        raise click.UsageError("give the replacement with exactly one of --new and --new-file")
    if old_file == "-" and new_file == "-":
        raise click.UsageError("only one of --old-file and --new-file can read stdin")
    old_text = old if old is not None else _read_text_argument(old_file or "", "--old-file")
    new_text = new if new is not None else _read_text_argument(new_file or "", "--new-file")
    run_op(obj, lambda: ironcode.edit_file(path, old_text, new_text, replace_all), format_edit)


# ---- patch (issue 17) ---------------------------------------------------------


@main.command("patch")
@click.argument("file", required=False)
@click.option("--dry-run", is_flag=True, help="Check the patch and show what it would change; write nothing.")
@common_options
def patch_cmd(obj: Context, file: str | None, dry_run: bool) -> None:
    """Apply a Codex-style patch (*** Begin Patch ... *** End Patch) from FILE or stdin.

    Every file is checked before any is written, so a patch that fails changes nothing. Files
    keep their line endings and byte order mark. Prints Codex's summary (A added, M updated,
    D deleted) and the diffs; a failure is one line on stderr and exit status 1.

        ironcode patch fix.patch
        git diff | my-converter | ironcode patch --dry-run
    """
    import ironcode

    from .errors import from_os_error
    from .tools.patch import format_patch

    def fail(kind: str, message: str) -> None:
        # One line, whatever the message holds (a failed chunk quotes the closest region).
        click.echo(f"ironcode: {kind}: {' | '.join(message.splitlines())}", err=True)
        sys.exit(EXIT_ERROR)

    try:
        if file is None or file == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(file, "rb") as f:
                data = f.read()
    except OSError as e:
        error = from_os_error(e, file)
        fail(error.kind, error.message)
    try:
        if obj.backend:
            with backend_mod.use(obj.backend):
                result = ironcode.apply_patch(data, ".", dry_run)
        else:
            result = ironcode.apply_patch(data, ".", dry_run)
    except IronCodeError as e:
        fail(e.kind, e.message)
    if obj.json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        click.echo(format_patch(result, dry_run))


# ---- search (issue 4) ---------------------------------------------------------


@main.command()
@click.argument("path", default=".")
@click.option(
    "-g", "--glob", "globs", multiple=True, help="An rg --glob override (repeatable; !GLOB excludes)."
)
@click.option("--no-hidden", is_flag=True, help="Skip dot-files and dot-folders.")
@click.option("-L", "--follow", is_flag=True, help="Follow symbolic links (loops are skipped).")
@click.option("--max-depth", type=int, help="Descend at most this deep (1: direct children only).")
@common_options
def files(
    obj: Context, path: str, globs: tuple[str, ...], no_hidden: bool, follow: bool, max_depth: int | None
) -> None:
    """List the files a ripgrep search of PATH would look at (rg --files --hidden).

    .gitignore, .ignore, .rgignore, .git/info/exclude and the global git excludes apply, also from
    parent folders; .git is never listed.

        ironcode files src -g '*.py' -g '!tests/**'
    """
    import ironcode

    from .tools.glob import format_files

    run_op(obj, lambda: ironcode.file_list(path, list(globs), not no_hidden, follow, max_depth), format_files)


@main.command()
@click.argument("pattern")
@click.argument("path", default=".")
@click.option("--limit", default=100, show_default=True, help="How many files at most (0: all).")
@common_options
def glob(obj: Context, pattern: str, path: str, limit: int) -> None:
    """Find files matching an rg glob PATTERN below PATH, newest first.

    ironcode glob '**/*.py'
    ironcode glob 'src/*.{ts,tsx}' ~/project
    """
    import ironcode

    from .tools.glob import format_glob

    run_op(obj, lambda: ironcode.glob(pattern, path, limit or None), format_glob)


@main.command()
@click.argument("pattern")
@click.argument("path", default=".")
@click.option("--include", "-g", "--glob", help="Only files matching this rg glob, e.g. '*.{ts,tsx}'.")
@click.option("--type", "-t", "file_type", help="Only files of this rg type, e.g. py, rust, js, ts, md.")
@click.option(
    "--mode",
    type=click.Choice(["content", "files", "count"]),
    default="content",
    show_default=True,
    help="content: matching lines (rg -n); files: paths only (rg -l); count: matches per file (rg -c).",
)
@click.option("-A", "--after", type=click.IntRange(min=0), help="Lines of context after each match.")
@click.option("-B", "--before", type=click.IntRange(min=0), help="Lines of context before each match.")
@click.option("-C", "--context", type=click.IntRange(min=0), help="Lines of context before and after.")
@click.option("-U", "--multiline", is_flag=True, help="Let a match span lines (\\n matches a line end).")
@click.option(
    "--limit",
    default=100,
    show_default=True,
    help="Match lines (content) or files (files, count) at most; 0: all.",
)
@click.option("-i", "--ignore-case", is_flag=True, help="Match case-insensitively.")
@click.option(
    "--max-line-chars",
    type=click.IntRange(min=0),
    help=f"Cut each line's text to this many characters (text output: {MAX_GREP_LINE_CHARS}).",
)
@common_options
def grep(
    obj: Context,
    pattern: str,
    path: str,
    include: str | None,
    file_type: str | None,
    mode: str,
    after: int | None,
    before: int | None,
    context: int | None,
    multiline: bool,
    limit: int,
    ignore_case: bool,
    max_line_chars: int | None,
) -> None:
    r"""Search files below PATH for the Rust regex PATTERN, as rg does.

    Binary files are skipped; newest files come first. The text output is rg's: path:line:text
    for matches, path-line-text for context lines, -- between groups.

        ironcode grep 'fn \w+' src --include '*.rs'
        ironcode grep TODO --type py --mode count
        ironcode grep -C 2 -U 'struct \w+ \{\n' native
    """
    import ironcode

    from .tools.grep import MAX_LINE_CHARS, format_grep

    if max_line_chars is None and not obj.json:
        max_line_chars = MAX_LINE_CHARS  # the text shows no more; the engine keeps no more
    run_op(
        obj,
        lambda: ironcode.grep(
            pattern,
            path,
            include,
            limit or None,
            ignore_case,
            output_mode=mode,
            before=before,
            after=after,
            context=context,
            multiline=multiline,
            file_type=file_type,
            max_line_chars=max_line_chars,
        ),
        lambda result: format_grep(result, mode),
    )


# ---- git (issue 5) ------------------------------------------------------------

_ENGINE = click.option(
    "--engine",
    type=click.Choice(["auto", "library", "git"]),
    default="auto",
    show_default=True,
    help="auto: in-process, or one git spawn for a large index; library: always in-process; git: always git.",
)


@main.command()
@click.argument("path", default=".")
@_ENGINE
@common_options
def vcs(obj: Context, path: str, engine: str) -> None:
    """Branch and counts of added, modified and deleted files of the repository at PATH."""
    import ironcode

    from .tools.vcs import format_vcs_info

    run_op(obj, lambda: ironcode.vcs_info(path, engine), format_vcs_info)


@main.command()
@click.argument("path", default=".")
@_ENGINE
@common_options
def status(obj: Context, path: str, engine: str) -> None:
    """What `git status --porcelain=v1 -uall` says about the repository at PATH, grouped.

    With --json: {"root", "branch", "files": [{"path", "xy", "status", "staged", "orig_path",
    "similarity"}]}, one entry per porcelain line.
    """
    import ironcode

    from .tools.vcs import format_status

    run_op(obj, lambda: ironcode.git_status(path, engine), format_status)


@main.command()
@click.argument("path", default=".")
@click.option("-f", "--file", "file", help="Only this file or folder (relative to PATH).")
@click.option("--staged", is_flag=True, help="Staged changes (HEAD to index) instead of unstaged ones.")
@common_options
def diff(obj: Context, path: str, file: str | None, staged: bool) -> None:
    """The unified patch of unstaged (or --staged) changes, like `git diff --no-renames`."""
    import ironcode

    run_op(
        obj, lambda: ironcode.git_diff(path, file, staged), lambda text: text.rstrip("\n") or "No changes."
    )


@main.command()
@click.argument("path", default=".")
@common_options
def branches(obj: Context, path: str) -> None:
    """The local branches; the current one is marked with *."""
    import ironcode

    def text(r: dict) -> str:
        rows = [
            f"{'*' if b['current'] else ' '} {b['name']}  {b['commit']}  {b['subject']}"
            + (f"  [{b['upstream']}]" if b["upstream"] else "")
            for b in r["branches"]
        ]
        return "\n".join(rows) or f"No branches yet (on {r['current']})."

    run_op(obj, lambda: ironcode.git_branches(path), text)


@main.command()
@click.argument("files", nargs=-1, required=True)
@click.option("-C", "path", default=".", show_default=True, help="Run in this folder.")
@common_options
def stage(obj: Context, files: tuple[str, ...], path: str) -> None:
    """Stage FILES like `git add` (deleted files are staged as deletions)."""
    import ironcode

    run_op(obj, lambda: ironcode.git_stage(path, list(files)), lambda r: f"Staged {', '.join(r['paths'])}")


@main.command()
@click.argument("files", nargs=-1, required=True)
@click.option("-C", "path", default=".", show_default=True, help="Run in this folder.")
@common_options
def unstage(obj: Context, files: tuple[str, ...], path: str) -> None:
    """Unstage FILES like `git restore --staged`."""
    import ironcode

    run_op(
        obj, lambda: ironcode.git_unstage(path, list(files)), lambda r: f"Unstaged {', '.join(r['paths'])}"
    )


@main.command()
@click.option("-m", "--message", required=True, help="The commit message.")
@click.option("-C", "path", default=".", show_default=True, help="Run in this folder.")
@common_options
def commit(obj: Context, message: str, path: str) -> None:
    """Commit the staged changes (hooks are not run) and print the short id."""
    import ironcode

    run_op(obj, lambda: ironcode.git_commit(path, message), lambda short: f"Committed {short}")


# ---- shell (issue 6) ----------------------------------------------------------


@main.command("parse-bash")
@click.argument("command")
@click.option(
    "--cwd", default=".", show_default=True, help="Folder that relative paths are resolved against."
)
@common_options
def parse_bash_cmd(obj: Context, command: str, cwd: str) -> None:
    """Show what a bash COMMAND line would run: its commands, the folders its file commands
    touch, and the permission patterns for it.

        ironcode parse-bash 'git log --oneline -5 && rm -rf build/*'
    """
    import ironcode

    from .tools.bash import format_parse

    run_op(obj, lambda: ironcode.parse_bash(command, cwd), format_parse)


@main.command("bash")
@click.argument("command")
@click.option(
    "--timeout", type=float, default=None, help="Milliseconds before the command is killed [default: 120000]."
)
@click.option("--workdir", default=None, help="Folder to run in [default: the current folder].")
@common_options
def bash_cmd(obj: Context, command: str, timeout: float | None, workdir: str | None) -> None:
    """Run a bash COMMAND as the agent's bash tool does, and show what a model would see.

    stdin is closed, stderr is merged into stdout, the output keeps its last 2000 lines / 50 KB
    (the full output is saved to a file whose path is shown), and on timeout or Ctrl-C the whole
    process group is killed. Exits with the command's exit code (124 on timeout, 130 on Ctrl-C).

        ironcode bash 'make test' --timeout 600000
    """
    from .tools.bash import exit_status, format_bash, run

    try:
        result = run_op(obj, lambda: run(command, timeout, workdir), format_bash)
    except KeyboardInterrupt:
        click.echo("ironcode: interrupted: the command's process group was killed", err=True)
        sys.exit(130)
    sys.exit(exit_status(result))


# ---- terminal (issue 7) -------------------------------------------------------

#: Exit status when --timeout kills the program (as timeout(1) does).
EXIT_TIMED_OUT = 124


@main.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("--cwd", default=".", show_default=True, help="Working directory of the program.")
@click.option("--rows", type=click.IntRange(1, 65535), help="Terminal rows (default: this terminal's).")
@click.option("--cols", type=click.IntRange(1, 65535), help="Terminal columns (default: this terminal's).")
@click.option("--timeout", type=click.FloatRange(0, 86400), help="Kill the program after this many seconds.")
@common_options
def pty(
    obj: Context,
    command: tuple[str, ...],
    cwd: str,
    rows: int | None,
    cols: int | None,
    timeout: float | None,
) -> None:
    """Run COMMAND on a pseudo-terminal, stream its output, exit with its exit code.

        ironcode pty -- ls --color=auto
        echo 'print(6 * 7)' | ironcode pty -- python3 -q

    Input piped to ironcode is passed on (then end-of-file, as Ctrl-D); a program killed by a
    signal exits 128 + the signal number; --timeout kills it and exits 124. With --json, prints
    {"exit_code", "output", ...} once the program is done.
    """
    import os
    import shutil
    import threading
    import time

    import ironcode

    size = shutil.get_terminal_size()
    try:
        if obj.backend:
            with backend_mod.use(obj.backend):
                session = ironcode.Terminal(list(command), cwd, rows or size.lines, cols or size.columns)
        else:
            session = ironcode.Terminal(list(command), cwd, rows or size.lines, cols or size.columns)
    except IronCodeError as e:
        click.echo(f"ironcode: {e.kind}: {e.message}", err=True)
        sys.exit(EXIT_ERROR)

    if not sys.stdin.isatty():
        threading.Thread(target=_forward_input, args=(session,), daemon=True).start()
    deadline = None if timeout is None else time.monotonic() + timeout
    collected: list[bytes] = []
    emit = collected.append if obj.json else (lambda chunk: os.write(sys.stdout.fileno(), chunk))
    try:
        timed_out = _stream_until_exit(session, deadline, emit)
    except KeyboardInterrupt:
        session.close()
        sys.exit(130)
    final = session.close() or {}
    code = final.get("exit_code")
    status = EXIT_TIMED_OUT if timed_out else (128 - code if code is not None and code < 0 else code or 0)
    if obj.json:
        output = b"".join(collected).decode("utf-8", errors="replace")
        click.echo(
            json.dumps({**final, "exit_code": code, "timed_out": timed_out, "output": output}, indent=2)
        )
    sys.exit(status)


#: After piped input ends, Ctrl-D is sent once the program's output pauses for each of these
#: many seconds in turn: a program that switches the terminal mode while starting (readline)
#: discards an end-of-file typed before it was ready, as it would from a person typing ahead.
EOF_QUIET_S = (0.25, 0.5, 1.0)


def _stream_until_exit(session: Any, deadline: float | None, emit: Callable[[bytes], Any]) -> bool:
    """Passes output to ``emit`` until the program exits; True if ``deadline`` came first."""
    import time

    def left() -> float:
        return 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))

    while True:
        chunk = session.read(left())
        if chunk:
            emit(chunk)
            continue
        info = session.info()
        if info["output_closed"] and info["status"] != "exited":
            # It closed the terminal and is exiting: let it finish, or close() would kill it
            # and turn a clean exit into SIGKILL.
            session.wait(left())
            info = session.info()
        if info["status"] == "exited":
            emit(session.read(0.0))  # (a background job may still hold the terminal: close kills it)
            return False
        if deadline is not None and time.monotonic() >= deadline:
            return True


def _forward_input(session: Any) -> None:
    """Copies piped stdin to the program, then sends end-of-file (Ctrl-D) once it is quiet."""
    import threading

    try:
        while chunk := sys.stdin.buffer.read1(65536):
            session.write(chunk)
        for quiet in EOF_QUIET_S:
            received = -1
            while (now := session.info()["received"]) != received:  # until a pause in its output
                received = now
                threading.Event().wait(quiet)
            session.write(b"\x04")
    except (IronCodeError, OSError, ValueError):
        pass  # the program exited (or stdin closed) first: nothing left to forward


# ---- fuzzy (issue 8) ----------------------------------------------------------


@main.command()
@click.argument("query")
@click.argument("path", default=".")
@click.option("--limit", default=20, show_default=True, help="How many files at most (0: all).")
@click.option(
    "--algorithm",
    type=click.Choice(["nucleo", "skim", "sublime", "rapidfuzz"]),
    help="Rank with this algorithm; default: the benchmark's choice.",
)
@common_options
def fuzzy(obj: Context, query: str, path: str, limit: int, algorithm: str | None) -> None:
    """Rank the files below PATH against QUERY, best first, as a file picker does.

    The files are those `ironcode files` lists (rg's: .gitignore and the other ignore files
    apply). The letters of QUERY must occur in a path in order; case is ignored unless QUERY has
    an upper-case letter.

        ironcode fuzzy clipy            # finds ironcode/cli.py
        ironcode fuzzy tests/edit src
    """
    import ironcode

    def search() -> list[str]:
        # The files every other search tool sees: gitignored ones (build output) are not offered.
        files = ironcode.file_list(path)
        return ironcode.fuzzy_search(query, files, limit or None, algorithm)

    run_op(obj, search, lambda found: "\n".join(found) if found else f"No file matches {query!r}")


# ---- watcher (issue 9) --------------------------------------------------------


@main.command()
@click.argument("path", default=".")
@click.option(
    "-i", "--ignore", multiple=True, help="A gitignore-style glob relative to PATH to skip (repeatable)."
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=None,
    help="Stop after S seconds (default: run until Ctrl-C).",
)
@click.option(
    "--max-queue",
    default=1000,
    show_default=True,
    help="Events kept between two reads; older ones are dropped.",
)
@common_options
def watch(obj: Context, path: str, ignore: tuple[str, ...], timeout: float | None, max_queue: int) -> None:
    """Print the changes below PATH as they happen: add, change or unlink, one per line.

    New subfolders are watched too; a rename shows as unlink + add. With --json each event is one
    JSON object per line: {"path", "kind", "timestamp"}.

        ironcode watch src -i node_modules -i '**/*.log'
        ironcode --json watch . --timeout 60
    """
    import ironcode

    from .tools.watcher import follow, format_event

    def fail(e: IronCodeError) -> None:
        click.echo(f"ironcode: {e.kind}: {e.message}", err=True)
        sys.exit(EXIT_ERROR)

    try:
        if obj.backend:
            with backend_mod.use(obj.backend):
                watcher = ironcode.Watcher(path, list(ignore), max_queue)
        else:
            watcher = ironcode.Watcher(path, list(ignore), max_queue)
    except IronCodeError as e:
        fail(e)
    # Ctrl-C may land anywhere, also while the watcher closes: stop quietly with status 0.
    try:
        with watcher:
            click.echo(f"Watching {watcher.path} ({watcher.backend} backend); Ctrl-C to stop", err=True)
            if obj.json:

                def emit(event: dict) -> None:
                    click.echo(json.dumps(event, ensure_ascii=False))
            else:

                def emit(event: dict) -> None:
                    click.echo(format_event(event, watcher.path))

            def dropped(n: int) -> None:
                click.echo(f"ironcode: {n} events dropped: the queue was full (raise --max-queue)", err=True)

            try:
                follow(watcher, timeout, emit, dropped)
            except IronCodeError as e:
                fail(e)
            except KeyboardInterrupt:
                pass
    except KeyboardInterrupt:
        pass


# ---- lock (issue 10) ----------------------------------------------------------
# No command: a lock lives in the registry of the process that takes it, so a one-shot CLI process
# would only ever see its own empty registry. Use ironcode.RWLock / ironcode.lock_stats in Python.


# ---- system ----------------------------------------------------------------------------------


@main.command()
@common_options
def stats(obj: Context) -> None:
    """System CPU and memory use, and this process's resident memory. Never sleeps."""
    import ironcode

    def text(s: dict) -> str:
        return (
            f"cpu       {s['cpu_percent']:.1f} %\n"
            f"memory    {s['memory_used_mb']:.0f} / {s['memory_total_mb']:.0f} MB ({s['memory_percent']:.1f} %)\n"
            f"rss       {s['rss_mb']:.1f} MB"
        )

    run_op(obj, ironcode.stats, text)


@main.command()
@click.argument("archive")
@click.argument("dest")
@common_options
def extract(obj: Context, archive: str, dest: str) -> None:
    """Extract a zip, tar or tar.gz ARCHIVE into DEST.

    An entry that would land outside DEST (../, absolute paths, escaping symlinks) stops the
    extraction with nothing written.
    """
    import ironcode

    run_op(
        obj, lambda: ironcode.extract(archive, dest), lambda r: f"Extracted {r['files']} files to {r['dest']}"
    )


# ---- benchmarks ------------------------------------------------------------------------------


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("modules", nargs=-1)
@click.option("--quick", is_flag=True, help="Run every benchmark in its short smoke mode.")
def bench(modules: tuple[str, ...], quick: bool) -> None:
    """Run the benchmarks and write BENCHMARKS.md (needs the source checkout).

    MODULES are benchmark names (fs, ffi, edit, search, ...); none means all. The report
    re-checks the backend defaults and the command fails if the numbers contradict one.

        ironcode bench --quick
        ironcode bench fs edit
    """
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "script" / "bench-all.py"
    if not script.exists():
        click.echo(
            "ironcode: invalid_argument: the benchmarks live in the source checkout "
            "(script/bench-all.py); run this command from an editable install (make install)",
            err=True,
        )
        sys.exit(EXIT_ERROR)
    cmd = [sys.executable, str(script), *modules] + (["--quick"] if quick else [])
    sys.exit(subprocess.call(cmd))


# ---- mcp (issue 21) --------------------------------------------------------------------------


def _http_address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"expected HOST:PORT (e.g. 127.0.0.1:8765), got {value!r}")
    return host.strip("[]"), int(port)


@main.command(
    "mcp",
    epilog="""\b
Add it to a client (stdio; the client starts the server in the project folder):
  Claude Code   claude mcp add ironcode -- ironcode mcp
  Codex         ~/.codex/config.toml:
                  [mcp_servers.ironcode]
                  command = "ironcode"
                  args = ["mcp"]
  Cursor        .cursor/mcp.json, VS Code .vscode/mcp.json ("servers" instead of "mcpServers"):
                  {"mcpServers": {"ironcode": {"command": "ironcode", "args": ["mcp"]}}}
  over HTTP     ironcode mcp --http 127.0.0.1:8765, then the URL http://127.0.0.1:8765/mcp

\b
Examples:
  ironcode mcp --root ~/src/app --root /tmp/scratch --read-only
  ironcode mcp --sandbox --network
  IRONCODE_TOKEN=$(openssl rand -hex 32) ironcode mcp --http 0.0.0.0:8765 --token-env IRONCODE_TOKEN
""",
)
@click.option(
    "--root",
    "roots",
    multiple=True,
    type=click.Path(file_okay=False),
    help="A folder the tools may touch (repeatable; the first is where relative paths and bash "
    "start). Paths outside every root are refused (outside_root). [default: the current folder]",
)
@click.option(
    "--read-only",
    is_flag=True,
    help="Serve only tools that change nothing: no write, edit, apply_patch, text editor, git "
    "stage/unstage/commit, and no bash.",
)
@click.option(
    "--no-bash", is_flag=True, help="Serve no bash tools (bash, bash_output, bash_input, bash_kill)."
)
@click.option(
    "--sandbox",
    is_flag=True,
    help="Run every bash command under bubblewrap: the filesystem read-only except the roots "
    "(their .git included), a private /tmp, no network. Needs bwrap on PATH.",
)
@click.option("--network", is_flag=True, help="With --sandbox: let commands use the network.")
@click.option(
    "--no-require-read",
    is_flag=True,
    help="Turn off the read rule (by default a file must be read before it is written or edited, "
    "and is refused if it changed since).",
)
@click.option(
    "--http",
    "http",
    metavar="HOST:PORT",
    default=None,
    help="Serve streamable HTTP at http://HOST:PORT/mcp instead of stdio. Loopback addresses only, "
    "unless --token-env is given.",
)
@click.option(
    "--token-env",
    metavar="VAR",
    default=None,
    help="With --http: require 'Authorization: Bearer <token>' on every request, the token read from "
    "environment variable VAR (needed to serve a non-loopback address).",
)
@click.option("--bench-noop", is_flag=True, hidden=True, help="Add a no-op tool (script/bench-mcp.py).")
def mcp_cmd(
    roots: tuple[str, ...],
    read_only: bool,
    no_bash: bool,
    sandbox: bool,
    network: bool,
    no_require_read: bool,
    http: str | None,
    token_env: str | None,
    bench_noop: bool,
) -> None:
    """Serve the agent toolbox over MCP (stdio by default) to Claude Code, Codex, Cursor, VS Code
    or any MCP client.

    The tools are ironcode.agent.Toolbox's: read, write, edit, apply_patch,
    str_replace_based_edit_tool, grep, glob, ls, find_files, bash (and background shells),
    git_status/diff/branches/stage/unstage/commit and parse_bash. Nothing but protocol messages is
    written to stdout; logs go to stderr. When the client goes away (stdin closed), or on SIGTERM or
    SIGINT, every process the server started is killed and it exits 0.
    """
    import logging
    import os

    from .agent import Toolbox

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="ironcode mcp: %(message)s")
    address = None if http is None else _http_address(http)
    token = None
    if token_env is not None:
        if address is None:
            raise click.UsageError("--token-env needs --http (stdio has no token)")
        token = os.environ.get(token_env)
        if not token or not token.strip():
            raise click.UsageError(f"--token-env {token_env}: the variable is unset or empty")
    if network and not sandbox:
        raise click.UsageError(
            "--network only means something with --sandbox (without it bash has the network)"
        )
    if address is not None and token is None:
        from .mcp_http import is_loopback

        if not is_loopback(address[0]):
            raise click.UsageError(
                f"refusing to serve {address[0]} without a token: a non-loopback address needs --token-env VAR"
            )
    try:
        toolbox = Toolbox(
            roots=list(roots) or ["."],
            read_only=read_only,
            bash=not no_bash,
            sandbox=sandbox,
            network=network,
            require_read=not no_require_read,
        )
    except IronCodeError as e:
        click.echo(f"ironcode: {e.kind}: {e.message}", err=True)
        sys.exit(EXIT_ERROR)
    from . import mcp

    if address is not None:
        click.echo(f"ironcode mcp: serving http://{http}/mcp", err=True)
    try:
        mcp.run(toolbox, http=address, token=token, noop=bench_noop)
    except IronCodeError as e:
        click.echo(f"ironcode: {e.kind}: {e.message}", err=True)
        toolbox.close()
        sys.stderr.flush()
        os._exit(EXIT_ERROR)
    except KeyboardInterrupt:
        pass
    toolbox.close()
    # Worker threads still inside an engine call (a grep over a huge tree) would hold the exit
    # for as long as they take; every process is already gone, so the server leaves now.
    sys.stderr.flush()
    os._exit(0)


# ---- demo ------------------------------------------------------------------------------------


@main.command()
@click.argument("path", default=".")
@click.option("--runs", default=5, show_default=True, help="Timed runs per tool and backend.")
@common_options
def demo(obj: Context, path: str, runs: int) -> None:
    """Run a few tools over PATH on both backends and show their timings side by side."""
    from .demo import run_demo

    try:
        report = run_demo(path, runs)
    except IronCodeError as e:
        click.echo(f"ironcode: {e.kind}: {e.message}", err=True)
        sys.exit(EXIT_ERROR)
    if obj.json:
        click.echo(json.dumps(report, indent=2))
    else:
        from .demo import format_demo

        click.echo(format_demo(report))


if __name__ == "__main__":  # pragma: no cover
    main()
