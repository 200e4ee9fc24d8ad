"""Confined operations (issue 19, OPERATIONS.md "Confined operations"): every file and search
operation with ``root=`` refuses every way out with ``outside_root`` and leaves nothing outside,
and inside the root answers as the same call without a root. Each test runs on the native backend
by ``openat2``, on the native backend with the fallback walk forced, and on the twin."""

from __future__ import annotations

import os
import stat

import pytest

import ironcode

from .confinelib import INSIDE, MODES, SECRET, build_tree, mode, snapshot


@pytest.fixture(params=MODES)
def way(request):
    with mode(request.param) as impl:
        yield impl


@pytest.fixture
def tree(tmp_path):
    return build_tree(tmp_path)


def refused(call) -> ironcode.IronCodeError:
    with pytest.raises(ironcode.IronCodeError) as info:
        call()
    assert info.value.kind == "outside_root", f"{info.value.kind}: {info.value}"
    return info.value


# ---- every operation x every escape ------------------------------------------------------------

#: Paths (relative to the root, or absolute with {base}) that lead out of it, naming a file.
FILE_ESCAPES = [
    "../outside/secret.txt",  # relative ..
    "sub/../../outside/secret.txt",  # .. above the root, deeper
    "{base}/outside/secret.txt",  # absolute elsewhere
    "{base}/app/../outside/secret.txt",  # absolute, through the root and back up
    "link-out",  # symlinked file out (relative target)
    "abs-out",  # symlinked file out (absolute target)
    "dirlink-out/secret.txt",  # symlinked folder out
    "absdir-out/nested/n.txt",  # absolute symlinked folder out
    "dirlink-out/new.txt",  # a file that does not exist yet, under a folder link out
    "dirlink-out/newdir/new.txt",  # and its missing parent folders
    "sub/deep/up/secret.txt",  # a link out at depth
    "{base}/app-evil/secret.txt",  # the sibling sharing the root's name as a prefix
    "../app-evil/secret.txt",
    "evil-link/secret.txt",
]
#: The same for folders.
FOLDER_ESCAPES = [
    "..",
    "sub/../..",
    "{base}/outside",
    "{base}",
    "dirlink-out",
    "absdir-out",
    "dirlink-out/nested",
    "sub/deep/up",
    "{base}/app-evil",
    "evil-link",
]

FILE_OPS = {
    "read": lambda impl, path, root: impl.read(path, root=root),
    "write": lambda impl, path, root: impl.write(path, "pwned\n", root=root),
    "edit_file": lambda impl, path, root: impl.edit_file(path, "SECRET", "pwned", root=root),
    "edit_file create": lambda impl, path, root: impl.edit_file(path, "", "pwned\n", root=root),
    "grep one file": lambda impl, path, root: impl.grep("SECRET", path, root=root),
    "apply_patch add": lambda impl, path, root: impl.apply_patch(
        f"*** Begin Patch\n*** Add File: {path}\n+pwned\n*** End Patch", root=root
    ),
    "apply_patch update": lambda impl, path, root: impl.apply_patch(
        f"*** Begin Patch\n*** Update File: {path}\n@@\n-SECRET outside\n+pwned\n*** End Patch", root=root
    ),
    "apply_patch delete": lambda impl, path, root: impl.apply_patch(
        f"*** Begin Patch\n*** Delete File: {path}\n*** End Patch", root=root
    ),
    "apply_patch move": lambda impl, path, root: impl.apply_patch(
        f"*** Begin Patch\n*** Update File: file.txt\n*** Move to: {path}\n@@\n-inside text\n+moved\n*** End Patch",
        root=root,
    ),
}
FOLDER_OPS = {
    "ls": lambda impl, path, root: impl.ls(path, root=root),
    "file_list": lambda impl, path, root: impl.file_list(path, root=root),
    "file_list follow": lambda impl, path, root: impl.file_list(path, follow=True, root=root),
    "glob": lambda impl, path, root: impl.glob("**/*", path, root=root),
    "grep": lambda impl, path, root: impl.grep("SECRET", path, root=root),
}


@pytest.mark.parametrize("op", sorted(FILE_OPS))
def test_every_file_escape_is_outside_root_and_leaves_nothing_outside(way, tree, op):
    base, app = tree["base"], tree["app"]
    watched = (tree["outside"], tree["evil"])
    for path in FILE_ESCAPES:
        before, top = snapshot(*watched), sorted(os.listdir(base))
        refused(lambda path=path: FILE_OPS[op](way, path.format(base=base), str(app)))
        assert snapshot(*watched) == before, path
        assert sorted(os.listdir(base)) == top, path


@pytest.mark.parametrize("op", sorted(FOLDER_OPS))
def test_every_folder_escape_is_outside_root(way, tree, op):
    base, app = tree["base"], tree["app"]
    for path in FOLDER_ESCAPES:
        before = snapshot(tree["outside"], tree["evil"])
        refused(lambda path=path: FOLDER_OPS[op](way, path.format(base=base), str(app)))
        assert snapshot(tree["outside"], tree["evil"]) == before, path


def test_a_refused_write_creates_no_folder_inside_either(way, tree):
    app = tree["app"]
    before = snapshot(app)
    # A missing folder then `..` is folded without creating it (as the unconfined write folds the
    # path), so the `..` above the root is met before anything is created.
    for path in ("new/../../outside/x.txt", "new/deeper/../../../outside/x.txt", "dirlink-out/new/x.txt"):
        refused(lambda path=path: way.write(path, "x", root=str(app)))
        refused(lambda path=path: way.edit_file(path, "", "x", root=str(app)))
    assert snapshot(app) == before


def test_a_last_component_link_out_is_refused_even_where_the_link_itself_would_change(way, tree):
    # edit with old="" acts on the link's name (it exists, so empty_old_string inside the root);
    # a link that leads out is outside_root all the same, dangling or not.
    app = tree["app"]
    os.symlink("../outside/not-there.txt", app / "dangling-out")
    for name in ("link-out", "abs-out", "dangling-out", "dirlink-out"):
        refused(lambda name=name: way.edit_file(name, "", "x", root=str(app)))
        refused(lambda name=name: way.write(name, "x", root=str(app)))
    assert not (tree["outside"] / "not-there.txt").exists()
    with pytest.raises(ironcode.IronCodeError) as info:
        way.edit_file("link-in", "", "x", root=str(app))
    assert info.value.kind == "empty_old_string"


# ---- inside: the normal answer -------------------------------------------------------------------


def unconfined(impl, op, app, path, *args, **kwargs):
    """The same call without a root, on the path as a caller in the root's folder would give it."""
    full = path if os.path.isabs(path) else os.path.join(app, path)
    return getattr(impl, op)(os.path.normpath(full), *args, **kwargs)


INSIDE_FILES = [
    "file.txt",
    "sub/inner.txt",
    "link-in",
    "abs-in",
    "dirlink-in/inner.txt",
    "absdir-in/deep/d.txt",
    "sub/deep/../inner.txt",
    "./sub/./deep/d.txt",
    "{app}/file.txt",
    "{app}/dirlink-in/inner.txt",
]


@pytest.mark.parametrize("path", INSIDE_FILES)
def test_read_inside_is_the_normal_answer(way, tree, path):
    app = tree["app"]
    path = path.format(app=app)
    assert way.read(path, root=str(app)) == unconfined(way, "read", app, path)


def test_a_root_that_is_a_symlink_is_resolved_once_and_spells_results_as_given(way, tree):
    link = str(tree["rootlink"])
    result = way.read("dirlink-in/inner.txt", root=link)
    assert result["path"] == f"{link}/dirlink-in/inner.txt"
    assert way.read(f"{link}/file.txt", root=link)["lines"] == [INSIDE.strip()]
    # The root's real path names it too.
    assert way.read(f"{tree['app']}/file.txt", root=link)["path"] == f"{link}/file.txt"
    assert way.ls(".", root=link)["root"] == link
    assert way.glob("file.txt", root=link)["files"] == [f"{link}/file.txt"]
    assert [m["path"] for m in way.grep("inside text", root=link)["matches"]] == [f"{link}/file.txt"]
    refused(lambda: way.read("../outside/secret.txt", root=link))


def test_a_missing_root_is_not_found_and_a_file_root_not_a_directory(way, tree, expect_error):
    for op in (
        lambda r: way.read("x", root=r),
        lambda r: way.ls(".", root=r),
        lambda r: way.write("x", "", root=r),
    ):
        expect_error("not_found", op, str(tree["base"] / "nope"))
        expect_error("not_a_directory", op, str(tree["app"] / "file.txt"))
        expect_error("not_a_directory", op, str(tree["app"] / "link-in"))
    assert not (tree["base"] / "nope").exists()


def test_write_inside_creates_parents_beneath_the_root_and_keeps_permission_bits(way, tree):
    app = tree["app"]
    first = way.write("a/b/c.txt", "one", root=str(app))
    assert first == {"path": str(app / "a/b/c.txt"), "bytes": 3, "created": True}
    os.chmod(app / "a/b/c.txt", 0o751)
    assert way.write(str(app / "a/b/c.txt"), "two", root=str(app))["created"] is False
    assert (app / "a/b/c.txt").read_text() == "two"
    assert stat.S_IMODE(os.stat(app / "a/b/c.txt").st_mode) == 0o751
    # Through a link inside: the link stays, its target changes.
    way.write("link-in", "through\n", root=str(app))
    assert os.path.islink(app / "link-in") and (app / "sub/inner.txt").read_text() == "through\n"
    way.write("abs-in", "absolute\n", root=str(app))
    assert (app / "sub/inner.txt").read_text() == "absolute\n"
    assert [n for n in os.listdir(app / "sub") if ".ironcode-" in n] == []


def test_write_then_edit_inside_match_the_unconfined_answers(way, tree, tmp_path_factory):
    app = tree["app"]
    twin_dir = tmp_path_factory.mktemp("plain")
    (twin_dir / "f.txt").write_text("a\r\nold\r\n")
    (app / "f.txt").write_text("a\r\nold\r\n")
    confined = way.edit_file("f.txt", "old", "new", root=str(app))
    plain = way.edit_file(str(twin_dir / "f.txt"), "old", "new")
    assert {**confined, "diff": None, "path": None} == {**plain, "diff": None, "path": None}
    assert confined["diff"].replace(str(app), "X") == plain["diff"].replace(str(twin_dir), "X")
    assert (app / "f.txt").read_bytes() == b"a\r\nnew\r\n"
    created = way.edit_file("new/dir/g.txt", "", "hello\n", root=str(app))
    assert created["path"] == str(app / "new/dir/g.txt") and (app / "new/dir/g.txt").read_text() == "hello\n"
    way.edit_file("dirlink-in/inner.txt", "inner", "INNER", root=str(app))
    assert (app / "sub/inner.txt").read_text().startswith("INNER")


def test_leftovers_of_a_dead_process_beneath_the_root_are_still_removed(way, tree):
    import subprocess

    child = subprocess.Popen(["true"])
    child.wait()
    folder = tree["app"] / "fresh"
    folder.mkdir()
    leftover = folder / f".f.txt.ironcode-{child.pid}-0-1.tmp"
    leftover.write_text("half")
    way.write("fresh/f.txt", "x", root=str(tree["app"]))
    assert not leftover.exists() and (folder / "f.txt").read_text() == "x"


def test_walks_never_list_a_link_that_leads_out(way, tree):
    app = tree["app"]
    listed = way.ls(".", limit=None, root=str(app))["files"]
    assert "link-in" in listed and "abs-in" in listed
    assert not {"link-out", "abs-out"} & set(listed)
    followed = way.file_list(".", follow=True, root=str(app))
    assert "dirlink-in/inner.txt" in followed and "absdir-in/deep/d.txt" in followed
    assert not any(
        p.startswith(("dirlink-out", "absdir-out", "sub/deep/up", "evil-link", "link-out", "abs-out"))
        for p in followed
    )
    found = way.grep("SECRET", ".", limit=None, root=str(app))
    assert all(m["path"].startswith(str(app) + "/") for m in found["matches"])
    assert not any("outside" in m["text"] for m in found["matches"])
    globbed = way.glob("**/*.txt", ".", limit=None, root=str(app))["files"]
    assert all(f.startswith(str(app) + "/") for f in globbed)


@pytest.mark.parametrize("follow", [False, True])
def test_walks_inside_equal_the_unconfined_walk_without_the_links_out(way, tree, follow):
    app = tree["app"]
    for name in ("link-out", "abs-out", "dirlink-out", "absdir-out", "evil-link", "sub/deep/up"):
        os.remove(app / name)  # every one a symlink
    for path in (".", "sub", "dirlink-in", "absdir-in", str(app)):
        plain = os.path.normpath(os.path.join(app, path))
        assert way.file_list(path, follow=follow, root=str(app)) == way.file_list(plain, follow=follow)
        assert way.ls(path, limit=None, root=str(app)) == way.ls(plain, limit=None)
        assert way.glob("**/*", path, limit=None, root=str(app)) == way.glob("**/*", plain, limit=None)
        assert way.grep("i", path, limit=None, root=str(app)) == way.grep("i", plain, limit=None)


def test_ignore_files_and_the_repository_above_the_root_still_apply(way, tmp_path):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".gitignore").write_text("*.log\n")
    (repo / "proj" / "src").mkdir(parents=True)
    (repo / "proj" / "src" / "a.py").write_text("x = 1\n")
    (repo / "proj" / "src" / "b.log").write_text("x = 1\n")
    (repo / "proj" / "src" / ".gitignore").write_text("c.py\n")
    (repo / "proj" / "src" / "c.py").write_text("x = 1\n")
    root = str(repo / "proj")
    assert (
        way.file_list("src", root=root) == way.file_list(str(repo / "proj" / "src")) == [".gitignore", "a.py"]
    )
    assert way.file_list(".", root=root) == ["src/.gitignore", "src/a.py"]
    assert [m["path"] for m in way.grep("x", root=root)["matches"]] == [str(repo / "proj/src/a.py")]


def test_outside_root_messages_are_the_same_on_both_backends(tree):
    app, base = tree["app"], tree["base"]
    for escape in [*FILE_ESCAPES[:8], "{base}/app-evil/secret.txt"]:
        path = escape.format(base=base)
        messages = []
        for name in MODES:
            with mode(name) as impl:
                messages.append(refused(lambda impl=impl, path=path: impl.read(path, root=str(app))).message)
        assert len(set(messages)) == 1, messages
        assert str(app) in messages[0] and path in messages[0]


def test_without_root_nothing_changes_for_links_out(way, tree):
    # The same calls without a root follow every link, as before confinement existed.
    app = tree["app"]
    assert way.read(str(app / "link-out"))["lines"] == [SECRET.strip()]
    assert way.read(str(app / "dirlink-out/secret.txt"))["lines"] == [SECRET.strip()]
    assert "dirlink-out/secret.txt" in way.file_list(str(app), follow=True)


def test_bad_root_arguments_are_invalid_argument(way, tree, expect_error):
    expect_error("invalid_argument", lambda: way.read("file.txt", root=""))
    expect_error("invalid_argument", lambda: way.read("file.txt", root="a\0b"))
    expect_error("invalid_argument", lambda: way.read("", root=str(tree["app"])))
    expect_error("invalid_argument", lambda: way.read("a\0b", root=str(tree["app"])))


def test_the_public_api_passes_root_to_the_chosen_backend(tree):
    app = str(tree["app"])
    assert ironcode.read("file.txt", root=app)["lines"] == [INSIDE.strip()]
    for call in (
        lambda: ironcode.read("link-out", root=app),
        lambda: ironcode.write("dirlink-out/x", "x", root=app),
        lambda: ironcode.ls("..", root=app),
        lambda: ironcode.edit_file("abs-out", "S", "x", root=app),
        lambda: ironcode.file_list("dirlink-out", root=app),
        lambda: ironcode.glob("*", "..", root=app),
        lambda: ironcode.grep("x", "../outside", root=app),
    ):
        refused(call)


def test_a_tree_deeper_than_the_walks_relative_opens_is_listed_whole_beneath_the_root(way, tmp_path):
    # Past 32 levels the native walk reopens a folder instead of keeping its parent open: beneath
    # a root that reopening goes through the root too, and must give the same answer.
    folder = tmp_path / "app"
    expected = []
    deep = folder
    for depth in range(45):
        deep = deep / f"d{depth}"
        deep.mkdir(parents=True)
        (deep / "f.txt").write_text("x\n")
        expected.append(str((deep / "f.txt").relative_to(folder)))
    os.symlink(str(tmp_path), deep / "up")  # a link out at the bottom, followed or not
    for follow in (False, True):
        assert way.file_list(".", follow=follow, root=str(folder)) == sorted(expected)
    assert way.grep("x", ".", limit=None, root=str(folder))["total"] == 45


def test_the_environment_switch_forces_the_walk_for_the_whole_process():
    import subprocess
    import sys

    from .helpers import ROOT

    code = "from ironcode import ffi; print(ffi.confine_force_walk(False)['previous'])"
    for value, forced in (("1", "True"), ("0", "False")):
        env = dict(os.environ, IRONCODE_CONFINE_WALK=value, PYTHONPATH=ROOT)
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        assert out.stdout.strip() == forced


# ---- apply_patch ------------------------------------------------------------------------------------


def test_a_refused_patch_changes_nothing_inside_either(way, tree):
    app = tree["app"]
    before = snapshot(app)
    patch = (
        "*** Begin Patch\n*** Add File: new/ok.txt\n+fine\n*** Update File: file.txt\n@@\n-inside text\n+changed\n"
        "*** Delete File: sub/inner.txt\n*** Add File: dirlink-out/evil.txt\n+x\n*** End Patch"
    )
    refused(lambda: way.apply_patch(patch, root=str(app)))
    assert snapshot(app) == before


def test_patch_paths_leaving_cwd_inside_the_root_are_unsafe_path_and_outside_it_outside_root(
    way, tree, expect_error
):
    app = tree["app"]
    add = "*** Begin Patch\n*** Add File: {}\n+x\n*** End Patch"
    expect_error("unsafe_path", way.apply_patch, add.format("../new.txt"), "sub", root=str(app))
    expect_error("outside_root", way.apply_patch, add.format("../../new.txt"), "sub", root=str(app))
    expect_error("outside_root", way.apply_patch, add.format("x.txt"), "dirlink-out", root=str(app))
    expect_error("outside_root", way.apply_patch, add.format("x.txt"), "..", root=str(app))
    expect_error("not_found", way.apply_patch, add.format("x.txt"), "missing", root=str(app))
    assert not (app / "new.txt").exists() and not (tree["base"] / "new.txt").exists()


def test_patches_inside_the_root_add_update_move_and_delete_through_descriptors(way, tree):
    app = tree["app"]
    result = way.apply_patch(
        "*** Begin Patch\n*** Add File: made/deep/n.txt\n+new\n"
        f"*** Update File: {app}/link-in\n@@\n-inner SECRET-looking but inside\n+inner changed\n*** End Patch",
        "sub",
        root=str(app),
    )
    assert [f["action"] for f in result["files"]] == ["add", "update"]
    assert (app / "sub/made/deep/n.txt").read_text() == "new\n"
    assert os.path.islink(app / "link-in") and (app / "sub/inner.txt").read_text() == "inner changed\n"
    way.apply_patch(
        "*** Begin Patch\n*** Update File: file.txt\n*** Move to: dirlink-in/moved.txt\n@@\n-inside text\n"
        "+moved\n*** Delete File: abs-in\n*** End Patch",
        root=str(app),
    )
    assert not (app / "file.txt").exists() and (app / "sub/moved.txt").read_text() == "moved\n"
    assert not os.path.lexists(app / "abs-in") and (app / "sub/inner.txt").exists()  # the link, not its file
    answer = way.apply_patch(f"*** Begin Patch\n*** Add File: {app}/x.txt\n+x\n*** End Patch", root=str(app))
    assert answer["files"][0]["action"] == "add" and (app / "x.txt").read_text() == "x\n"


@pytest.mark.parametrize(
    "keywords",
    [
        {"output_mode": "files"},
        {"output_mode": "count"},
        {"context": 1},
        {"multiline": True},
        {"file_type": "txt"},
    ],
)
def test_every_grep_mode_confined_answers_as_unconfined_and_refuses_escapes(way, tree, keywords):
    app = tree["app"]
    for name in ("link-out", "abs-out", "dirlink-out", "absdir-out", "evil-link", "sub/deep/up"):
        os.remove(app / name)
    assert way.grep("i", ".", limit=None, root=str(app), **keywords) == way.grep(
        "i", str(app), limit=None, **keywords
    )
    refused(lambda: way.grep("SECRET", "..", root=str(app), **keywords))
