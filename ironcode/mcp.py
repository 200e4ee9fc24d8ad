"""``ironcode mcp``: one :class:`~ironcode.agent.Toolbox` served over MCP (AGENT.md "MCP server").

Built on the official SDK's low-level ``Server`` (``mcp`` >= 2): the toolbox already validates
arguments, confines paths and writes the text a model reads, so the server only translates —
``tools/list`` from the toolbox's tools, ``tools/call`` to :meth:`Toolbox.acall` — and owns the
lifecycle:

- every result carries the toolbox's text as its one content block and ``data`` as
  structuredContent (no second JSON copy of the data in the text: it crosses the transport once);
  a tool error is a result with ``isError`` and ``{"kind", "message"}``, never a protocol error;
- a cancelled request is a cancelled :meth:`Toolbox.acall`, which kills the process group of a
  running bash command before the cancellation goes on;
- when the stdio client goes away (stdin at EOF, or stdout broken), or on SIGTERM or SIGINT, the
  toolbox is closed first — every process it started is killed — then the in-flight calls are
  cancelled, and the server exits 0.

stdio is read and written here, not through ``mcp.server.stdio``: the SDK's transport reads stdin
on a worker thread (a thread hop per message) and cannot tell its owner that stdin ended while
calls are in flight, which is exactly when the processes they started must die. Like the SDK's,
it moves the wire off descriptors 0 and 1 while serving (0 reads /dev/null, 1 writes to stderr), so
nothing a library or a child prints can land between two protocol messages.

The HTTP side (``--http``) is :mod:`ironcode.mcp_http`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.shared._context_streams import create_context_streams
from mcp.shared.message import SessionMessage

from .agent import Tool, Toolbox, ToolResult

logger = logging.getLogger("ironcode.mcp")

SERVER_NAME = "ironcode"
SERVER_TITLE = "ironcode tools"
#: What a model is told about the server (AGENT.md: one to three lines, with the read rule).
INSTRUCTIONS = (
    "ironcode: read, search, edit and patch the files under this server's roots, run shell commands "
    "(also in the background) and use git there; paths outside the roots are refused.\n"
    "Read a file before you write or edit it: a file you have not read, or that changed since you "
    "read it, is refused (not_read / stale_file) and left untouched.\n"
    "Tool results are text for you plus structured data; a failed call says what to do next."
)
#: After the toolbox has been closed (every process killed), how long in-flight calls get to
#: answer before they are cancelled and the server exits (AGENT.md: everything gone within 2 s).
SHUTDOWN_GRACE_S = 1.0
#: The longest stdio message accepted (a 10 MB write's JSON fits many times over); a longer line
#: is dropped whole and answered as a parse error.
MAX_STDIO_MESSAGE_BYTES = 256 * 1024 * 1024
#: Bytes asked of stdin per read, and the pipe size asked for on stdin and stdout (fewer wakeups
#: for large messages; the kernel may refuse, which costs nothing).
READ_CHUNK_BYTES = 1024 * 1024
PIPE_BYTES = 1024 * 1024
#: The tool ``--bench-noop`` adds: a no-op on this server's dispatch, for script/bench-mcp.py.
NOOP_TOOL = "noop"


# ---- the tools, as MCP sees them -----------------------------------------------------------------


def served_output_schema(schema: dict) -> dict:
    """The tool's output schema as served: every array keeps ``type: array`` but loses its
    ``items``. The SDK client validates each structuredContent against the outputSchema with
    ``jsonschema``, ~17 µs per array element — 34 ms for a 2,000-line read, eight times the read
    itself; the toolbox's own tests validate every result against the full schema."""
    if isinstance(schema, dict):
        return {k: served_output_schema(v) for k, v in schema.items() if k != "items"}
    if isinstance(schema, list):
        return [served_output_schema(v) for v in schema]
    return schema


def mcp_tool(tool: Tool) -> types.Tool:
    """A toolbox tool as an MCP tool: name, title, description, both schemas, the four hints."""
    hints = tool.annotations
    return types.Tool(
        name=tool.name,
        title=tool.title,
        description=tool.description,
        input_schema=tool.input_schema,
        output_schema=served_output_schema(tool.output_schema),
        annotations=types.ToolAnnotations(
            title=tool.title,
            read_only_hint=hints["readOnlyHint"],
            destructive_hint=hints["destructiveHint"],
            idempotent_hint=hints["idempotentHint"],
            open_world_hint=hints["openWorldHint"],
        ),
    )


def call_result(result: ToolResult) -> types.CallToolResult:
    """The toolbox's answer as a ``tools/call`` result (an error too: ``isError``, never a
    protocol error)."""
    return types.CallToolResult(
        content=[types.TextContent(text=result.text)],
        structured_content=result.data,
        is_error=result.is_error,
    )


_NOOP = types.Tool(
    name=NOOP_TOOL,
    title="No-op (benchmark)",
    description="Does nothing and answers ok: the floor of a call through this server.",
    input_schema={"type": "object", "properties": {}},
    annotations=types.ToolAnnotations(
        read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
    ),
)
_NOOP_RESULT = types.CallToolResult(content=[types.TextContent(text="ok")])


def build_server(toolbox: Toolbox, *, noop: bool = False) -> Server:
    """The MCP server over ``toolbox``. ``noop=True`` adds the benchmark's ``noop`` tool."""
    listed = [mcp_tool(t) for t in toolbox.tools] + ([_NOOP] if noop else [])
    tools_result = types.ListToolsResult(tools=listed)

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return tools_result

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        if noop and params.name == NOOP_TOOL:
            return _NOOP_RESULT
        # Unknown tools, bad arguments and failures all come back from the toolbox as results.
        return call_result(await toolbox.acall(params.name, params.arguments or {}))

    server = Server(
        SERVER_NAME,
        version=_version(),
        title=SERVER_TITLE,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
    # The SDK puts an OpenTelemetry middleware on every server; it is a no-op without an exporter
    # but still costs a span per message. Nothing of ours reads it.
    server.middleware = [m for m in server.middleware if type(m).__name__ != "OpenTelemetryMiddleware"]
    return server


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ironcode")
    except PackageNotFoundError:  # pragma: no cover - a checkout without `pip install -e .`
        return "0"


# ---- stdio -----------------------------------------------------------------------------------------


class _Wire:
    """The process's stdin and stdout, moved to private descriptors while the server runs."""

    def __init__(self) -> None:
        self.read_fd = os.dup(0)
        self.write_fd = os.dup(1)
        for fd in (self.read_fd, self.write_fd):
            os.set_inheritable(fd, False)
            with contextlib.suppress(OSError):
                import fcntl

                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)  # not a pipe, or refused: fine
        sys.stdout.flush()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(2, 1)

    def restore(self) -> None:
        with contextlib.suppress(OSError):
            os.dup2(self.read_fd, 0)
            os.dup2(self.write_fd, 1)
        for fd in (self.read_fd, self.write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


def _parse(line: bytes) -> SessionMessage | Exception:
    try:
        return SessionMessage(types.jsonrpc_message_adapter.validate_json(line, by_name=False))
    except Exception as e:  # the SDK answers a message it cannot parse; we hand it the error
        return e


async def _read_messages(fd: int, send: Any, on_eof: Callable[[], None]) -> None:
    """Reads newline-delimited JSON-RPC from ``fd`` on the event loop (no worker thread): the
    loop is woken when ``fd`` is readable and takes what is there in one ``read``."""
    pending = bytearray()
    dropping = False
    try:
        while True:
            await anyio.wait_readable(fd)
            try:
                chunk = os.read(fd, READ_CHUNK_BYTES)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                break
            start = 0
            while True:
                end = chunk.find(b"\n", start)
                if end < 0:
                    break
                if dropping:
                    dropping = False
                    await send.send(ValueError("message too long"))
                else:
                    pending += chunk[start:end]
                    if pending.strip():
                        await send.send(_parse(bytes(pending)))
                pending.clear()
                start = end + 1
            if not dropping:
                pending += chunk[start:]
                if len(pending) > MAX_STDIO_MESSAGE_BYTES:
                    pending.clear()
                    dropping = True
    finally:
        on_eof()
        send.close()


async def _write_messages(fd: int, receive: Any, on_broken: Callable[[], None]) -> None:
    """Writes each outgoing message as one JSON line; a broken pipe means the client is gone."""
    async with receive:
        async for message in receive:
            data = message.message.model_dump_json(by_alias=True, exclude_unset=True).encode() + b"\n"
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
            except OSError:
                on_broken()
                return


async def serve_stdio(toolbox: Toolbox, server: Server) -> None:
    """Serves ``server`` on stdin/stdout until the client goes away or SIGTERM/SIGINT; then closes
    the toolbox (every process it started is killed) and returns."""
    wire = _Wire()
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def stop() -> None:
        if not stopping.is_set():
            toolbox.close()  # kills processes first: a running bash call returns at once
            stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    read_send, read_receive = create_context_streams[SessionMessage | Exception](0)
    write_send, write_receive = create_context_streams[SessionMessage](0)
    served = anyio.Event()
    reading = anyio.CancelScope()
    try:
        async with anyio.create_task_group() as group:

            async def read() -> None:
                with reading:
                    await _read_messages(wire.read_fd, read_send, stop)

            async def serve() -> None:
                try:
                    await server.run(read_receive, write_send, server.create_initialization_options())
                finally:
                    served.set()
                    stop()

            async def watch() -> None:
                await stopping.wait()
                reading.cancel()  # no new requests; the loop ends once in-flight calls answer
                with anyio.move_on_after(SHUTDOWN_GRACE_S):
                    await served.wait()
                group.cancel_scope.cancel()

            group.start_soon(read)
            group.start_soon(_write_messages, wire.write_fd, write_receive, stop)
            group.start_soon(serve)
            group.start_soon(watch)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        toolbox.close()
        wire.restore()


# ---- the command -----------------------------------------------------------------------------------


def run(
    toolbox: Toolbox,
    *,
    http: tuple[str, int] | None = None,
    token: str | None = None,
    noop: bool = False,
) -> None:
    """Serves ``toolbox`` over stdio, or over streamable HTTP at ``http`` (see mcp_http); returns
    when the server has stopped and every process the toolbox started is gone."""
    server = build_server(toolbox, noop=noop)
    if http is None:
        asyncio.run(serve_stdio(toolbox, server))
    else:
        from .mcp_http import serve_http

        asyncio.run(serve_http(toolbox, server, http[0], http[1], token=token))
