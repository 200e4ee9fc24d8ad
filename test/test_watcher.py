"""Watcher: events for create / modify / delete / rename, ignore globs, the bounded queue, new
subfolders, bad input — on both backends through the ``impl`` fixture.

Nothing here can hang: every wait has a timeout (``DEADLINE_S`` at most), every watcher is closed
by a ``with`` block, and every thread started is joined with a timeout.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ironcode
from ironcode import backend as backend_mod
from ironcode.twin import watcher as twin_watcher

# watchdog's own bookkeeping warning (a folder created during its walk is watched twice); the
# twin silences it for its callers, but pytest records every warning.
pytestmark = pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")

#: The longest any test waits for an event that should come.
DEADLINE_S = 10.0
#: After the awaited events came, how long to keep listening for ones that should not.
SETTLE_S = 0.3


def collect(w, done, timeout: float = DEADLINE_S) -> list[dict]:
    """Events from ``w`` until ``done(events)`` or the deadline (then whatever came)."""
    events: list[dict] = []
    deadline = time.monotonic() + timeout
    while not done(events):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        events += w.wait(remaining)
    return events


def settle(w, events: list[dict]) -> list[dict]:
    """Adds what arrives until the watcher stays quiet for ``SETTLE_S`` (at most 20 rounds)."""
    for _ in range(20):
        more = w.wait(SETTLE_S)
        if not more:
            break
        events += more
    return events


def pairs(events: list[dict], root: Path) -> list[tuple[str, str]]:
    return [(os.path.relpath(e["path"], root), e["kind"]) for e in events]


def has(root: Path, *wanted: tuple[str, str]):
    return lambda events: set(wanted) <= set(pairs(events, root))


def touch(path: Path) -> None:
    """Creates an empty file with one open(O_CREAT): exactly one inotify IN_CREATE."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))


# ---- events ----------------------------------------------------------------------------------


def test_creating_a_file_reports_add_with_its_absolute_path(impl, tmp_path):
    with impl.Watcher(str(tmp_path)) as w:
        before = time.time()
        (tmp_path / "new.txt").write_text("hello")
        events = collect(w, has(tmp_path, ("new.txt", "add")))
    event = next(e for e in events if e["kind"] == "add")
    assert set(event) >= {"path", "kind", "timestamp"}
    assert event["path"] == str(tmp_path / "new.txt")
    assert isinstance(event["timestamp"], float)
    assert before - 5 < event["timestamp"] < time.time() + 5  # seconds since the epoch


def test_modifying_a_file_reports_change(impl, tmp_path):
    target = tmp_path / "notes.md"
    target.write_text("one\n")
    with impl.Watcher(str(tmp_path)) as w:
        with open(target, "a") as f:
            f.write("two\n")
        events = collect(w, has(tmp_path, ("notes.md", "change")))
    assert ("notes.md", "change") in pairs(events, tmp_path)
    assert ("notes.md", "add") not in pairs(events, tmp_path)


def test_changing_only_a_files_mode_reports_change(impl, tmp_path):
    target = tmp_path / "run.sh"
    target.write_text("echo hi\n")
    with impl.Watcher(str(tmp_path)) as w:
        os.chmod(target, 0o755)
        events = collect(w, has(tmp_path, ("run.sh", "change")))
    assert ("run.sh", "change") in pairs(events, tmp_path)


def test_deleting_a_file_reports_unlink(impl, tmp_path):
    target = tmp_path / "old.txt"
    target.write_text("bye")
    with impl.Watcher(str(tmp_path)) as w:
        target.unlink()
        events = collect(w, has(tmp_path, ("old.txt", "unlink")))
    assert pairs(events, tmp_path) == [("old.txt", "unlink")]


def test_renaming_a_file_reports_unlink_of_the_old_name_then_add_of_the_new(impl, tmp_path):
    (tmp_path / "before.txt").write_text("x")
    with impl.Watcher(str(tmp_path)) as w:
        os.rename(tmp_path / "before.txt", tmp_path / "after.txt")
        events = collect(w, has(tmp_path, ("before.txt", "unlink"), ("after.txt", "add")))
    seen = pairs(events, tmp_path)
    assert seen.index(("before.txt", "unlink")) < seen.index(("after.txt", "add"))


def test_renaming_a_folder_reports_its_entries_under_the_new_name(impl, tmp_path):
    (tmp_path / "old" / "inner").mkdir(parents=True)
    (tmp_path / "old" / "inner" / "f.txt").write_text("x")
    with impl.Watcher(str(tmp_path)) as w:
        os.rename(tmp_path / "old", tmp_path / "new")
        wanted = [("old", "unlink"), ("new", "add"), ("new/inner", "add"), ("new/inner/f.txt", "add")]
        events = collect(w, has(tmp_path, *wanted))
        # The renamed folder is watched under its new name.
        (tmp_path / "new" / "inner" / "g.txt").write_text("y")
        events += collect(w, has(tmp_path, ("new/inner/g.txt", "add")))
    assert set(wanted + [("new/inner/g.txt", "add")]) <= set(pairs(events, tmp_path))


def test_a_folder_moved_out_of_the_tree_is_no_longer_reported(impl, tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    with impl.Watcher(str(root)) as w:
        os.rename(root / "sub", outside / "sub")
        touch(outside / "sub" / "after-move.txt")  # its old watch must not report this
        touch(root / "sentinel")
        events = settle(w, collect(w, has(root, ("sub", "unlink"), ("sentinel", "add"))))
    assert sorted(pairs(events, root)) == [("sentinel", "add"), ("sub", "unlink")]


def test_a_file_created_right_after_its_folder_was_renamed_has_the_new_name(impl, tmp_path):
    (tmp_path / "old").mkdir()
    with impl.Watcher(str(tmp_path)) as w:
        os.rename(tmp_path / "old", tmp_path / "new")
        touch(tmp_path / "new" / "x.txt")  # no pause: the kernel reports it by the old watch
        events = settle(w, collect(w, has(tmp_path, ("new/x.txt", "add"))))
    seen = pairs(events, tmp_path)
    assert ("new/x.txt", "add") in seen
    assert not any(path.startswith("old/") for path, _ in seen), seen


def test_removing_a_folder_tree_reports_each_path_once(impl, tmp_path):
    (tmp_path / "gone" / "sub").mkdir(parents=True)
    (tmp_path / "gone" / "a.txt").write_text("a")
    (tmp_path / "gone" / "sub" / "b.txt").write_text("b")
    with impl.Watcher(str(tmp_path)) as w:
        shutil.rmtree(tmp_path / "gone")
        wanted = [
            ("gone/a.txt", "unlink"),
            ("gone/sub/b.txt", "unlink"),
            ("gone/sub", "unlink"),
            ("gone", "unlink"),
        ]
        events = settle(w, collect(w, has(tmp_path, *wanted)))
    seen = pairs(events, tmp_path)
    assert sorted(seen) == sorted(wanted), seen


def test_a_file_written_in_many_chunks_gives_one_change_while_pending(impl, tmp_path):
    target = tmp_path / "log.txt"
    target.write_text("")
    with impl.Watcher(str(tmp_path)) as w:
        with open(target, "a") as f:
            for i in range(50):
                f.write(f"line {i}\n")
                f.flush()
        # Nothing is taken until every write surely arrived: then they are all pending at once.
        deadline = time.monotonic() + DEADLINE_S
        while w.info()["pending"] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(SETTLE_S)
        events = w.poll()
    assert pairs(events, tmp_path) == [("log.txt", "change")]


# ---- folders ---------------------------------------------------------------------------------


def test_existing_subfolders_are_watched(impl, tmp_path):
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    with impl.Watcher(str(tmp_path)) as w:
        (deep / "x.py").write_text("pass\n")
        events = collect(w, has(tmp_path, ("a/b/c/x.py", "add")))
    assert ("a/b/c/x.py", "add") in pairs(events, tmp_path)


def test_a_new_subfolder_and_files_written_into_it_at_once_are_reported(impl, tmp_path):
    with impl.Watcher(str(tmp_path)) as w:
        # No pause between creating the folders and the file: its watch cannot exist yet.
        (tmp_path / "pkg" / "mod" / "deep").mkdir(parents=True)
        (tmp_path / "pkg" / "mod" / "deep" / "code.py").write_text("x = 1\n")
        wanted = [
            ("pkg", "add"),
            ("pkg/mod", "add"),
            ("pkg/mod/deep", "add"),
            ("pkg/mod/deep/code.py", "add"),
        ]
        events = collect(w, has(tmp_path, *wanted))
    assert set(wanted) <= set(pairs(events, tmp_path))


def test_files_in_a_new_subfolder_keep_being_reported(impl, tmp_path):
    with impl.Watcher(str(tmp_path)) as w:
        (tmp_path / "later").mkdir()
        collect(w, has(tmp_path, ("later", "add")))
        time.sleep(0.1)  # let the new folder's watch settle before using it
        (tmp_path / "later" / "one.txt").write_text("1")
        events = collect(w, has(tmp_path, ("later/one.txt", "add")))
        (tmp_path / "later" / "one.txt").unlink()
        events += collect(w, has(tmp_path, ("later/one.txt", "unlink")))
    assert {("later/one.txt", "add"), ("later/one.txt", "unlink")} <= set(pairs(events, tmp_path))


def inotify_masks() -> dict[tuple[int, int], int]:
    """(descriptor, watch) -> event mask of every inotify watch this process holds."""
    masks = {}
    for fd in os.listdir("/proc/self/fdinfo"):
        try:
            with open(f"/proc/self/fdinfo/{fd}") as f:
                for line in f:
                    if line.startswith("inotify wd:"):
                        fields = dict(field.split(":", 1) for field in line.split()[1:])
                        masks[(int(fd), int(fields["wd"], 16))] = int(fields["mask"], 16)
        except OSError:  # a descriptor closed meanwhile
            pass
    return masks


IN_ACCESS, IN_CLOSE_WRITE, IN_CLOSE_NOWRITE, IN_OPEN = 0x1, 0x8, 0x10, 0x20


def test_the_kernel_is_never_asked_for_open_access_or_close_events(impl, tmp_path):
    """Reading a file in the tree (rg, an editor) must cost the watcher nothing: no watch asks
    for IN_OPEN / IN_ACCESS / IN_CLOSE_*, which no event kind comes from."""
    (tmp_path / "sub").mkdir()
    before = set(inotify_masks())
    with impl.Watcher(str(tmp_path)) as w:
        masks = {key: mask for key, mask in inotify_masks().items() if key not in before}
        touch(tmp_path / "sub" / "read-me.txt")
        collect(w, has(tmp_path, ("sub/read-me.txt", "add")))
        for _ in range(3):
            (tmp_path / "sub" / "read-me.txt").read_text()
        touch(tmp_path / "sentinel")
        events = settle(w, collect(w, has(tmp_path, ("sentinel", "add"))))
    assert len(masks) == 2, masks  # the root and sub
    unwanted = IN_ACCESS | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE | IN_OPEN
    assert all(mask & unwanted == 0 for mask in masks.values()), {k: hex(m) for k, m in masks.items()}
    assert pairs(events, tmp_path) == [("sentinel", "add")]


def test_a_folder_never_reports_change(impl, tmp_path):
    (tmp_path / "d").mkdir()
    with impl.Watcher(str(tmp_path)) as w:
        os.chmod(tmp_path / "d", 0o700)
        (tmp_path / "d" / "f").write_text("x")
        events = settle(w, collect(w, has(tmp_path, ("d/f", "add"))))
    assert ("d", "change") not in pairs(events, tmp_path)


def test_symlinks_are_reported_but_never_followed(impl, tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "loop").symlink_to(tmp_path)  # a loop: following it would never end
    with impl.Watcher(str(tmp_path)) as w:
        (tmp_path / "link").symlink_to(tmp_path / "real")
        (tmp_path / "real" / "f.txt").write_text("x")
        events = settle(w, collect(w, has(tmp_path, ("link", "add"), ("real/f.txt", "add"))))
    seen = pairs(events, tmp_path)
    assert ("link", "add") in seen and ("real/f.txt", "add") in seen
    assert not any(p.startswith(("link/", "real/loop/")) for p, _ in seen)


# ---- ignore globs ----------------------------------------------------------------------------


def test_ignore_globs_match_paths_relative_to_the_root(impl, tmp_path):
    (tmp_path / "node_modules" / "pkg").mkdir(parents=True)
    with impl.Watcher(str(tmp_path), ignore=["node_modules", ".git", "**/*.log", "build/"]) as w:
        (tmp_path / "node_modules" / "pkg" / "index.js").write_text("x")
        (tmp_path / "src" / "node_modules").mkdir(parents=True)
        (tmp_path / "src" / "node_modules" / "a.js").write_text("x")
        (tmp_path / ".git").mkdir()
        (tmp_path / ".git" / "HEAD").write_text("ref: x")
        (tmp_path / "app.log").write_text("x")
        (tmp_path / "src" / "deep.log").write_text("x")
        (tmp_path / "build").mkdir()
        (tmp_path / "build" / "out.o").write_text("x")
        (tmp_path / "src" / "main.py").write_text("x")
        (tmp_path / "keep.txt").write_text("x")
        events = settle(w, collect(w, has(tmp_path, ("src/main.py", "add"), ("keep.txt", "add"))))
    seen = {p for p, _ in pairs(events, tmp_path)}
    assert seen == {"src", "src/main.py", "keep.txt"}, seen


def test_ignore_globs_accept_brace_alternatives(impl, tmp_path):
    with impl.Watcher(str(tmp_path), ignore=["*.{tmp,swp}"]) as w:
        for name in ("a.tmp", "b.swp", "c.txt"):
            (tmp_path / name).write_text("x")
        events = settle(w, collect(w, has(tmp_path, ("c.txt", "add"))))
    assert {p for p, _ in pairs(events, tmp_path)} == {"c.txt"}


def test_an_ignored_deletion_is_not_reported(impl, tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "x").write_text("x")
    (tmp_path / "y.log").write_text("x")
    with impl.Watcher(str(tmp_path), ignore=["cache/", "*.log"]) as w:
        shutil.rmtree(tmp_path / "cache")
        (tmp_path / "y.log").unlink()
        (tmp_path / "z").write_text("x")
        events = settle(w, collect(w, has(tmp_path, ("z", "add"))))
    assert {p for p, _ in pairs(events, tmp_path)} == {"z"}


# ---- the queue -------------------------------------------------------------------------------


def test_a_full_queue_keeps_the_newest_events_and_counts_the_dropped(impl, tmp_path):
    with impl.Watcher(str(tmp_path), max_queue=5) as w:
        for i in range(20):
            touch(tmp_path / f"f{i:02d}")
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            info = w.info()
            if info["pending"] + info["dropped"] >= 20:
                break
            time.sleep(0.01)
        info = w.info()
        events = w.poll()
        assert (info["pending"], info["dropped"]) == (5, 15)
        assert pairs(events, tmp_path) == [(f"f{i}", "add") for i in range(15, 20)]
        assert w.info() == {"path": str(tmp_path), "pending": 0, "dropped": 15, "error": None}


def test_poll_returns_nothing_when_nothing_happened(impl, tmp_path):
    with impl.Watcher(str(tmp_path)) as w:
        assert w.poll() == []
        assert w.info()["pending"] == 0


def test_wait_returns_nothing_after_the_timeout_on_a_quiet_folder(impl, tmp_path):
    with impl.Watcher(str(tmp_path)) as w:
        assert w.wait(0.05) == []
        assert w.wait(0) == []


def test_wait_lets_other_threads_run_meanwhile(impl, tmp_path):
    """A wait that held the GIL would stop this thread from writing the file it waits for."""
    with impl.Watcher(str(tmp_path)) as w:
        got: list[list[dict]] = []
        waiter = threading.Thread(target=lambda: got.append(w.wait(DEADLINE_S)))
        waiter.start()
        time.sleep(0.2)  # the waiter is inside wait() by now
        total = sum(i * i for i in range(100_000))  # Python work: needs the GIL
        (tmp_path / f"from-main-{total % 7}.txt").write_text("x")
        waiter.join(DEADLINE_S + 5)
        assert not waiter.is_alive()
    assert got and got[0], "the waiter timed out: the main thread could not run while it waited"


def test_close_wakes_a_blocked_waiter(impl, tmp_path):
    w = impl.Watcher(str(tmp_path))
    got: list[list[dict]] = []
    waiter = threading.Thread(target=lambda: got.append(w.wait(30.0)))
    waiter.start()
    time.sleep(0.2)
    w.close()
    waiter.join(DEADLINE_S)
    assert not waiter.is_alive(), "close() did not wake the waiter"
    assert got == [[]]


def test_a_closed_watcher_refuses_calls_and_closes_twice_quietly(impl, tmp_path, expect_error):
    with impl.Watcher(str(tmp_path)) as w:
        pass
    w.close()
    for call in (w.poll, w.info, lambda: w.wait(0.1)):
        expect_error("invalid_argument", call)


def thread_count() -> int:
    return len(os.listdir("/proc/self/task"))


def test_closed_or_dropped_watchers_leave_no_threads_behind(impl, tmp_path):
    import gc

    baseline = thread_count()
    for i in range(6):
        w = impl.Watcher(str(tmp_path))
        (tmp_path / f"d{i}").mkdir()  # keeps the native scanner thread busy
        (tmp_path / f"d{i}" / "f").write_text("x")
        collect(w, has(tmp_path, (f"d{i}/f", "add")))
        if i % 2:
            w.close()
        else:
            del w  # never closed: dropping it must close it
            gc.collect()
    # Both backends join their threads in close(); the deadline only bounds a regression.
    deadline = time.monotonic() + DEADLINE_S
    while thread_count() > baseline and time.monotonic() < deadline:
        time.sleep(0.01)
    assert thread_count() <= baseline


def test_info_reports_the_root_and_counts(impl, tmp_path):
    with impl.Watcher(str(tmp_path / ".." / tmp_path.name)) as w:
        assert w.path == str(tmp_path)
        assert w.info() == {"path": str(tmp_path), "pending": 0, "dropped": 0, "error": None}
        touch(tmp_path / "one")
        deadline = time.monotonic() + DEADLINE_S
        while w.info()["pending"] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert w.info()["pending"] == 1
        assert pairs(w.poll(), tmp_path) == [("one", "add")]
        assert w.info()["pending"] == 0


# ---- bad input -------------------------------------------------------------------------------


def test_watching_a_missing_path_is_not_found(impl, tmp_path, expect_error):
    error = expect_error("not_found", impl.Watcher, str(tmp_path / "nope"))
    assert isinstance(error, FileNotFoundError)


def test_watching_a_file_is_not_a_directory(impl, tmp_path, expect_error):
    (tmp_path / "f").write_text("x")
    expect_error("not_a_directory", impl.Watcher, str(tmp_path / "f"))


@pytest.mark.parametrize("path", ["", "a\0b"])
def test_an_empty_or_nul_path_is_invalid_argument(impl, path, expect_error):
    expect_error("invalid_argument", impl.Watcher, path)


@pytest.mark.parametrize("max_queue", [0, -1, 1_000_001, True, "5", None, 2.5])
def test_max_queue_outside_its_range_is_invalid_argument(impl, tmp_path, max_queue, expect_error):
    expect_error("invalid_argument", impl.Watcher, str(tmp_path), None, max_queue)


@pytest.mark.parametrize("ignore", ["node_modules", [1], {"a": 1}])
def test_ignore_must_be_a_list_of_strings(impl, tmp_path, ignore, expect_error):
    expect_error("invalid_argument", impl.Watcher, str(tmp_path), ignore)


@pytest.mark.parametrize("glob", ["a{b", "[z-a]", "a\\"])
def test_a_bad_glob_is_invalid_pattern(impl, tmp_path, glob, expect_error):
    expect_error("invalid_pattern", impl.Watcher, str(tmp_path), [glob])


@pytest.mark.parametrize("timeout", [-1, float("nan"), "1", None, True])
def test_a_bad_timeout_is_invalid_argument(impl, tmp_path, timeout, expect_error):
    with impl.Watcher(str(tmp_path)) as w:
        expect_error("invalid_argument", w.wait, timeout)


def test_an_infinite_timeout_is_capped_not_refused(impl, tmp_path):
    with impl.Watcher(str(tmp_path)) as w:
        touch(tmp_path / "x")
        assert w.wait(float("inf"))  # returns as soon as the event is there


# ---- names -----------------------------------------------------------------------------------


def test_unicode_and_undecodable_names_are_reported_alike_by_both_backends(both, tmp_path):
    native, python = both
    names = ["日本語 ファイル.txt", "emoji-😀.md", "with\nnewline", "bad-\udcff-byte"]
    with native.Watcher(str(tmp_path)) as wn, python.Watcher(str(tmp_path)) as wp:
        for name in names:
            touch(tmp_path / name)  # "\udcff" is the undecodable byte 0xff
        expected = {str(tmp_path / n.replace("\udcff", "\ufffd")) for n in names}

        def done(events):
            return expected <= {e["path"] for e in events}

        seen_native = {e["path"] for e in collect(wn, done)}
        seen_python = {e["path"] for e in collect(wp, done)}
    assert seen_native == seen_python == expected


# ---- parity ----------------------------------------------------------------------------------

SEGMENTS = st.sampled_from(["a", "b", "lib", "node_modules", "x.log", "y.txt", ".git", "build", "é"])
RELATIVE_PATHS = st.lists(st.lists(SEGMENTS, min_size=1, max_size=3).map("/".join), min_size=1, max_size=6)
GLOBS = st.lists(
    st.sampled_from(
        [
            "a",
            "b/",
            "*.log",
            "**/*.txt",
            "node_modules",
            "/lib",
            "lib/**",
            "lib/**/",
            "**/b/",
            "b/**",
            "!b/",
            "/a/",
            "*/",
            "a/**/b",
            "!a",
            "!*.txt",
            "!lib/a",
            "a/*",
            "*",
            "{a,b}",
            "**/{x,y}.*",
            ".git",
            "é",
            "[a-c]*",
        ]
    ),
    max_size=4,
)
SENTINEL = "SENTINEL"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(relative_paths=RELATIVE_PATHS, globs=GLOBS)
def test_both_backends_report_the_same_paths_for_the_same_globs(both, relative_paths, globs):
    native, python = both
    globs = [*globs, f"!{SENTINEL}"]  # whatever the globs, the sentinel is seen
    with tempfile.TemporaryDirectory(prefix="ironcode-watch-parity-") as folder:
        root = Path(folder)
        with native.Watcher(folder, globs) as wn, python.Watcher(folder, globs) as wp:
            created: set[str] = set()
            for rel in relative_paths:
                try:
                    (root / rel).parent.mkdir(parents=True, exist_ok=True)
                    (root / rel).write_text("x")
                except OSError:  # a file where a folder was asked for: skip it
                    continue
                parts = rel.split("/")
                created.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
            touch(root / SENTINEL)
            matcher = twin_watcher.build_matcher(globs)
            expected = {
                p
                for p in created | {SENTINEL}
                if not twin_watcher.is_ignored(matcher, p, (root / p).is_dir())
            }

            def done(events):
                return expected <= {os.path.relpath(e["path"], root) for e in events}

            seen = {}
            for name, w in (("native", wn), ("python", wp)):
                seen[name] = {
                    os.path.relpath(e["path"], root)
                    for e in settle(w, collect(w, done))
                    if e["kind"] == "add"
                }
    assert seen["native"] == seen["python"] == expected, (globs, relative_paths)


# ---- the public class ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["native", "python"])
def test_the_public_watcher_serves_from_the_backend_chosen_at_construction(name, tmp_path):
    with backend_mod.use(name):
        w = ironcode.Watcher(str(tmp_path), ignore=["*.log"])
    with w:
        assert w.backend == name
        (tmp_path / "a.txt").write_text("x")
        events = collect(w, has(tmp_path, ("a.txt", "add")))
        assert ("a.txt", "add") in pairs(events, tmp_path)
        assert w.info()["path"] == str(tmp_path)


def test_the_default_backend_is_the_decision_tables(tmp_path):
    with ironcode.Watcher(str(tmp_path)) as w:
        assert w.backend == backend_mod.choose("Watcher")


def test_the_twin_checks_for_gone_folders_without_spinning_when_watching_the_root():
    """Watching "/": the walk up from an event's folder stops at "/" (it used to loop forever
    once any folder had been removed)."""
    from types import SimpleNamespace

    from ironcode.twin.watcher import OsEventHandler

    handler = OsEventHandler(SimpleNamespace(prefix="/"))
    handler.gone_folders.add("/gone")
    assert handler.below_gone_folder("/gone/a.txt")
    assert not handler.below_gone_folder("/kept/sub/a.txt")
