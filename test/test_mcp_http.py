"""``ironcode mcp --http`` (AGENT.md "MCP server"): the real console script serving streamable HTTP
on loopback, driven by the SDK's own client and by raw HTTP requests.

- the SDK client over HTTP (both protocol eras): tools with their hints and valid schemas, read, grep,
  glob and git_status answered with structuredContent that matches the outputSchema, errors as
  isError results carrying ``{kind, message}``;
- the guard, in AGENT.md's order: a foreign Host is 421 and a foreign Origin 403 before anything else,
  then the bearer token (401, JSON-RPC -32001, ``WWW-Authenticate: Bearer``), then the body limit
  (over 4 MiB is 413) and the JSON parse (400, -32700) — and the server answers afterwards; a
  non-loopback address without ``--token-env`` refuses to start;
- load: 8 concurrent SDK sessions x 200 mixed calls with 1 % malformed ones, every answer checked,
  memory, descriptors and child processes back where they were;
- cancellation: a running ``sleep 60`` whose request is cancelled by the client is killed;
- SIGTERM: the server exits 0 within a few seconds and leaves no process (checked for every server
  this file starts, when it is stopped).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import jsonschema
import pytest
from jsonschema.validators import validator_for
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from ironcode.agent import Toolbox
from ironcode.mcp import served_output_schema

from .conftest import require_tool

pytestmark = pytest.mark.slow

#: The console script a client configuration names.
IRONCODE = str(Path(sys.executable).with_name("ironcode"))
#: Bounds the waits for an outside condition (the port open, a process gone); never a speed test.
PATIENCE_S = 30.0
#: "Exits within a few seconds" of SIGTERM (AGENT.md: every process gone within 2 s, then exit 0).
EXIT_S = 5.0
#: How long a cancelled bash command may outlive its cancellation.
CANCEL_KILL_S = 3.0
TOKEN_VAR = "IRONCODE_TEST_TOKEN"
TOKEN = "t0ken-" + "9f3a" * 8
MAX_BODY = 4 * 1024 * 1024
BIG_BODY = 50 * 1024 * 1024
MIB = 1024 * 1024


# ---- the tree the servers serve ---------------------------------------------------------------------

FILES = {
    "README.md": "# demo\nalpha beta\n",
    "src/app.py": "def add(a, b):\n    return a + b\n",
    "src/util.py": "def twice(x):\n    return 2 * x\n",
    "notes/todo.txt": "TODO: one\nTODO: two\n",
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """A committed (clean) repository, and a sibling folder outside it with a secret."""
    require_tool("git")
    base = tmp_path_factory.mktemp("mcp-http")
    root = base / "proj"
    for name, content in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "first"]):
        subprocess.run([*git, *args], cwd=root, check=True, capture_output=True)
    (base / "proj-evil").mkdir()
    (base / "proj-evil" / "secret.txt").write_text("secret\n")
    return root


def lines_of(name: str) -> list[str]:
    return FILES[name].splitlines()


def under(root: Path, *names: str) -> list[str]:
    return sorted(str(root / n) for n in names)


# ---- the server process -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(**extra: str) -> dict[str, str]:
    """PATH, the IRONCODE_* settings of this run (a forced backend, the library), and ``extra``."""
    env = {"PATH": os.environ["PATH"]}
    env.update({k: v for k, v in os.environ.items() if k.startswith("IRONCODE_")})
    env.update(extra)
    return env


@dataclass
class Served:
    proc: subprocess.Popen
    port: int
    log: Path
    stopped: bool = field(default=False)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def assert_up(self) -> None:
        assert self.proc.poll() is None, f"the server died ({self.proc.returncode}): {self.stderr()}"

    def stop(self) -> None:
        """SIGTERM; the server must exit 0 within EXIT_S and leave no process behind."""
        if self.stopped:
            return
        self.stopped = True
        kids = descendants(self.pid)
        self.proc.send_signal(signal.SIGTERM)
        start = time.monotonic()
        try:
            rc = self.proc.wait(timeout=EXIT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"ironcode mcp --http still running {EXIT_S} s after SIGTERM: {self.stderr()}"
            ) from None
        took = time.monotonic() - start
        left = [p for p in kids if alive(p)]
        assert not left, f"processes of the server left after it exited: {left}"
        assert rc == 0, (
            f"ironcode mcp --http exited with {rc}"
            + (f" (killed by {signal.Signals(-rc).name})" if rc < 0 else "")
            + f" {took:.2f} s after SIGTERM; AGENT.md says it exits 0. stderr: {self.stderr()!r}"
        )


def start_server(root: Path, tmp: Path, *flags: str, env: dict[str, str] | None = None) -> Served:
    """``ironcode mcp --http 127.0.0.1:<free port> --root root *flags``, once its port accepts."""
    for attempt in range(3):
        port = free_port()
        log = tmp / f"server-{port}.log"
        with open(log, "wb") as err:
            proc = subprocess.Popen(
                [IRONCODE, "mcp", "--http", f"127.0.0.1:{port}", "--root", str(root), *flags],
                env=env or server_env(),
                cwd=root,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        served = Served(proc, port, log)
        end = time.monotonic() + PATIENCE_S
        while proc.poll() is None and time.monotonic() < end:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                return served
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            raise AssertionError(f"the server did not open port {port} in {PATIENCE_S} s: {served.stderr()}")
        if "address already in use" not in served.stderr().lower() or attempt == 2:
            raise AssertionError(f"the server exited at start ({proc.returncode}): {served.stderr()}")
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def server(tree, tmp_path_factory):
    served = start_server(tree, tmp_path_factory.mktemp("log"))
    try:
        yield served
    finally:
        if served.proc.poll() is None:
            served.stop()


@pytest.fixture(scope="module")
def token_server(tree, tmp_path_factory):
    served = start_server(
        tree, tmp_path_factory.mktemp("log"), "--token-env", TOKEN_VAR, env=server_env(**{TOKEN_VAR: TOKEN})
    )
    try:
        yield served
    finally:
        if served.proc.poll() is None:
            served.stop()


# ---- /proc -----------------------------------------------------------------------------------------------


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first, then ppid)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def children(pid: int) -> list[tuple[int, str, str]]:
    """(pid, state, command line) of every process whose parent is ``pid``, zombies included."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(entry)) is not None and int(fields[1]) == pid:
            found.append((int(entry), fields[0], cmdline(int(entry))))
    return found


def descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(entry)) is not None:
            parents[int(entry)] = int(fields[1])
    found, frontier = [], {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier}
        found.extend(frontier)
    return found


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def poll(condition, seconds: float, step: float = 0.05) -> bool:
    end = time.monotonic() + seconds
    while True:
        if condition():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(step)


# ---- clients ------------------------------------------------------------------------------------------------


def run(coro, timeout: float = 120.0):
    """Runs ``coro`` on a fresh loop; a hang is a failure after ``timeout``, not a stuck suite."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


@contextlib.asynccontextmanager
async def sdk_client(url: str, *, token: str | None = None, mode: str = "auto") -> AsyncIterator[Client]:
    """The SDK's client over streamable HTTP; with ``token``, an httpx2 client that sends it."""
    if token is None:
        async with Client(url, mode=mode) as client:
            yield client
        return
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300)) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
            yield client


def text_of(result) -> str:
    assert len(result.content) == 1 and result.content[0].type == "text", result.content
    assert result.content[0].text
    return result.content[0].text


def check_ok(result, schemas: dict, name: str) -> dict:
    assert not result.is_error, f"{name} failed: {text_of(result)}"
    text_of(result)
    jsonschema.validate(result.structured_content, schemas[name])
    return result.structured_content


def check_error(result, kind: str) -> dict:
    text = text_of(result)
    assert result.is_error, f"expected {kind}, got a success: {text}"
    assert result.structured_content == {"kind": kind, "message": text}, result.structured_content
    return result.structured_content


async def output_schemas(client: Client) -> dict:
    return {t.name: t.output_schema for t in (await client.list_tools()).tools}


# ---- raw HTTP -------------------------------------------------------------------------------------------------

MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
LIST_TOOLS = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}})


def post(port: int, body: bytes | str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    """One POST /mcp; ``headers`` may replace Host. Returns status, headers (lowercase), body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PATIENCE_S)
    try:
        conn.request("POST", "/mcp", body=body, headers={**MCP_HEADERS, **(headers or {})})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def post_big(port: int, size: int, headers: dict[str, str], *, chunked: bool = False, send_body: bool = True):
    """A POST of ``size`` bytes over a raw socket (declared length, or chunked). The server may
    answer before the body is in: sending stops as soon as there is an answer (or the peer closes),
    so the answer is read rather than lost in a reset. Returns (status, body bytes sent)."""
    fields = {"Host": f"127.0.0.1:{port}", "Content-Type": "application/json", **headers}
    fields["Transfer-Encoding" if chunked else "Content-Length"] = "chunked" if chunked else str(size)
    head = "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    piece = b"x" * (256 * 1024)
    frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
    sent = 0
    with socket.create_connection(("127.0.0.1", port), PATIENCE_S) as s:
        s.sendall(f"POST /mcp HTTP/1.1\r\n{head}\r\n".encode())
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            while send_body and sent < size and not select.select([s], [], [], 0)[0]:
                s.sendall(frame)
                sent += len(piece)
            if chunked and sent >= size:
                s.sendall(b"0\r\n\r\n")
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while b"\r\n" not in answer:
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 "), f"no HTTP answer after {sent} bytes: {answer[:200]!r}"
    return int(answer.split()[1]), sent


async def read_works(url: str, root: Path, token: str | None = None) -> None:
    async with sdk_client(url, token=token) as client:
        result = await client.call_tool("read", {"file_path": "README.md"})
    assert not result.is_error, text_of(result)
    assert result.structured_content["lines"] == lines_of("README.md")


# ---- 1. the SDK's client --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode, era", [("auto", "2026-07-28"), ("legacy", "2025-11-25")])
def test_sdk_client_lists_every_tool_with_hints_and_valid_schemas(server, tree, mode, era):
    async def go():
        async with sdk_client(server.url, mode=mode) as client:
            return (await client.list_tools()).tools, client.protocol_version, client.server_info

    listed, version, info = run(go())
    assert version == era
    assert info.name == "ironcode"
    with Toolbox(roots=[str(tree)]) as box:
        expected = {t.name: t for t in box.tools}
    assert [t.name for t in listed] == list(expected)
    for tool in listed:
        want = expected[tool.name]
        assert tool.title == want.title and tool.description == want.description
        assert tool.input_schema == want.input_schema and tool.output_schema == served_output_schema(
            want.output_schema
        )
        for schema in (tool.input_schema, tool.output_schema):
            assert schema is not None and schema["type"] == "object", tool.name
            validator_for(schema).check_schema(schema)
        hints = tool.annotations
        assert hints is not None, tool.name
        got = {
            "readOnlyHint": hints.read_only_hint,
            "destructiveHint": hints.destructive_hint,
            "idempotentHint": hints.idempotent_hint,
            "openWorldHint": hints.open_world_hint,
        }
        assert got == want.annotations, tool.name
        assert all(isinstance(v, bool) for v in got.values()), (tool.name, got)
    assert {t.name for t in listed if t.annotations.read_only_hint} >= {"read", "grep", "glob", "git_status"}


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_sdk_client_reads_greps_globs_and_gets_git_status(server, tree, mode):
    async def go():
        async with sdk_client(server.url, mode=mode) as client:
            schemas = await output_schemas(client)
            calls = [
                ("read", {"file_path": "src/app.py"}),
                ("read", {"file_path": str(tree / "notes/todo.txt"), "offset": 2, "limit": 1}),
                ("grep", {"pattern": "def "}),
                ("grep", {"pattern": "TODO", "output_mode": "content"}),
                ("grep", {"pattern": "no such text anywhere"}),
                ("glob", {"pattern": "**/*.py"}),
                ("git_status", {}),
            ]
            return [(name, await client.call_tool(name, args), schemas) for name, args in calls]

    answers = run(go())
    data = [check_ok(result, schemas, name) for name, result, schemas in answers]
    texts = [text_of(result) for _, result, _ in answers]
    read_app, read_todo, grep_def, _, grep_none, glob_py, status = data
    assert read_app["path"] == str(tree / "src/app.py") and read_app["lines"] == lines_of("src/app.py")
    assert read_app["total_lines"] == 2 and not read_app["truncated"]
    assert "1: def add(a, b):" in texts[0]
    assert read_todo["lines"] == ["TODO: two"] and read_todo["offset"] == 2
    assert sorted(grep_def["files"]) == under(tree, "src/app.py", "src/util.py")
    assert "TODO: one" in texts[3] and "TODO: two" in texts[3] and str(tree / "notes/todo.txt") in texts[3]
    assert grep_none["files"] == [] and texts[4] == "No files found"
    assert sorted(glob_py["files"]) == under(tree, "src/app.py", "src/util.py")
    assert status["branch"] == "main" and status["files"] == []
    assert status["root"] == str(tree)


def test_sdk_client_errors_are_iserror_results_with_kind_and_message(server, tree):
    secret = tree.parent / "proj-evil" / "secret.txt"

    async def go():
        async with sdk_client(server.url) as client:
            return [
                ("outside_root", await client.call_tool("read", {"file_path": str(secret)})),
                ("outside_root", await client.call_tool("read", {"file_path": "../proj-evil/secret.txt"})),
                (
                    "outside_root",
                    await client.call_tool("grep", {"pattern": "secret", "path": str(secret.parent)}),
                ),
                ("unknown_tool", await client.call_tool("no_such_tool", {"x": 1})),
                ("invalid_argument", await client.call_tool("read", {"file_path": 42})),
                ("invalid_argument", await client.call_tool("read", {})),
                ("not_found", await client.call_tool("read", {"file_path": "missing.txt"})),
            ]

    for kind, result in run(go()):
        data = check_error(result, kind)
        assert "secret\n" not in data["message"] and "Traceback" not in data["message"]


# ---- 2. the guard ------------------------------------------------------------------------------------------------


def test_foreign_host_is_421_and_foreign_origin_is_403(server, tree):
    port = server.port
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1.evil.example:{port}"):
        status, _, body = post(port, LIST_TOOLS, {"Host": host})
        assert status == 421, (host, status, body)
    for origin in ("http://evil.example", f"http://evil.example:{port}", "null"):
        status, _, body = post(port, LIST_TOOLS, {"Origin": origin})
        assert status == 403, (origin, status, body)
    # The same requests with this machine's names get past the guard (to the parse error).
    for extra in (
        {"Host": f"localhost:{port}"},
        {"Origin": f"http://127.0.0.1:{port}"},
        {"Origin": "http://localhost"},
    ):
        status, _, body = post(port, b"{not json", extra)
        assert status == 400, (extra, status, body)
    run(read_works(server.url, tree))
    server.assert_up()


def test_bad_json_is_400_parse_error_and_the_server_still_answers(server, tree):
    for body in (b"{not json", b'{"jsonrpc": "2.0", "id": 1, "method": ', b"\xff\xfe\x00garbage"):
        status, headers, answer = post(server.port, body)
        assert status == 400, (body, status, answer)
        assert headers.get("content-type", "").startswith("application/json"), headers
        assert json.loads(answer)["error"]["code"] == -32700, answer
    run(read_works(server.url, tree))
    server.assert_up()


def test_a_body_over_4_mib_is_413_and_the_server_still_answers(server, tree):
    # Declared (refused from the header) and streamed chunked (refused once it passes 4 MiB).
    status, sent = post_big(server.port, BIG_BODY, {})
    assert status == 413, status
    status, sent = post_big(server.port, BIG_BODY, {}, chunked=True)
    assert status == 413, status
    assert sent < BIG_BODY, f"the whole {BIG_BODY} bytes were taken before the answer"
    status, _ = post_big(server.port, MAX_BODY + 1, {}, send_body=False)
    assert status == 413, status
    run(read_works(server.url, tree))
    server.assert_up()


def test_token_missing_or_wrong_is_401_with_a_jsonrpc_body(token_server, tree):
    port = token_server.port
    for auth in (
        None,
        "Bearer wrong",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        f"Basic {TOKEN}",
        TOKEN,
        "Bearer ",
    ):
        status, headers, body = post(port, LIST_TOOLS, None if auth is None else {"Authorization": auth})
        assert status == 401, (auth, status, body)
        assert headers.get("www-authenticate", "").lower().startswith("bearer"), headers
        assert json.loads(body)["error"]["code"] == -32001, body
    # The right token gets past the guard (bad JSON is then the SDK's 400).
    status, _, body = post(port, b"{not json", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 400, (status, body)
    token_server.assert_up()


def test_token_server_refuses_the_sdk_client_without_the_token(token_server):
    async def go():
        async with sdk_client(token_server.url) as client:
            await client.list_tools()

    with pytest.raises(BaseException) as info:
        run(go(), timeout=30)
    assert "Unauthorized" in repr(info.value) or "401" in repr(info.value), repr(info.value)
    assert not isinstance(info.value, (asyncio.TimeoutError, TimeoutError)), "it hung instead of failing"


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_token_server_serves_the_sdk_client_with_the_token(token_server, tree, mode):
    async def go():
        async with sdk_client(token_server.url, token=TOKEN, mode=mode) as client:
            schemas = await output_schemas(client)
            read = await client.call_tool("read", {"file_path": "README.md"})
            grep = await client.call_tool("grep", {"pattern": "alpha"})
            outside = await client.call_tool("read", {"file_path": "/etc/hostname"})
            return schemas, read, grep, outside

    schemas, read, grep, outside = run(go())
    assert check_ok(read, schemas, "read")["lines"] == lines_of("README.md")
    assert check_ok(grep, schemas, "grep")["files"] == under(tree, "README.md")
    check_error(outside, "outside_root")


def test_host_and_origin_are_checked_before_the_token_and_the_token_before_the_body_limit(token_server):
    port = token_server.port
    assert post(port, LIST_TOOLS, {"Host": "evil.example"})[0] == 421
    assert post(port, LIST_TOOLS, {"Host": "evil.example", "Authorization": "Bearer wrong"})[0] == 421
    assert post(port, LIST_TOOLS, {"Origin": "http://evil.example"})[0] == 403
    # A foreign Host with a body over the limit: the Host answers first (421, not 413 or 401).
    assert post_big(port, BIG_BODY, {"Host": "evil.example"}, send_body=False)[0] == 421
    assert post_big(port, BIG_BODY, {"Origin": "http://evil.example"}, send_body=False)[0] == 403
    # No token and a body over the limit: 401, not 413; with the token: 413.
    assert post_big(port, BIG_BODY, {}, send_body=False)[0] == 401
    status, _ = post_big(port, BIG_BODY, {"Authorization": f"Bearer {TOKEN}"})
    assert status == 413
    token_server.assert_up()


@pytest.mark.parametrize(
    "flags, env, says",
    [
        ([], {}, ["0.0.0.0", "--token-env"]),
        (["--token-env", TOKEN_VAR], {}, [TOKEN_VAR]),  # the variable is unset
        (["--token-env", TOKEN_VAR], {TOKEN_VAR: "  "}, [TOKEN_VAR]),  # blank
    ],
    ids=["no-token-env", "unset-variable", "blank-variable"],
)
def test_non_loopback_without_a_token_refuses_to_start(tree, flags, env, says):
    port = free_port()
    env = {k: v for k, v in server_env().items() if k != TOKEN_VAR} | env
    done = subprocess.run(
        [IRONCODE, "mcp", "--http", f"0.0.0.0:{port}", "--root", str(tree), *flags],
        env=env,
        cwd=tree,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
    )
    assert done.returncode != 0, done
    assert done.returncode == 2, (done.returncode, done.stderr)
    for word in says:
        assert word in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        pass


# ---- 3. load -------------------------------------------------------------------------------------------------------

CLIENTS = 8
CALLS = 200
#: 1 % of each client's calls are malformed (raw bad JSON, an unknown tool, wrong argument types).
MALFORMED_AT = (50, 150)
RSS_GROWTH_LIMIT = 50 * MIB
FD_SLACK = 4

WRONG_TYPES = [
    ("read", {"file_path": 123}, "file_path"),
    ("read", {"file_path": "README.md", "offset": "two"}, "offset"),
    ("grep", {"pattern": ["def"]}, "pattern"),
    ("glob", {"pattern": None}, "pattern"),
    ("ls", {"path": 7}, "path"),
    ("parse_bash", {"command": {"x": 1}}, "command"),
    ("grep", {"pattern": "def", "head_limit": "ten"}, "head_limit"),
    ("git_status", {"path": False}, "path"),
]


def valid_call(tree: Path, k: int, i: int):
    """The i-th valid call of client k, and a check of its answer (data, text)."""
    kind = (i + k) % 6
    if kind == 0:
        name = sorted(FILES)[(i // 6) % len(FILES)]

        def check(data, text):
            assert data["path"] == str(tree / name) and data["lines"] == lines_of(name), data
            assert f"1: {lines_of(name)[0]}" in text, text

        return "read", {"file_path": name}, check
    if kind == 1:
        pattern, names = [("def ", ["src/app.py", "src/util.py"]), ("TODO", ["notes/todo.txt"]),
                          ("alpha", ["README.md"]), ("zzz-nothing", [])][(i // 6) % 4]  # fmt: skip

        def check(data, text):
            assert sorted(data["files"]) == under(tree, *names), (pattern, data)
            assert all(path in text for path in under(tree, *names)) if names else text == "No files found", (
                text
            )

        return "grep", {"pattern": pattern}, check
    if kind == 2:
        pattern, names = [("**/*.py", ["src/app.py", "src/util.py"]), ("*.md", ["README.md"]),
                          ("notes/*", ["notes/todo.txt"])][(i // 6) % 3]  # fmt: skip

        def check(data, text):
            assert sorted(data["files"]) == under(tree, *names), (pattern, data)

        return "glob", {"pattern": pattern}, check
    if kind == 3:

        def check(data, text):
            assert sorted(data["files"]) == sorted(FILES), data
            assert "src/" in text and "app.py" in text, text

        return "ls", {}, check
    if kind == 4:

        def check(data, text):
            assert data["branch"] == "main" and data["files"] == [] and data["root"] == str(tree), data

        return "git_status", {}, check

    def check(data, text):
        got = [(c["name"], c["args"]) for c in data["commands"]]
        assert got == [("echo", [f"c{k}", str(i)]), ("wc", ["-l"])], data
        assert data["outside"] == [], data

    return "parse_bash", {"command": f"echo c{k} {i} | wc -l"}, check


async def one_client(url: str, tree: Path, k: int, calls: int, counts: dict) -> None:
    async with sdk_client(url) as client, httpx2.AsyncClient(timeout=PATIENCE_S) as raw:
        schemas = await output_schemas(client)
        for i in range(calls):
            if i in MALFORMED_AT:
                which = (k * len(MALFORMED_AT) + MALFORMED_AT.index(i)) % 3
                if which == 0:
                    answer = await raw.post(url, content=b'{"jsonrpc": "2.0", "id": ', headers=MCP_HEADERS)
                    assert answer.status_code == 400, (answer.status_code, answer.text)
                    assert answer.json()["error"]["code"] == -32700, answer.text
                elif which == 1:
                    check_error(
                        await client.call_tool(f"no_such_tool_{k}_{i}", {"file_path": "x"}), "unknown_tool"
                    )
                else:
                    name, args, argument = WRONG_TYPES[(k + i) % len(WRONG_TYPES)]
                    data = check_error(await client.call_tool(name, args), "invalid_argument")
                    assert argument in data["message"], data
                counts["malformed"] += 1
                continue
            name, args, check = valid_call(tree, k, i)
            result = await client.call_tool(name, args)
            check(check_ok(result, schemas, name), text_of(result))
            counts[name] = counts.get(name, 0) + 1


async def clients(url: str, tree: Path, calls: int) -> dict:
    counts = {"malformed": 0}
    await asyncio.gather(*(one_client(url, tree, k, calls, counts) for k in range(CLIENTS)))
    return counts


def test_load_8_clients_200_mixed_calls_1_percent_malformed(server, tree):
    pid = server.pid
    run(clients(server.url, tree, 20))  # warm-up: imports, caches, the thread pool, session paths
    poll(lambda: not children(pid), 5)
    time.sleep(0.3)
    rss_before, fds_before = rss_bytes(pid), fd_count(pid)

    peak = {"fds": fds_before, "rss": rss_before}
    done = threading.Event()

    def sample() -> None:  # the peak under load: proves the descriptor count sees the clients
        while not done.wait(0.02):
            with contextlib.suppress(OSError, AssertionError):
                peak["fds"] = max(peak["fds"], fd_count(pid))
                peak["rss"] = max(peak["rss"], rss_bytes(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.monotonic()
    try:
        counts = run(clients(server.url, tree, CALLS), timeout=240)
    finally:
        done.set()
        sampler.join()
    took = time.monotonic() - start
    server.assert_up()
    rss_after = rss_bytes(pid)

    assert counts["malformed"] == CLIENTS * len(MALFORMED_AT)
    assert sum(counts.values()) == CLIENTS * CALLS, counts
    assert set(counts) == {"malformed", "read", "grep", "glob", "ls", "git_status", "parse_bash"}, counts
    growth = rss_after - rss_before
    assert growth < RSS_GROWTH_LIMIT, (
        f"RSS grew {growth / MIB:.1f} MiB over {CLIENTS * CALLS} calls ({took:.1f} s)"
    )
    assert peak["fds"] > fds_before, f"no connection seen in the descriptors ({fds_before} throughout)"
    settled = poll(lambda: fd_count(pid) <= fds_before + FD_SLACK, 5)
    assert settled, (
        f"descriptors: {fds_before} before the clients, {peak['fds']} at the peak, "
        f"{fd_count(pid)} 5 s after they closed"
    )
    assert poll(lambda: not children(pid), 5), f"child processes left: {children(pid)}"
    run(read_works(server.url, tree))


# ---- 4. cancellation ---------------------------------------------------------------------------------------------------


def sleeps_of(pid: int) -> list[int]:
    return [p for p in descendants(pid) if cmdline(p) == "sleep 60" and alive(p)]


@pytest.mark.parametrize("mode, era", [("auto", "2026-07-28"), ("legacy", "2025-11-25")])
def test_cancelling_a_running_bash_call_kills_its_command(server, tree, mode, era):
    """2026-07-28: the client closes the in-flight request; 2025-11-25: notifications/cancelled.
    Either way the `sleep 60` must be gone within seconds and the session keeps working."""

    async def go():
        async with sdk_client(server.url, mode=mode) as client:
            assert client.protocol_version == era
            call = asyncio.create_task(client.call_tool("bash", {"command": "sleep 60"}))
            end = time.monotonic() + PATIENCE_S
            while not (sleeping := sleeps_of(server.pid)):
                assert not call.done(), f"the bash call ended by itself: {call.result()}"
                assert time.monotonic() < end, "sleep 60 never started"
                await asyncio.sleep(0.05)
            cancelled_at = time.monotonic()
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            returned = time.monotonic() - cancelled_at
            while any(alive(p) for p in sleeping) and time.monotonic() - cancelled_at < CANCEL_KILL_S + 5:
                await asyncio.sleep(0.02)
            gone = time.monotonic() - cancelled_at
            after = await client.call_tool("bash", {"command": "echo still here"})
            return sleeping, returned, gone, after

    sleeping, returned, gone, after = run(go(), timeout=60)
    assert returned < 1.0, f"the cancelled call took {returned:.2f} s to return"
    left = [p for p in sleeping if alive(p)]
    assert not left, f"sleep 60 ({left}) still running {gone:.1f} s after its request was cancelled"
    assert gone < CANCEL_KILL_S, f"sleep 60 outlived its cancellation by {gone:.2f} s"
    assert not after.is_error and after.structured_content["output"].strip() == "still here"
    assert after.structured_content["exit_code"] == 0
    assert poll(lambda: not sleeps_of(server.pid), 3), sleeps_of(server.pid)
    server.assert_up()


# ---- SIGTERM ----------------------------------------------------------------------------------------------------------------


def test_sigterm_exits_0_within_seconds_and_kills_its_processes(tree, tmp_path):
    """SIGTERM with a background shell and a foreground bash call in flight."""
    served = start_server(tree, tmp_path)
    seen: dict = {}

    async def go():
        async with sdk_client(served.url) as client:
            background = await client.call_tool("bash", {"command": "sleep 60", "run_in_background": True})
            assert not background.is_error, text_of(background)
            running = asyncio.create_task(client.call_tool("bash", {"command": "sleep 60"}))
            end = time.monotonic() + PATIENCE_S
            while len(sleeps_of(served.pid)) < 2:
                assert time.monotonic() < end and not running.done(), "the two sleep 60 never ran"
                await asyncio.sleep(0.05)
            seen["sleeping"] = sleeps_of(served.pid)
            try:
                await asyncio.to_thread(served.stop)  # asserts exit 0 within EXIT_S, no process left
            except AssertionError as e:
                seen["stop"] = e
            running.cancel()
            with contextlib.suppress(BaseException):
                await running

    try:
        with contextlib.suppress(Exception):  # the client's own exit, with its server gone
            run(go(), timeout=60)
        assert seen.get("sleeping"), "the two sleep 60 never ran"
        assert not [p for p in seen["sleeping"] if alive(p)], "a sleep 60 outlived the server"
        if "stop" in seen:
            raise seen["stop"]
        assert served.stopped
    finally:
        if served.proc.poll() is None:
            served.proc.kill()
            served.proc.wait()
