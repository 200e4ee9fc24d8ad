"""Twin of native/tool/src/shell.rs: what a bash command line will do, for permission checks.

Every command in it (name, arguments, source text), the folders that file commands touch, and the
patterns a user can allow ("git log *"). Parsing is tree-sitter-bash through py-tree-sitter (the
same grammar version and runtime line as the native crate; :mod:`.shell_parse` works around a
crash in the grammar's scanner and a slow path of the runtime); the walk over the tree is ours and
follows the Rust module function for function — see its module docs for the rules.

>>> parse_bash("git log --oneline -5 && echo done > out", "/")["always"]
['git log *', 'echo *']
>>> command_prefix(["git", "checkout", "main"])
'git checkout'
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import tree_sitter

from ..errors import IronCodeError
from . import paths
from .shell_parse import parse_tree

#: How much source text the commands of one command line may copy into the answer, in bytes: a
#: command's text holds every command nested in it, so nesting n deep copies about 3n²/2 bytes
#: (48 KB of ``$(`` built a 4.7 GB answer). ``bash -c`` takes at most 128 KiB; this is 128 times
#: that. Past it: ``invalid_argument``, never a partial answer (see shell.rs).
MAX_COMMAND_TEXT_BYTES = 16 << 20

#: Commands that change the current folder: their folders count, their patterns do not.
CD_COMMANDS = frozenset({"cd", "chdir", "pushd", "popd"})

#: Commands whose non-flag arguments are paths: the folders they touch go to ``directories``.
FILE_COMMANDS = frozenset(
    {"cd", "chdir", "pushd", "popd", "rm", "cp", "mv", "mkdir", "touch", "chmod", "chown", "cat"}
)

#: A path argument is cut at its first glob character: ``src/*.rs`` touches ``src``.
GLOB_CHARS = "*?["

#: An argument holding one of these is only known when bash runs it.
DYNAMIC_MARKERS = "$`"

REDIRECT_KINDS = frozenset({"file_redirect", "heredoc_redirect", "herestring_redirect"})

#: Operators that duplicate or close a descriptor when their destination is a number or ``-``
#: (``2>&1``, ``<&0``): no file is named, so no redirection target is reported.
DUPLICATING_OPERATORS = frozenset({">&", "<&"})

#: Nodes an argument keeps as source text: only bash can evaluate them.
VERBATIM_KINDS = frozenset(
    {
        "simple_expansion",
        "expansion",
        "command_substitution",
        "process_substitution",
        "arithmetic_expansion",
        "brace_expression",
    }
)

#: Where a heredoc redirection's own text ends.
HEREDOC_TAIL_KINDS = frozenset({"heredoc_body", "heredoc_end", "pipeline"})
HEREDOC_TAIL_FIELDS = frozenset({"operator", "right"})

#: Escapes of ``$'...'`` strings that stand for one character; others are kept as written.
ANSI_C_ESCAPES = {
    "a": "\x07",
    "b": "\x08",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\x0c",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\x0b",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}

#: Characters a backslash escapes inside double quotes.
DOUBLE_QUOTE_ESCAPABLE = frozenset('$`"\\\n')

#: How many leading tokens name a command, by the longest matching prefix. Mirrors ``ARITY`` in
#: shell.rs (a test compares the two tables).
ARITY: dict[str, int] = {
    # one token: the command alone names what it does
    "cat": 1,
    "cd": 1,
    "chmod": 1,
    "chown": 1,
    "cp": 1,
    "echo": 1,
    "env": 1,
    "export": 1,
    "grep": 1,
    "kill": 1,
    "killall": 1,
    "ln": 1,
    "ls": 1,
    "mkdir": 1,
    "mv": 1,
    "nice": 1,
    "nohup": 1,
    "ps": 1,
    "pwd": 1,
    "rm": 1,
    "rmdir": 1,
    "sleep": 1,
    "source": 1,
    "sudo": 1,
    "tail": 1,
    "time": 1,
    "timeout": 1,
    "touch": 1,
    "unset": 1,
    "watch": 1,
    "which": 1,
    "xargs": 1,
    # two tokens: tools with subcommands
    "bazel": 2,
    "brew": 2,
    "bun": 2,
    "cargo": 2,
    "cmake": 2,
    "composer": 2,
    "conda": 2,
    "deno": 2,
    "docker": 2,
    "dotnet": 2,
    "firebase": 2,
    "flyctl": 2,
    "git": 2,
    "go": 2,
    "gradle": 2,
    "helm": 2,
    "heroku": 2,
    "ip": 2,
    "kubectl": 2,
    "make": 2,
    "minikube": 2,
    "mvn": 2,
    "npm": 2,
    "npx": 2,
    "nvm": 2,
    "pip": 2,
    "pip3": 2,
    "pipenv": 2,
    "pnpm": 2,
    "podman": 2,
    "poetry": 2,
    "pulumi": 2,
    "pyenv": 2,
    "python": 2,
    "python3": 2,
    "rustup": 2,
    "swift": 2,
    "systemctl": 2,
    "terraform": 2,
    "tmux": 2,
    "uv": 2,
    "vercel": 2,
    "yarn": 2,
    # three tokens: cloud CLIs and subcommands with their own subcommands
    "aws": 3,
    "az": 3,
    "bun run": 3,
    "bun x": 3,
    "cargo add": 3,
    "cargo run": 3,
    "deno task": 3,
    "docker compose": 3,
    "docker container": 3,
    "docker image": 3,
    "docker network": 3,
    "docker volume": 3,
    "doctl": 3,
    "gcloud": 3,
    "gh": 3,
    "git config": 3,
    "git remote": 3,
    "git stash": 3,
    "ip addr": 3,
    "ip link": 3,
    "ip route": 3,
    "kubectl rollout": 3,
    "npm exec": 3,
    "npm init": 3,
    "npm run": 3,
    "pnpm dlx": 3,
    "pnpm exec": 3,
    "pnpm run": 3,
    "podman container": 3,
    "podman image": 3,
    "sfdx": 3,
    "terraform workspace": 3,
    "uv pip": 3,
    "uv run": 3,
    "yarn dlx": 3,
    "yarn run": 3,
}

#: The longest key of ARITY, in words: longer prefixes cannot match.
MAX_ARITY_KEY_WORDS = 2


def parse_bash(command: str | bytes, cwd: str = ".") -> dict:
    """``{"commands": [{"name", "args", "text"}], "directories", "patterns", "always"}``.

    Raises ``invalid_argument`` for an unusable ``cwd`` (empty, NUL), a command that is not
    UTF-8 text, and one whose commands' text exceeds :data:`MAX_COMMAND_TEXT_BYTES`.
    """
    source = _command_bytes(command)
    cwd = paths.absolute(cwd)
    home = home_dir()
    found = commands(source)
    directories: list[str] = []
    patterns: list[str] = []
    always: list[str] = []
    for cmd in found:
        command_directories(cmd, cwd, home, directories)
        if cmd["name"] in CD_COMMANDS:
            continue
        push_unique(patterns, cmd["text"])
        prefix = command_prefix([cmd["name"], *cmd["args"]])
        if prefix:
            push_unique(always, f"{prefix} *")
    return {"commands": found, "directories": directories, "patterns": patterns, "always": always}


def command_prefix(tokens: Sequence[str]) -> str:
    """The tokens that name what a command does: ``["git", "checkout", "main"]`` → ``"git checkout"``.

    The longest prefix listed in ARITY decides how many tokens; an unlisted command is named by
    its first token. Flags count as tokens (``["git", "-C", "x"]`` → ``"git -C"``).
    """
    tokens = _token_list(tokens)
    arity = 1
    for length in range(min(len(tokens), MAX_ARITY_KEY_WORDS), 0, -1):
        listed = ARITY.get(" ".join(tokens[:length]))
        if listed is not None:
            arity = listed
            break
    return " ".join(tokens[:arity])


def commands(source: bytes) -> list[dict]:
    """Every command of ``source``, in source order (a command before the commands inside it)."""
    tree = parse_tree(source)
    if tree is None:
        return []
    return collect_commands(tree.root_node, source)


def collect_commands(root: tree_sitter.Node, source: bytes) -> list[dict]:
    """Depth-first with an explicit stack, carrying the redirections bound to the last command;
    counts each command's text before copying it, against :data:`MAX_COMMAND_TEXT_BYTES`."""
    found: list[dict] = []
    stack: list[tuple[tree_sitter.Node, list[tree_sitter.Node]]] = [(root, [])]
    text_bytes = 0
    while stack:
        node, inherited = stack.pop()
        children = children_with_fields(node)
        if node.type == "command":
            end = command_end(node, inherited)
            text_bytes += max(end - node.start_byte, 0)
            if text_bytes > MAX_COMMAND_TEXT_BYTES:
                raise _too_complex()
            found.append(command_from(node, children, inherited, source, end))
        heir = redirect_heir(node, children)
        for index in range(len(children) - 1, -1, -1):
            passed: list[tree_sitter.Node] = []
            if index == heir:
                passed = own_redirects(node, children) + inherited
            stack.append((children[index][0], passed))
    return found


def _too_complex() -> IronCodeError:
    return IronCodeError(
        "invalid_argument",
        "This command line is too complex to check: its commands' text adds up to more than "
        f"{MAX_COMMAND_TEXT_BYTES >> 20} MiB (deeply nested substitutions or subshells). "
        "Split it into simpler commands.",
    )


def children_with_fields(node: tree_sitter.Node) -> list[tuple[tree_sitter.Node, str | None]]:
    children = []
    cursor = node.walk()
    if cursor.goto_first_child():
        while True:
            children.append((cursor.node, cursor.field_name))
            if not cursor.goto_next_sibling():
                break
    return children


def redirect_heir(node: tree_sitter.Node, children: list) -> int | None:
    """Which child receives the redirections bound to ``node`` (see shell.rs)."""
    kind = node.type
    if kind == "redirected_statement":
        return next((i for i, (_, field) in enumerate(children) if field == "body"), None)
    if kind in ("list", "pipeline", "negated_command"):
        for i in range(len(children) - 1, -1, -1):
            child = children[i][0]
            if child.is_named and child.type != "comment":
                return i
    return None


def own_redirects(node: tree_sitter.Node, children: list) -> list[tree_sitter.Node]:
    if node.type != "redirected_statement":
        return []
    return [c for c, field in children if field != "body" and c.type in REDIRECT_KINDS]


def command_from(node: tree_sitter.Node, children: list, inherited: list, source: bytes, end: int) -> dict:
    """One command from its node, its children and the redirections bound to it from outside; its
    text runs to ``end`` (:func:`command_end`)."""
    name = ""
    argument_nodes = []
    redirects = []
    for child, field in children:
        if field == "name":
            name = unquote(child, source)
        elif field == "argument":
            argument_nodes.append(child)
        elif child.type in REDIRECT_KINDS:
            redirects.append(child)
    redirects.extend(inherited)
    for redirect in redirects:
        extra_arguments(redirect, argument_nodes)
    argument_nodes.sort(key=lambda n: n.start_byte)
    redirects.sort(key=lambda n: n.start_byte)
    targets: list[tree_sitter.Node] = []
    for redirect in redirects:
        redirect_targets(redirect, targets)
    return {
        "name": name,
        "args": [unquote(n, source) for n in argument_nodes],
        "text": source_text(source, node.start_byte, end),
        "redirects": [unquote(n, source) for n in targets],
    }


def command_end(node: tree_sitter.Node, inherited: list) -> int:
    """Where a command's text ends: its own end, or a redirection bound to it from outside."""
    return max([node.end_byte, *(redirect_text_end(r) for r in inherited)])


def extra_arguments(redirect: tree_sitter.Node, out: list) -> None:
    """Words filed under a redirection that bash passes to the command (see shell.rs)."""
    children = children_with_fields(redirect)
    if redirect.type == "file_redirect":
        out.extend([c for c, field in children if field == "destination"][1:])
    elif redirect.type == "heredoc_redirect":
        for child, field in children:
            if field == "argument":
                out.append(child)
            elif field == "redirect":
                extra_arguments(child, out)


def redirect_targets(redirect: tree_sitter.Node, out: list) -> None:
    """The file a redirection reads or writes (``> out``, ``2>> log``, ``&> all``, ``< in``), also
    one bound inside a heredoc (``cat <<EOF > out``); none for a descriptor copy (see shell.rs)."""
    children = children_with_fields(redirect)
    if redirect.type == "file_redirect":
        destinations = [c for c, field in children if field == "destination"]
        operator = next((c.type for c, field in children if field is None and not c.is_named), "")
        if not destinations:
            return
        target = destinations[0]
        if operator in DUPLICATING_OPERATORS and target.type == "number":
            return
        out.append(target)
    elif redirect.type == "heredoc_redirect":
        for child, field in children:
            if field == "redirect":
                redirect_targets(child, out)


def redirect_text_end(redirect: tree_sitter.Node) -> int:
    if redirect.type != "heredoc_redirect":
        return redirect.end_byte
    end = redirect.start_byte
    for child, field in children_with_fields(redirect):
        if child.type in HEREDOC_TAIL_KINDS or field in HEREDOC_TAIL_FIELDS:
            break
        end = child.end_byte
    return end


# A piece of unquote's work: ("node", node) or ("text", start, end, double_quoted).


def unquote(node: tree_sitter.Node, source: bytes) -> str:
    """The value bash gives a word: quotes and escapes removed, expansions kept as source text."""
    out: list[str] = []
    stack: list[tuple] = [("node", node)]
    while stack:
        piece = stack.pop()
        if piece[0] == "text":
            _, start, end, double_quoted = piece
            text = source_text(source, start, end)
            out.append(unescape_double(text) if double_quoted else unescape_word(text))
            continue
        n = piece[1]
        kind = n.type
        if kind in VERBATIM_KINDS:
            out.append(source_text(source, n.start_byte, n.end_byte))
        elif kind == "raw_string":
            out.append(strip_quotes(source_text(source, n.start_byte, n.end_byte), "'", "'"))
        elif kind == "ansi_c_string":
            out.append(
                unescape_ansi_c(strip_quotes(source_text(source, n.start_byte, n.end_byte), "$'", "'"))
            )
        elif n.child_count == 0:
            out.append(unescape_word(source_text(source, n.start_byte, n.end_byte)))
        else:
            stack.extend(reversed(node_parts(n, children_with_fields(n))))
    return "".join(out)


def node_parts(node: tree_sitter.Node, children: list) -> list[tuple]:
    """The pieces of a composite word in order: its children and the text between them."""
    kind = node.type
    double_quoted = kind == "string"
    kept = children
    delimiter = {"string": '"', "translated_string": "$"}.get(kind)
    low, high = node.start_byte, node.end_byte
    if delimiter is not None and kept:
        first = kept[0][0]
        if not first.is_named and first.type == delimiter:
            low = first.end_byte
            kept = kept[1:]
    if double_quoted and kept:
        last = kept[-1][0]
        if not last.is_named and last.type == '"':
            high = last.start_byte
            kept = kept[:-1]
    parts: list[tuple] = []
    position = low
    for child, _ in kept:
        if child.start_byte > position:
            parts.append(("text", position, child.start_byte, double_quoted))
        if double_quoted and child.type not in VERBATIM_KINDS:
            parts.append(("text", child.start_byte, child.end_byte, double_quoted))
        else:
            parts.append(("node", child))
        position = max(position, child.end_byte)
    if high > position:
        parts.append(("text", position, high, double_quoted))
    return parts


def strip_quotes(text: str, open_quote: str, close_quote: str) -> str:
    """``text`` without its opening and closing quotes (each only if present)."""
    if not text.startswith(open_quote):
        return text
    inner = text[len(open_quote) :]
    return inner[: -len(close_quote)] if inner.endswith(close_quote) else inner


def unescape_word(text: str) -> str:
    r"""An unquoted word's value: ``\x`` → ``x``, backslash-newline removed, a final ``\`` kept."""
    if "\\" not in text:
        return text
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c != "\\":
            out.append(c)
        elif i + 1 == n:
            out.append("\\")
        else:
            i += 1
            if text[i] != "\n":
                out.append(text[i])
        i += 1
    return "".join(out)


def unescape_double(text: str) -> str:
    """Double-quoted text's value: a backslash escapes only ``$``, backtick, ``"``, ``\\`` and newline."""
    if "\\" not in text:
        return text
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in DOUBLE_QUOTE_ESCAPABLE:
            if text[i + 1] != "\n":
                out.append(text[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def unescape_ansi_c(text: str) -> str:
    """A ``$'...'`` string's value: one-character escapes decoded, others kept as written."""
    if "\\" not in text:
        return text
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c != "\\":
            out.append(c)
        elif i + 1 == n:
            out.append("\\")
        else:
            i += 1
            nxt = text[i]
            out.append(ANSI_C_ESCAPES.get(nxt, "\\" + nxt))
        i += 1
    return "".join(out)


def command_directories(command: dict, cwd: str, home: str | None, out: list[str]) -> None:
    """Adds the folders a file command touches (see shell.rs)."""
    name = command["name"]
    if name not in FILE_COMMANDS:
        return
    for arg in command["args"]:
        flag = arg.startswith("-") or (name == "chmod" and arg.startswith("+"))
        if not arg or flag or any(m in arg for m in DYNAMIC_MARKERS):
            continue
        expanded = expand_home(arg, home)
        path = resolve(cwd, cut_at_glob(expanded))
        push_unique(out, folder_of(path))


def home_dir() -> str | None:
    """``$HOME``, if set to something (and text: the native side reads it as UTF-8)."""
    home = os.environ.get("HOME")
    if not home:
        return None
    try:
        home.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return home


def expand_home(arg: str, home: str | None) -> str:
    if home is not None and arg == "~":
        return home
    if home is not None and arg.startswith("~/"):
        return home + arg[1:]
    return arg


def cut_at_glob(arg: str) -> str:
    cut = len(arg)
    for c in GLOB_CHARS:
        at = arg.find(c)
        if at != -1:
            cut = min(cut, at)
    return arg[:cut]


def resolve(cwd: str, arg: str) -> str:
    """``arg`` as an absolute path, ``.`` and ``..`` folded lexically (symlinks not followed)."""
    joined = arg if arg.startswith("/") else os.path.join(cwd, arg)
    return "/" + os.path.normpath(joined).lstrip("/")


def folder_of(path: str) -> str:
    """``path`` if it is an existing folder now, else its parent."""
    if os.path.isdir(path):
        return path
    return os.path.dirname(path)


def push_unique(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


def source_text(source: bytes, start: int, end: int) -> str:
    end = min(end, len(source))
    start = min(start, end)
    return source[start:end].decode("utf-8", "replace")


def _command_bytes(command: str | bytes) -> bytes:
    """The command as UTF-8 bytes, as the native side receives it (pointer + length)."""
    if isinstance(command, str):
        try:
            return command.encode("utf-8")
        except UnicodeEncodeError as e:
            raise IronCodeError("invalid_argument", f"command is not valid Unicode: {e}") from None
    if isinstance(command, (bytes, bytearray, memoryview)):
        data = bytes(command)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise IronCodeError("invalid_argument", f"argument 'command' is not valid UTF-8: {e}") from None
        return data
    raise IronCodeError("invalid_argument", f"command must be str or bytes, got {type(command).__name__}")


def _token_list(tokens: Sequence[str]) -> list[str]:
    """``tokens`` as a list of strings that are valid text, as the native side's JSON decoding demands."""
    if isinstance(tokens, (str, bytes)) or not isinstance(tokens, (list, tuple)):
        raise IronCodeError(
            "invalid_argument", f"tokens must be a list of strings, got {type(tokens).__name__}"
        )
    for token in tokens:
        if not isinstance(token, str):
            raise IronCodeError("invalid_argument", f"tokens must be strings, got {type(token).__name__}")
        try:
            token.encode("utf-8")
        except UnicodeEncodeError as e:
            raise IronCodeError("invalid_argument", f"a token is not valid Unicode: {e}") from None
    return list(tokens)
