"""The toolbox itself (AGENT.md "Toolbox"): the registry, annotations, removal by read_only and
bash=False, argument validation and the bad-input list of issue 20, closing, and asyncio."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import jsonschema
import pytest

from ironcode import agent
from ironcode.agent import Tool, Toolbox, ToolResult

from .agentlib import call, fails, ok, process_running, read_pid, toolbox_on, wait_until, write
from .conftest import BACKENDS

ALL_TOOLS = [
    "read",
    "write",
    "edit",
    "apply_patch",
    "str_replace_based_edit_tool",
    "grep",
    "glob",
    "ls",
    "find_files",
    "bash",
    "bash_output",
    "bash_input",
    "bash_kill",
    "git_status",
    "git_diff",
    "git_branches",
    "git_stage",
    "git_unstage",
    "git_commit",
    "parse_bash",
]
READ_ONLY_TOOLS = {
    "read",
    "grep",
    "glob",
    "ls",
    "find_files",
    "parse_bash",
    "git_status",
    "git_diff",
    "git_branches",
    "bash_output",
}
DESTRUCTIVE_TOOLS = {
    "write",
    "edit",
    "apply_patch",
    "str_replace_based_edit_tool",
    "bash",
    "bash_input",
    "bash_kill",
    "git_commit",
}
IDEMPOTENT_TOOLS = READ_ONLY_TOOLS | {"write", "git_stage", "git_unstage"}


def _first(box) -> Path:
    return Path(box.roots.first)


@pytest.fixture(params=BACKENDS)
def box(request, tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    with toolbox_on(request.param, [root]) as toolbox:
        yield toolbox


# ---- the registry ------------------------------------------------------------------------------


def test_every_tool_of_agent_md_is_served_in_order(box):
    assert [t.name for t in box.tools] == ALL_TOOLS


def test_tools_are_frozen_dataclasses_with_title_and_object_schemas(box):
    for tool in box.tools:
        assert isinstance(tool, Tool)
        assert tool.title and tool.description
        assert tool.input_schema["type"] == "object" and tool.output_schema["type"] == "object"
        jsonschema.Draft202012Validator.check_schema(tool.input_schema)
        jsonschema.Draft202012Validator.check_schema(tool.output_schema)
        with pytest.raises(AttributeError):
            tool.name = "x"  # type: ignore[misc]


def test_every_tool_carries_the_four_hints_as_agent_md_assigns_them(box):
    for tool in box.tools:
        assert tool.annotations == {
            "readOnlyHint": tool.name in READ_ONLY_TOOLS,
            "destructiveHint": tool.name in DESTRUCTIVE_TOOLS,
            "idempotentHint": tool.name in IDEMPOTENT_TOOLS,
            "openWorldHint": False,
        }, tool.name


def test_descriptions_say_when_to_use_the_tool_and_name_their_limits(box):
    described = {t.name: t.description for t in box.tools}
    assert "100" in described["glob"] and "grep" in described["glob"]
    assert "2000" in described["read"] and "50 KB" in described["read"]
    assert "600000" in described["bash"] and "run_in_background" in described["bash"]
    assert "files_with_matches" in described["grep"] and "500" in described["grep"]


# ---- read_only and bash=False ------------------------------------------------------------------


def test_read_only_keeps_only_read_only_tools_and_drops_the_bash_tools(tmp_path):
    with Toolbox(roots=[tmp_path], read_only=True) as box:
        assert {t.name for t in box.tools} == READ_ONLY_TOOLS - {"bash_output"}
        for name in ["write", "edit", "bash", "bash_output", "git_commit", "str_replace_based_edit_tool"]:
            result = fails(box, name, {}, "read_only")
            assert "read-only" in result.text


def test_bash_false_removes_the_four_bash_tools_as_unknown(tmp_path):
    with Toolbox(roots=[tmp_path], bash=False) as box:
        names = {t.name for t in box.tools}
        assert names == set(ALL_TOOLS) - agent.BASH_TOOLS
        for name in agent.BASH_TOOLS:
            fails(box, name, {"command": "true", "shell_id": "shell-1"}, "unknown_tool")


def test_read_only_wins_over_bash_false_for_the_bash_tools(tmp_path):
    with Toolbox(roots=[tmp_path], read_only=True, bash=False) as box:
        fails(box, "bash", {"command": "true"}, "read_only")


def test_read_only_toolbox_still_reads(tmp_path):
    write(tmp_path / "a.txt", "hello\n")
    with Toolbox(roots=[tmp_path], read_only=True) as box:
        assert "1: hello" in ok(box, "read", {"file_path": "a.txt"}).text


# ---- bad input (issue 20's list) ---------------------------------------------------------------


def test_missing_required_field_is_invalid_argument_naming_it(box):
    result = fails(box, "write", {"file_path": "a.txt"}, "invalid_argument")
    assert "'content'" in result.text and "missing" in result.text


def test_wrong_type_is_invalid_argument_naming_the_field(box):
    result = fails(box, "read", {"file_path": 7}, "invalid_argument")
    assert "'file_path'" in result.text
    assert "'limit'" in fails(box, "read", {"file_path": "a", "limit": "10"}, "invalid_argument").text
    assert (
        "'replace_all'"
        in fails(
            box,
            "edit",
            {"file_path": "a", "old_string": "x", "new_string": "y", "replace_all": 1},
            "invalid_argument",
        ).text
    )


def test_negative_offset_is_invalid_argument_naming_it(box):
    write(_first(box) / "a.txt", "x\n")
    assert "'offset'" in fails(box, "read", {"file_path": "a.txt", "offset": -1}, "invalid_argument").text


def test_timeout_over_ten_minutes_is_invalid_argument(box):
    result = fails(box, "bash", {"command": "true", "timeout_ms": 600_001}, "invalid_argument")
    assert "'timeout_ms'" in result.text and "600000" in result.text
    ok(box, "bash", {"command": "true", "timeout_ms": 600_000})


def test_view_range_backwards_is_invalid_argument(box):
    write(_first(box) / "a.txt", "1\n2\n3\n")
    result = fails(
        box,
        "str_replace_based_edit_tool",
        {"command": "view", "path": "a.txt", "view_range": [3, 2]},
        "invalid_argument",
    )
    assert "'view_range'" in result.text


def test_insert_line_past_the_end_is_invalid_argument(box):
    write(_first(box) / "a.txt", "1\n2\n")
    ok(box, "read", {"file_path": "a.txt"})
    args = {"command": "insert", "path": "a.txt", "insert_line": 3, "new_str": "x"}
    assert "'insert_line'" in fails(box, "str_replace_based_edit_tool", args, "invalid_argument").text
    assert (_first(box) / "a.txt").read_text() == "1\n2\n"


def test_unknown_tool_is_unknown_tool_listing_the_tools(box):
    result = fails(box, "rm_rf", {}, "unknown_tool")
    assert "read" in result.text
    fails(box, None, {}, "unknown_tool")  # type: ignore[arg-type]
    fails(box, ["read"], {}, "unknown_tool")  # type: ignore[arg-type]  (unhashable: no panic)


def test_an_invalid_argument_message_quotes_a_huge_value_only_in_part(box):
    huge = "Z" * 5_000_000
    result = fails(box, "grep", {"pattern": "x", "case_insensitive": huge}, "invalid_argument")
    assert "case_insensitive" in result.text and "(5000002 characters)" in result.text
    assert len(result.text) < 2_000


def test_an_error_message_is_bounded_like_any_text(box):
    # a regex error quotes the whole pattern; 100,000 "(" must not become a 100 KB answer
    result = fails(box, "grep", {"pattern": "(" * 100_000}, "invalid_pattern")
    assert len(result.text.encode()) <= agent.MAX_TEXT_BYTES + agent.MAX_FRAME_BYTES
    assert result.data["message"] == result.text


def test_a_pattern_nested_past_the_stack_is_invalid_pattern_on_both_backends(box):
    fails(box, "grep", {"pattern": "(" * 300 + "a" + ")" * 300}, "invalid_pattern")


def test_extra_fields_are_ignored(box):
    write(_first(box) / "a.txt", "x\n")
    assert "1: x" in ok(box, "read", {"file_path": "a.txt", "mode": "fast", "offset": 1}).text


def test_integers_written_as_floats_are_taken_as_integers(box):
    write(_first(box) / "a.txt", "1\n2\n3\n")
    assert ok(box, "read", {"file_path": "a.txt", "offset": 2.0, "limit": 1.0}).data["lines"] == ["2"]
    view = {"command": "view", "path": "a.txt", "view_range": [2.0, 3.0]}
    assert ok(box, "str_replace_based_edit_tool", view).data["lines"] == ["2", "3"]
    insert = {"command": "insert", "path": "a.txt", "insert_line": 1.0, "new_str": "x"}
    ok(box, "str_replace_based_edit_tool", insert)
    fails(box, "read", {"file_path": "a.txt", "offset": 1.5}, "invalid_argument")


def test_arguments_that_are_not_an_object_are_invalid(box):
    fails(box, "read", ["a.txt"], "invalid_argument")  # type: ignore[arg-type]
    assert "'file_path'" in fails(box, "read", None, "invalid_argument").text


def test_relative_paths_are_resolved_against_the_first_root(box):
    ok(box, "write", {"file_path": "sub/new.txt", "content": "n"})
    assert (_first(box) / "sub" / "new.txt").read_text() == "n"


def test_tilde_is_not_expanded(box):
    result = ok(box, "write", {"file_path": "~/x.txt", "content": "t"})
    assert (_first(box) / "~" / "x.txt").read_text() == "t"
    assert result.data["path"] == str(_first(box) / "~" / "x.txt")


def test_nul_in_a_path_is_invalid_argument(box):
    assert "NUL" in fails(box, "read", {"file_path": "a\0b"}, "invalid_argument").text
    fails(box, "write", {"file_path": "a\0b", "content": ""}, "invalid_argument")
    fails(box, "glob", {"pattern": "*", "path": "x\0"}, "invalid_argument")


def test_ten_megabytes_of_content_are_written_like_any_other(box):
    content = "0123456789abcde\n" * (10 * 1024 * 1024 // 16)
    result = ok(box, "write", {"file_path": "big.txt", "content": content})
    assert result.data["bytes"] == len(content)
    assert (_first(box) / "big.txt").stat().st_size == len(content)


def test_unknown_shell_id_is_not_found(box):
    for name, extra in (("bash_output", {}), ("bash_input", {"text": "x"}), ("bash_kill", {})):
        assert "shell-9" in fails(box, name, {"shell_id": "shell-9", **extra}, "not_found").text


def test_a_bug_in_a_tool_is_an_answer_not_an_exception(box, monkeypatch):
    from ironcode.tools import ls

    monkeypatch.setattr(ls, "format_ls", lambda result: 1 / 0)
    result = fails(box, "ls", {}, "panic")
    assert "ZeroDivisionError" in result.text


def test_text_past_the_bounds_is_cut_with_a_note():
    text = "\n".join(f"line {i}" for i in range(5000))
    bounded = agent.bound_text(text)
    assert bounded.count("\n") < agent.MAX_TEXT_LINES
    assert "Narrow the call" in bounded
    assert agent.bound_text("") == "(no output)"
    assert agent.bound_text("short") == "short"


# ---- closing -----------------------------------------------------------------------------------


def test_close_is_idempotent_and_refuses_later_calls(tmp_path):
    box = Toolbox(roots=[tmp_path])
    box.close()
    box.close()
    assert box.closed
    fails(box, "ls", {}, "closed")


def test_close_from_another_thread_kills_a_running_command(tmp_path):
    pid_file = tmp_path / "pid"
    box = Toolbox(roots=[tmp_path])
    answers: list[ToolResult] = []
    worker = threading.Thread(
        target=lambda: answers.append(box.call("bash", {"command": f"echo $$ > {pid_file}; sleep 1000"}))
    )
    worker.start()
    pid = read_pid(pid_file)
    closers = [threading.Thread(target=box.close) for _ in range(3)]
    for closer in closers:
        closer.start()
    for closer in closers:
        closer.join()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert answers[0].data["signal"] == "SIGKILL"
    assert not process_running(pid)


def test_leaving_the_with_block_kills_what_a_command_left_running(tmp_path):
    pid_file = tmp_path / "pid"
    with Toolbox(roots=[tmp_path]) as box:
        result = ok(
            box, "bash", {"command": f"(trap '' HUP TERM; sleep 1000) & echo $! > {pid_file}; echo started"}
        )
        assert "started" in result.text and result.data["exit_code"] == 0
        pid = read_pid(pid_file)
        assert process_running(pid)
    wait_until(lambda: not process_running(pid), "the left-over server to be killed")


# ---- asyncio -----------------------------------------------------------------------------------


def test_acall_gives_the_same_answer_as_call(tmp_path):
    write(tmp_path / "a.txt", "x\n")

    async def main():
        with Toolbox(roots=[tmp_path]) as box:
            return await box.acall("read", {"file_path": "a.txt"}), box.call("read", {"file_path": "a.txt"})

    async_result, sync_result = asyncio.run(main())
    assert async_result == sync_result


def test_acall_runs_off_the_event_loop(tmp_path):
    async def main():
        with Toolbox(roots=[tmp_path]) as box:
            ticks = 0

            async def ticker():
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.01)
                    ticks += 1

            task = asyncio.create_task(ticker())
            await box.acall("bash", {"command": "sleep 0.5"})
            task.cancel()
            return ticks

    assert asyncio.run(main()) > 5  # the loop kept turning while bash ran


def test_acall_reads_a_small_file_on_the_loop_and_anything_else_on_a_worker(tmp_path):
    from ironcode.tools.read import QUICK_BYTES

    write(tmp_path / "small.txt", "x\n")
    write(tmp_path / "big.txt", "y" * 99 + "\n" * (QUICK_BYTES // 100 + 1) * 100)
    (tmp_path / "dir").mkdir()
    threads: list[str] = []

    async def main():
        with Toolbox(roots=[tmp_path]) as box:
            engine = box.engine

            def spy(*args, **kwargs):
                threads.append(threading.current_thread().name)
                return engine(*args, **kwargs)

            box.engine = spy
            small = await box.acall("read", {"file_path": "small.txt"})
            big = await box.acall("read", {"file_path": "big.txt", "limit": 1})
            # No engine call for these, but each answer is the worker path's own error.
            answers = [
                await box.acall("read", {"file_path": path})
                for path in ("dir", "missing.txt", "../outside.txt", 7)
            ]
            return small, big, answers, box.call("read", {"file_path": "small.txt"})

    small, big, answers, sync_small = asyncio.run(main())
    assert small == sync_small and not big.is_error
    assert threads[0] == threading.current_thread().name  # on the loop: no hop
    assert threads[1].startswith("ironcode-toolbox")  # over QUICK_BYTES: a worker
    assert [a.data["kind"] for a in answers] == [
        "is_directory",
        "not_found",
        "outside_root",
        "invalid_argument",
    ]


def test_cancelling_acall_kills_the_running_command_before_cancelled_error(tmp_path):
    pid_file = tmp_path / "pid"

    async def main():
        with Toolbox(roots=[tmp_path]) as box:
            task = asyncio.create_task(box.acall("bash", {"command": f"echo $$ > {pid_file}; sleep 1000"}))
            while not pid_file.exists() or not pid_file.read_text().strip():
                await asyncio.sleep(0.01)
            pid = int(pid_file.read_text())
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return pid, process_running(pid)

    pid, running_after_cancel = asyncio.run(main())
    assert not running_after_cancel


def test_cancelling_acall_stops_a_bash_output_wait(tmp_path):
    async def main():
        with Toolbox(roots=[tmp_path]) as box:
            shell = box.call("bash", {"command": "sleep 1000", "run_in_background": True}).data["shell_id"]
            task = asyncio.create_task(box.acall("bash_output", {"shell_id": shell, "wait_ms": 600_000}))
            await asyncio.sleep(0.3)
            start = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return time.monotonic() - start

    assert asyncio.run(main()) < agent.CANCEL_GRACE_S


def test_concurrent_calls_on_one_toolbox_are_safe(tmp_path):
    for i in range(8):
        write(tmp_path / f"f{i}.txt", f"{i}\n")

    async def main():
        with Toolbox(roots=[tmp_path]) as box:
            reads = [box.acall("read", {"file_path": f"f{i}.txt"}) for i in range(8)]
            await asyncio.gather(*reads)
            edits = [
                box.acall("edit", {"file_path": f"f{i}.txt", "old_string": f"{i}", "new_string": f"{i}{i}"})
                for i in range(8)
            ]
            return await asyncio.gather(*edits)

    results = asyncio.run(main())
    assert all(not r.is_error for r in results), [r.text for r in results]
    assert [(tmp_path / f"f{i}.txt").read_text() for i in range(8)] == [f"{i}{i}\n" for i in range(8)]


def test_call_never_raises_on_garbage_arguments(box):
    for name in ALL_TOOLS:
        for args in ({"path": 1, "file_path": None, "command": [], "shell_id": 3, "pattern": 2}, "x", 5):
            result = call(box, name, args)  # type: ignore[arg-type]
            assert result.kind == "invalid_argument", (name, result.text)
        call(box, name, {})  # missing fields, or a valid call of a tool without required ones
