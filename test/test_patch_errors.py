"""apply_patch's errors on both backends: the grammar (invalid_patch), chunks that do not match
(patch_failed with the closest region), targets it must refuse, bad input (NUL, invalid UTF-8,
10 MB, pathological repetition, ``..``), all-or-nothing on a failure in the third of three files
and on a write that fails part-way; and the ``ironcode patch`` command."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from .helpers import ROOT, run_without_root_powers
from .test_faults_kill import kill_after, start_child


def patch(*body: str) -> str:
    return "*** Begin Patch\n" + "\n".join(body) + "\n*** End Patch\n"


def put(path, data: str | bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return str(path)


def snapshot(root) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---- grammar -------------------------------------------------------------------------------

GRAMMAR_ERRORS = {
    "empty": ("", "empty"),
    "whitespace only": (" \n\t\n\u3000\n", "empty"),
    "missing first marker": ("*** Update File: f.txt\n-a\n+b\n*** End Patch", "line 1"),
    "missing last marker": ("*** Begin Patch\n*** Delete File: f.txt\n", "line 2"),
    "only the first marker": ("*** Begin Patch\n", "line 1"),
    "no file section": ("*** Begin Patch\n\n*** End Patch", "no file section"),
    "unknown header": ("*** Begin Patch\n*** Rename File: f.txt\n*** End Patch", "line 2"),
    "update without chunk": ("*** Begin Patch\n*** Update File: f.txt\n*** End Patch", "no chunk"),
    "move without chunk": (
        "*** Begin Patch\n*** Update File: f.txt\n*** Move to: g.txt\n*** End Patch",
        "a move needs at least one chunk",
    ),
    "later chunk without @@": (
        "*** Begin Patch\n*** Update File: f.txt\n-a\n+b\n*** End of File\n-c\n+d\n*** End Patch",
        "line 6",
    ),
    "bad line in a chunk": (
        "*** Begin Patch\n*** Update File: f.txt\n@@\n-a\nb\n*** End Patch",
        "line 5: 'b'",
    ),
    "stray line between sections": ("*** Begin Patch\n*** Add File: g\n+x\nstray\n*** End Patch", "line 4"),
    "stray line before sections": ("*** Begin Patch\nhello\n*** Add File: g\n+x\n*** End Patch", "line 2"),
    "empty chunk": ("*** Begin Patch\n*** Update File: f.txt\n@@\n@@\n-a\n*** End Patch", "no lines"),
    "@@ glued to its text": ("*** Begin Patch\n*** Update File: f.txt\n@@a\n-a\n*** End Patch", "line 3"),
    "header without path": ("*** Begin Patch\n*** Delete File:   \n*** End Patch", "names no path"),
    "misplaced move": ("*** Begin Patch\n*** Add File: g\n+x\n*** Move to: h\n*** End Patch", "line 4"),
    "end marker twice": (
        "*** Begin Patch\n*** Add File: g\n*** End Patch\n*** Add File: h\n*** End Patch",
        "line 3",
    ),
    "heredoc without its end": ("<<'EOF'\n*** Begin Patch\n*** Add File: g\n+x\n*** End Patch\n", "heredoc"),
}


@pytest.mark.parametrize("name", sorted(GRAMMAR_ERRORS))
def test_grammar_errors_are_invalid_patch_naming_the_line(impl, tmp_path, expect_error, name):
    put(tmp_path / "f.txt", "a\n")
    before = snapshot(tmp_path)
    text, needle = GRAMMAR_ERRORS[name]
    error = expect_error("invalid_patch", impl.apply_patch, text, str(tmp_path))
    assert needle in error.message, error.message
    assert snapshot(tmp_path) == before


def test_invalid_utf8_patch_is_invalid_patch(impl, tmp_path, expect_error):
    error = expect_error(
        "invalid_patch", impl.apply_patch, b"*** Begin Patch\n*** Add File: a\n+\xff\n", str(tmp_path)
    )
    assert "line 3" in error.message
    expect_error("invalid_patch", impl.apply_patch, patch("*** Add File: a", "+\udcff"), str(tmp_path))
    assert not (tmp_path / "a").exists()


def test_a_patch_that_is_not_text_is_invalid_argument(impl, tmp_path, expect_error):
    expect_error("invalid_argument", impl.apply_patch, 42, str(tmp_path))
    expect_error("invalid_argument", impl.apply_patch, patch("*** Add File: a", "+x"), "bad\0cwd")


def test_cwd_must_be_an_existing_folder(impl, tmp_path, expect_error):
    put(tmp_path / "file", "x")
    expect_error("not_found", impl.apply_patch, patch("*** Add File: a", "+x"), str(tmp_path / "nope"))
    expect_error("not_a_directory", impl.apply_patch, patch("*** Add File: a", "+x"), str(tmp_path / "file"))
    assert not (tmp_path / "nope").exists()


# ---- chunks that do not match ----------------------------------------------------------------


def test_a_chunk_that_does_not_match_names_file_line_and_closest_region(impl, tmp_path, expect_error):
    body = "".join(f"line {i}\n" for i in range(1, 30)).replace("line 12\n", "    total = compute(a, b)\n")
    put(tmp_path / "calc.py", body)
    error = expect_error(
        "patch_failed",
        impl.apply_patch,
        patch("*** Update File: calc.py", "@@", " line 11", "-    total = compute(a, c)", "+    total = 0"),
        str(tmp_path),
    )
    message = error.message
    assert "calc.py" in message and "chunk 1" in message
    assert "'line 11'" in message  # the chunk's first old line
    assert "lines 11-12" in message and "12:     total = compute(a, b)" in message


def test_a_context_line_that_is_not_found_is_patch_failed(impl, tmp_path, expect_error):
    put(tmp_path / "f.py", "def alpha():\n    pass\n")
    error = expect_error(
        "patch_failed",
        impl.apply_patch,
        patch("*** Update File: f.py", "@@ def alpah():", "-    pass", "+    return"),
        str(tmp_path),
    )
    assert "'@@ def alpah():'" in error.message and "line 1" in error.message


def test_chunks_out_of_file_order_say_so(impl, tmp_path, expect_error):
    put(tmp_path / "f.txt", "one\ntwo\nthree\nfour\n")
    error = expect_error(
        "patch_failed",
        impl.apply_patch,
        patch("*** Update File: f.txt", "@@", "-three", "+3", "@@", "-one", "+1"),
        str(tmp_path),
    )
    assert "chunk 2" in error.message and "file's order" in error.message


def test_a_failure_in_the_third_of_three_files_leaves_all_three_untouched(impl, tmp_path, expect_error):
    put(tmp_path / "a.txt", "a\n")
    put(tmp_path / "b.txt", "b\n")
    put(tmp_path / "c.txt", "c\n")
    before = snapshot(tmp_path)
    expect_error(
        "patch_failed",
        impl.apply_patch,
        patch(
            "*** Update File: a.txt",
            "-a",
            "+A",
            "*** Delete File: b.txt",
            "*** Add File: new/d.txt",
            "+d",
            "*** Update File: c.txt",
            "-not there",
            "+C",
        ),
        str(tmp_path),
    )
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "new").exists()


def test_pathological_search_stops_with_search_too_large(impl, tmp_path, expect_error):
    # The chunk's first line is everywhere, its sequence nowhere: bounded by the search budget.
    put(tmp_path / "f.txt", ("x\n" * 399 + "z\n") * 1000)
    chunk = ["-x"] * 400 + ["-z", "+y"]
    expect_error("search_too_large", impl.apply_patch, patch("*** Update File: f.txt", *chunk), str(tmp_path))


# ---- targets ---------------------------------------------------------------------------------


def test_missing_targets_and_folders(impl, tmp_path, expect_error):
    (tmp_path / "dir").mkdir()
    cwd = str(tmp_path)
    expect_error("not_found", impl.apply_patch, patch("*** Update File: nope.txt", "-a", "+b"), cwd)
    expect_error("not_found", impl.apply_patch, patch("*** Delete File: nope.txt"), cwd)
    expect_error("is_directory", impl.apply_patch, patch("*** Delete File: dir"), cwd)
    expect_error("is_directory", impl.apply_patch, patch("*** Update File: dir", "-a", "+b"), cwd)
    expect_error("is_directory", impl.apply_patch, patch("*** Add File: dir", "+x"), cwd)
    expect_error(
        "not_found",
        impl.apply_patch,
        patch("*** Add File: x", "+1", "*** Delete File: x", "*** Delete File: x"),
        cwd,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir"]


def test_a_file_where_a_folder_is_needed(impl, tmp_path, expect_error):
    put(tmp_path / "f", "x\n")
    cwd = str(tmp_path)
    expect_error("not_a_directory", impl.apply_patch, patch("*** Add File: f/g.txt", "+y"), cwd)
    expect_error(
        "not_a_directory", impl.apply_patch, patch("*** Add File: n", "+1", "*** Add File: n/m", "+2"), cwd
    )
    expect_error(
        "is_directory", impl.apply_patch, patch("*** Add File: p/q", "+1", "*** Add File: p", "+2"), cwd
    )
    assert snapshot(tmp_path) == {"f": b"x\n"}


def test_binary_and_non_utf8_files_are_never_rewritten_but_may_be_deleted_or_replaced(
    impl, tmp_path, expect_error
):
    put(tmp_path / "nul.txt", b"text\0more\n")
    put(tmp_path / "ctl.txt", bytes(range(1, 9)) * 20 + b"\n")
    put(tmp_path / "latin.txt", b"caf\xe9\n")
    put(tmp_path / "image.png", b"plain text named like an image\n")
    cwd = str(tmp_path)
    expect_error("binary_file", impl.apply_patch, patch("*** Update File: nul.txt", "-text", "+x"), cwd)
    expect_error("binary_file", impl.apply_patch, patch("*** Update File: ctl.txt", "+x"), cwd)
    expect_error("encoding", impl.apply_patch, patch("*** Update File: latin.txt", "+x"), cwd)
    impl.apply_patch(
        patch("*** Update File: image.png", "-plain text named like an image", "+still text"), cwd
    )
    assert (tmp_path / "image.png").read_text() == "still text\n"  # the extension does not count
    result = impl.apply_patch(patch("*** Delete File: nul.txt", "*** Add File: latin.txt", "+café"), cwd)
    assert not (tmp_path / "nul.txt").exists()
    assert (tmp_path / "latin.txt").read_text() == "café\n"
    assert result["files"][1]["deletions"] == 1


def test_relative_paths_may_not_leave_cwd(impl, tmp_path, expect_error):
    work = tmp_path / "work"
    put(work / "a" / "f.txt", "x\n")
    for path in ("../out.txt", "a/../../out.txt", "../work/../../x"):
        expect_error("unsafe_path", impl.apply_patch, patch(f"*** Add File: {path}", "+no"), str(work))
    expect_error(
        "unsafe_path",
        impl.apply_patch,
        patch("*** Update File: a/f.txt", "*** Move to: ../moved.txt", "-x", "+y"),
        str(work),
    )
    assert snapshot(tmp_path) == {"work/a/f.txt": b"x\n"}


# ---- size ------------------------------------------------------------------------------------


def test_a_ten_megabyte_patch_applies(impl, tmp_path):
    line = "x" * 99
    lines = [f"+{line}"] * 100_000
    text = patch("*** Add File: big.txt", *lines)
    assert len(text) > 10_000_000
    result = impl.apply_patch(text, str(tmp_path), dry_run=True)
    assert result["files"][0]["additions"] == 100_000
    impl.apply_patch(text, str(tmp_path))
    assert (tmp_path / "big.txt").stat().st_size == 10_000_000


# ---- a write that fails part-way -------------------------------------------------------------

PART_WAY = r"""
import json, os, sys
sys.path.insert(0, {root!r})
from ironcode import IronCodeError, backend
import ironcode
root = {tmp!r}
os.makedirs(root + "/ro", exist_ok=True)
for name, text in (("a.txt", "a\n"), ("ro/b.txt", "b\n"), ("c.txt", "c\n")):
    with open(os.path.join(root, name), "w") as f:
        f.write(text)
os.chmod(root + "/ro", 0o555)  # b.txt can be read, but no temporary file can go beside it
patch = ("*** Begin Patch\n*** Update File: a.txt\n-a\n+A\n*** Delete File: c.txt\n"
         "*** Update File: ro/b.txt\n-b\n+B\n*** Add File: new/n.txt\n+n\n*** End Patch\n")
first = "*** Begin Patch\n*** Update File: ro/b.txt\n-b\n+B\n*** End Patch\n"
out = {{}}
for name in ("native", "python"):
    with backend.use(name):
        answers = []
        for text in (patch, first):
            try:
                ironcode.apply_patch(text, root)
                answers.append(None)
            except IronCodeError as e:
                answers.append([e.kind, e.message])
    files = {{}}
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = os.path.join(dirpath, n)
            files[os.path.relpath(p, root)] = open(p).read()
    out[name] = {{"answers": answers, "files": files, "new": os.path.exists(root + "/new")}}
os.chmod(root + "/ro", 0o755)
print(json.dumps(out))
"""


def test_a_write_that_fails_part_way_restores_what_was_written(tmp_path):
    out = json.loads(run_without_root_powers(PART_WAY.format(root=ROOT, tmp=str(tmp_path))))
    for name in ("native", "python"):
        (kind, message), (first_kind, first_message) = out[name]["answers"]
        assert kind == "io", (name, message)
        assert "restored" in message and "not applied" in message, message
        assert out[name]["files"] == {"a.txt": "a\n", "ro/b.txt": "b\n", "c.txt": "c\n"}, name
        assert not out[name]["new"]
        # Failing on the first write: nothing to restore, the write's own kind.
        assert first_kind == "permission_denied" and "Nothing was changed" in first_message


# ---- SIGKILL --------------------------------------------------------------------------------

KILL_BODY = ("y" * 99 + "\n") * 40_000  # 4 MB before the line each patch renames


@pytest.mark.parametrize("delay", [0.05, 0.3])
def test_sigkill_during_a_patch_leaves_each_file_old_or_new(impl, tmp_path, delay):
    for name in ("a.txt", "b.txt"):
        put(tmp_path / name, KILL_BODY + "MARK 0\n")
    proc = start_child(
        "import sys\n"
        "from ironcode import backend\n"
        f"apply = backend.implementation('apply_patch', {impl.name!r})\n"
        "sys.stdout.write('ready\\n'); sys.stdout.flush()\n"
        "i = 0\n"
        "while True:\n"
        "    sections = ''.join(f'*** Update File: {n}\\n@@\\n-MARK {i}\\n+MARK {i + 1}\\n' for n in ('a.txt', 'b.txt'))\n"
        f"    apply('*** Begin Patch\\n' + sections + '*** End Patch\\n', {str(tmp_path)!r})\n"
        "    i += 1\n"
    )
    kill_after(proc, delay)
    for name in ("a.txt", "b.txt"):
        content = (tmp_path / name).read_text()
        assert content.startswith(KILL_BODY), f"{name}: the body was damaged"
        assert re.fullmatch(r"MARK \d+\n", content[len(KILL_BODY) :]), f"{name}: mixed tail"
    # The next patch there removes what the killed one left.
    marks = {n: (tmp_path / n).read_text()[len(KILL_BODY) :].strip() for n in ("a.txt", "b.txt")}
    impl.apply_patch(patch(*(f"*** Update File: {n}\n-{m}\n+done" for n, m in marks.items())), str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.txt"]


# ---- the command line ------------------------------------------------------------------------


def cli(*args: str, stdin: bytes = b"", cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ironcode.cli", *args], input=stdin, capture_output=True, cwd=cwd, timeout=120
    )


@pytest.mark.parametrize("backend", ["native", "python"])
def test_cli_prints_codex_summary_then_the_diffs(tmp_path, backend):
    put(tmp_path / "m.txt", "old\n")
    put(tmp_path / "d.txt", "bye\n")
    text = patch(
        "*** Add File: a.txt", "+new", "*** Update File: m.txt", "-old", "+fresh", "*** Delete File: d.txt"
    )
    proc = cli("--backend", backend, "patch", stdin=text.encode(), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert out.startswith(
        "Success. Updated the following files:\nA a.txt\nM m.txt\nD d.txt\n\n--- /dev/null\n"
    )
    assert "-old\n+fresh\n" in out
    assert (tmp_path / "m.txt").read_text() == "fresh\n"


def test_cli_reads_a_file_and_prints_json_or_a_dry_run(tmp_path):
    put(tmp_path / "m.txt", "old\n")
    put(tmp_path / "fix.patch", patch("*** Update File: m.txt", "*** Move to: n.txt", "-old", "+new"))
    dry = cli("patch", "fix.patch", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0 and dry.stdout.decode().startswith("Dry run, nothing was written.")
    assert "\nM n.txt\n" in dry.stdout.decode()
    assert (tmp_path / "m.txt").exists()
    done = cli("--json", "patch", "fix.patch", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["files"][0]["move_path"] == "n.txt"
    assert (tmp_path / "n.txt").read_text() == "new\n"


def test_cli_errors_are_one_line_and_exit_1(tmp_path):
    put(tmp_path / "m.txt", "a\nb\nc\n")
    for args, stdin, kind in (
        (("patch",), patch("*** Update File: m.txt", "-a", "-x", "+y").encode(), "patch_failed"),
        (("patch",), b"not a patch", "invalid_patch"),
        (("patch", "missing.patch"), b"", "not_found"),
        (("patch",), b"*** Begin Patch\n*** Add File: a\n+\xff\n*** End Patch", "invalid_patch"),
    ):
        proc = cli(*args, stdin=stdin, cwd=tmp_path)
        err = proc.stderr.decode()
        assert proc.returncode == 1, err
        assert err.startswith(f"ironcode: {kind}: ") and err.count("\n") == 1, err
    assert (tmp_path / "m.txt").read_text() == "a\nb\nc\n"
