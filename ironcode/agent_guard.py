"""bash's outside-root guard: refuse a command line whose analysis names a folder outside the roots.

It prevents mistakes — ``rm -rf ../build``, ``echo x > ../out``, ``cd / && ...`` — and is **not a
security boundary**: a command can reach any path through a variable, a script or a program's own
arguments, none of which a parser sees. ``sandbox=True`` is the boundary, and the guard is off there.

What it checks, from :func:`ironcode.parse_bash`'s commands, in order:

- the arguments of file commands (``cd``, ``rm``, ``cp``, ``mv``, ``mkdir``, ``touch``, ``chmod``,
  ``chown``, ``cat``: the engine's ``FILE_COMMANDS``), with the engine's rules (flags and arguments
  holding ``$`` or a backtick skipped, ``~`` expanded, a path cut at its first glob character);
- every redirection target (``> out``, ``2>> log``, ``< in``) of every command;
- the script of ``bash -c`` / ``sh -lc`` and the like, parsed the same way;

each resolved from the command's working folder as the line's own ``cd``s move it (a static ``cd``
target becomes the folder for the commands after it), links followed. ``/dev/null``, ``/dev/stdout``,
``/dev/stderr``, ``/dev/stdin``, ``/dev/tty`` and ``/dev/fd/*`` are exempt wherever they appear, and
so are the toolbox's own spill files.
"""

from __future__ import annotations

import os

from .agent_roots import Roots
from .twin.shell import CD_COMMANDS, DYNAMIC_MARKERS, FILE_COMMANDS, cut_at_glob, expand_home, home_dir

#: Paths any command may name: they are streams, not files of the project.
EXEMPT_PATHS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty"})
EXEMPT_PREFIXES = ("/dev/fd/",)
#: Shells whose ``-c`` script is checked like the command line itself.
SHELLS = frozenset({"bash", "sh", "dash", "zsh", "ksh"})
#: ``bash -c "bash -c '...'"`` is followed this deep, no further.
MAX_NESTED_SHELLS = 4


def shell_script(command: dict) -> str | None:
    """The script of ``bash -c SCRIPT`` (also ``-lc``, ``-ec``, ``/bin/sh -c``), else None."""
    name = os.path.basename(command["name"])
    if name not in SHELLS:
        return None
    args = command["args"]
    for i, arg in enumerate(args):
        if arg.startswith("-") and not arg.startswith("--") and "c" in arg[1:]:
            return args[i + 1] if i + 1 < len(args) else None
        if not arg.startswith("-"):
            return None
    return None


def outside_paths(command: str, cwd: str, roots: Roots, depth: int = 0) -> list[str]:
    """The paths ``command`` (run in ``cwd``) names outside ``roots``, first occurrence first."""
    import ironcode

    parsed = ironcode.parse_bash(command, cwd)
    home = home_dir()
    outside: list[str] = []
    current = cwd

    def check(word: str) -> str | None:
        """``word`` as an absolute path if it is static text, else None; recorded when outside."""
        if not word or any(marker in word for marker in DYNAMIC_MARKERS):
            return None
        path = os.path.normpath(os.path.join(current, cut_at_glob(expand_home(word, home)) or "."))
        if not _exempt(path) and roots.holder(os.path.realpath(path)) is None and not roots.is_spill(path):
            if path not in outside:
                outside.append(path)
        return path

    for cmd in parsed["commands"]:
        name = cmd["name"]
        if name in FILE_COMMANDS:
            paths = [a for a in cmd["args"] if not _is_flag(name, a)]
            if name in CD_COMMANDS and name != "popd" and not paths and home:
                paths = [home]
            for arg in paths:
                target = check(arg)
                if name in CD_COMMANDS and target is not None:
                    current = target
        for target in cmd.get("redirects", []):
            check(target)
        script = shell_script(cmd)
        if script is not None and depth < MAX_NESTED_SHELLS:
            for path in outside_paths(script, current, roots, depth + 1):
                if path not in outside:
                    outside.append(path)
    return outside


def refusal(command: str, outside: list[str], roots: Roots) -> str:
    shown = ", ".join(outside[:5]) + (f" and {len(outside) - 5} more" if len(outside) > 5 else "")
    return (
        f"The command was not run: it names {shown}, outside the project ({', '.join(roots.folders)}). "
        "Work inside the project folders (use a path inside them, or a relative one without '..' "
        "leading out). This check reads the command line only; it is a guard against mistakes, "
        "not a sandbox."
    )


def _is_flag(name: str, arg: str) -> bool:
    return arg.startswith("-") or (name == "chmod" and arg.startswith("+"))


def _exempt(path: str) -> bool:
    return path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES)
