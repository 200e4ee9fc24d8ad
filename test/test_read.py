"""read: line rules, limits, binary and encoding detection, errors — on both backends."""

from __future__ import annotations

import os

import pytest

from ironcode.tools.read import format_read

from .helpers import run_without_root_powers


def make(tmp_path, name: str, data: bytes | str) -> str:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return str(path)


def test_trailing_newline_ends_the_last_line(impl, tmp_path):
    assert impl.read(make(tmp_path, "a.txt", "a\nb\n"))["lines"] == ["a", "b"]
    assert impl.read(make(tmp_path, "b.txt", "a\nb"))["total_lines"] == 2


def test_empty_file_has_no_lines_and_offset_one_is_fine(impl, tmp_path):
    result = impl.read(make(tmp_path, "e.txt", ""))
    assert result["lines"] == [] and result["total_lines"] == 0 and not result["truncated"]


def test_crlf_is_not_part_of_the_line(impl, tmp_path):
    assert impl.read(make(tmp_path, "c.txt", "a\r\nb\r\n"))["lines"] == ["a", "b"]


def test_lone_carriage_return_stays(impl, tmp_path):
    assert impl.read(make(tmp_path, "c.txt", "a\rb\n"))["lines"] == ["a\rb"]


def test_bom_is_not_shown(impl, tmp_path):
    assert impl.read(make(tmp_path, "bom.txt", "\ufeffhello\n"))["lines"] == ["hello"]


def test_path_is_absolute(impl, tmp_path, monkeypatch):
    make(tmp_path, "rel.txt", "x\n")
    monkeypatch.chdir(tmp_path)
    assert impl.read("./sub/../rel.txt")["path"] == str(tmp_path / "rel.txt")


def test_offset_and_limit_window(impl, tmp_path):
    path = make(tmp_path, "n.txt", "".join(f"line {i}\n" for i in range(1, 11)))
    result = impl.read(path, offset=4, limit=3)
    assert result["lines"] == ["line 4", "line 5", "line 6"]
    assert result["offset"] == 4 and result["total_lines"] == 10 and result["truncated"]
    assert impl.read(path, offset=8, limit=3)["truncated"] is False


def test_offset_past_the_end_names_the_line_count(impl, tmp_path, expect_error):
    path = make(tmp_path, "n.txt", "a\nb\nc\n")
    err = expect_error("invalid_argument", impl.read, path, 5)
    assert err.message == "Offset 5 is out of range for this file (3 lines)"


def test_offset_two_on_empty_file_is_out_of_range(impl, tmp_path, expect_error):
    err = expect_error("invalid_argument", impl.read, make(tmp_path, "e.txt", ""), 2)
    assert "(0 lines)" in err.message


@pytest.mark.parametrize("offset,limit", [(0, 10), (-3, 10), (1, 0), (1, -1)])
def test_nonpositive_offset_or_limit_is_invalid(impl, tmp_path, expect_error, offset, limit):
    expect_error("invalid_argument", impl.read, make(tmp_path, "a.txt", "a\n"), offset, limit)


def test_long_lines_are_cut_at_2000_code_points(impl, tmp_path):
    path = make(tmp_path, "long.txt", "é" * 2500 + "\nshort\n")
    first, second = impl.read(path)["lines"]
    assert first == "é" * 2000 + "... (line truncated to 2000 chars)"
    assert second == "short"


def test_reading_stops_before_50_kb(impl, tmp_path):
    path = make(tmp_path, "big.txt", ("x" * 99 + "\n") * 1000)  # 100 bytes a line
    result = impl.read(path)
    assert len(result["lines"]) == 512  # 512 * 100 = 51,200 bytes exactly
    assert result["truncated"] and result["truncated_by_bytes"]
    assert "Use offset=513 to continue." in format_read(result)


def test_footer_says_total_or_how_to_continue(impl, tmp_path):
    path = make(tmp_path, "n.txt", "a\nb\nc\n")
    assert format_read(impl.read(path)).endswith("(End of file - total 3 lines)\n</content>")
    text = format_read(impl.read(path, limit=2))
    assert "1: a\n2: b" in text and "(Showing lines 1-2 of 3. Use offset=3 to continue.)" in text


def test_unicode_text_in_any_script_is_text(impl, tmp_path):
    text = "日本語のテキスト\n emoji 🎉🚀\n Ελληνικά\n"
    assert impl.read(make(tmp_path, "u.txt", text))["total_lines"] == 3


def test_missing_file_is_not_found_and_a_file_not_found_error(impl, tmp_path, expect_error):
    err = expect_error("not_found", impl.read, str(tmp_path / "nope.txt"))
    assert isinstance(err, FileNotFoundError)


def test_directory_is_is_directory(impl, tmp_path, expect_error):
    expect_error("is_directory", impl.read, str(tmp_path))


def test_nul_byte_means_binary(impl, tmp_path, expect_error):
    expect_error("binary_file", impl.read, make(tmp_path, "b.txt", b"abc\0def"))


def test_control_bytes_over_thirty_percent_mean_binary(impl, tmp_path, expect_error):
    expect_error("binary_file", impl.read, make(tmp_path, "c.txt", b"\x01\x02\x03\x04abcd"))
    assert impl.read(make(tmp_path, "ok.txt", b"\x01abcdefghij\n"))["total_lines"] == 1


@pytest.mark.parametrize("name", ["x.zip", "x.PYC", "lib.so", "a.wasm"])
def test_binary_extensions_are_binary_whatever_the_content(impl, tmp_path, expect_error, name):
    expect_error("binary_file", impl.read, make(tmp_path, name, "plain text\n"))


def test_invalid_utf8_is_encoding(impl, tmp_path, expect_error):
    expect_error("encoding", impl.read, make(tmp_path, "latin1.txt", "café\n".encode("latin-1")))


def test_nul_in_path_is_invalid_argument(impl, expect_error):
    expect_error("invalid_argument", impl.read, "a\0b")


def test_empty_path_is_invalid_argument(impl, expect_error):
    expect_error("invalid_argument", impl.read, "")


def test_unreadable_file_is_permission_denied(impl, unreadable_file, expect_error):
    out = run_without_root_powers(
        f"import ironcode, json\n"
        f"from ironcode import backend\n"
        f"try:\n"
        f"    backend.implementation('read', {impl.name!r})({unreadable_file!r})\n"
        f"except ironcode.IronCodeError as e:\n"
        f"    print(e.kind, isinstance(e, PermissionError))\n"
    )
    assert out.strip() == "permission_denied True"


def test_symlink_loop_is_a_clear_error(impl, tmp_path, expect_error):
    os.symlink(tmp_path / "loop_b", tmp_path / "loop_a")
    os.symlink(tmp_path / "loop_a", tmp_path / "loop_b")
    with pytest.raises(Exception) as info:
        impl.read(str(tmp_path / "loop_a"))
    assert getattr(info.value, "kind", None) == "io"


def test_huge_single_line_is_cut_not_returned_whole(impl, tmp_path):
    path = make(tmp_path, "huge.txt", "y" * 5_000_000)
    result = impl.read(path)
    assert result["total_lines"] == 1 and len(result["lines"][0]) == 2000 + len(
        "... (line truncated to 2000 chars)"
    )


def test_final_carriage_return_without_newline_stays(impl, tmp_path):
    assert impl.read(make(tmp_path, "cr.txt", "a\r\nb\r"))["lines"] == ["a", "b\r"]


def test_character_split_across_chunks_is_decoded(impl, tmp_path):
    from ironcode.twin.read import CHUNK_BYTES

    # "é" is 2 bytes; place one so that it straddles the first chunk boundary after the head.
    prefix = "a" * (4096 + CHUNK_BYTES - 1)
    path = make(tmp_path, "edge.txt", prefix + "é\nlast\n")
    result = impl.read(path, offset=2)
    assert result["lines"] == ["last"] and result["total_lines"] == 2


def test_invalid_utf8_deep_in_a_big_file_is_encoding(impl, tmp_path, expect_error):
    path = make(tmp_path, "deep.txt", b"ok line\n" * 400_000 + b"\xff\n")
    expect_error("encoding", impl.read, path)


def test_truncated_character_at_the_end_is_encoding(impl, tmp_path, expect_error):
    expect_error("encoding", impl.read, make(tmp_path, "cut.txt", "abc é".encode()[:-1]))


def test_window_deep_in_a_big_file(impl, tmp_path):
    path = make(tmp_path, "many.txt", "".join(f"{i}\n" for i in range(1, 300_001)))
    result = impl.read(path, offset=250_000, limit=3)
    assert result["lines"] == ["250000", "250001", "250002"] and result["total_lines"] == 300_000


@pytest.mark.parametrize("backend", ["native", "python"])
def test_reading_a_huge_single_line_file_keeps_memory_bounded(tmp_path, backend):
    """A 256 MB one-line file is read in 1 MiB chunks: peak RSS grows by far less than its size."""
    import subprocess
    import sys

    path = tmp_path / "one-line.txt"
    with open(path, "wb") as f:
        block = b"z" * (1 << 20)
        for _ in range(256):
            f.write(block)
    code = (
        "import resource, sys\n"
        "from ironcode import backend\n"
        f"read = backend.implementation('read', {backend!r})\n"
        "read(sys.argv[2], 1, 1)  # load imports and the library on a tiny file first\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "result = read(sys.argv[1], 1, 10)\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print((after - before) // 1024, result['total_lines'], len(result['lines'][0]))\n"
    )
    from .helpers import ROOT

    out = subprocess.run(
        [sys.executable, "-c", code, str(path), make(tmp_path, "tiny.txt", "x\n")],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "PYTHONPATH": ROOT},
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    grown_mb, total, first_len = map(int, out.stdout.split())
    assert total == 1 and first_len == 2000 + len("... (line truncated to 2000 chars)")
    assert grown_mb < 32, f"reading grew RSS by {grown_mb} MB"
