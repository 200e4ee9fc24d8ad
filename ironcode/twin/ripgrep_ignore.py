"""Python port of what the native walk takes from ripgrep's ``globset`` and ``ignore`` crates.

The native side (``native/tool/src/walk.rs``) gets ignore-file handling, glob overrides and the
directory walk from the ``ignore`` crate; this module reproduces them rule for rule so the twin
(``ironcode/twin/walk.py``) lists exactly the same files. Each section names the crate source it
follows (ignore 0.4.35, globset 0.4.22), and functions keep the crate's names so the two can be
read side by side:

- globset ``Parser`` / ``Tokens::to_regex_with``: one glob becomes one regex over the path's
  bytes (``?`` is one *byte*, as in globset's ``(?-u)`` regexes);
- ``GitignoreBuilder::add_line`` / ``Gitignore::matched``: gitignore lines, last match wins;
- ``Override``: ripgrep ``--glob``, a gitignore with ``!`` inverted;
- ``Ignore`` (dir.rs): the per-folder chain, parent folders, ``.git`` detection and precedence
  ``.rgignore`` > ``.ignore`` > ``.gitignore`` > ``.git/info/exclude`` > global excludes;
- ``Walk``: the traversal (``Worker::run_one`` / ``generate_work``), symlink loop checks included.

Paths are ``bytes`` throughout, as the crates match ``OsStr`` bytes.
"""

from __future__ import annotations

import os
import pwd
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

# ---- Match -----------------------------------------------------------------------------------

NONE, IGNORE, WHITELIST = 0, 1, 2


def match_or(first: int, second: int) -> int:
    """``Match::or``: the first match unless it is none."""
    return second if first == NONE else first


# ---- globset: one glob -> one regex (globset/src/glob.rs) ------------------------------------


class GlobError(Exception):
    """A glob that does not parse; ``str()`` is globset's reason, ``glob`` the line as written."""

    def __init__(self, reason: str, glob: str = "") -> None:
        super().__init__(reason)
        self.glob = glob


#: globset ``MAX_ALTERNATES_DEPTH``
MAX_ALTERNATES_DEPTH = 100

_ANY, _ZERO_OR_MORE, _RECURSIVE_PREFIX, _RECURSIVE_SUFFIX, _RECURSIVE_ZERO_OR_MORE = (
    "any",
    "zero_or_more",
    "recursive_prefix",
    "recursive_suffix",
    "recursive_zero_or_more",
)

_POSIX_CLASSES = {
    "alnum": (("0", "9"), ("A", "Z"), ("a", "z")),
    "alpha": (("A", "Z"), ("a", "z")),
    "blank": (("\t", "\t"), (" ", " ")),
    "cntrl": (("\x00", "\x1f"), ("\x7f", "\x7f")),
    "digit": (("0", "9"),),
    "graph": (("!", "~"),),
    "lower": (("a", "z"),),
    "print": ((" ", "~"),),
    "punct": (("!", "/"), (":", "@"), ("[", "`"), ("{", "~")),
    "space": (("\t", "\r"), (" ", " ")),
    "upper": (("A", "Z"),),
    "xdigit": (("0", "9"), ("A", "F"), ("a", "f")),
}


class _GlobParser:
    """globset's ``Parser`` with ``backslash_escape`` on and ``/`` as the only separator."""

    def __init__(self, glob: str, allow_unclosed_class: bool) -> None:
        self.glob = glob
        self.chars = glob
        self.index = 0
        self.prev: str | None = None
        self.cur: str | None = None
        self.alternates_stack: list[int] = []
        self.branches: list[list] = [[]]
        self.found_unclosed_class = False
        self.allow_unclosed_class = allow_unclosed_class

    def error(self, what: str) -> GlobError:
        return GlobError(what, self.glob)

    def bump(self) -> str | None:
        self.prev = self.cur
        if self.index < len(self.chars):
            self.cur = self.chars[self.index]
            self.index += 1
        else:
            self.cur = None
        return self.cur

    def peek(self) -> str | None:
        return self.chars[self.index] if self.index < len(self.chars) else None

    def parse(self) -> list:
        while (c := self.bump()) is not None:
            if c == "?":
                self.push_token(_ANY)
            elif c == "*":
                self.parse_star()
            elif c == "[" and not self.found_unclosed_class:
                self.parse_class()
            elif c == "{":
                self.push_alternate()
            elif c == "}":
                self.pop_alternate()
            elif c == ",":
                self.parse_comma()
            elif c == "\\":
                self.parse_backslash()
            else:
                self.push_token(("literal", c))
        if len(self.branches) > 1:
            raise self.error("unclosed alternate group; missing '}' (maybe escape '{' with '[{]'?)")
        return self.branches[0]

    def push_alternate(self) -> None:
        if len(self.alternates_stack) >= MAX_ALTERNATES_DEPTH:
            raise self.error("too many nested alternate groups")
        self.alternates_stack.append(len(self.branches))
        self.branches.append([])

    def pop_alternate(self) -> None:
        if not self.alternates_stack:
            raise self.error("unopened alternate group; missing '{' (maybe escape '}' with '[}]'?)")
        start = self.alternates_stack.pop()
        alternates = self.branches[start:]
        del self.branches[start:]
        self.push_token(("alternates", alternates))

    def push_token(self, token) -> None:
        self.branches[-1].append(token)

    def pop_token(self):
        return self.branches[-1].pop()

    def have_tokens(self) -> bool:
        return bool(self.branches[-1])

    def parse_comma(self) -> None:
        if not self.alternates_stack:
            self.push_token(("literal", ","))
        else:
            self.branches.append([])

    def parse_backslash(self) -> None:
        c = self.bump()
        if c is None:
            raise self.error("dangling '\\'")
        self.push_token(("literal", c))

    def parse_star(self) -> None:
        prev = self.prev
        if self.peek() != "*":
            self.push_token(_ZERO_OR_MORE)
            return
        self.bump()
        if not self.have_tokens():
            following = self.peek()
            if following is not None and following != "/":
                self.push_token(_ZERO_OR_MORE)
                self.push_token(_ZERO_OR_MORE)
            else:
                self.push_token(_RECURSIVE_PREFIX)
                self.bump()
            return
        if prev != "/":
            if len(self.branches) <= 1 or (prev != "," and prev != "{"):
                self.push_token(_ZERO_OR_MORE)
                self.push_token(_ZERO_OR_MORE)
                return
        following = self.peek()
        if following is None:
            self.bump()
            is_suffix = True
        elif following in ",}" and len(self.branches) >= 2:
            is_suffix = True
        elif following == "/":
            self.bump()
            is_suffix = False
        else:
            self.push_token(_ZERO_OR_MORE)
            self.push_token(_ZERO_OR_MORE)
            return
        popped = self.pop_token()
        if popped in (_RECURSIVE_PREFIX, _RECURSIVE_SUFFIX):
            self.push_token(popped)
        else:
            self.push_token(_RECURSIVE_SUFFIX if is_suffix else _RECURSIVE_ZERO_OR_MORE)

    def parse_class(self) -> None:
        saved = (self.index, self.prev, self.cur)
        ranges: list[list[str]] = []

        def add_to_last_range(add: str) -> None:
            last = ranges[-1]
            last[1] = add
            if last[1] < last[0]:
                raise self.error(f"invalid range; '{last[0]}' > '{last[1]}'")

        negated = False
        if self.peek() in ("!", "^"):
            self.bump()
            negated = True
        first = True
        in_range = False
        while True:
            c = self.bump()
            if c is None:
                if self.allow_unclosed_class:
                    self.index, self.prev, self.cur = saved
                    self.found_unclosed_class = True
                    self.push_token(("literal", "["))
                    return
                raise self.error("unclosed character class; missing ']'")
            if c == "]":
                if first:
                    ranges.append(["]", "]"])
                else:
                    break
            elif c == "-":
                if first:
                    ranges.append(["-", "-"])
                elif in_range:
                    add_to_last_range("-")
                    in_range = False
                else:
                    in_range = True
            elif c == "[" and not in_range and self.peek() == ":":
                posix = self.try_parse_posix_class()
                if posix is not None:
                    ranges.extend([a, b] for a, b in posix)
                else:
                    ranges.append(["[", "["])
                in_range = False
            else:
                if in_range:
                    add_to_last_range(c)
                else:
                    ranges.append([c, c])
                in_range = False
            first = False
        if in_range:
            ranges.append(["-", "-"])
        self.push_token(("class", negated, [(a, b) for a, b in ranges]))

    def try_parse_posix_class(self):
        saved = (self.index, self.prev, self.cur)
        if self.bump() != ":":
            self.index, self.prev, self.cur = saved
            return None
        name = ""
        while True:
            c = self.bump()
            if c == ":" and self.peek() == "]":
                self.bump()
                return _POSIX_CLASSES.get(name)
            if c is not None and "a" <= c <= "z" and len(name) < 8:
                name += c
            else:
                self.index, self.prev, self.cur = saved
                return None


def _escaped(c: str) -> str:
    """``char_to_escaped_literal``: the char's UTF-8 bytes, each escaped."""
    return "".join(f"\\x{b:02x}" for b in c.encode("utf-8", "surrogatepass"))


def _tokens_to_regex(tokens: list, out: list[str]) -> None:
    """``tokens_to_regex`` with ``literal_separator`` on (every glob the walk builds has it)."""
    for token in tokens:
        if token == _ANY:
            out.append("[^/]")
        elif token == _ZERO_OR_MORE:
            out.append("[^/]*")
        elif token == _RECURSIVE_PREFIX:
            out.append("(?:/?|.*/)")
        elif token == _RECURSIVE_SUFFIX:
            out.append("/.*")
        elif token == _RECURSIVE_ZERO_OR_MORE:
            out.append("(?:/|/.*/)")
        elif token[0] == "literal":
            out.append(_escaped(token[1]))
        elif token[0] == "class":
            _, negated, ranges = token
            if not negated:
                kept = []
                for start, end in ranges:
                    if start > "/" or end < "/":
                        kept.append((start, end))
                    elif start == "/" and end == "/":
                        pass
                    elif start == "/":
                        kept.append(("0", end))
                    elif end == "/":
                        kept.append((start, "."))
                    else:
                        kept.append((start, "."))
                        kept.append(("0", end))
                ranges = kept
            if not ranges:
                out.append("(?!)")  # globset: "[^\s\S]", a class matching nothing
                continue
            out.append("[^/" if negated else "[")
            for start, end in ranges:
                out.append(_escaped(start) if start == end else f"{_escaped(start)}-{_escaped(end)}")
            out.append("]")
        else:  # alternates
            parts = []
            for branch in token[1]:
                sub: list[str] = []
                _tokens_to_regex(branch, sub)
                if sub:
                    parts.append("".join(sub))
            if parts:
                out.append("(?:" + "|".join(parts) + ")")


def glob_regex(glob: str, allow_unclosed_class: bool) -> re.Pattern[bytes]:
    """Compiles ``glob`` as globset does for gitignore lines (``literal_separator``,
    ``backslash_escape``), as a pattern to ``fullmatch`` against a path's bytes."""
    tokens = _GlobParser(glob, allow_unclosed_class).parse()
    if tokens == [_RECURSIVE_PREFIX]:
        body = ".*"
    else:
        out: list[str] = []
        _tokens_to_regex(tokens, out)
        body = "".join(out)
    return re.compile(body.encode("ascii"), re.DOTALL)


# ---- pathutil (ignore/src/pathutil.rs) -------------------------------------------------------


def strip_prefix(prefix: bytes, path: bytes) -> bytes | None:
    """``pathutil::strip_prefix``: byte prefix, never a partial component."""
    if not path.startswith(prefix):
        return None
    rest = path[len(prefix) :]
    if prefix and not prefix.endswith(b"/") and rest and not rest.startswith(b"/"):
        return None
    return rest


def strip_if_is_prefix(prefix: bytes, path: bytes) -> bytes:
    rest = strip_prefix(prefix, path)
    return path if rest is None else rest


def join(base: bytes, child: bytes) -> bytes:
    """``Path::join``: an absolute child replaces the base."""
    return os.path.join(base, child)


# ---- gitignore (ignore/src/gitignore.rs) -----------------------------------------------------


@dataclass
class IgnoreGlob:
    original: str
    actual: str
    is_whitelist: bool
    is_only_dir: bool
    regex: re.Pattern[bytes]


@dataclass
class Gitignore:
    """Globs from one folder's ignore file(s), matched relative to ``root``; last match wins."""

    root: bytes
    globs: list[IgnoreGlob] = field(default_factory=list)
    #: all globs in one alternation: most paths match none, and one regex says so fastest
    any_glob: re.Pattern[bytes] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if len(self.globs) > 1:
            joined = b"|".join(b"(?:" + g.regex.pattern + b")" for g in self.globs)
            self.any_glob = re.compile(joined, re.DOTALL)

    def is_empty(self) -> bool:
        return not self.globs

    def num_ignores(self) -> int:
        return sum(1 for g in self.globs if not g.is_whitelist)

    def matched(self, path: bytes, is_dir: bool) -> int:
        if not self.globs:
            return NONE
        stripped = self.strip(path)
        candidate = path if stripped == b"" else stripped
        if self.any_glob is not None and not self.any_glob.fullmatch(candidate):
            return NONE
        for glob in reversed(self.globs):
            if (not glob.is_only_dir or is_dir) and glob.regex.fullmatch(candidate):
                return WHITELIST if glob.is_whitelist else IGNORE
        return NONE

    def strip(self, path: bytes) -> bytes:
        if path.startswith(b"./"):
            path = path[2:]
        if self.root != b"." and b"/" in path:
            rest = strip_prefix(self.root, path)
            if rest is not None:
                path = rest[1:] if rest.startswith(b"/") else rest
        return path


def trim_trailing_unescaped_spaces(line: str) -> str:
    last_space = None
    i = 0
    while i < len(line):
        c = line[i]
        if c == "\\":
            if i + 1 >= len(line):
                return line
            i += 2
            last_space = None
        elif c == " ":
            if last_space is None:
                last_space = i
            i += 1
        else:
            last_space = None
            i += 1
    return line if last_space is None else line[:last_space]


class GitignoreBuilder:
    def __init__(self, root: bytes, allow_unclosed_class: bool = True) -> None:
        self.root = root[2:] if root.startswith(b"./") else root
        self.globs: list[IgnoreGlob] = []
        self.allow_unclosed_class = allow_unclosed_class

    def build(self) -> Gitignore:
        return Gitignore(self.root, list(self.globs))

    def add(self, path: bytes) -> None:
        """Adds every line of the ignore file ``path``; lines that are not UTF-8 or not valid
        globs are skipped, the rest kept (as the crate does)."""
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return
        pieces = data.split(b"\n")
        if pieces[-1] == b"":
            pieces.pop()
        for i, raw in enumerate(pieces):
            terminated = i < len(pieces) - 1 or data.endswith(b"\n")
            if terminated and raw.endswith(b"\r"):
                raw = raw[:-1]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                continue
            if i == 0:
                line = line.lstrip("\ufeff")
            try:
                self.add_line(line)
            except GlobError:
                continue

    def add_line(self, line: str) -> None:
        if line.startswith("#"):
            return
        line = trim_trailing_unescaped_spaces(line)
        if not line:
            return
        original = line
        is_whitelist = is_only_dir = is_absolute = False
        if line.startswith("\\!") or line.startswith("\\#"):
            line = line[1:]
            is_absolute = line[:1] == "/"
        else:
            if line.startswith("!"):
                is_whitelist = True
                line = line[1:]
            if line.startswith("/"):
                line = line[1:]
                is_absolute = True
        if not line:
            return
        if line.endswith("/"):
            is_only_dir = True
            line = line[:-1]
            if line.endswith("\\"):
                line = line[:-1]
        actual = line
        if not is_absolute and "/" not in line:
            if not (actual.startswith("**/") or actual == "**"):
                actual = "**/" + actual
        if actual.endswith("/**"):
            actual += "/*"
        try:
            regex = glob_regex(actual, self.allow_unclosed_class)
        except GlobError as e:
            raise GlobError(f"error parsing glob '{original}': {e}", original) from None
        self.globs.append(IgnoreGlob(original, actual, is_whitelist, is_only_dir, regex))


# ---- global excludes (gitignore.rs: gitconfig_excludes_path) ---------------------------------

_EXCLUDES_FILE = re.compile(rb'(?im)^\s*excludesfile\s*=\s*"?\s*(\S+?)\s*"?\s*$')


def _home_dir() -> bytes | None:
    home = os.environ.get("HOME")
    if home:
        return os.fsencode(home)
    try:
        return os.fsencode(pwd.getpwuid(os.getuid()).pw_dir)
    except (KeyError, OSError):
        return None


def _read(path: bytes | None) -> bytes | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _env_path(name: str) -> bytes | None:
    value = os.environ.get(name)
    return os.fsencode(value) if value else None


def _xdg_config_home() -> bytes | None:
    home = _home_dir()
    return _env_path("XDG_CONFIG_HOME") or (join(home, b".config") if home is not None else None)


def _expand_tilde(path: bytes) -> bytes:
    if not path.startswith(b"~"):
        return path
    rest = path[1:]
    if rest and not rest.startswith(b"/"):
        return path
    home = _home_dir()
    if home is None:
        return path
    return home.decode("utf-8", "replace").encode("utf-8") + rest


def parse_excludes_file(data: bytes | None) -> bytes | None:
    if data is None:
        return None
    found = _EXCLUDES_FILE.search(data)
    if found is None:
        return None
    candidate = found.group(1)
    try:
        candidate.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return _expand_tilde(candidate)


def gitconfig_excludes_path() -> bytes | None:
    """Where git's global excludes file is, in the crate's order of lookup."""
    home = _home_dir()
    xdg = _xdg_config_home()
    system = _env_path("GIT_CONFIG_SYSTEM") or b"/etc/gitconfig"
    for config in (
        _env_path("GIT_CONFIG_GLOBAL"),
        join(home, b".gitconfig") if home is not None else None,
        join(xdg, b"git/config") if xdg is not None else None,
        system,
    ):
        found = parse_excludes_file(_read(config))
        if found is not None:
            return found
    return join(xdg, b"git/ignore") if xdg is not None else None


def build_global(cwd: bytes) -> Gitignore:
    builder = GitignoreBuilder(cwd)
    path = gitconfig_excludes_path()
    if path is not None and os.path.isfile(path):
        builder.add(path)
    return builder.build()


# ---- overrides (ignore/src/overrides.rs) -----------------------------------------------------


class Override:
    """ripgrep ``--glob``: a gitignore whose ``!`` is inverted; with any positive glob, a file
    matching none is ignored."""

    def __init__(self, root: bytes, globs: list[str]) -> None:
        builder = GitignoreBuilder(root, allow_unclosed_class=False)
        for glob in globs:
            builder.add_line(glob)
        self.gitignore = builder.build()
        self.num_whitelists = self.gitignore.num_ignores()

    def is_empty(self) -> bool:
        return self.gitignore.is_empty()

    def matched(self, path: bytes, is_dir: bool) -> int:
        if self.gitignore.is_empty():
            return NONE
        found = self.gitignore.matched(path, is_dir)
        if found == NONE:
            return IGNORE if self.num_whitelists > 0 and not is_dir else NONE
        return WHITELIST if found == IGNORE else IGNORE


# ---- the per-folder matcher chain (ignore/src/dir.rs) ----------------------------------------

RG_IGNORE_NAMES = (b".rgignore",)


@dataclass
class Ignore:
    """One folder's ignore rules, linked to its parent folder's."""

    dir: bytes
    parent: Ignore | None
    is_absolute_parent: bool
    has_git: bool
    custom: Gitignore
    ignore: Gitignore
    git_ignore: Gitignore
    git_exclude: Gitignore
    #: (folders from this one up to the search root, the parent folders above it, any .git)
    _chain: tuple[list[Ignore], list[Ignore], bool] | None = field(default=None, repr=False)

    def chain(self) -> tuple[list[Ignore], list[Ignore], bool]:
        if self._chain is None:
            nodes = list(self.parents())
            local_len = 0
            while local_len < len(nodes) and not nodes[local_len].is_absolute_parent:
                local_len += 1
            self._chain = (nodes[:local_len], nodes[local_len:], any(n.has_git for n in nodes))
        return self._chain

    def parents(self) -> Iterator[Ignore]:
        node: Ignore | None = self
        while node is not None:
            yield node
            node = node.parent


def _empty(root: bytes = b"") -> Gitignore:
    return Gitignore(root)


def base_ignore() -> Ignore:
    return Ignore(b"", None, True, False, _empty(), _empty(), _empty(), _empty())


def create_gitignore(dir: bytes, dir_for_ignorefile: bytes, names: tuple[bytes, ...]) -> Gitignore:
    builder = GitignoreBuilder(dir)
    for name in names:
        path = join(dir_for_ignorefile, name)
        if os.path.exists(path):
            builder.add(path)
    return builder.build()


def _first_line(path: bytes) -> str | None:
    try:
        with open(path, "rb") as f:
            raw = f.readline()
    except OSError:
        return None
    if not raw:
        return None
    if raw.endswith(b"\n"):
        raw = raw[:-1]
        if raw.endswith(b"\r"):
            raw = raw[:-1]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def resolve_git_commondir(dir: bytes, git_is_file: bool) -> bytes | None:
    """Where ``info/exclude`` lives: ``.git``, or for a worktree the common git dir."""
    git_dir = join(dir, b".git")
    if not git_is_file:
        return git_dir
    line = _first_line(git_dir)
    if line is None or not line.startswith("gitdir: "):
        return None
    real_git_dir = os.fsencode(line[len("gitdir: ") :])
    commondir = _first_line(join(real_git_dir, b"commondir"))
    if commondir is None:
        return None
    return join(real_git_dir, os.fsencode(commondir)) if commondir.startswith(".") else os.fsencode(commondir)


def add_child_path(parent: Ignore, dir: bytes, names: set[bytes] | None) -> Ignore:
    """``add_child_path_with_found_ignore_files``: ``names`` are the folder's entries when it
    was just read (None: probe the disk, as for parent folders)."""

    def has(name: bytes) -> bool:
        return names is None or name in names

    git_mode = None
    if has(b".git"):
        try:
            git_mode = os.stat(join(dir, b".git")).st_mode
        except OSError:
            git_mode = None
    has_jj = has(b".jj") and os.path.exists(join(dir, b".jj"))
    has_git = git_mode is not None or has_jj
    custom_names = tuple(n for n in RG_IGNORE_NAMES if has(n))
    custom = create_gitignore(dir, dir, custom_names) if custom_names else _empty(dir)
    ignore = create_gitignore(dir, dir, (b".ignore",)) if has(b".ignore") else _empty(dir)
    git_ignore = create_gitignore(dir, dir, (b".gitignore",)) if has(b".gitignore") else _empty(dir)
    git_exclude = _empty(dir)
    if has(b".git"):
        git_dir = resolve_git_commondir(dir, git_mode is not None and stat.S_ISREG(git_mode))
        if git_dir is not None:
            git_exclude = create_gitignore(dir, git_dir, (b"info/exclude",))
    return Ignore(dir, parent, False, has_git, custom, ignore, git_ignore, git_exclude)


def _has_rules(ig: Ignore) -> bool:
    return not (
        ig.custom.is_empty()
        and ig.ignore.is_empty()
        and ig.git_ignore.is_empty()
        and ig.git_exclude.is_empty()
    )


# ---- the walk (ignore/src/walk.rs: WalkParallel, Worker) -------------------------------------


def _starts_with(path: bytes, base: bytes) -> bool:
    """``Path::starts_with``: whole components only."""
    return path == base or path.startswith(base.rstrip(b"/") + b"/")


def _on_the_way(target: bytes, path: bytes) -> bool:
    return _starts_with(target, path) or _starts_with(path, target)


@dataclass
class Walk:
    """One traversal's shared state: what ``WalkBuilder`` configures and ``add_parents``
    computes once for the root."""

    root: bytes
    overrides: Override
    skip_hidden: bool
    follow: bool
    max_depth: int | None
    #: Only folders on the way to this path, and what is below it, are walked (a glob prefix).
    only_towards: bytes | None = None
    global_gitignore: Gitignore = field(init=False)
    absolute_base: bytes | None = None
    has_absolute_parent_rules: bool = False

    def __post_init__(self) -> None:
        # WalkBuilder::current_dir(root): global excludes are matched relative to the root.
        self.global_gitignore = build_global(self.root)

    # -- matching (dir.rs: Ignore::matched, matched_ignore, matched_dir_entry)

    def matched(self, ig: Ignore, path: bytes, is_dir: bool) -> int:
        if path.startswith(b"./"):
            path = path[2:]
        if not self.overrides.is_empty():
            found = self.overrides.matched(path, is_dir)
            if found != NONE:
                return found
        return self.matched_ignore(ig, path, is_dir)

    def matched_ignore(self, ig: Ignore, path: bytes, is_dir: bool) -> int:
        local, above, any_git = ig.chain()
        m_custom = m_ignore = m_gi = m_exclude = NONE
        saw_git = False
        for node in local:
            m_custom, m_ignore, m_gi, m_exclude, saw_git = self._match_one(
                node, path, is_dir, any_git, saw_git, m_custom, m_ignore, m_gi, m_exclude
            )
        if self.has_absolute_parent_rules and self.absolute_base is not None:
            if not local or local[-1].dir == b".":
                relative = path
            else:
                without_dot_slash = strip_if_is_prefix(b"./", local[-1].dir)
                relative = strip_if_is_prefix(b"/", strip_if_is_prefix(without_dot_slash, path))
            parent_path = join(self.absolute_base, relative)
            for node in above:
                m_custom, m_ignore, m_gi, m_exclude, saw_git = self._match_one(
                    node, parent_path, is_dir, any_git, saw_git, m_custom, m_ignore, m_gi, m_exclude
                )
        m_global = self.global_gitignore.matched(path, is_dir) if any_git else NONE
        result = m_custom
        for found in (m_ignore, m_gi, m_exclude, m_global):
            result = match_or(result, found)
        return result

    @staticmethod
    def _match_one(node, path, is_dir, any_git, saw_git, m_custom, m_ignore, m_gi, m_exclude):
        if m_custom == NONE:
            m_custom = node.custom.matched(path, is_dir)
        if m_ignore == NONE:
            m_ignore = node.ignore.matched(path, is_dir)
        if any_git and not saw_git and m_gi == NONE:
            m_gi = node.git_ignore.matched(path, is_dir)
        if any_git and not saw_git and m_exclude == NONE:
            m_exclude = node.git_exclude.matched(path, is_dir)
        return m_custom, m_ignore, m_gi, m_exclude, saw_git or node.has_git

    def should_skip_entry(self, ig: Ignore, path: bytes, name: bytes, is_dir: bool) -> bool:
        found = self.matched(ig, path, is_dir)
        if found == NONE and self.skip_hidden and name.startswith(b"."):
            return True
        return found == IGNORE

    # -- traversal

    def add_parents(self, base: Ignore) -> Ignore:
        try:
            absolute_base = os.path.realpath(self.root, strict=True)
        except OSError:
            return base
        parents = []
        path = absolute_base
        while True:
            parent = os.path.dirname(path)
            if parent == path:
                break
            parents.append(parent)
            path = parent
        ig = base
        for parent in reversed(parents):
            ig = add_child_path(ig, parent, None)
            ig.is_absolute_parent = True
            self.has_absolute_parent_rules |= _has_rules(ig)
        self.absolute_base = absolute_base
        return ig

    def run(self, visit_file: Callable[[bytes], None]) -> None:
        """Calls ``visit_file(path)`` for every regular file the walk keeps (order unspecified)."""
        try:
            root_mode = os.stat(self.root).st_mode
        except OSError:
            return
        if not stat.S_ISDIR(root_mode):
            if stat.S_ISREG(root_mode):
                visit_file(self.root)
            return
        root_ig = self.add_parents(base_ignore())
        stack: list[tuple[bytes, int, Ignore]] = [(self.root, 0, root_ig)]
        while stack:
            dir_path, depth, ig = stack.pop()
            if self.max_depth is not None and depth >= self.max_depth:
                continue
            try:
                with os.scandir(dir_path) as it:
                    entries = list(it)
            except OSError:
                continue  # unreadable folder: skipped, as ripgrep does after a warning
            ig = add_child_path(ig, dir_path, {e.name for e in entries})
            for entry in entries:
                self.generate_work(ig, depth + 1, entry, stack, visit_file)

    def generate_work(self, ig: Ignore, depth: int, entry: os.DirEntry, stack, visit_file) -> None:
        path = entry.path
        try:
            is_symlink = entry.is_symlink()
            is_dir = entry.is_dir(follow_symlinks=False)
            is_file = entry.is_file(follow_symlinks=False)
        except OSError:
            return
        if self.follow and is_symlink:
            try:
                mode = os.stat(path).st_mode
            except OSError:
                return  # a link that cannot be followed is an error entry: skipped
            is_symlink = False
            is_dir, is_file = stat.S_ISDIR(mode), stat.S_ISREG(mode)
            if is_dir and self.is_symlink_loop(ig, path):
                return
        if self.should_skip_entry(ig, path, entry.name, is_dir):
            return
        if self.only_towards is not None and not _on_the_way(self.only_towards, path):
            return
        if is_dir and not is_symlink:
            stack.append((path, depth, ig))
        elif is_file:
            visit_file(path)

    @staticmethod
    def is_symlink_loop(ig: Ignore, child: bytes) -> bool:
        """``check_symlink_loop``: the link leads to a folder above it (errors count as loops:
        the crate reports them as errors and skips the entry either way)."""
        try:
            target = os.stat(child)
        except OSError:
            return True
        for node in ig.parents():
            if node.parent is None:
                break
            try:
                ancestor = os.stat(node.dir)
            except OSError:
                return True
            if (ancestor.st_dev, ancestor.st_ino) == (target.st_dev, target.st_ino):
                return True
        return False
