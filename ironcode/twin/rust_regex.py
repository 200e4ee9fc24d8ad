"""Rust ``regex`` syntax, as ripgrep's ``grep-regex`` configures it, translated to Python ``re``.

The native grep parses patterns with ``regex-syntax`` (Unicode on, multi-line anchors, no octal,
the line terminator banned); the twin (``ironcode/twin/grep.py``) searches with ``re``. This module
parses the Rust syntax itself and emits an equivalent ``re`` pattern, so both backends accept and
refuse the same patterns and match the same lines:

- refused like Rust: look-around, backreferences (``\\1``, ``\\0``), ``{`` that is not a counted
  repetition, unknown escapes (``\\e``, ``\\Z``), duplicate or bad group names, bad flags, a
  literal ``\\n`` (grep-regex: "the literal '\\n' is not allowed");
- translated: nested repetition (``a**``), ``(?<name>``, flags anywhere (``a(?i)b``), ``(?U)``,
  ``\\x{..}``/``\\u``/``\\U``, ``\\z``/``\\A``, ``\\<``/``\\>``/``\\b{start}``, ASCII classes
  ``[[:alpha:]]``, Rust's ``\\s`` set, and classes that could match ``\\n`` (ripgrep strips it);
- refused by the twin only, listed in ``ironcode/twin/__init__.py``: Unicode property classes
  (``\\p{Greek}``), nested classes and class set operations (``&&``, ``--``, ``~~``), negated ASCII
  classes, ``(?x)``, ``(?R)`` and ``(?-u)``.

Matches never span lines: every construct that could match ``\\n`` is kept from doing so, so a
search over a whole file with ``re.MULTILINE`` finds exactly the lines a line-by-line search does.
With ``multi_line`` (ripgrep ``-U``) they may: a literal ``\\n`` is allowed, classes keep ``\\n``,
``.`` matches it under ``(?s)``, ``\\A``/``\\z`` are the text's ends; the translation also says
whether the pattern can match a line end at all (grep-regex's ``non_matching_bytes``: when it
cannot, the searcher searches line by line even with ``-U``) and whether it holds an assertion
that reads the text before the search start (``^``, ``\\A``, word boundaries), which the
searcher's multi-line search evaluates at the start of the rest of the text.
The text is decoded with ``surrogateescape`` and no construct matches those escapes, as no Rust
Unicode class matches a byte that is not UTF-8.
"""

from __future__ import annotations

import re

#: regex-syntax's default nesting limit (grep-regex keeps it).
NEST_LIMIT = 250
#: Rust's ``\s``: the Unicode White_Space property (Python's ``\s`` adds U+001C..U+001F).
WHITE_SPACE = (
    (0x09, 0x0D),
    (0x20, 0x20),
    (0x85, 0x85),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
)
MAX_CODE_POINT = 0x10FFFF
SURROGATES = (0xD800, 0xDFFF)
#: The twin decodes text with ``surrogateescape``: each byte that is not UTF-8 becomes one of
#: these, and like in Rust (whose Unicode classes only match valid UTF-8) nothing matches them.
INVALID_BYTES = "\\udc80-\\udcff"
#: regex-syntax's ASCII classes, ``[[:name:]]``.
ASCII_CLASSES = {
    "alnum": ((0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)),
    "alpha": ((0x41, 0x5A), (0x61, 0x7A)),
    "ascii": ((0x00, 0x7F),),
    "blank": ((0x09, 0x09), (0x20, 0x20)),
    "cntrl": ((0x00, 0x1F), (0x7F, 0x7F)),
    "digit": ((0x30, 0x39),),
    "graph": ((0x21, 0x7E),),
    "lower": ((0x61, 0x7A),),
    "print": ((0x20, 0x7E),),
    "punct": ((0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)),
    "space": ((0x09, 0x0D), (0x20, 0x20)),
    "upper": ((0x41, 0x5A),),
    "word": ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)),
    "xdigit": ((0x30, 0x39), (0x41, 0x46), (0x61, 0x66)),
}
SIMPLE_ESCAPES = {"a": 0x07, "f": 0x0C, "t": 0x09, "n": 0x0A, "r": 0x0D, "v": 0x0B}
HEX_DIGITS = {"x": 2, "u": 4, "U": 8}
FLAGS = "imsUuxR"
NEWLINE = 0x0A


class RegexError(Exception):
    """The pattern is not valid Rust regex syntax (or not supported by the twin)."""


def _complement(ranges) -> list[tuple[int, int]]:
    out, start = [], 0
    for lo, hi in sorted(ranges):
        if lo > start:
            out.append((start, lo - 1))
        start = max(start, hi + 1)
    if start <= MAX_CODE_POINT:
        out.append((start, MAX_CODE_POINT))
    return out


NOT_WHITE_SPACE = _complement([*WHITE_SPACE, SURROGATES])


def _char(cp: int) -> str:
    """A code point as an escape that is literal anywhere in a Python pattern."""
    if cp < 0x100:
        return f"\\x{cp:02x}"
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def _without_newline(ranges) -> list[tuple[int, int]]:
    out = []
    for lo, hi in ranges:
        if lo <= NEWLINE <= hi:
            if lo < NEWLINE:
                out.append((lo, NEWLINE - 1))
            if hi > NEWLINE:
                out.append((NEWLINE + 1, hi))
        else:
            out.append((lo, hi))
    return out


def _class_body(ranges) -> str:
    return "".join(_char(lo) if lo == hi else f"{_char(lo)}-{_char(hi)}" for lo, hi in ranges)


#: Perl classes as (text inside a class, may it match "\n"); ``\s``/``\S`` are spelled out so
#: Rust's set is used, and the negated ones can match "\n" (which a line never holds).
PERL_CLASSES = {
    "d": ("\\d", False),
    "D": ("\\D", True),
    "w": ("\\w", False),
    "W": ("\\W", True),
    "s": (_class_body(_without_newline(WHITE_SPACE)), False),
    "S": (_class_body(_without_newline(NOT_WHITE_SPACE)), False),
}
#: The same for multi-line patterns, where ``\s`` includes "\n": (text, may it match "\n").
MULTI_LINE_PERL_CLASSES = {
    **PERL_CLASSES,
    "s": (_class_body(WHITE_SPACE), True),
    "S": (_class_body(NOT_WHITE_SPACE), False),
}


class _Parser:
    def __init__(self, pattern: str, ignore_case: bool, multi_line: bool = False) -> None:
        self.pattern = pattern
        self.pos = 0
        self.case_insensitive = ignore_case
        self.swap_greed = False
        self.dot_all = False
        self.multi_line = multi_line
        self.perl_classes = MULTI_LINE_PERL_CLASSES if multi_line else PERL_CLASSES
        #: Some construct can match "\n" (or is a line anchor, which grep-regex counts as one).
        self.may_match_newline = False
        #: Some assertion looks before the position it is tried at (see the module docstring).
        self.reads_before = False
        self.names: set[str] = set()
        self.depth = 0

    # -- helpers

    def error(self, message: str) -> RegexError:
        return RegexError(message)

    def peek(self, ahead: int = 0) -> str | None:
        i = self.pos + ahead
        return self.pattern[i] if i < len(self.pattern) else None

    def bump(self) -> str:
        c = self.pattern[self.pos]
        self.pos += 1
        return c

    def literal(self, cp: int) -> str:
        if cp == NEWLINE:
            if not self.multi_line:
                raise RegexError('the literal "\\n" is not allowed in a regex')
            self.may_match_newline = True
        text = _char(cp)
        return f"(?i:{text})" if self.case_insensitive else text

    # -- structure

    def parse(self) -> str:
        out = self.parse_alternation()
        if self.pos < len(self.pattern):
            raise self.error("unopened group")
        return out

    def parse_alternation(self) -> str:
        branches = [self.parse_concat()]
        while self.peek() == "|":
            self.bump()
            branches.append(self.parse_concat())
        return "|".join(branches)

    def parse_concat(self) -> str:
        # Each item: (python text, kind) with kind "atom" (repeatable) or "flags" (not).
        items: list[tuple[str, str]] = []
        while (c := self.peek()) is not None and c not in "|)":
            if c in "*+?":
                self.bump()
                self.repeat(items, c)
            elif c == "{":
                self.repeat(items, self.parse_counted())
            else:
                items.append(self.parse_atom())
        return "".join(text for text, _ in items)

    def repeat(self, items: list[tuple[str, str]], operator: str) -> None:
        if not items or items[-1][1] == "flags":
            raise self.error("repetition operator missing expression")
        lazy = False
        if self.peek() == "?":
            self.bump()
            lazy = True
        if self.swap_greed:
            lazy = not lazy
        text, _ = items[-1]
        items[-1] = (f"(?:{text}){operator}{'?' if lazy else ''}", "atom")

    def parse_counted(self) -> str:
        self.bump()  # "{"
        start = self.parse_decimal()
        if self.peek() is None:
            raise self.error("unclosed counted repetition")
        if self.peek() == ",":
            self.bump()
            if self.peek() == "}":
                operator = f"{{{start},}}"
            else:
                end = self.parse_decimal()
                if start > end:
                    raise self.error("invalid repetition count range, the start must be <= the end")
                operator = f"{{{start},{end}}}"
        else:
            operator = f"{{{start}}}"
        if self.peek() != "}":
            raise self.error("unclosed counted repetition")
        self.bump()
        return operator

    def parse_decimal(self) -> int:
        while (c := self.peek()) is not None and c.isspace():
            self.bump()
        digits = ""
        while (c := self.peek()) is not None and "0" <= c <= "9":
            digits += self.bump()
        while (c := self.peek()) is not None and c.isspace():
            self.bump()
        if not digits:
            raise self.error("repetition quantifier expects a valid decimal")
        value = int(digits)
        if value >= 2**32:
            raise self.error("decimal literal invalid")
        return value

    def parse_atom(self) -> tuple[str, str]:
        c = self.bump()
        if c == "(":
            return self.parse_group()
        if c == "[":
            return self.parse_class(), "atom"
        if c == ".":
            if self.multi_line and self.dot_all:
                self.may_match_newline = True
                return f"[^{INVALID_BYTES}]", "atom"
            return f"[^\\n{INVALID_BYTES}]", "atom"
        if c == "^":
            self.may_match_newline = True
            self.reads_before = True
            return "^", "atom"
        if c == "$":
            self.may_match_newline = True
            return "$", "atom"
        if c == "\\":
            return self.parse_escape(), "atom"
        return self.literal(ord(c)), "atom"

    def parse_group(self) -> tuple[str, str]:
        saved = (self.case_insensitive, self.swap_greed, self.dot_all)
        if self.peek() == "?":
            self.bump()
            if self.peek() in ("=", "!") or (self.peek() == "<" and self.peek(1) in ("=", "!")):
                raise self.error("look-around, including look-ahead and look-behind, is not supported")
            if self.peek() == "P" and self.peek(1) == "<":
                self.bump()
                self.bump()
                self.parse_group_name()
            elif self.peek() == "<":
                self.bump()
                self.parse_group_name()
            elif self.parse_flags():
                return "", "flags"  # "(?flags)": applies to the rest of the enclosing group
        self.depth += 1
        if self.depth > NEST_LIMIT:
            raise self.error("exceed the maximum number of nested parentheses/brackets")
        inner = self.parse_alternation()
        if self.peek() != ")":
            raise self.error("unclosed group")
        self.bump()
        self.depth -= 1
        self.case_insensitive, self.swap_greed, self.dot_all = saved
        return f"(?:{inner})", "atom"

    def parse_group_name(self) -> None:
        name = ""
        while (c := self.peek()) is not None and c != ">":
            ok = c == "_" or c.isalpha() or (name and (c.isdigit() or c in ".[]"))
            if not ok:
                raise self.error("invalid capture group character")
            name += self.bump()
        if c is None:
            raise self.error("unclosed capture group name")
        if not name:
            raise self.error("empty capture group name")
        self.bump()
        if name in self.names:
            raise self.error("duplicate capture group name")
        self.names.add(name)

    def parse_flags(self) -> bool:
        """Parses ``flags)`` (True: flags for the rest of the group) or ``flags:`` (False: a
        group with these flags follows)."""
        seen: set[str] = set()
        negate = False
        negated_any = False
        flags: list[tuple[str, bool]] = []
        while True:
            c = self.peek()
            if c is None:
                raise self.error("expected flag but got end of regex")
            if c in ":)":
                if negate and not negated_any:
                    raise self.error("dangling flag negation operator")
                if not flags and c == ")":
                    raise self.error("repetition operator missing expression")
                self.bump()
                break
            if c == "-":
                if negate:
                    raise self.error("repeated negation")
                negate = True
                self.bump()
                continue
            if c not in FLAGS:
                raise self.error("unrecognized flag")
            if c in seen:
                raise self.error("duplicate flag")
            seen.add(c)
            flags.append((c, not negate))
            negated_any = negated_any or negate
            self.bump()
        for flag, on in flags:
            if flag == "i":
                self.case_insensitive = on
            elif flag == "U":
                self.swap_greed = on
            elif flag == "s":
                self.dot_all = on
            elif (flag, on) in (("x", True), ("R", True), ("u", False)):
                raise RegexError(
                    f"the flag (?{'' if on else '-'}{flag}) is not supported by the Python backend"
                )
        return c == ")"

    # -- escapes

    def parse_hex(self, kind: str) -> int:
        if self.peek() == "{":
            self.bump()
            digits = ""
            while (c := self.peek()) is not None and c != "}":
                digits += self.bump()
            if (
                c is None
                or not digits
                or len(digits) > 8
                or any(d not in "0123456789abcdefABCDEF" for d in digits)
            ):
                raise self.error("invalid hexadecimal digit")
            self.bump()
        else:
            digits = self.pattern[self.pos : self.pos + HEX_DIGITS[kind]]
            if len(digits) < HEX_DIGITS[kind] or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise self.error("invalid hexadecimal digit")
            self.pos += len(digits)
        cp = int(digits, 16)
        if cp > MAX_CODE_POINT or 0xD800 <= cp <= 0xDFFF:
            raise self.error("hexadecimal literal is not a Unicode scalar value")
        return cp

    def escape_literal(self, c: str) -> int | None:
        """The code point of an escape that means one character, or None."""
        if c in SIMPLE_ESCAPES:
            return SIMPLE_ESCAPES[c]
        if c in HEX_DIGITS:
            return self.parse_hex(c)
        if c.isascii() and not c.isalnum() and c not in "<>":
            return ord(c)
        return None

    def parse_escape(self) -> str:
        if self.peek() is None:
            raise self.error("incomplete escape sequence, reached end of pattern prematurely")
        c = self.bump()
        if "0" <= c <= "9":
            raise self.error("backreferences are not supported")
        if c in PERL_CLASSES:
            return self.perl_class(c)
        if c in "pP":
            raise RegexError("Unicode property classes (\\p{...}) are not supported by the Python backend")
        if c == "A":
            self.may_match_newline = True
            self.reads_before = True
            return "\\A" if self.multi_line else "^"
        if c == "z":
            self.may_match_newline = True
            return "\\Z" if self.multi_line else "$"
        self.reads_before = self.reads_before or c in "B<>b"
        if c == "B":
            return "\\B"
        if c == "<":
            return r"\b(?=\w)"
        if c == ">":
            return r"\b(?<=\w)"
        if c == "b":
            return self.word_boundary()
        cp = self.escape_literal(c)
        if cp is None:
            raise self.error("unrecognized escape sequence")
        return self.literal(cp)

    def word_boundary(self) -> str:
        if self.peek() == "{" and (self.peek(1) or "").isalpha():
            end = self.pattern.find("}", self.pos)
            name = self.pattern[self.pos + 1 : end] if end >= 0 else ""
            special = {
                "start": r"\b(?=\w)",
                "end": r"\b(?<=\w)",
                "start-half": r"(?<!\w)",
                "end-half": r"(?!\w)",
            }
            if end < 0 or name not in special:
                raise self.error(
                    "unrecognized special word boundary assertion, "
                    "valid choices are: start, end, start-half or end-half"
                )
            self.pos = end + 1
            return special[name]
        return r"\b"

    def perl_class(self, c: str) -> str:
        """A Perl class outside brackets; the negated ones are kept off "\n" (unless the
        pattern is multi-line)."""
        body, newline = self.perl_classes[c]
        if self.multi_line and newline:
            self.may_match_newline = True
        if c in "dw":
            return body
        if c in "DW":
            newline_text = "" if self.multi_line else "\\n"
            return f"[^\\{c.lower()}{newline_text}{INVALID_BYTES}]"
        return f"[{body}]"

    # -- classes

    def parse_class(self) -> str:
        negated = False
        if self.peek() == "^":
            self.bump()
            negated = True
        ranges: list[tuple[int, int]] = []
        perl: list[str] = []
        may_match_newline = False
        first = True
        while True:
            c = self.peek()
            if c is None:
                raise self.error("unclosed character class")
            if c == "]" and not first:
                self.bump()
                break
            first = False
            two = self.pattern[self.pos : self.pos + 2]
            if two in ("&&", "--", "~~"):
                raise RegexError("character class set operations are not supported by the Python backend")
            if c == "[":
                ascii_class = self.parse_ascii_class()
                if ascii_class is None:
                    raise RegexError("nested character classes are not supported by the Python backend")
                ranges.extend(ascii_class)
                continue
            if c == "\\" and self.peek(1) in PERL_CLASSES:
                self.bump()
                name = self.bump()
                body, newline = self.perl_classes[name]
                perl.append(body)
                may_match_newline = may_match_newline or newline
                continue
            start = self.class_literal()
            if self.peek() == "-" and self.peek(1) not in ("]", None):
                self.bump()
                if self.peek() == "[" or (self.peek() == "\\" and self.peek(1) in PERL_CLASSES):
                    raise self.error("invalid range boundary, must be a literal")
                end = self.class_literal()
                if start > end:
                    raise self.error("invalid character class range, the start must be <= the end")
                ranges.append((start, end))
            else:
                ranges.append((start, start))
        had_any = bool(ranges or perl)
        if self.multi_line:
            return self.multi_line_class(negated, ranges, perl, may_match_newline)
        if not negated:
            ranges = _without_newline(ranges)
            if had_any and not ranges and not perl:
                raise RegexError('the literal "\\n" is not allowed in a regex')
        body = _class_body(ranges) + "".join(perl)
        if negated:
            text = f"[^{body}\\n{INVALID_BYTES}]"
        elif not body:
            text = "(?!)"
        elif may_match_newline:
            text = f"(?:(?![\\n{INVALID_BYTES}])[{body}])"
        else:
            text = f"[{body}]"
        return f"(?i:{text})" if self.case_insensitive else text

    def multi_line_class(self, negated: bool, ranges: list, perl: list[str], perl_newline: bool) -> str:
        """A class of a multi-line pattern: "\n" stays in it as written, bytes that are not
        UTF-8 stay out."""
        has_newline = perl_newline or any(lo <= NEWLINE <= hi for lo, hi in ranges)
        body = _class_body(ranges) + "".join(perl)
        if negated:
            self.may_match_newline = self.may_match_newline or not has_newline
            text = f"[^{body}{INVALID_BYTES}]"
        elif not body:
            text = "(?!)"
        else:
            self.may_match_newline = self.may_match_newline or has_newline
            text = f"(?:(?![{INVALID_BYTES}])[{body}])" if perl_newline else f"[{body}]"
        return f"(?i:{text})" if self.case_insensitive else text

    def parse_ascii_class(self) -> list[tuple[int, int]] | None:
        """``[:name:]`` inside a class; None when the ``[`` starts something else."""
        match = re.match(r"\[:(\^?)([a-z]+):\]", self.pattern[self.pos :])
        if match is None or match.group(2) not in ASCII_CLASSES:
            return None
        if match.group(1):
            raise RegexError("negated ASCII classes ([[:^name:]]) are not supported by the Python backend")
        self.pos += match.end()
        return list(ASCII_CLASSES[match.group(2)])

    def class_literal(self) -> int:
        c = self.bump()
        if c != "\\":
            return ord(c)
        if self.peek() is None:
            raise self.error("unclosed character class")
        e = self.bump()
        if e in "pP":
            raise RegexError("Unicode property classes (\\p{...}) are not supported by the Python backend")
        cp = self.escape_literal(e)
        if cp is None:
            raise self.error("invalid escape sequence found in character class")
        return cp


def translate(pattern: str, ignore_case: bool = False) -> str:
    """The Python ``re`` pattern (to compile with ``re.MULTILINE``) that matches the same lines
    as the Rust ``pattern`` does in ripgrep. Raises :class:`RegexError`.

    grep-regex parses ``(?:PATTERN)``, not the pattern alone, and so does this: ``)(`` is a valid
    pattern there (two empty groups), ``a)`` is not."""
    return _parsed(_Parser(f"(?:{pattern})", ignore_case))


def _parsed(parser: _Parser) -> str:
    """``parser.parse()``; a nesting deeper than Python's stack allows is refused like one past
    :data:`NEST_LIMIT` (the parser recurses about four frames per group)."""
    try:
        return parser.parse()
    except RecursionError:
        raise RegexError("exceed the maximum number of nested parentheses/brackets") from None


def compile(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """:func:`translate` then ``re.compile``; any failure is a :class:`RegexError`."""
    return _compiled(translate(pattern, ignore_case))


def _compiled(translated: str) -> re.Pattern[str]:
    try:
        return re.compile(translated, re.MULTILINE)
    except (re.error, OverflowError, RecursionError) as e:
        raise RegexError(str(e)) from None


class MultiLinePattern:
    """A pattern compiled for ripgrep ``-U``: ``regex``, whether it can match a line end
    (``may_match_newline``; when not, the search runs line by line) and whether an assertion
    in it reads the text before where it is tried (``reads_before``)."""

    def __init__(self, pattern: str, ignore_case: bool = False) -> None:
        parser = _Parser(f"(?:{pattern})", ignore_case, multi_line=True)
        self.regex = _compiled(_parsed(parser))
        self.may_match_newline = parser.may_match_newline
        self.reads_before = parser.reads_before
