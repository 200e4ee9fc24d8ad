"""write: atomic, byte-exact, permission-keeping — on both backends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from .helpers import ROOT, run_without_root_powers


def test_creates_parents_and_reports_created(impl, tmp_path):
    path = tmp_path / "a" / "b" / "c.txt"
    result = impl.write(str(path), "hello\n")
    assert result == {"path": str(path), "bytes": 6, "created": True}
    assert path.read_text() == "hello\n"
    assert impl.write(str(path), "again")["created"] is False


def test_nul_bytes_are_written_byte_for_byte(impl, tmp_path):
    path = tmp_path / "nul.bin"
    data = "a\0b\0\0c"
    assert impl.write(str(path), data)["bytes"] == 6
    assert path.read_bytes() == b"a\0b\0\0c"


def test_bytes_content_is_written_as_is(impl, tmp_path):
    path = tmp_path / "raw.bin"
    data = bytes(range(256)) * 4
    impl.write(str(path), data)
    assert path.read_bytes() == data


def test_unicode_crlf_and_bom_survive(impl, tmp_path):
    path = tmp_path / "u.txt"
    text = "\ufeffpremière ligne\r\n日本\r\n🎉"
    impl.write(str(path), text)
    assert path.read_bytes() == text.encode("utf-8")


def test_empty_content_makes_an_empty_file(impl, tmp_path):
    path = tmp_path / "empty.txt"
    impl.write(str(path), "")
    assert path.read_bytes() == b""


def test_permission_bits_are_kept(impl, tmp_path):
    path = tmp_path / "script.sh"
    path.write_text("#!/bin/sh\n")
    os.chmod(path, 0o750)
    impl.write(str(path), "#!/bin/sh\necho hi\n")
    assert os.stat(path).st_mode & 0o777 == 0o750


def test_writing_through_a_symlink_keeps_the_link(impl, tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    impl.write(str(link), "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_no_temporary_files_are_left_behind(impl, tmp_path):
    for i in range(5):
        impl.write(str(tmp_path / "f.txt"), f"v{i}")
    assert sorted(os.listdir(tmp_path)) == ["f.txt"]


def test_directory_target_is_is_directory(impl, tmp_path, expect_error):
    expect_error("is_directory", impl.write, str(tmp_path), "x")


def test_parent_that_is_a_file_is_not_a_directory(impl, tmp_path, expect_error):
    (tmp_path / "file").write_text("x")
    expect_error("not_a_directory", impl.write, str(tmp_path / "file" / "child.txt"), "x")


def test_nul_in_path_is_invalid_argument(impl, expect_error):
    expect_error("invalid_argument", impl.write, "bad\0name", "x")


def test_lone_surrogate_content_is_invalid_argument(impl, tmp_path, expect_error):
    expect_error("invalid_argument", impl.write, str(tmp_path / "s.txt"), "bad \udcff")


def test_read_only_folder_fails_cleanly_and_keeps_the_original(impl, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    target = folder / "keep.txt"
    target.write_text("original")
    os.chmod(folder, 0o555)
    try:
        out = run_without_root_powers(
            "import ironcode\n"
            "from ironcode import backend\n"
            "try:\n"
            f"    backend.implementation('write', {impl.name!r})({str(target)!r}, 'new')\n"
            "except ironcode.IronCodeError as e:\n"
            "    print(e.kind)\n"
        )
    finally:
        os.chmod(folder, 0o755)
    assert out.strip() == "permission_denied"
    assert target.read_text() == "original"
    assert os.listdir(folder) == ["keep.txt"]


@pytest.mark.parametrize("attempt", range(3))
def test_sigkill_during_a_large_write_leaves_old_or_new(impl, tmp_path, attempt):
    """A writer killed mid-write leaves the old file or the new one, never a mix."""
    target = tmp_path / "big.txt"
    old = b"O" * (8 << 20)
    new = "N" * (64 << 20)
    target.write_bytes(old)
    code = (
        "import sys\n"
        "from ironcode import backend\n"
        f"write = backend.implementation('write', {impl.name!r})\n"
        "sys.stdout.write('ready\\n'); sys.stdout.flush()\n"
        f"while True: write({str(target)!r}, 'N' * {len(new)})\n"
    )
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout.readline() == b"ready\n"
        time.sleep(0.05 + 0.1 * attempt)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    data = target.read_bytes()
    assert data in (old, new.encode()), f"mixed content of {len(data)} bytes"
