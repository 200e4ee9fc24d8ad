"""``ironcode mcp`` over stdio with the SDK's own client: the tools as listed, every tool called,
results against their outputSchema, errors as isError results, --read-only, --no-bash, roots and
the read rule across calls (AGENT.md "MCP server")."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest
from jsonschema.validators import validator_for

from ironcode.agent import Toolbox
from ironcode.mcp import served_output_schema

from .mcpclient import IRONCODE, Checked, git, server_env, session

pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "app.py").write_text("def add(a, b):\n    return a - b\n")
    (root / "notes.txt").write_bytes(b"one\r\ntwo\r\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-qm", "first")
    (tmp_path / "proj-evil").mkdir()
    (tmp_path / "proj-evil" / "secret.txt").write_text("secret\n")
    return root


def run(coro):
    return asyncio.run(coro)


def test_lists_every_toolbox_tool_with_valid_schemas_and_all_four_hints(project):
    async def go():
        async with session(project) as client:
            listed = (await client.list_tools()).tools
            return listed, client.server_info, client.protocol_version

    listed, info, version = run(go())
    with Toolbox(roots=[str(project)]) as box:
        expected = {t.name: t for t in box.tools}
    assert [t.name for t in listed] == list(expected)
    assert info.name == "ironcode"
    assert version  # whatever revision the SDK negotiated
    for tool in listed:
        want = expected[tool.name]
        assert tool.title == want.title and tool.description == want.description
        assert tool.input_schema == want.input_schema
        assert tool.output_schema == served_output_schema(want.output_schema)
        for schema in (tool.input_schema, tool.output_schema):
            validator_for(schema).check_schema(schema)
            assert schema["type"] == "object"
        hints = tool.annotations
        assert (
            hints.read_only_hint,
            hints.destructive_hint,
            hints.idempotent_hint,
            hints.open_world_hint,
        ) == (
            want.annotations["readOnlyHint"],
            want.annotations["destructiveHint"],
            want.annotations["idempotentHint"],
            False,
        )


def test_instructions_say_what_the_server_is_for_and_the_read_rule(project):
    async def go():
        async with session(project) as client:
            return client.server_info, client.server_capabilities

    # The instructions travel in the initialize result (legacy era) or server/discover (modern).
    proc = subprocess.run(
        [IRONCODE, "mcp", "--root", str(project)],
        input=json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "t", "version": "1"},
                },
            }
        )
        + "\n",
        capture_output=True,
        text=True,
        env=server_env(),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout.splitlines()[0])
    instructions = answer["result"]["instructions"]
    assert 1 <= instructions.count("\n") + 1 <= 3
    assert "read" in instructions.lower() and "not_read" in instructions


def test_every_tool_once_results_validate_and_text_is_the_models(project):
    async def go():
        async with session(project) as client:
            c = await Checked.start(client)
            text = (await c.ok("read", {"file_path": "app.py"})).content[0].text
            assert "return a - b" in text
            await c.ok("edit", {"file_path": "app.py", "old_string": "a - b", "new_string": "a + b"})
            await c.ok("write", {"file_path": "new.txt", "content": "fresh\n"})
            patch = "*** Begin Patch\n*** Update File: new.txt\n@@\n-fresh\n+patched\n*** End Patch\n"
            await c.ok("apply_patch", {"patch": patch})
            view = await c.ok("str_replace_based_edit_tool", {"command": "view", "path": "app.py"})
            assert "     1\tdef add(a, b):" in view.content[0].text
            found = await c.ok("grep", {"pattern": "def add"})
            assert "app.py" in found.content[0].text
            await c.ok("grep", {"pattern": "a \\+ b", "output_mode": "content"})
            await c.ok("grep", {"pattern": "a", "output_mode": "count"})
            assert "app.py" in (await c.ok("glob", {"pattern": "*.py"})).content[0].text
            assert "notes.txt" in (await c.ok("ls", {})).content[0].text
            await c.ok("find_files", {"query": "app"})
            ran = await c.ok("bash", {"command": "echo hi; exit 3"})
            assert ran.structured_content["exit_code"] == 3 and "hi" in ran.structured_content["output"]
            started = await c.ok(
                "bash", {"command": "read line; echo got:$line; sleep 30", "run_in_background": True}
            )
            shell = started.structured_content["shell_id"]
            await c.ok("bash_input", {"shell_id": shell, "text": "ping\n"})
            seen = ""
            for _ in range(50):
                seen += (await c.ok("bash_output", {"shell_id": shell, "wait_ms": 200})).structured_content[
                    "output"
                ]
                if "got:ping" in seen:
                    break
            assert "got:ping" in seen
            await c.ok("bash_kill", {"shell_id": shell})
            status = await c.ok("git_status", {})
            assert "app.py" in status.content[0].text
            diff = await c.ok("git_diff", {})
            assert "+    return a + b" in diff.structured_content["diff"]
            await c.ok("git_branches", {})
            await c.ok("git_stage", {"paths": ["app.py"]})
            await c.ok("git_unstage", {"paths": ["app.py"]})
            await c.ok("git_stage", {"paths": ["app.py", "new.txt"]})
            committed = await c.ok("git_commit", {"message": "fix add"})
            assert len(committed.structured_content["commit"]) == 40
            await c.ok("parse_bash", {"command": "cd src && ls | grep x > ../out"})
            return c.called, set(c.tools)

    called, tools = run(go())
    assert called == tools
    assert (project / "app.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert (project / "new.txt").read_text() == "patched\n"


def test_errors_are_iserror_results_with_kind_and_message(project):
    async def go():
        async with session(project) as client:
            c = await Checked.start(client)
            await c.fails(
                "read", {"file_path": str(project.parent / "proj-evil" / "secret.txt")}, "outside_root"
            )
            await c.fails("read", {"file_path": "../proj-evil/secret.txt"}, "outside_root")
            await c.fails("ls", {"path": "/etc"}, "outside_root")
            await c.fails("read", {"file_path": "missing.txt"}, "not_found")
            await c.fails("read", {"file_path": 7}, "invalid_argument")
            await c.fails("read", {}, "invalid_argument")
            await c.fails("bash", {"command": "true", "timeout_ms": 600001}, "invalid_argument")
            await c.fails("no_such_tool", {}, "unknown_tool")
            await c.fails("bash_output", {"shell_id": "nope"}, "not_found")
            # The server is still there after all of it.
            await c.ok("read", {"file_path": "app.py"})

    run(go())
    assert (project.parent / "proj-evil" / "secret.txt").read_text() == "secret\n"


def test_the_read_rule_holds_across_calls_and_crlf_is_kept(project):
    async def go():
        async with session(project) as client:
            c = await Checked.start(client)
            await c.fails(
                "edit", {"file_path": "notes.txt", "old_string": "two", "new_string": "2"}, "not_read"
            )
            await c.fails("write", {"file_path": "notes.txt", "content": "x"}, "not_read")
            await c.ok("read", {"file_path": "notes.txt"})
            (project / "notes.txt").write_bytes(b"one\r\nTWO\r\n")  # the user changes it
            stale = await c.fails(
                "edit", {"file_path": "notes.txt", "old_string": "one", "new_string": "1"}, "stale_file"
            )
            assert "TWO" in stale.content[0].text  # the capped diff of what changed
            await c.ok("read", {"file_path": "notes.txt"})
            await c.ok("edit", {"file_path": "notes.txt", "old_string": "one", "new_string": "1"})

    run(go())
    assert (project / "notes.txt").read_bytes() == b"1\r\nTWO\r\n"


def test_no_require_read_turns_the_rule_off(project):
    async def go():
        async with session(project, "--no-require-read") as client:
            c = await Checked.start(client)
            await c.ok("edit", {"file_path": "app.py", "old_string": "a - b", "new_string": "b - a"})

    run(go())
    assert "b - a" in (project / "app.py").read_text()


def test_read_only_lists_no_destructive_tool_and_refuses_them(project):
    async def go():
        async with session(project, "--read-only") as client:
            c = await Checked.start(client)
            await c.fails("write", {"file_path": "x.txt", "content": "x"}, "read_only")
            await c.fails("bash", {"command": "touch x"}, "read_only")
            await c.ok("read", {"file_path": "app.py"})
            return c.tools

    tools = run(go())
    assert "read" in tools and "grep" in tools and "git_diff" in tools
    for tool in tools.values():
        assert tool.annotations.read_only_hint and not tool.annotations.destructive_hint, tool.name
    assert not {"write", "edit", "apply_patch", "bash", "bash_output", "git_commit"} & set(tools)
    assert not (project / "x.txt").exists()


def test_no_bash_removes_the_four_bash_tools(project):
    async def go():
        async with session(project, "--no-bash") as client:
            c = await Checked.start(client)
            await c.fails("bash", {"command": "true"}, "unknown_tool")
            return set(c.tools)

    tools = run(go())
    assert not {"bash", "bash_output", "bash_input", "bash_kill"} & tools
    assert "write" in tools


def test_several_roots_and_a_sibling_with_the_roots_name_outside(project, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "b.txt").write_text("b\n")

    async def go():
        async with session(project, "--root", str(other)) as client:
            c = await Checked.start(client)
            assert "b" in (await c.ok("read", {"file_path": str(other / "b.txt")})).content[0].text
            await c.fails("read", {"file_path": str(tmp_path / "proj-evil" / "secret.txt")}, "outside_root")
            (project / "link").symlink_to(tmp_path / "proj-evil")
            await c.fails("read", {"file_path": "link/secret.txt"}, "outside_root")

    run(go())


def test_a_garbled_line_gets_a_parse_error_and_the_server_goes_on(project):
    lines = [
        "this is not json",
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "t", "version": "1"},
                },
            }
        ),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        '{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "read"',
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 3,
                "method": "tools/call",
                "params": {"name": "read", "arguments": {"file_path": "app.py"}},
            }
        ),
    ]
    proc = subprocess.Popen(
        [IRONCODE, "mcp", "--root", str(project)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=server_env(),
        text=True,
    )
    for line in lines:
        proc.stdin.write(line + "\n")
    proc.stdin.flush()
    answers = {}
    while 3 not in answers:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        message = json.loads(line)  # every stdout line is a protocol message
        answers[message.get("id")] = message
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    assert "def add" in answers[3]["result"]["content"][0]["text"]
    assert answers[3]["result"]["isError"] is False
    # The SDK answers what it could not parse with no id (JSON-RPC's rule); it never crashed.
    assert answers[1]["result"]["serverInfo"]["name"] == "ironcode"
