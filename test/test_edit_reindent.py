"""Issue 22 on both backends: after a tolerant match of whole lines, ``new`` keeps the file's
indentation (edit_replace, edit_file, the dispatcher and ``ironcode edit``); the exact match, a
match inside a line and lines off by different amounts leave ``new`` as written."""

from __future__ import annotations

import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ironcode
from ironcode.tools.edit import DESCRIPTION, REINDENT_NOTE

from .conftest import run
from .helpers import ROOT

#: The issue's example: a model's old_string and new_string without the function's indentation.
EXAMPLE = "def f():\n    if x:\n        return 1\n"
EXAMPLE_OLD = "if x:\n    return 1"
EXAMPLE_NEW = "if y:\n    return 2"
EXAMPLE_AFTER = "def f():\n    if y:\n        return 2\n"


def test_under_indented_old_gets_new_indented_like_the_file(impl):
    assert impl.edit_replace(EXAMPLE, EXAMPLE_OLD, EXAMPLE_NEW) == EXAMPLE_AFTER


def test_over_indented_old_gets_new_dedented_like_the_file(impl):
    old = "        if x:\n            return 1"
    new = "        if y:\n            return 2\n  # kept: does not start with the extra indent"
    assert impl.edit_replace(EXAMPLE, old, new) == (
        "def f():\n    if y:\n        return 2\n  # kept: does not start with the extra indent\n"
    )


def test_tab_indentation_is_added_as_tabs(impl):
    content = "func f() {\n\tif x {\n\t\treturn 1\n\t}\n}\n"
    result = impl.edit_replace(content, "if x {\n\treturn 1\n}", "if y {\n\treturn 2\n}")
    assert result == "func f() {\n\tif y {\n\t\treturn 2\n\t}\n}\n"
    over = impl.edit_replace(
        content, "\t\tif x {\n\t\t\treturn 1\n\t\t}", "\t\tif y {\n\t\t\treturn 2\n\t\t}"
    )
    assert over == result


def test_crlf_file_through_edit_file_is_reindented_and_keeps_crlf(impl, tmp_path):
    path = tmp_path / "a.py"
    path.write_bytes(EXAMPLE.replace("\n", "\r\n").encode())
    result = impl.edit_file(str(path), EXAMPLE_OLD, EXAMPLE_NEW)
    assert path.read_bytes() == EXAMPLE_AFTER.replace("\n", "\r\n").encode()
    assert "-    if x:\n-        return 1\n+    if y:\n+        return 2\n" in result["diff"]
    assert (result["additions"], result["deletions"]) == (2, 2)


def test_replace_all_reindents_every_repeated_block_alike(impl):
    block = "    def f(self):\n        return 1\n"
    content = f"class A:\n{block}\nclass B:\n{block}"
    result = impl.edit_replace(content, "def f(self):\n    return 1", "def f(self):\n    return 2", True)
    assert result == content.replace("return 1", "return 2")


def test_blank_lines_of_new_stay_and_deeper_nesting_is_shifted(impl):
    content = "def f():\n    if x:\n        return 1\n    return 0\n"
    new = "if x:\n\n    for i in y:\n        if i:\n            return i\n   \n    return 1"
    assert impl.edit_replace(content, EXAMPLE_OLD, new) == (
        "def f():\n    if x:\n\n        for i in y:\n            if i:\n                return i\n"
        "   \n        return 1\n    return 0\n"
    )


def test_lines_off_by_different_amounts_leave_new_as_written(impl):
    # The file's second line is 4 deeper than its first, old's only 2: no one prefix fits.
    assert impl.edit_replace(EXAMPLE, "if x:\n  return 1", "if y:\n  return 2") == (
        "def f():\nif y:\n  return 2\n"
    )


def test_single_line_tolerant_match_inside_a_line_is_not_reindented(impl):
    # old has two spaces the file lacks, but the match ("foo") starts mid-line.
    assert impl.edit_replace("x = foo\n", "  foo", "  bar") == "x =   bar\n"


def test_exact_match_is_never_reindented(impl):
    assert impl.edit_replace("    a = 1\n", "a = 1", "b = 2\nc = 3") == "    b = 2\nc = 3\n"


def test_trailing_whitespace_and_blank_lines_do_not_stop_the_reindent(impl):
    content = "def f():\n    a = 1   \n\n    b = 2\n"
    assert impl.edit_replace(content, "a = 1\n\nb = 2 ", "a = 3\n\nb = 4") == (
        "def f():\n    a = 3\n\n    b = 4\n"
    )


@pytest.mark.parametrize("chosen", ["native", "python"])
def test_dispatcher_reindents_on_either_backend(chosen, tmp_path):
    with ironcode.backend.use(chosen):
        assert ironcode.edit_replace(EXAMPLE, EXAMPLE_OLD, EXAMPLE_NEW) == EXAMPLE_AFTER
        path = tmp_path / "a.py"
        path.write_text(EXAMPLE)
        ironcode.edit_file(str(path), EXAMPLE_OLD, EXAMPLE_NEW)
        assert path.read_text() == EXAMPLE_AFTER


def cli(*args: str):
    return run([sys.executable, "-m", "ironcode.cli", *args], cwd=ROOT)


@pytest.mark.parametrize("chosen", ["native", "python"])
def test_cli_edit_shows_the_reindented_lines(chosen, tmp_path):
    path = tmp_path / "a.py"
    path.write_text(EXAMPLE)
    out = cli("--backend", chosen, "edit", str(path), "--old", EXAMPLE_OLD, "--new", EXAMPLE_NEW)
    assert out.returncode == 0, out.stderr
    assert "-    if x:\n-        return 1\n+    if y:\n+        return 2" in out.stdout
    assert path.read_text() == EXAMPLE_AFTER


def test_cli_edit_help_explains_the_rule():
    help_text = " ".join(cli("edit", "--help").stdout.split())
    assert "same leading whitespace" in help_text and "indentation" in help_text


def test_the_models_description_carries_the_reindent_note():
    assert REINDENT_NOTE in DESCRIPTION
    assert "re-indented" in REINDENT_NOTE


# ---- the rule as a property: dedent or over-indent a block, edit it, get the block edited -------

INDENTS = ["", "  ", "    ", "\t", "\t\t", "        "]


@st.composite
def indented_blocks(draw):
    """Lines of code, each unique (numbered), indented at random, some blank; a block of them;
    and the block as a model writes it: its common indentation taken off, or more put on."""
    count = draw(st.integers(1, 12))
    lines = []
    for i in range(count):
        if draw(st.integers(0, 5)) == 0:
            lines.append(draw(st.sampled_from(["", "  ", "\t"])))
        else:
            lines.append(draw(st.sampled_from(INDENTS)) + f"x_{i} = {i}")
    first = draw(st.integers(0, count - 1))
    last = draw(st.integers(first + 1, count))
    # The block ends on a line of code: how trailing blank lines of ``old`` fit the file is the
    # chain's business (a window may or may not take them), not the re-indenting's.
    while last > first and not lines[last - 1].strip():
        last -= 1
    if last == first:
        lines.insert(first, "    x_end = 0")
        last = first + 1
    block = lines[first:last]
    solid = [line for line in block if line.strip()]
    common = min(len(line) - len(line.lstrip()) for line in solid)
    prefix = solid[0][:common]
    if any(not line.startswith(prefix) for line in solid):
        prefix = ""
    if draw(st.booleans()) and prefix:
        old_lines = [line[len(prefix) :] if line.strip() else line for line in block]
    else:
        extra = draw(st.sampled_from(["  ", "    ", "\t"]))
        old_lines = [extra + line if line.strip() else line for line in block]
    pad = "\n" if draw(st.booleans()) else ""
    return "\n".join(lines), block, old_lines, pad


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=indented_blocks())
def test_an_edit_written_at_the_models_indentation_lands_at_the_files(both, case):
    content, block, old_lines, pad = case
    old = "\n".join(old_lines) + pad
    new = "\n".join(line + " # edited" if line.strip() else line for line in old_lines) + pad
    edited = "\n".join(line + " # edited" if line.strip() else line for line in block)
    expected = content.replace("\n".join(block), edited, 1)
    for impl in both:
        assert (impl.name, impl.edit_replace(content, old, new)) == (impl.name, expected)
