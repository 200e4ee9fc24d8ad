"""Python port of ripgrep's ``globset`` crate (0.4.22) as the ``ignore`` crate uses it.

One glob becomes one regex over a path's *bytes*: globset compiles ``(?-u)`` regexes, so ``?`` is
one byte and a class holds bytes (``[é]`` is either of é's two UTF-8 bytes). The parser keeps the
crate's names (``Parser::parse_star``, ``parse_class``, ``Tokens::to_regex_with``) and quirks:
``**`` is recursive only next to ``/``, an unclosed ``[`` is a literal in gitignore files and an
error in overrides, nested braces are fine (up to 100 deep), ``/`` never matches inside a class.
"""

from __future__ import annotations

import re


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
