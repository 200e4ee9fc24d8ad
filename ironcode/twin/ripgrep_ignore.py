"""Python port of what the native walk takes from ripgrep's ``globset`` and ``ignore`` crates.

The native side (``native/tool/src/walk.rs``) matches with the ``ignore`` crate's ``Gitignore`` and
``Override`` and applies them as the crate's walker does (``walk/ripgrep_ignore.rs``, the same port of
``dir.rs`` as the ``Ignore`` section here); this module reproduces globs and rules too, rule for
rule, so the twin (``ironcode/twin/walk.py``) lists exactly the same files. Each section names the
crate source it follows (ignore 0.4.35; globs are compiled by :mod:`ironcode.twin.globset`), and functions keep
the crate's names so the two can be read side by side:

- ``GitignoreBuilder::add_line`` / ``Gitignore::matched``: gitignore lines, last match wins;
- ``Override``: ripgrep ``--glob``, a gitignore with ``!`` inverted;
- ``Ignore`` (dir.rs): the per-folder chain, parent folders, ``.git`` detection and precedence
  ``.rgignore`` > ``.ignore`` > ``.gitignore`` > ``.git/info/exclude`` > global excludes;
- ``Walk``: the traversal (``Worker::run_one`` / ``generate_work``), symlink loop checks included.

Paths are ``bytes`` throughout, as the crates match ``OsStr`` bytes.
"""

from __future__ import annotations

import errno
import os
import pwd
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ..errors import from_os_error
from .globset import GlobError, glob_regex

#: Errors that say the process ran out of descriptors or memory, not that a folder is unreadable:
#: they end the walk (walk.rs is_resource_exhausted).
RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM})

# ---- Match -----------------------------------------------------------------------------------

NONE, IGNORE, WHITELIST = 0, 1, 2


def match_or(first: int, second: int) -> int:
    """``Match::or``: the first match unless it is none."""
    return second if first == NONE else first


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
        self.add_data(data)

    def add_data(self, data: bytes) -> None:
        """:meth:`add` of an ignore file's content (read through a folder's descriptor)."""
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


class ByPath:
    """Rule files of the folder at a path (the crate's own way); see walk.rs ``RuleFiles``."""

    def __init__(self, folder: bytes) -> None:
        self.folder = folder

    def read(self, name: bytes) -> bytes | None:
        """The content of ``name`` (relative, may hold ``/``), following symlinks; None if it cannot
        be read."""
        try:
            with open(join(self.folder, name), "rb") as f:
                return f.read()
        except OSError:
            return None

    def is_file(self, name: bytes) -> bool | None:
        """Whether ``name`` is a file, following symlinks; None when it does not exist."""
        try:
            return stat.S_ISREG(os.stat(join(self.folder, name)).st_mode)
        except OSError:
            return None


def create_gitignore(dir: bytes, files, names: tuple[bytes, ...]) -> Gitignore:
    builder = GitignoreBuilder(dir)
    for name in names:
        data = files.read(name)
        if data is not None:
            builder.add_data(data)
    return builder.build()


def _first_line(path: bytes) -> str | None:
    try:
        with open(path, "rb") as f:
            raw = f.readline()
    except OSError:
        return None
    return _line_text(raw)


def _line_text(raw: bytes) -> str | None:
    raw = raw.split(b"\n", 1)[0] + (b"\n" if b"\n" in raw else b"")
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


def resolve_git_commondir(files) -> bytes | None:
    """Where a worktree's ``info/exclude`` lives: the common git dir named by the ``commondir`` file
    of the git dir its ``.git`` file names (repository metadata, read where it lies)."""
    data = files.read(b".git")
    line = None if data is None else _line_text(data)
    if line is None or not line.startswith("gitdir: "):
        return None
    real_git_dir = os.fsencode(line[len("gitdir: ") :])
    commondir = _first_line(join(real_git_dir, b"commondir"))
    if commondir is None:
        return None
    return join(real_git_dir, os.fsencode(commondir)) if commondir.startswith(".") else os.fsencode(commondir)


def add_child_path(parent: Ignore, dir: bytes, names: set[bytes] | None, files=None) -> Ignore:
    """``add_child_path_with_found_ignore_files``: ``names`` are the folder's entries when it
    was just read (None: probe the disk, as for parent folders); ``files`` how its rule files are
    read (default: by path)."""
    if files is None:
        files = ByPath(dir)

    def has(name: bytes) -> bool:
        return names is None or name in names

    git_is_file = files.is_file(b".git") if has(b".git") else None
    has_jj = has(b".jj") and files.is_file(b".jj") is not None
    has_git = git_is_file is not None or has_jj
    custom_names = tuple(n for n in RG_IGNORE_NAMES if has(n))
    custom = create_gitignore(dir, files, custom_names) if custom_names else _empty(dir)
    ignore = create_gitignore(dir, files, (b".ignore",)) if has(b".ignore") else _empty(dir)
    git_ignore = create_gitignore(dir, files, (b".gitignore",)) if has(b".gitignore") else _empty(dir)
    git_exclude = _empty(dir)
    if git_is_file is False:
        git_exclude = create_gitignore(dir, files, (b".git/info/exclude",))
    elif git_is_file:
        git_dir = resolve_git_commondir(files)
        if git_dir is not None:
            git_exclude = create_gitignore(dir, ByPath(git_dir), (b"info/exclude",))
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

    def add_parents(self, base: Ignore, absolute_base: bytes | None = None, files_of=None) -> Ignore:
        """The rules of the folders above the root; ``absolute_base`` is the canonical root (by
        default ``realpath`` of it) and ``files_of(folder)`` how a folder's rule files are read
        (by default by path): a confined walk gives both (twin/walk.py)."""
        if absolute_base is None:
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
            ig = add_child_path(ig, parent, None, None if files_of is None else files_of(parent))
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
            except OSError as e:
                if e.errno in RESOURCE_ERRNOS:  # not unreadable: the answer would lack it
                    raise from_os_error(e, os.fsdecode(dir_path)) from None
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
