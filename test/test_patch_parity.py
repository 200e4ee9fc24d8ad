"""Parity of apply_patch: patches derived from real diffs between two versions of a file (difflib's
hunks with three lines of context, as a model writes them), applied to the first version — the
native library and the twin give the same result or the same error (kind and message), and leave
the same bytes. A patch built from ``a → b`` turns ``a`` into ``b`` byte for byte, also when its
removed lines are re-spaced or typographic (the passes find them); with its context lines
perturbed too, both backends still agree. Also: random patch-shaped text gives the same answer."""

from __future__ import annotations

import difflib
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ironcode import IronCodeError

SETTINGS = settings(
    max_examples=int(__import__("os").environ.get("PATCH_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)

#: Line bodies: code, Unicode, quotes and dashes the typographic pass reads, whitespace the
#: trim set holds (U+3000, U+00A0, U+FEFF), lines that are blank.
WORDS = [
    "def handler(request):",
    "    return 'ok'",
    '    say("hi") - done',
    "\tif x:",
    "}",
    "",
    "  ",
    "日本語 テキスト",
    "emoji 😀 line",
    "caf\u00e9 \u00a0 spaced",
    "\u3000full width",
    "x = a - b",
    "@@ not a marker here",
    "+ plus inside",
    "- minus inside",
]

#: Perturbations a model's copy of a line shows; each is read back by one of the passes.
PERTURB = {
    "trailing": lambda s: s + "  ",
    "tab": lambda s: s + "\t",
    "leading": lambda s: "   " + s,
    "quotes": lambda s: s.replace("'", "\u2019").replace('"', "\u201c"),
    "dash": lambda s: s.replace("-", "\u2014"),
    "nbsp": lambda s: s.replace(" ", "\u00a0"),
}


def build(lines: list[str], crlf: bool, bom: bool, final_newline: bool) -> bytes:
    end = "\r\n" if crlf else "\n"
    text = end.join(lines) + (end if lines and final_newline else "")
    return (("\ufeff" if bom else "") + text).encode()


def patch_from_diff(a: list[str], b: list[str], perturb, eof: bool) -> str:
    """A Codex patch turning ``a`` into ``b``: one chunk per difflib group; ``perturb(kind, line)``
    rewrites a removed (``-``) or context (`` ``) line as a model might."""
    out = ["*** Begin Patch", "*** Update File: f.txt"]
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(3):
        out.append("@@")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [" " + perturb(" ", line) for line in a[i1:i2]]
                continue
            out += ["-" + perturb("-", line) for line in a[i1:i2]]
            out += ["+" + line for line in b[j1:j2]]
        if eof and group[-1][2] == len(a) and len(a) > 0:
            out.append("*** End of File")
    out.append("*** End Patch")
    return "\n".join(out) + "\n"


def run_both(both, files: dict[str, bytes], patch: str | bytes) -> tuple:
    """Applies ``patch`` on both backends, each to its own copy of ``files``: (answer, files)."""
    native, python = both
    answers = []
    with tempfile.TemporaryDirectory() as tmp:
        for impl in (native, python):
            root = Path(tmp) / impl.name
            root.mkdir()
            for name, data in files.items():
                (root / name).write_bytes(data)
            try:
                answer = ("ok", impl.apply_patch(patch, str(root)))
            except IronCodeError as e:
                message = e.message if e.kind in ("invalid_patch", "patch_failed") else ""
                answer = ("error", e.kind, message)
            after = {p.name: p.read_bytes() for p in sorted(root.iterdir()) if p.is_file()}
            answers.append((answer, after))
        shutil.rmtree(tmp, ignore_errors=True)
    assert answers[0] == answers[1], f"native: {answers[0][0]}\npython: {answers[1][0]}"
    return answers[0]


@st.composite
def versions(draw, distinct: bool):
    """Two versions of a file's lines; ``distinct`` makes every line unique (so a chunk has one
    place), else lines repeat."""
    bodies = draw(st.lists(st.sampled_from(WORDS), max_size=40))
    a = [f"{body} #{i}" if distinct else body for i, body in enumerate(bodies)]
    b = list(a)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        at = draw(st.integers(0, len(b)))
        new = draw(st.sampled_from(WORDS)) + (f" new{draw(st.integers(0, 10**6))}" if distinct else "")
        if op == "insert":
            b.insert(at, new)
        elif b and at < len(b):
            if op == "delete":
                del b[at]
            else:
                b[at] = new
    return a, b


file_shapes = st.tuples(st.booleans(), st.booleans(), st.booleans())  # crlf, bom, final newline


@SETTINGS
@given(versions(distinct=True), file_shapes, st.booleans(), st.data())
def test_a_patch_from_a_to_b_gives_b_on_both_backends(both, ab, shape, eof, data):
    a, b = ab
    crlf, bom, final_newline = shape
    if not a:
        final_newline = True  # an empty file counts as ending with a newline
    # A file is CRLF only if it holds a line break; the one-line file "x" is not.
    crlf = crlf and (len(a) > 1 or (bool(a) and final_newline))
    if a == b:
        return
    kinds = data.draw(st.lists(st.sampled_from(sorted(PERTURB)), max_size=3))

    def perturb(prefix: str, line: str) -> str:
        # Removed lines only: they do not reach the file, so b must come out exactly.
        for kind in kinds if prefix == "-" else []:
            line = PERTURB[kind](line)
        return line

    patch = patch_from_diff(a, b, perturb, eof)
    answer, after = run_both(both, {"f.txt": build(a, crlf, bom, final_newline)}, patch)
    assert answer[0] == "ok", answer
    expected = build(b, crlf, bom, final_newline) if b else (b"\xef\xbb\xbf" if bom else b"")
    assert after["f.txt"] == expected


@SETTINGS
@given(versions(distinct=False), file_shapes, st.booleans(), st.data())
def test_perturbed_patches_of_repetitive_files_agree(both, ab, shape, eof, data):
    a, b = ab
    if a == b:
        return
    kinds = data.draw(st.lists(st.sampled_from(sorted(PERTURB)), max_size=3))
    which = data.draw(st.sampled_from([" ", "-", " -"]))

    def perturb(prefix: str, line: str) -> str:
        for kind in kinds if prefix in which else []:
            line = PERTURB[kind](line)
        return line

    run_both(both, {"f.txt": build(a, *shape)}, patch_from_diff(a, b, perturb, eof))


PATCH_LINES = st.sampled_from(
    [
        "*** Begin Patch",
        "*** End Patch",
        "*** Update File: f.txt",
        "*** Update File: g.txt",
        "*** Add File: g.txt",
        "*** Add File: sub/h.txt",
        "*** Delete File: f.txt",
        "*** Move to: m.txt",
        "*** End of File",
        "  *** Update File: f.txt",
        "*** Bogus File: x",
        "@@",
        "@@ one",
        "@@two",
        "@@   ",
        " one",
        " two",
        "-one",
        "-two",
        "-two  ",
        "+three",
        "+",
        "",
        "   ",
        "\t",
        "stray",
        "<<'EOF'",
        "EOF",
        "+\u201cq\u201d",
        "*** Add File: ../up.txt",
        "*** Delete File: /nonexistent-ironcode-dir/x",
    ]
)


@SETTINGS
@given(st.lists(PATCH_LINES, max_size=14), st.booleans(), st.sampled_from(["\n", "\r\n"]))
def test_random_patch_text_gives_the_same_answer(both, lines, wrap, newline):
    if wrap:
        lines = ["*** Begin Patch", *lines, "*** End Patch"]
    files = {"f.txt": b"one\ntwo\n\xe2\x80\x9cq\xe2\x80\x9d\n", "g.txt": b"two\r\none\r\n"}
    run_both(both, files, newline.join(lines))


@SETTINGS
@given(st.binary(max_size=60), st.sampled_from([b"", b"*** Begin Patch\n*** Add File: n\n+"]))
def test_arbitrary_bytes_give_the_same_answer(both, tail, head):
    run_both(both, {"f.txt": b"x\n"}, head + tail + b"\n*** End Patch\n")
