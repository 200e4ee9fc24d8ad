"""Helpers for the stdio MCP tests: ``ironcode mcp`` started as a user's client starts it (the
installed console script, over stdio, with the SDK's own client), and a few process checks."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import jsonschema
from mcp import Client, StdioServerParameters

from ironcode.agent import all_tools

#: The console script a client configuration names (`claude mcp add ironcode -- ironcode mcp`).
IRONCODE = str(Path(sys.executable).with_name("ironcode"))
#: Every tool's full output schema, as the toolbox declares it.
FULL_SCHEMAS = {t.name: t.output_schema for t in all_tools()}
#: Bounds the waits for an outside condition (a process gone); never a speed test.
PATIENCE_S = 15.0


def server_env() -> dict[str, str]:
    """What the SDK lays over its whitelist: PATH, and IRONCODE_* (a forced backend, the library)."""
    env = {"PATH": os.environ["PATH"]}
    env.update({k: v for k, v in os.environ.items() if k.startswith("IRONCODE_")})
    return env


def params(root: Path | str, *flags: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=IRONCODE, args=["mcp", "--root", str(root), *flags], env=server_env(), cwd=str(root)
    )


@contextlib.asynccontextmanager
async def session(root: Path | str, *flags: str) -> AsyncIterator[Client]:
    async with Client(params(root, *flags)) as client:
        yield client


class Checked:
    """A client whose results are checked against the shared contract: success → structuredContent
    validates against the tool's outputSchema; error → {kind, message} with the text as message."""

    def __init__(self, client: Client, tools: dict) -> None:
        self.client = client
        self.tools = tools
        self.called: set[str] = set()

    @classmethod
    async def start(cls, client: Client) -> Checked:
        listed = (await client.list_tools()).tools
        return cls(client, {t.name: t for t in listed})

    async def call(self, name: str, args: dict | None = None):
        result = await self.client.call_tool(name, args or {})
        self.called.add(name)
        assert len(result.content) == 1 and result.content[0].type == "text"
        text = result.content[0].text
        assert text
        data = result.structured_content
        if result.is_error:
            assert set(data) == {"kind", "message"}, data
            assert data["message"] == text
        else:
            # The served schema (arrays without items), and the toolbox's full one.
            jsonschema.validate(data, self.tools[name].output_schema)
            jsonschema.validate(data, FULL_SCHEMAS[name])
        return result

    async def ok(self, name: str, args: dict | None = None):
        result = await self.call(name, args)
        assert not result.is_error, f"{name}: {result.content[0].text}"
        return result

    async def fails(self, name: str, args: dict | None, kind: str):
        result = await self.call(name, args)
        assert result.is_error, f"{name} succeeded, expected {kind}: {result.content[0].text}"
        assert result.structured_content["kind"] == kind, result.structured_content
        return result


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def group_alive(pgid: int) -> bool:
    """True while some live (non-zombie) process is in process group ``pgid``."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def wait_gone(pids: list[int], groups: list[int], patience: float = PATIENCE_S) -> float:
    """Seconds until every pid and group is gone; fails after ``patience``."""
    start = time.monotonic()
    while time.monotonic() - start < patience:
        if not any(alive(p) for p in pids) and not any(group_alive(g) for g in groups):
            return time.monotonic() - start
        time.sleep(0.02)
    left = [p for p in pids if alive(p)] + [f"group {g}" for g in groups if group_alive(g)]
    raise AssertionError(f"still alive after {patience} s: {left}")


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )
