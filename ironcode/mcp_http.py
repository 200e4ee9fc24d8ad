"""``ironcode mcp --http HOST:PORT``: the MCP server over streamable HTTP at ``/mcp`` (AGENT.md).

The SDK's Starlette app (its session manager, its 4 MiB body limit, its JSON-RPC parse errors)
behind one ASGI guard of ours, which answers in AGENT.md's order:

1. on loopback, Host and Origin first (DNS rebinding: a foreign Host is 421, a foreign Origin 403 —
   the SDK's own transport-security check, run before anything else reads the request);
2. the bearer token, when ``--token-env`` gave one: compared in constant time, missing or wrong is
   401 with a JSON-RPC error body and ``WWW-Authenticate: Bearer``;
3. then the SDK: a body over 4 MiB is 413, unparsable JSON 400 (-32700).

Every HTTP client shares the one toolbox. Ending an HTTP session kills no process; closing an
in-flight request cancels its call (the SDK cancels the handler, the toolbox kills the process
group of a running bash command). SIGTERM or SIGINT close the toolbox first, then uvicorn stops.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging

import uvicorn
from mcp.server.lowlevel import Server
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.requests import Request

from .agent import Toolbox
from .errors import IronCodeError

logger = logging.getLogger("ironcode.mcp")

MCP_PATH = "/mcp"
#: AGENT.md: a request body over this is 413.
MAX_REQUEST_BYTES = 4 * 1024 * 1024
#: How long uvicorn lets open requests finish on shutdown (the toolbox is closed before that).
GRACEFUL_SHUTDOWN_S = 1
#: JSON-RPC error code of a refused token (the SDK's auth answers use the same).
UNAUTHORIZED_CODE = -32001


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def security_settings(host: str) -> TransportSecuritySettings:
    """DNS-rebinding protection on loopback (Host and Origin must name this machine); off it,
    the token is the guard."""
    if not is_loopback(host):
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    names = {"127.0.0.1", "localhost", "[::1]", host if ":" not in host else f"[{host.strip('[]')}]"}
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=sorted(names | {f"{n}:*" for n in names}),
        allowed_origins=sorted({f"http://{n}" for n in names} | {f"http://{n}:*" for n in names}),
    )


class Guard:
    """The ASGI guard in front of the SDK's app (see the module docs)."""

    def __init__(self, app, host: str, token: str | None) -> None:
        self.app = app
        self.loopback = is_loopback(host)
        self.origin_check = TransportSecurityMiddleware(security_settings(host))
        self.token = None if token is None else token.encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.loopback:
            refused = await self.origin_check.validate_request(Request(scope), is_post=False)
            if refused is not None:
                await refused(scope, receive, send)
                return
        if self.token is not None and not self._authorized(scope):
            await _unauthorized(send)
            return
        await self.app(scope, receive, send)

    def _authorized(self, scope) -> bool:
        given = b""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                given = value
                break
        scheme, _, credential = given.partition(b" ")
        # compare_digest takes the same time wherever the bytes differ; the scheme is not secret.
        return hmac.compare_digest(credential.strip(), self.token) and scheme.lower() == b"bearer"


async def _unauthorized(send) -> None:
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": None,
            "error": {"code": UNAUTHORIZED_CODE, "message": "Unauthorized: a valid bearer token is required"},
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b'Bearer realm="ironcode"'),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def app(server: Server, host: str, token: str | None):
    """The guarded ASGI app serving ``server`` at ``/mcp``."""
    starlette = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        host=host,
        transport_security=security_settings(host),
        max_request_body_size=MAX_REQUEST_BYTES,
    )
    return Guard(starlette, host, token)


class _Uvicorn(uvicorn.Server):
    """uvicorn whose exit signal closes the toolbox first (every process gone), then stops — and
    exits 0: uvicorn re-raises a caught signal after its graceful shutdown (which would end the
    process by SIGTERM), but for this server SIGTERM is the normal way to stop."""

    def __init__(self, config: uvicorn.Config, toolbox: Toolbox) -> None:
        super().__init__(config)
        self.toolbox = toolbox

    def handle_exit(self, sig, frame) -> None:
        self.toolbox.close()
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


async def serve_http(toolbox: Toolbox, server: Server, host: str, port: int, *, token: str | None) -> None:
    """Serves until SIGTERM or SIGINT; the toolbox is closed when it returns."""
    if token is None and not is_loopback(host):
        raise IronCodeError(
            "invalid_argument",
            f"refusing to serve {host} without a token: a non-loopback address needs --token-env VAR",
        )
    if token is not None and not token.strip():
        raise IronCodeError("invalid_argument", "the token is empty")
    config = uvicorn.Config(
        app(server, host, token),
        host=host.strip("[]"),
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        access_log=False,
    )
    try:
        await _Uvicorn(config, toolbox).serve()
    finally:
        toolbox.close()
