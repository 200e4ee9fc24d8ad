"""Parity: the native library and the Python twin give the same edit, the same proposals and the
same distance — or the same error kind — for generated inputs. Also: every diff edit_file
returns turns the old text into the new one."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ironcode import IronCodeError
from ironcode.twin.edit_strategies import STRATEGIES

#: Characters where backends could disagree: JavaScript whitespace that Python's str.strip()
#: treats differently (U+FEFF, U+00A0, U+3000, U+2028) or not at all the same (\x1c-\x1f),
#: line endings, escapes, NUL, astral and combining characters.
PIECES = [
    *"ab x\t\n\r\\{}();n\"'$`",
    "\ufeff",
    "\xa0",
    "\u3000",
    "\u2028",
    "\x1c",
    "\x1f",
    "\x85",
    "\0",
    "😀",
    "é",
    "e\u0301",
    "  ",
    "\n    ",
    "\r\n",
    "\\n",
    "\\\n",
]
text = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)
LINES = [
    "    if x:",
    "  y()",
    "",
    "  ",
    "}",
    "\t}",
    "return a",
    " return  a ",
    "a\\",
    'say \\"b\\"',
    "b",
    "\r",
    "\u3000c\ufeff",
]
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


def outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except IronCodeError as e:
        return ("error", e.kind)


@SETTINGS
@given(content=text, old=text, new=text, replace_all=st.booleans(), strategy=st.sampled_from(STRATEGIES))
def test_backends_agree_on_arbitrary_text(both, content, old, new, replace_all, strategy):
    native, python = both
    assert outcome(native.edit_replace, content, old, new, replace_all) == outcome(
        python.edit_replace, content, old, new, replace_all
    )
    assert outcome(native.edit_candidates, strategy, content, old) == outcome(
        python.edit_candidates, strategy, content, old
    )
    assert outcome(native.levenshtein, content, old) == outcome(python.levenshtein, content, old)


@st.composite
def line_edits(draw):
    """A content of code-like lines and an ``old`` cut from it, then bent the way models bend
    it: re-indented, stripped, escaped, padded, mistyped."""
    lines = draw(st.lists(st.sampled_from(LINES), min_size=1, max_size=14))
    first = draw(st.integers(0, len(lines) - 1))
    last = draw(st.integers(first, len(lines)))
    old_lines = lines[first:last]
    bend = draw(
        st.sampled_from(["none", "strip", "indent", "under", "over", "escape", "typo", "pad", "crlf"])
    )
    if bend == "strip":
        old_lines = [line.strip() for line in old_lines]
    elif bend == "indent":
        old_lines = ["  " + line for line in old_lines]
    elif bend == "under":
        # The common mistake of issue 22: the block's indentation left off (as far as it goes).
        cut = draw(st.sampled_from([1, 2, 4]))
        old_lines = [line[cut:] if line[:cut].isspace() else line for line in old_lines]
    elif bend == "over":
        extra = draw(st.sampled_from(["  ", "\t", "    "]))
        old_lines = [extra + line if line.strip() else line for line in old_lines]
    elif bend == "escape":
        old_lines = [line.replace('"', '\\"').replace("\\", "\\\\") for line in old_lines]
    elif bend == "typo":
        old_lines = [line.replace("a", "e", 1) for line in old_lines]
    old = "\n".join(old_lines)
    if bend == "pad":
        old = "  " + old + "\n"
    content = "\n".join(lines)
    if bend == "crlf":
        content = content.replace("\n", "\r\n")
    return content, old


#: New texts shaped like code: several lines, indented and not, blank ones among them (so the
#: re-indenting of issue 22 has something to shift), or arbitrary text.
news = st.one_of(
    text,
    st.lists(st.sampled_from([*LINES, "        deeper()", "\tz = 1"]), min_size=2, max_size=6).map("\n".join),
)


@SETTINGS
@given(case=line_edits(), new=news, replace_all=st.booleans())
def test_backends_agree_on_bent_copies_of_the_content(both, case, new, replace_all):
    native, python = both
    content, old = case
    assert outcome(native.edit_replace, content, old, new, replace_all) == outcome(
        python.edit_replace, content, old, new, replace_all
    )
    for strategy in STRATEGIES:
        assert outcome(native.edit_candidates, strategy, content, old) == outcome(
            python.edit_candidates, strategy, content, old
        ), strategy


def apply_unified_diff(before: str, diff: str) -> str:
    """Applies a unified diff of ``\\n`` lines (as edit_file returns) to ``before``."""
    if not diff:
        return before
    old_lines = [line for line in re.split(r"(?<=\n)", before) if line]
    out: list[str] = []
    at = 0
    body = diff.split("\n")[2:]
    i = 0
    while i < len(body) and body[i]:
        header = re.match(r"@@ -(\d+),(\d+) \+(\d+),(\d+) @@", body[i])
        assert header, body[i]
        start, length = int(header[1]), int(header[2])
        first = start - 1 if length else start
        out.extend(old_lines[at:first])
        at = first
        i += 1
        while i < len(body) and body[i] and not body[i].startswith("@@"):
            tag, line = body[i][0], body[i][1:]
            no_newline = i + 1 < len(body) and body[i + 1] == "\\ No newline at end of file"
            text = line if no_newline else line + "\n"
            if tag in " -":
                assert old_lines[at] == text, (old_lines[at], text)
                at += 1
            if tag in " +":
                out.append(text)
            i += 2 if no_newline else 1
    out.extend(old_lines[at:])
    return "".join(out)


@SETTINGS
@given(case=line_edits(), new=news, replace_all=st.booleans())
def test_edit_file_agrees_across_backends_and_its_diff_replays(both, case, new, replace_all):
    content, old = case
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for impl in both:
            path = Path(scratch) / f"{impl.name}.txt"
            path.write_bytes(content.encode())
            got = outcome(impl.edit_file, str(path), old, new, replace_all)
            if got[0] == "ok":
                got[1]["path"] = path.name
                after = path.read_bytes().decode()
                normalized_before = content.replace("\r\n", "\n")
                assert apply_unified_diff(normalized_before, got[1]["diff"]) == after.replace("\r\n", "\n")
                got = (got[0], got[1]["diff"].replace(str(path), "F"), after, got[1]["additions"])
            results[impl.name] = got
    assert results["native"] == results["python"]


def code_file(seed: int, functions: int) -> list[str]:
    """Repetitive code with numbered names: the shape the native anchor index is tuned for."""
    lines = []
    for i in range(functions):
        n = (seed * 7919 + i * 104729) % 1000
        lines += [
            f"    def handler_{n}(self, request):",
            '        """Handle one request."""',
            f"        value = self.table.get(request.id, {n})",
            "        if value is None:",
            "            return None",
            f"        self.log('handled %s', {n})",
            "        return value",
            "",
        ]
    return lines


@SETTINGS
@given(
    seed=st.integers(0, 10_000),
    functions=st.integers(1, 40),
    data=st.data(),
    bend=st.sampled_from(["none", "dedent", "indent", "typo", "pad"]),
    replace_all=st.booleans(),
)
def test_backends_agree_on_realistic_code(both, seed, functions, data, bend, replace_all):
    native, python = both
    lines = code_file(seed, functions)
    first = data.draw(st.integers(0, len(lines) - 1))
    last = data.draw(st.integers(first + 1, min(len(lines), first + 9)))
    block = lines[first:last]
    if bend == "dedent":
        block = [line[4:] for line in block]
    elif bend == "indent":
        block = ["  " + line for line in block]
    elif bend == "typo":
        block = [line.replace("value", "valeu", 1) for line in block]
    old = "\n".join(block) + ("\n" if bend == "pad" else "")
    content = "\n".join(lines)
    for new in ("", "X", "pass\n", "if y:\n\n    return 2\n  done()", "\tx = 1\n        y = 2\n"):
        assert outcome(native.edit_replace, content, old, new, replace_all) == outcome(
            python.edit_replace, content, old, new, replace_all
        )
    for strategy in ("line_trimmed", "multi_occurrence"):
        assert outcome(native.edit_candidates, strategy, content, old) == outcome(
            python.edit_candidates, strategy, content, old
        )
