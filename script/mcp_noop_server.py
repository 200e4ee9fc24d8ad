"""The floor of bench-mcp.py: the official SDK's own MCPServer with one decorated no-op tool.

    python script/mcp_noop_server.py                 # stdio
    python script/mcp_noop_server.py --http PORT     # streamable HTTP on 127.0.0.1:PORT/mcp

This is the SDK's default tool path (the decorator's pydantic argument model, a sync tool on a
worker thread); ``ironcode mcp --bench-noop`` serves the same no-op on ironcode's own dispatch.
"""

from __future__ import annotations

import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("noop")


@server.tool(name="noop", structured_output=False)
def noop() -> str:
    return "ok"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
