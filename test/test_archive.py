"""extract: zip and tar(.gz), and every way an archive tries to write outside dest — both backends."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile

import pytest


def make_zip(path, entries) -> str:
    """entries: (name, data) for files, (name, None) for folders, (name, "->target") for symlinks."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, *mode in entries:
            if data is None:
                zf.writestr(zipfile.ZipInfo(name.rstrip("/") + "/"), b"")
            elif isinstance(data, str) and data.startswith("->"):
                info = zipfile.ZipInfo(name)
                info.create_system = 3
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(info, data[2:])
            else:
                info = zipfile.ZipInfo(name)
                info.create_system = 3
                info.external_attr = (stat.S_IFREG | (mode[0] if mode else 0o644)) << 16
                zf.writestr(info, data)
    return str(path)


def make_tar(path, entries, gz: bool = False) -> str:
    """entries: (name, data) files, (name, None) folders, (name, "->t") symlinks, (name, "=>t") hard links."""
    with tarfile.open(path, "w:gz" if gz else "w") as tf:
        for name, data, *mode in entries:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tf.addfile(info)
            elif isinstance(data, str) and data[:2] in ("->", "=>"):
                info.type = tarfile.SYMTYPE if data.startswith("->") else tarfile.LNKTYPE
                info.linkname = data[2:]
                tf.addfile(info)
            else:
                payload = data if isinstance(data, bytes) else data.encode()
                info.size = len(payload)
                info.mode = mode[0] if mode else 0o644
                tf.addfile(info, io.BytesIO(payload))
    return str(path)


MAKERS = {
    "zip": lambda p, e: make_zip(p / "a.zip", e),
    "tar": lambda p, e: make_tar(p / "a.tar", e),
    "tar.gz": lambda p, e: make_tar(p / "a.tar.gz", e, gz=True),
}


@pytest.fixture(params=list(MAKERS))
def make_archive(request, tmp_path):
    (tmp_path / "in").mkdir()
    return lambda entries: MAKERS[request.param](tmp_path / "in", entries)


def listing(root) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            out.append(rel + ("/" if os.path.isdir(full) and not os.path.islink(full) else ""))
    return sorted(out)


def test_extracts_files_folders_and_modes(impl, tmp_path, make_archive):
    archive = make_archive(
        [("pkg/", None), ("pkg/a.py", "print(1)\n"), ("pkg/run.sh", "#!/bin/sh\n", 0o755), ("top.txt", "t")]
    )
    dest = tmp_path / "out"
    result = impl.extract(archive, str(dest))
    assert result == {"files": 3, "dest": str(dest)}
    assert (dest / "pkg" / "a.py").read_text() == "print(1)\n"
    assert os.stat(dest / "pkg" / "run.sh").st_mode & 0o777 == 0o755
    assert listing(dest) == ["pkg/", "pkg/a.py", "pkg/run.sh", "top.txt"]


def test_symlink_inside_dest_is_kept(impl, tmp_path, make_archive):
    archive = make_archive([("a/real.txt", "r"), ("a/link.txt", "->real.txt"), ("up", "->a")])
    dest = tmp_path / "out"
    assert impl.extract(archive, str(dest))["files"] == 3
    assert os.readlink(dest / "a" / "link.txt") == "real.txt"
    assert (dest / "up" / "real.txt").read_text() == "r"


def test_extracting_into_an_existing_folder_replaces_files_and_keeps_others(impl, tmp_path, make_archive):
    dest = tmp_path / "out"
    (dest / "pkg").mkdir(parents=True)
    (dest / "pkg" / "a.py").write_text("old")
    (dest / "mine.txt").write_text("keep")
    archive = make_archive([("pkg/a.py", "new"), ("pkg/b.py", "b")])
    impl.extract(archive, str(dest))
    assert (dest / "pkg" / "a.py").read_text() == "new"
    assert (dest / "mine.txt").read_text() == "keep"
    assert listing(dest) == ["mine.txt", "pkg/", "pkg/a.py", "pkg/b.py"]
    assert not [n for n in os.listdir(tmp_path) if "ironcode" in n]  # no staging left


UNSAFE = {
    "dotdot": [("ok.txt", "fine"), ("../evil.txt", "evil")],
    "nested dotdot": [("a/../../evil.txt", "evil")],
    "absolute": [("ok.txt", "fine"), ("/tmp/ironcode-evil-abs.txt", "evil")],
    "symlink out": [("ok.txt", "fine"), ("link", "->../outside")],
    "absolute symlink": [("link", "->/etc")],
    "symlink chain out": [("b", "->."), ("a", "->b/x/../..")],
    "write through symlink": [("sub/", None), ("l", "->sub"), ("l/evil.txt", "evil")],
}


@pytest.mark.parametrize("case", list(UNSAFE))
def test_unsafe_entries_raise_unsafe_path_and_write_nothing(impl, tmp_path, make_archive, case, expect_error):
    archive = make_archive(UNSAFE[case])
    dest = tmp_path / "work" / "out"
    before = listing(tmp_path)
    expect_error("unsafe_path", impl.extract, archive, str(dest))
    assert not dest.exists()
    after = [p for p in listing(tmp_path) if p != "work/"]
    assert after == before
    assert not os.path.exists("/tmp/ironcode-evil-abs.txt")


def test_unsafe_archive_leaves_an_existing_dest_untouched(impl, tmp_path, make_archive, expect_error):
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "ok.txt").write_text("original")
    archive = make_archive([("ok.txt", "replaced"), ("../evil.txt", "evil")])
    expect_error("unsafe_path", impl.extract, archive, str(dest))
    assert listing(dest) == ["ok.txt"] and (dest / "ok.txt").read_text() == "original"


def test_existing_symlink_in_dest_is_not_written_through(impl, tmp_path, make_archive, expect_error):
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "out"
    dest.mkdir()
    os.symlink(outside, dest / "lib")
    archive = make_archive([("lib/", None), ("lib/evil.txt", "evil")])
    expect_error("unsafe_path", impl.extract, archive, str(dest))
    assert os.listdir(outside) == []


@pytest.mark.parametrize("gz", [False, True])
def test_tar_hard_link_outside_is_unsafe(impl, tmp_path, gz, expect_error):
    archive = make_tar(tmp_path / "h.tar", [("h", "=>../../etc/passwd")], gz=gz)
    expect_error("unsafe_path", impl.extract, archive, str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_tar_hard_link_inside_is_a_copy(impl, tmp_path):
    archive = make_tar(tmp_path / "h.tar", [("a.txt", "data"), ("b.txt", "=>a.txt")])
    assert impl.extract(archive, str(tmp_path / "out"))["files"] == 2
    assert (tmp_path / "out" / "b.txt").read_text() == "data"


def test_not_an_archive_is_invalid_argument(impl, tmp_path, expect_error):
    (tmp_path / "x.zip").write_text("just text")
    expect_error("invalid_argument", impl.extract, str(tmp_path / "x.zip"), str(tmp_path / "out"))


def test_truncated_archive_is_io_and_writes_nothing(impl, tmp_path, expect_error):
    good = make_zip(tmp_path / "g.zip", [(f"f{i}.txt", "x" * 1000) for i in range(20)])
    data = open(good, "rb").read()
    (tmp_path / "bad.zip").write_bytes(data[: len(data) // 2])
    expect_error("io", impl.extract, str(tmp_path / "bad.zip"), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_missing_archive_is_not_found(impl, tmp_path, expect_error):
    expect_error("not_found", impl.extract, str(tmp_path / "nope.zip"), str(tmp_path / "out"))


def test_dest_that_is_a_file_is_not_a_directory(impl, tmp_path, expect_error):
    archive = make_zip(tmp_path / "a.zip", [("a.txt", "a")])
    (tmp_path / "file").write_text("x")
    expect_error("not_a_directory", impl.extract, archive, str(tmp_path / "file"))


def test_empty_zip_extracts_nothing(impl, tmp_path):
    archive = make_zip(tmp_path / "e.zip", [])
    assert impl.extract(archive, str(tmp_path / "out"))["files"] == 0
