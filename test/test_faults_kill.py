"""SIGKILL in the middle of edit_file and extract, and the leftovers a killed process leaves.

A killed process runs no cleanup: its temporary file (write, edit_file) or staging folder
(extract) stays. The contract: the target holds the old content or the new, never a mix; a fresh
extraction destination holds nothing or everything; and the next write of the same file, or
extraction into the same folder, removes what killed processes left (entries whose process is
gone), while leaving alone those of live processes. Both backends, through the ``impl`` fixture.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import time

import pytest

from .helpers import ROOT

#: Where each kill lands after the child says it started: spread over the run.
KILL_DELAYS_S = [0.02, 0.08, 0.4]


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def start_child(code: str) -> subprocess.Popen:
    """Starts ``code`` in a fresh interpreter; returns once it printed ``ready``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=ROOT)
    )
    assert proc.stdout.readline() == b"ready\n"
    return proc


def kill_after(proc: subprocess.Popen, delay: float) -> None:
    time.sleep(delay)
    proc.kill()
    proc.wait(timeout=60)
    proc.stdout.close()


def leftovers(folder, marker: str) -> list[str]:
    return sorted(name for name in os.listdir(folder) if marker in name)


# ---- edit_file ------------------------------------------------------------------------------------

#: 8 MB of lines before the marker line that each edit renames.
EDIT_BODY = ("x" * 99 + "\n") * 80_000


@pytest.mark.parametrize("delay", KILL_DELAYS_S)
def test_sigkill_during_edit_file_leaves_old_or_new_and_the_next_edit_cleans_up(impl, tmp_path, delay):
    target = tmp_path / "big.txt"
    target.write_text(EDIT_BODY + "MARK 0\n")
    proc = start_child(
        "import sys\n"
        "from ironcode import backend\n"
        f"edit = backend.implementation('edit_file', {impl.name!r})\n"
        "sys.stdout.write('ready\\n'); sys.stdout.flush()\n"
        "i = 0\n"
        "while True:\n"
        f"    edit({str(target)!r}, f'MARK {{i}}\\n', f'MARK {{i + 1}}\\n')\n"
        "    i += 1\n"
    )
    kill_after(proc, delay)
    content = target.read_text()
    assert content.startswith(EDIT_BODY), "the body was damaged"
    assert re.fullmatch(r"MARK \d+\n", content[len(EDIT_BODY) :]), (
        f"mixed tail {content[len(EDIT_BODY) :][:80]!r}"
    )
    # A kill mid-write leaves the child's temporary file; only the child's.
    for name in leftovers(tmp_path, ".ironcode-"):
        assert name.startswith(f".big.txt.ironcode-{proc.pid}-"), name
    mark = content[len(EDIT_BODY) :]
    impl.edit_file(str(target), mark, "MARK done\n")
    assert os.listdir(tmp_path) == ["big.txt"]
    assert target.read_text() == EDIT_BODY + "MARK done\n"
    target.unlink()


@pytest.mark.parametrize("op", ["write", "edit_file"])
def test_the_next_change_removes_temporary_files_of_dead_writers_only(impl, tmp_path, op):
    target = tmp_path / "a.txt"
    target.write_text("old\n")
    dead, alive = dead_pid(), os.getpid()
    removed = [
        f".a.txt.ironcode-{dead}-0-1f.tmp",
        f".b.txt.ironcode-{dead}-0-1f.tmp",  # another file's, in the same folder
    ]
    kept = [
        f".a.txt.ironcode-{alive}-7-ab.tmp",  # a live writer's (this process)
        f".a.txt.ironcode-{dead}-notes.tmp",  # not the shape the writers use
        f".a.txt.ironcode-{dead}-1-2.tmp.keep",
    ]
    for name in [*removed, *kept]:
        (tmp_path / name).write_text("partial")
    link = f".a.txt.ironcode-{dead}-3-4.tmp"
    os.symlink("a.txt", tmp_path / link)  # never removed: not a regular file
    if op == "write":
        impl.write(str(target), "new\n")
    else:
        impl.edit_file(str(target), "old", "new")
    assert target.read_text() == "new\n"
    assert sorted(os.listdir(tmp_path)) == sorted(["a.txt", link, *kept])


# ---- extract --------------------------------------------------------------------------------------

#: Files in the archive, and their size: enough that extraction takes a while.
ARCHIVE_FILES = 600
FILE_BYTES = 32 << 10


@pytest.fixture(scope="module")
def big_archive(tmp_path_factory):
    folder = tmp_path_factory.mktemp("archive")
    path = folder / "big.tar"
    source = folder / "payload"
    source.mkdir()
    for i in range(ARCHIVE_FILES):
        (source / f"f{i:04d}.txt").write_bytes(bytes([65 + i % 26]) * FILE_BYTES)
    with tarfile.open(path, "w") as tf:
        tf.add(source, arcname="payload")
    yield path
    shutil.rmtree(folder)  # 40 MB that pytest would otherwise keep for three sessions


def assert_complete(dest) -> None:
    names = sorted(os.listdir(dest / "payload"))
    assert len(names) == ARCHIVE_FILES
    for i, name in enumerate(names):
        assert (dest / "payload" / name).read_bytes() == bytes([65 + i % 26]) * FILE_BYTES, name


@pytest.mark.parametrize("delay", KILL_DELAYS_S)
def test_sigkill_during_extract_leaves_nothing_or_everything_and_the_next_extract_cleans_up(
    impl, tmp_path, big_archive, delay
):
    dest = tmp_path / "dest"
    proc = start_child(
        "import sys\n"
        "from ironcode import backend\n"
        f"extract = backend.implementation('extract', {impl.name!r})\n"
        "sys.stdout.write('ready\\n'); sys.stdout.flush()\n"
        f"extract({str(big_archive)!r}, {str(dest)!r})\n"
        "sys.stdout.write('done\\n'); sys.stdout.flush()\n"
    )
    kill_after(proc, delay)
    if dest.exists():  # the staged tree is renamed into place in one step
        assert_complete(dest)
    for name in leftovers(tmp_path, ".ironcode-extract-"):
        assert name.startswith(f".dest.ironcode-extract-{proc.pid}-"), name
    assert impl.extract(str(big_archive), str(dest))["files"] == ARCHIVE_FILES
    assert os.listdir(tmp_path) == ["dest"]  # the killed extraction's staging folder is gone
    assert_complete(dest)
    shutil.rmtree(dest)


def test_extract_removes_staging_folders_of_dead_extractions_into_the_same_dest_only(
    impl, tmp_path, big_archive
):
    dead, alive = dead_pid(), os.getpid()
    removed = [
        f".dest.ironcode-extract-{dead}-0",
        f".other.ironcode-extract-{dead}-0",  # staging for another destination beside it
    ]
    kept = [
        f".dest.ironcode-extract-{alive}-5",  # a live extraction's (this process)
        f".dest.ironcode-extract-{dead}-old",  # not the shape extract uses
    ]
    for name in [*removed, *kept]:
        (tmp_path / name / "payload").mkdir(parents=True)
        (tmp_path / name / "payload" / "half.txt").write_text("partial")
    shaped_file = f".dest.ironcode-extract-{dead}-9"
    (tmp_path / shaped_file).write_text("a file, not a staging folder")
    impl.extract(str(big_archive), str(tmp_path / "dest"))
    assert sorted(os.listdir(tmp_path)) == sorted(["dest", shaped_file, *kept])
    assert_complete(tmp_path / "dest")
    shutil.rmtree(tmp_path / "dest")


def test_a_folder_is_searched_for_leftovers_once_a_minute_not_on_every_change(impl, tmp_path):
    """Listing a folder of 50,000 files costs 20x the write; a process looks again only after
    LEFTOVER_SCAN_INTERVAL."""
    target = tmp_path / "a.txt"
    impl.write(str(target), "one\n")  # the first change here: the folder is searched
    late = tmp_path / f".a.txt.ironcode-{dead_pid()}-0-1f.tmp"
    late.write_text("left after the search")
    impl.write(str(target), "two\n")
    assert late.exists()
    assert target.read_text() == "two\n"
