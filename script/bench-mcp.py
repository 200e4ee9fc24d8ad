"""Benchmark ``ironcode mcp`` against the SDK's floor and the MCP servers people use for files and git.

One warm session per server over stdio with the official SDK client (``mcp.Client``), the same
inputs, median and p95 per call, timed in interleaved rounds (each round calls every server once)
so load on the shared machine falls on all of them alike. Answers are compared before timing; where
a peer answers differently, the note says how.

- floor: the SDK's MCPServer with a decorated sync no-op (script/mcp_noop_server.py) vs the same
  no-op on ironcode's dispatch (``ironcode mcp --bench-noop``), over stdio and streamable HTTP;
- ironcode: read (2,000 lines), grep (the stdlib tree: files and content; this repository),
  glob, edit, str_replace (the text editor), apply_patch, git_status, git_diff, bash ``true``;
- peers, installed by script/mcp_peers.py into venvs under bench-out/peers/: ``mcp-server-git``
  (git_status, git_diff_unstaged), ``mcp-filesystem-encoding`` (read_file, grep_files,
  edit_file; it needs mcp < 2, hence its own venv) and OpenHands' editor (``openhands-aci``, a
  library, no MCP server: its str_replace is timed in its own process on Python >= 3.12, against
  ironcode's text editor both in-process and over MCP).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import mcp_peers
from benchlib import ROOT, Bench, Row, percentile
from mcp import Client, StdioServerParameters

from ironcode.agent import Toolbox

IRONCODE = str(Path(sys.executable).with_name("ironcode"))
NOOP_SERVER = ROOT / "script" / "mcp_noop_server.py"
#: Rounds per case: at least MIN, more while the case has used less than its budget.
MIN_ROUNDS, MAX_ROUNDS, BUDGET_S = 20, 400, 6.0
QUICK_ROUNDS = 3
#: The regex of the grep cases (few enough matches that every server returns all of them).
PATTERN = r"def \w+_unlocked\("
REPO_PATTERN = r"def test_\w+_root"
HEAD_LIMIT = 5000
TARGETS = {
    "grep stdlib, content": 2.5,
    "grep this repository, content": 4.0,
    "git_status": 2.0,
    "git_diff": 2.0,
}


def env() -> dict[str, str]:
    out = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}
    out.update({k: v for k, v in os.environ.items() if k.startswith("IRONCODE_")})
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def http_server(cmd: list[str], port: int):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{cmd} did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(10)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=b", "-c", "user.email=b@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def make_work(tmp: Path) -> tuple[Path, Path]:
    """A folder with a 2,000-line file, an edit target and a git repository with changes."""
    work = tmp / "work"
    work.mkdir()
    (work / "big.txt").write_text("".join(f"line {i}: text\n" for i in range(2000)))
    (work / "edit.py").write_text("def f():\n    return 1\n")
    (work / "crlf.txt").write_bytes(b"one\r\ntwo\r\n")
    repo = work / "repo"
    repo.mkdir()
    for i in range(20):
        (repo / f"m{i}.py").write_text(f"x = {i}\n" * 50)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    for i in range(3):
        (repo / f"m{i}.py").write_text(f"y = {i}\n" * 50)
    (tmp / "work-evil").mkdir()
    (tmp / "work-evil" / "secret.txt").write_text("secret\n")
    return work, repo


async def timed(bench: Bench, case: str, calls: dict) -> None:
    """Interleaved rounds of ``calls`` (impl -> async fn); one row per impl. A call that returns
    a float has measured itself (seconds, e.g. inside a peer's own process): that is its sample."""
    samples: dict[str, list[float]] = {impl: [] for impl in calls}
    for fn in calls.values():
        await fn()  # warm
    started = time.perf_counter()
    rounds = 0
    while True:
        for impl, fn in calls.items():
            t0 = time.perf_counter()
            own = await fn()
            samples[impl].append(own if isinstance(own, float) else time.perf_counter() - t0)
        rounds += 1
        if bench.quick and rounds >= QUICK_ROUNDS:
            break
        if rounds >= MAX_ROUNDS or (rounds >= MIN_ROUNDS and time.perf_counter() - started > BUDGET_S):
            break
    for impl, got in samples.items():
        bench.rows.append(Row(case, impl, statistics.median(got), percentile(got, 95), len(got)))


def fs_grep_lines(answer: str) -> set[tuple[str, int]]:
    """(path, line) of each match in mcp-filesystem's grep text (a ``path:`` header, then
    ``   N: text`` lines)."""
    found, current = set(), None
    for line in answer.splitlines():
        if line and not line[0].isspace() and line.endswith(":"):
            current = line[:-1]
        elif current and line[:1].isspace():
            number, sep, _ = line.strip().partition(":")
            if sep and number.isdigit():
                found.add((current, int(number)))
    return found


def text(result) -> str:
    return result.content[0].text if result.content else ""


def ratio(bench: Bench, case: str, baseline: str, candidate: str = "native") -> float | None:
    base, cand = bench.median(case, baseline), bench.median(case, candidate)
    return base / cand if base and cand else None


async def run(bench: Bench, tmp: Path) -> None:
    work, repo = make_work(tmp)
    stdlib = sysconfig.get_paths()["stdlib"]
    async with contextlib.AsyncExitStack() as stack:

        async def session(command: str, args: list[str], cwd: Path = work, **extra: str) -> Client:
            params = StdioServerParameters(command=command, args=args, env={**env(), **extra}, cwd=str(cwd))
            return await stack.enter_async_context(Client(params))

        our_args = ["mcp", "--bench-noop", "--root", str(work), "--root", stdlib, "--root", str(ROOT)]
        # native: the server as users get it (the engine's native backend); python: the same
        # server on the pure-Python twin (IRONCODE_BACKEND=python).
        ours = await session(IRONCODE, our_args, IRONCODE_BACKEND="native")
        ours_py = await session(IRONCODE, our_args, IRONCODE_BACKEND="python")
        sdk = await session(sys.executable, [str(NOOP_SERVER)])
        git_python = mcp_peers.ensure("git", quick=bench.quick)
        git_peer = await session(str(git_python), ["-m", "mcp_server_git", "--repository", str(repo)])
        fs_bin = mcp_peers.ensure("fs", quick=bench.quick).with_name("mcp-filesystem-encoding")
        fs_peer = await session(str(fs_bin), [str(work), stdlib, str(ROOT)])

        # -- the floor --
        case = "noop (stdio)"
        await timed(
            bench,
            case,
            {
                "sdk-decorated": lambda: sdk.call_tool("noop", {}),
                "native": lambda: ours.call_tool("noop", {}),
            },
        )
        sdk_port, our_port = free_port(), free_port()
        with (
            http_server([sys.executable, str(NOOP_SERVER), "--http", str(sdk_port)], sdk_port) as sdk_url,
            http_server(
                [IRONCODE, "mcp", "--bench-noop", "--http", f"127.0.0.1:{our_port}", "--root", str(work)],
                our_port,
            ) as our_url,
        ):
            async with Client(sdk_url) as sdk_http, Client(our_url) as our_http:
                await timed(
                    bench,
                    "noop (HTTP)",
                    {
                        "sdk-decorated": lambda: sdk_http.call_tool("noop", {}),
                        "native": lambda: our_http.call_tool("noop", {}),
                    },
                )
        floor = ratio(bench, "noop (stdio)", "sdk-decorated")
        bench.note(
            f"floor: a no-op on ironcode's dispatch {bench.median('noop (stdio)', 'native') * 1e3:.2f} ms vs the SDK's "
            f"decorated no-op {bench.median('noop (stdio)', 'sdk-decorated') * 1e3:.2f} ms over stdio ({floor:.2f}x); "
            f"over HTTP {bench.median('noop (HTTP)', 'native') * 1e3:.2f} vs "
            f"{bench.median('noop (HTTP)', 'sdk-decorated') * 1e3:.2f} ms "
            f"(target: our share below the SDK's default path: {'met' if floor and floor >= 1 else 'missed'})"
        )

        # -- read --
        big = str(work / "big.txt")
        want = (work / "big.txt").read_text()
        r_ours = await ours.call_tool("read", {"file_path": big, "limit": 2000})
        r_fs = await fs_peer.call_tool("read_file", {"path": big})
        assert "\n".join(r_ours.structured_content["lines"]).rstrip("\n") == want.rstrip("\n"), (
            "ironcode read differs"
        )
        assert text(r_fs).rstrip("\n") == want.rstrip("\n"), f"fs peer read differs: {text(r_fs)[:200]!r}"
        await timed(
            bench,
            "read 2,000 lines",
            {
                "native": lambda: ours.call_tool("read", {"file_path": big, "limit": 2000}),
                "python": lambda: ours_py.call_tool("read", {"file_path": big, "limit": 2000}),
                "mcp-filesystem": lambda: fs_peer.call_tool("read_file", {"path": big}),
            },
        )

        # -- grep --
        for case, root, pattern in (
            ("grep stdlib, content", stdlib, PATTERN),
            ("grep this repository, content", str(ROOT), REPO_PATTERN),
        ):
            g_ours = await ours.call_tool(
                "grep", {"pattern": pattern, "path": root, "output_mode": "content", "head_limit": HEAD_LIMIT}
            )
            g_fs = await fs_peer.call_tool(
                "grep_files", {"path": root, "pattern": pattern, "is_regex": True, "max_results": HEAD_LIMIT}
            )
            ours_lines = {(m["path"], m["line"]) for m in g_ours.structured_content["matches"]}
            fs_lines = fs_grep_lines(text(g_fs))
            bench.note(
                f"{case}: {len(ours_lines)} match lines; mcp-filesystem "
                + (
                    "the same"
                    if fs_lines == ours_lines
                    else f"differs: {len(fs_lines)} lines, {len(fs_lines ^ ours_lines)} not in both"
                )
            )
            calls = {
                "native": lambda root=root, pattern=pattern: ours.call_tool(
                    "grep",
                    {
                        "pattern": pattern,
                        "path": root,
                        "output_mode": "content",
                        "head_limit": HEAD_LIMIT,
                    },
                ),
                "mcp-filesystem": lambda root=root, pattern=pattern: fs_peer.call_tool(
                    "grep_files",
                    {"path": root, "pattern": pattern, "is_regex": True, "max_results": HEAD_LIMIT},
                ),
            }
            if root == str(ROOT):  # the twin takes seconds a call over the stdlib (bench-grep.py)
                calls["python"] = lambda root=root, pattern=pattern: ours_py.call_tool(
                    "grep",
                    {"pattern": pattern, "path": root, "output_mode": "content", "head_limit": HEAD_LIMIT},
                )
            await timed(bench, case, calls)
        await timed(
            bench,
            "grep stdlib, files",
            {
                "native": lambda: ours.call_tool(
                    "grep", {"pattern": PATTERN, "path": stdlib, "head_limit": HEAD_LIMIT}
                )
            },
        )
        bench.absent("grep stdlib, files", "mcp-filesystem", "no files-only mode")

        # -- glob, edit, patch, bash --
        await timed(
            bench,
            "glob **/*.py (this repository)",
            {
                "native": lambda: ours.call_tool("glob", {"pattern": "**/*.py", "path": str(ROOT)}),
                "python": lambda: ours_py.call_tool("glob", {"pattern": "**/*.py", "path": str(ROOT)}),
            },
        )
        edit_path = str(work / "edit.py")
        await ours.call_tool("read", {"file_path": edit_path})
        state = {"ours": 0, "fs": 0}

        async def our_edit():
            a, b = ("return 1", "return 2") if state["ours"] % 2 == 0 else ("return 2", "return 1")
            state["ours"] += 1
            r = await ours.call_tool("edit", {"file_path": edit_path, "old_string": a, "new_string": b})
            assert not r.is_error, text(r)

        async def fs_edit():
            a, b = ("return 1", "return 2") if state["fs"] % 2 == 0 else ("return 2", "return 1")
            state["fs"] += 1
            await fs_peer.call_tool("edit_file", {"path": edit_path, "edits": [{"oldText": a, "newText": b}]})

        # Each side flips the file and back within a round, so both always find their old text.
        async def our_pair():
            await our_edit()
            await our_edit()

        async def fs_pair():
            await fs_edit()
            await fs_edit()

        await timed(
            bench, "edit (two edits, there and back)", {"native": our_pair, "mcp-filesystem": fs_pair}
        )
        await str_replace_case(bench, ours, work)
        patch_target = work / "patched.txt"
        patch_target.write_text("alpha\n")
        flip = {"n": 0}

        async def our_patch():
            a, b = ("alpha", "beta") if flip["n"] % 2 == 0 else ("beta", "alpha")
            flip["n"] += 1
            patch = f"*** Begin Patch\n*** Update File: {patch_target}\n@@\n-{a}\n+{b}\n*** End Patch\n"
            r = await ours.call_tool("apply_patch", {"patch": patch})
            assert not r.is_error, text(r)

        await timed(bench, "apply_patch (one chunk)", {"native": our_patch})
        bench.absent("apply_patch (one chunk)", "mcp-filesystem", "no patch tool")
        await timed(bench, "bash true", {"native": lambda: ours.call_tool("bash", {"command": "true"})})
        bench.absent("bash true", "mcp-filesystem", "no shell tool")

        # -- git --
        s_ours = await ours.call_tool("git_status", {"path": str(repo)})
        s_peer = await git_peer.call_tool("git_status", {"repo_path": str(repo)})
        changed = sorted(f["path"] for f in s_ours.structured_content["files"])
        assert changed and all(p in text(s_peer) for p in changed), (changed, text(s_peer))
        await timed(
            bench,
            "git_status",
            {
                "native": lambda: ours.call_tool("git_status", {"path": str(repo)}),
                "python": lambda: ours_py.call_tool("git_status", {"path": str(repo)}),
                "mcp-server-git": lambda: git_peer.call_tool("git_status", {"repo_path": str(repo)}),
            },
        )
        d_ours = await ours.call_tool("git_diff", {"path": str(repo)})
        d_peer = await git_peer.call_tool("git_diff_unstaged", {"repo_path": str(repo)})
        ours_plus = sorted(
            line for line in d_ours.structured_content["diff"].splitlines() if line.startswith("+y")
        )
        peer_plus = sorted(line for line in text(d_peer).splitlines() if line.startswith("+y"))
        assert ours_plus == peer_plus and ours_plus, "git diffs differ"
        await timed(
            bench,
            "git_diff",
            {
                "native": lambda: ours.call_tool("git_diff", {"path": str(repo)}),
                "python": lambda: ours_py.call_tool("git_diff", {"path": str(repo)}),
                "mcp-server-git": lambda: git_peer.call_tool("git_diff_unstaged", {"repo_path": str(repo)}),
            },
        )

        # -- where the peers answer differently --
        crlf = str(work / "crlf.txt")
        await fs_peer.call_tool("edit_file", {"path": crlf, "edits": [{"oldText": "two", "newText": "2"}]})
        fs_bytes = (work / "crlf.txt").read_bytes()
        (work / "crlf.txt").write_bytes(b"one\r\ntwo\r\n")
        await ours.call_tool("read", {"file_path": crlf})
        await ours.call_tool("edit", {"file_path": crlf, "old_string": "two", "new_string": "2"})
        our_bytes = (work / "crlf.txt").read_bytes()
        bench.note(f"CRLF file edited (two -> 2): ironcode leaves {our_bytes!r}, mcp-filesystem {fs_bytes!r}")
        evil = str(tmp / "work-evil" / "secret.txt")
        e_fs = await fs_peer.call_tool("read_file", {"path": evil})
        e_ours = await ours.call_tool("read", {"file_path": evil})
        bench.note(
            f"sibling work-evil/secret.txt (outside the root work/): mcp-filesystem "
            f"{'READ it' if 'secret' in text(e_fs) and 'denied' not in text(e_fs).lower() else 'refused'} "
            f"(isError {e_fs.is_error}: {text(e_fs)[:80]!r}); ironcode isError {e_ours.is_error}, "
            f"kind {(e_ours.structured_content or {}).get('kind')}"
        )
        outside = await fs_peer.call_tool("read_file", {"path": "/etc/hostname"})
        bench.note(
            f"a path outside every root (/etc/hostname): mcp-filesystem isError {outside.is_error}: {text(outside)[:100]!r}"
        )
        other = tmp / "other-repo"
        other.mkdir()
        git(other, "init", "-q")
        g_other = await git_peer.call_tool("git_status", {"repo_path": str(other)})
        bench.note(
            f"mcp-server-git --repository repo, asked about another repository: isError {g_other.is_error}: {text(g_other)[:100]!r}"
        )

    for case, target in TARGETS.items():
        peer = "mcp-server-git" if case.startswith("git") else "mcp-filesystem"
        r = ratio(bench, case, peer)
        bench.note(
            f"{case}: ironcode {r:.2f}x vs {peer} (target >= {target}x: {'met' if r and r >= target else 'missed'})"
        )
    for case in ("read 2,000 lines", "edit (two edits, there and back)"):
        r = ratio(bench, case, "mcp-filesystem")
        bench.note(
            f"{case}: ironcode {r:.2f}x vs mcp-filesystem (target >= 1.0x: {'met' if r and r >= 1 else 'missed'})"
        )


STR_REPLACE_CASE = "str_replace (two edits, there and back)"


async def str_replace_case(bench: Bench, ours: Client, work: Path) -> None:
    """Anthropic's text editor, str_replace there and back: ironcode's over MCP (``native``) and
    in-process (``native-inprocess``, a Toolbox), and OpenHands' editor in-process in its own
    worker on Python >= 3.12 (the time the worker reports: the editor's own, no pipe)."""
    files = {impl: work / f"sr-{impl}.py" for impl in ("native", "native-inprocess", "openhands-aci")}
    for path in files.values():
        path.write_text("def f():\n    return 1\n")
    box = Toolbox(roots=[str(work)])
    try:
        editor = mcp_peers.OpenHandsEditor(mcp_peers.ensure("openhands", quick=bench.quick), work)
    except mcp_peers.PeerUnavailable as e:
        editor = None
        bench.absent(STR_REPLACE_CASE, "openhands-aci", str(e))
    try:
        await ours.call_tool("str_replace_based_edit_tool", {"command": "view", "path": str(files["native"])})
        box.call("str_replace_based_edit_tool", {"command": "view", "path": str(files["native-inprocess"])})
        if editor:
            editor.call(command="view", path=str(files["openhands-aci"]))

        def flip(n: int) -> tuple[str, str]:
            return ("return 1", "return 2") if n % 2 == 0 else ("return 2", "return 1")

        async def mcp_edit(n: int) -> None:
            a, b = flip(n)
            r = await ours.call_tool(
                "str_replace_based_edit_tool",
                {"command": "str_replace", "path": str(files["native"]), "old_str": a, "new_str": b},
            )
            assert not r.is_error, text(r)

        def box_edit(n: int) -> None:
            a, b = flip(n)
            r = box.call(
                "str_replace_based_edit_tool",
                {
                    "command": "str_replace",
                    "path": str(files["native-inprocess"]),
                    "old_str": a,
                    "new_str": b,
                },
            )
            assert not r.is_error, r.text

        def oh_edit(n: int) -> float:
            a, b = flip(n)
            got = editor.call(command="str_replace", path=str(files["openhands-aci"]), old_str=a, new_str=b)
            assert got["error"] is None, got["error"]
            return got["seconds"]

        # The same answer first: one edit each leaves the same bytes.
        await mcp_edit(0)
        box_edit(0)
        if editor:
            oh_edit(0)
        contents = {
            impl: path.read_bytes() for impl, path in files.items() if editor or impl != "openhands-aci"
        }
        assert len(set(contents.values())) == 1, contents
        await mcp_edit(1)
        box_edit(1)
        if editor:
            oh_edit(1)

        async def mcp_pair() -> None:
            await mcp_edit(0)
            await mcp_edit(1)

        async def box_pair() -> None:
            box_edit(0)
            box_edit(1)

        async def oh_pair() -> float:
            return oh_edit(0) + oh_edit(1)

        calls = {"native": mcp_pair, "native-inprocess": box_pair}
        if editor:
            calls["openhands-aci"] = oh_pair
        await timed(bench, STR_REPLACE_CASE, calls)
        if editor:
            crlf = work / "sr-crlf.txt"
            crlf.write_bytes(b"one\r\ntwo\r\n")
            editor.call(command="view", path=str(crlf))
            got = editor.call(command="str_replace", path=str(crlf), old_str="two", new_str="2")
            oh_bytes = crlf.read_bytes()
            crlf.write_bytes(b"one\r\ntwo\r\n")
            box.call("str_replace_based_edit_tool", {"command": "view", "path": str(crlf)})
            box.call(
                "str_replace_based_edit_tool",
                {"command": "str_replace", "path": str(crlf), "old_str": "two", "new_str": "2"},
            )
            bench.note(
                f"CRLF file, str_replace two -> 2: ironcode leaves {crlf.read_bytes()!r}, openhands-aci "
                f"{editor.version} {oh_bytes!r}" + (f" (it answered {got['error']})" if got["error"] else "")
            )
            for impl in ("native-inprocess", "native"):
                r = ratio(bench, STR_REPLACE_CASE, "openhands-aci", impl)
                bench.note(
                    f"{STR_REPLACE_CASE}: ironcode {impl} {r:.2f}x vs openhands-aci in-process "
                    f"({'faster' if r >= 1 else 'slower'})"
                )
    finally:
        box.close()
        if editor:
            editor.close()


def main() -> int:
    bench = Bench("mcp", __doc__.splitlines()[0])
    with tempfile.TemporaryDirectory(prefix="bench-mcp-") as tmp:
        asyncio.run(run(bench, Path(tmp).resolve()))
    bench.note(
        "one warm stdio session per server (SDK client); medians of interleaved rounds; 2 shared cores"
    )
    bench.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
