"""The exporters (AGENT.md "Exporters"), checked with the official anthropic and openai packages' own
types: the definitions and results must be what their request models accept. No network."""

from __future__ import annotations

import functools
import typing
from pathlib import Path

import pydantic
import pytest
from anthropic.types import ToolParam, ToolResultBlockParam, ToolUnionParam
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
from openai.types.chat import ChatCompletionFunctionToolParam, ChatCompletionToolMessageParam
from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming
from openai.types.responses import FunctionToolParam
from openai.types.responses.response_create_params import ResponseCreateParamsNonStreaming
from openai.types.responses.response_input_param import FunctionCallOutput

import ironcode
from ironcode.agent import TEXT_EDITOR, Toolbox, ToolResult

from .agentlib import ok, write


@pytest.fixture
def box(tmp_path):
    write(tmp_path / "a.txt", "x\n")
    with Toolbox(roots=[tmp_path]) as toolbox:
        yield toolbox


@functools.cache
def adapter(model) -> pydantic.TypeAdapter:
    """One adapter per SDK type: building one for a request model takes seconds."""
    return pydantic.TypeAdapter(model)


def validated(model, value):
    """``value`` through pydantic with ``model`` (a TypedDict of the SDK): it must validate, and no key
    may be one the model does not know (pydantic would silently drop it)."""
    adapter(model).validate_python(value)
    if isinstance(value, dict) and typing.is_typeddict(model):
        known = set(typing.get_type_hints(model))
        assert set(value) <= known, set(value) - known
    return value


def test_anthropic_tools_are_tool_params_of_the_messages_api(box):
    tools = box.anthropic_tools()
    assert [t["name"] for t in tools] == [t.name for t in box.tools]
    for tool in tools:
        validated(ToolParam, tool)
        assert tool["input_schema"]["type"] == "object"
    request = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "hi"}],
        "tools": tools,
    }
    adapter(MessageCreateParamsNonStreaming).validate_python(request)


def test_native_text_editor_declares_anthropics_own_tool(box):
    tools = box.anthropic_tools(text_editor="native")
    editor = next(t for t in tools if t["name"] == TEXT_EDITOR)
    assert editor == {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"}
    adapter(list[ToolUnionParam]).validate_python(tools)


def test_anthropic_result_is_a_tool_result_block_that_always_carries_is_error(box):
    success = box.anthropic_result("toolu_01", ok(box, "read", {"file_path": "a.txt"}))
    failure = box.anthropic_result("toolu_02", box.call("read", {"file_path": "nope"}))
    for block, is_error in ((success, False), (failure, True)):
        validated(ToolResultBlockParam, block)
        assert block["is_error"] is is_error and block["type"] == "tool_result"
    assert "File not found" in failure["content"]
    assistant = {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "toolu_01", "name": "read", "input": {}}],
    }
    request = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "hi"}, assistant, {"role": "user", "content": [success]}],
    }
    adapter(MessageCreateParamsNonStreaming).validate_python(request)


def test_openai_responses_tools_are_function_tools(box):
    tools = box.openai_tools()
    for tool in tools:
        validated(FunctionToolParam, tool)
        assert tool["type"] == "function" and tool["strict"] is False
    request = {"model": "gpt-5", "input": "hi", "tools": tools}
    adapter(ResponseCreateParamsNonStreaming).validate_python(request)


def test_openai_chat_tools_are_function_tools_of_chat_completions(box):
    tools = box.openai_tools(api="chat")
    for tool in tools:
        validated(ChatCompletionFunctionToolParam, tool)
    request = {"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}], "tools": tools}
    adapter(CompletionCreateParamsNonStreaming).validate_python(request)


def test_openai_result_is_a_function_call_output_carrying_the_text(box):
    result = ok(box, "read", {"file_path": "a.txt"})
    item = box.openai_result("call_1", result)
    validated(FunctionCallOutput, item)
    assert item == {"type": "function_call_output", "call_id": "call_1", "output": result.text}
    request = {"model": "gpt-5", "input": [item], "tools": box.openai_tools()}
    adapter(ResponseCreateParamsNonStreaming).validate_python(request)
    message = box.openai_result("call_1", result, api="chat")
    validated(ChatCompletionToolMessageParam, message)


def test_exporters_follow_read_only_removal(tmp_path):
    with Toolbox(roots=[tmp_path], read_only=True) as box:
        names = {t["name"] for t in box.anthropic_tools()} | {t["name"] for t in box.openai_tools()}
        assert "write" not in names and "bash" not in names and "read" in names


def test_exporters_copy_the_schemas(box):
    box.anthropic_tools()[0]["input_schema"]["properties"].clear()
    assert box.tools[0].input_schema["properties"]


def test_unknown_exporter_options_are_programming_errors(box):
    with pytest.raises(ironcode.IronCodeError):
        box.anthropic_tools(text_editor="theirs")
    with pytest.raises(ironcode.IronCodeError):
        box.openai_tools(api="assistants")


def test_an_error_result_text_is_never_empty():
    block = Toolbox.anthropic_result("t", ToolResult(text="x", data={}, is_error=True, kind="io"))
    assert block["content"] == "x"


# ---- the README's agent loops ------------------------------------------------------------------


def readme_agent_section() -> str:
    from .helpers import ROOT

    text = (Path(ROOT) / "README.md").read_text()
    start = text.index("## Use it from an agent")
    return text[start : text.index("\n## ", start + 1)]


def test_readme_agent_loops_compile_and_run_without_a_key(monkeypatch):
    import re

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    blocks = re.findall(r"```python\n(.*?)```", readme_agent_section(), re.DOTALL)
    assert len(blocks) == 2
    for block in blocks:
        assert len(block.strip().splitlines()) <= 25
        exec(compile(block, "README.md", "exec"), {"__name__": "readme"})  # imports, then no key: no network


def test_readme_lists_every_tool(box):
    section = readme_agent_section()
    for tool in box.tools:
        assert f"`{tool.name}`" in section, tool.name
