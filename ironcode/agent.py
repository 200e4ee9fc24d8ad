"""The agent toolbox: every tool a model calls, with schemas, confined roots, the read rule,
background shells and a bash sandbox (AGENT.md).

>>> from ironcode.agent import Toolbox
>>> with Toolbox(roots=["."]) as box:                           # doctest: +SKIP
...     box.call("read", {"file_path": "README.md"}).text[:24]
'<path>/src/app/README.md'

A model emits a tool call with JSON arguments; :meth:`Toolbox.call` validates them against the
tool's ``input_schema`` (JSON Schema, through the ``jsonschema`` package), keeps every path inside
the roots, applies the read rule, runs the tool and answers with a :class:`ToolResult`: ``text``
for the model, ``data`` for a program. It never raises for anything a model can get wrong.

The tools live in ``ironcode/tools/<tool>.py`` (one each, or a family per module); the registry is
built from :data:`TOOL_MODULES`. The parts that are not tools have modules of their own:
:mod:`ironcode.agent_roots` (roots and confined reads), :mod:`ironcode.agent_reads` (the read rule),
:mod:`ironcode.agent_shells` (process groups and background shells), :mod:`ironcode.agent_guard`
(bash's outside-root guard) and :mod:`ironcode.sandbox` (bubblewrap).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import importlib
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ironcode

from .agent_reads import Version
from .agent_roots import Located
from .errors import KINDS as ENGINE_KINDS
from .errors import IronCodeError

#: The modules of ``ironcode/tools`` that define tools, in the order a model sees the tools. A
#: module defines ``TOOL`` and ``run`` (one tool), or ``TOOLS``: ``[(Tool, run), ...]`` (a family).
TOOL_MODULES = (
    "read",
    "write",
    "edit",
    "patch",
    "text_editor",
    "grep",
    "glob",
    "ls",
    "find_files",
    "bash",
    "bash_shells",
    "vcs",
    "parse_bash",
)
#: The tools ``bash=False`` removes (and ``read_only=True`` too, bash_output included).
BASH_TOOLS = frozenset({"bash", "bash_output", "bash_input", "bash_kill"})
#: The text editor's name, fixed by Anthropic's text_editor_20250728 tool.
TEXT_EDITOR = "str_replace_based_edit_tool"
TEXT_EDITOR_NATIVE_TYPE = "text_editor_20250728"

#: What a model reads is bounded like the engine's read: lines and bytes of content, with the
#: tool's frame (a header, a footer, a note on how to see the rest) on top of that, within
#: MAX_FRAME_LINES / MAX_FRAME_BYTES.
MAX_TEXT_LINES = 2000
MAX_TEXT_BYTES = 50 * 1024
MAX_FRAME_LINES = 20
MAX_FRAME_BYTES = 4 * 1024
#: How much of a bad argument's value an invalid_argument message quotes (jsonschema's own message
#: repeats the whole value: a 5 MB string made a 5 MB error).
MAX_QUOTED_VALUE_CHARS = 200
#: Worker threads of :meth:`Toolbox.acall` (its own pool: a two-minute bash run must not take one
#: of the event loop's few default workers).
MAX_CONCURRENT_CALLS = 32
#: After a cancelled :meth:`Toolbox.acall` has stopped its work, how long it waits for the worker
#: thread to return before letting ``CancelledError`` through anyway.
CANCEL_GRACE_S = 5.0

#: Kinds the toolbox adds to the engine's (ARCHITECTURE.md "Errors", AGENT.md).
TOOLBOX_KINDS = frozenset(
    {
        "outside_root",
        "not_read",
        "stale_file",
        "unknown_tool",
        "invalid_argument",
        "read_only",
        "already_exists",
        "too_many_shells",
        "timeout",
        "sandbox_unavailable",
        "closed",
        "invalid_patch",
        "patch_failed",
    }
)
KINDS = ENGINE_KINDS | TOOLBOX_KINDS


@dataclass(frozen=True)
class Tool:
    """One tool as a model sees it. ``annotations`` holds MCP's four hints (``readOnlyHint``,
    ``destructiveHint``, ``idempotentHint``, ``openWorldHint``), all explicit bools."""

    name: str
    title: str
    description: str
    input_schema: dict
    output_schema: dict
    annotations: dict


@dataclass
class ToolResult:
    """``text`` is what the model reads; ``data`` matches the tool's ``output_schema`` on success and
    is ``{"kind", "message"}`` when ``is_error``."""

    text: str
    data: dict
    is_error: bool = False
    kind: str | None = None


def hints(*, read_only: bool = False, destructive: bool = False, idempotent: bool = False) -> dict:
    """The four MCP hints, every one explicit (no tool of ours reaches outside the machine)."""
    return {
        "readOnlyHint": read_only,
        "destructiveHint": destructive,
        "idempotentHint": idempotent,
        "openWorldHint": False,
    }


def error_result(kind: str, message: str) -> ToolResult:
    """An error answer; its message is bounded like any text (a regex error quotes the pattern)."""
    message = bound_text(message)
    return ToolResult(text=message, data={"kind": kind, "message": message}, is_error=True, kind=kind)


def bound_text(text: str) -> str:
    """``text`` within :data:`MAX_TEXT_LINES` lines and :data:`MAX_TEXT_BYTES` bytes. The tools keep
    within it themselves (each with its own note on how to see the rest); this is the net under them."""
    data = text.encode("utf-8")
    if len(data) <= MAX_TEXT_BYTES + MAX_FRAME_BYTES and text.count("\n") < MAX_TEXT_LINES + MAX_FRAME_LINES:
        return text or "(no output)"
    cut = data[:MAX_TEXT_BYTES].decode("utf-8", "ignore")
    lines = cut.split("\n")[: MAX_TEXT_LINES - 2]
    if len(cut) < len(text) and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut in the middle
    kept = "\n".join(lines)
    return (
        f"{kept}\n\n(Output cut to {len(lines)} lines / {len(kept.encode('utf-8'))} bytes of "
        f"{text.count(chr(10)) + 1} lines / {len(data)} bytes. Narrow the call to see the rest.)"
    )


# ---- the registry --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    tool: Tool
    run: Callable[[Toolbox, dict], ToolResult]
    validator: Any
    #: ``quick(toolbox, raw_args) -> bool``: True when this call does little, bounded work (a read
    #: of a small file), so :meth:`Toolbox.acall` runs it on the caller's thread.
    quick: Callable[[Toolbox, object], bool] | None = None


_registry_cache: list[_Entry] | None = None
_registry_lock = threading.Lock()


def registry() -> list[_Entry]:
    """Every tool of :data:`TOOL_MODULES`, checked once: a schema that is not valid JSON Schema, a
    hint missing or two tools with one name is a programming error."""
    global _registry_cache
    import jsonschema  # here, not at the top: the CLI imports the tools' formatters, not this

    with _registry_lock:
        if _registry_cache is None:
            entries: list[_Entry] = []
            for module_name in TOOL_MODULES:
                module = importlib.import_module(f"ironcode.tools.{module_name}")
                # TOOLS: (tool, run) or (tool, run, quick); a one-tool module's quick is its own.
                pairs = getattr(module, "TOOLS", None) or [
                    (module.TOOL, module.run, getattr(module, "quick", None))
                ]
                for tool, run, *rest in pairs:
                    quick = rest[0] if rest else None
                    jsonschema.Draft202012Validator.check_schema(tool.input_schema)
                    jsonschema.Draft202012Validator.check_schema(tool.output_schema)
                    assert set(tool.annotations) == set(hints()), tool.name
                    validator = jsonschema.Draft202012Validator(tool.input_schema)
                    entries.append(_Entry(tool, run, validator, quick))
            names = [e.tool.name for e in entries]
            assert len(names) == len(set(names)), names
            _registry_cache = entries
        return _registry_cache


def all_tools() -> list[Tool]:
    """Every tool the toolbox knows, before ``read_only``/``bash`` removal."""
    return [e.tool for e in registry()]


# ---- argument validation -------------------------------------------------------------------------


def validate(entry: _Entry, args: object) -> dict:
    """The arguments the tool's schema knows (extra fields are dropped), or ``invalid_argument``
    naming the field that is missing or wrong."""
    tool = entry.tool
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise IronCodeError(
            "invalid_argument",
            f"The arguments of {tool.name} must be a JSON object, got {type(args).__name__}.",
        )
    import jsonschema

    properties = tool.input_schema.get("properties", {})
    known = {key: value for key, value in args.items() if key in properties}
    error = jsonschema.exceptions.best_match(entry.validator.iter_errors(known))
    if error is not None:
        raise IronCodeError("invalid_argument", _argument_message(tool, known, error))
    return {key: _integral(properties[key], value) for key, value in known.items()}


def _integral(schema: dict, value: Any) -> Any:
    """JSON Schema's integers include ``5.0``; the tools get ``5``."""
    if schema.get("type") == "integer" and isinstance(value, float):
        return int(value)
    if schema.get("type") == "array" and isinstance(value, list):
        return [_integral(schema.get("items", {}), item) for item in value]
    return value


def _quoted(error: Any) -> str:
    """jsonschema's message, with the offending value cut to :data:`MAX_QUOTED_VALUE_CHARS`."""
    shown = repr(error.instance)
    if len(shown) <= MAX_QUOTED_VALUE_CHARS:
        return error.message
    cut = f"{shown[:MAX_QUOTED_VALUE_CHARS]}… ({len(shown)} characters)"
    return (
        error.message.replace(shown, cut)
        if shown in error.message
        else f"{cut}: {error.validator} check failed"
    )


def _argument_message(tool: Tool, args: dict, error: Any) -> str:
    required = tool.input_schema.get("required", [])
    if error.validator == "required" and not error.absolute_path:
        missing = [name for name in required if name not in args]
        field_name = missing[0] if missing else "?"
        problem = "is required but missing"
    else:
        path = list(error.absolute_path)
        field_name = ".".join(str(p) for p in path) or "?"
        problem = f"is invalid: {_quoted(error)}"
    top = field_name.split(".")[0]
    expected = tool.input_schema.get("properties", {}).get(top, {}).get("description")
    hint = f" Expected: {expected}" if expected else ""
    return f"Invalid argument '{field_name}' for {tool.name}: it {problem}.{hint}"


# ---- calls ---------------------------------------------------------------------------------------


@dataclass
class CallContext:
    """One call's cancellation: the process groups it started, killed when it is cancelled."""

    cancelled: threading.Event = field(default_factory=threading.Event)
    groups: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def started(self, group: int) -> None:
        with self.lock:
            self.groups.add(group)
            cancelled = self.cancelled.is_set()
        if cancelled:
            from .agent_shells import kill_group

            kill_group(group)

    def cancel(self) -> None:
        from .agent_shells import kill_group

        with self.lock:
            self.cancelled.set()
            groups = list(self.groups)
        for group in groups:
            kill_group(group)


class Toolbox:
    """The tools of AGENT.md over ``roots``; see the module docs. A context manager: leaving the
    ``with`` (or :meth:`close`) kills every process the toolbox started."""

    def __init__(
        self,
        roots: list[str] | str | None = None,
        read_only: bool = False,
        bash: bool = True,
        sandbox: bool = False,
        network: bool = False,
        require_read: bool = True,
    ) -> None:
        from .agent_reads import ReadRecords
        from .agent_roots import Roots
        from .agent_shells import ProcessGroups, Shells

        self.roots = Roots(["."] if roots is None else roots)
        self.read_only = read_only
        self.bash_enabled = bash
        self.network = network
        self.sandbox = None
        if sandbox:
            from .sandbox import Sandbox

            self.sandbox = Sandbox(self.roots.folders, network=network)  # sandbox_unavailable
        self.reads = ReadRecords(enabled=require_read)
        self.groups = ProcessGroups()
        self.shells = Shells()
        self._entries: dict[str, _Entry] = {}
        self._removed: dict[str, str] = {}
        for entry in registry():
            removal = self._removal(entry.tool)
            if removal is None:
                self._entries[entry.tool.name] = entry
            else:
                self._removed[entry.tool.name] = removal
        #: The tools this toolbox serves, after read_only/bash removal.
        self.tools: list[Tool] = [e.tool for e in self._entries.values()]
        self._local = threading.local()
        self._closed = False
        self._close_lock = threading.Lock()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _shutdown, self.shells, self.groups, self.roots)

    def _removal(self, tool: Tool) -> str | None:
        """``read_only`` or ``unknown_tool`` for a tool this toolbox does not serve, else None."""
        if self.read_only and (not tool.annotations["readOnlyHint"] or tool.name in BASH_TOOLS):
            return "read_only"
        if not self.bash_enabled and tool.name in BASH_TOOLS:
            return "unknown_tool"
        return None

    # -- calling ---------------------------------------------------------------------------------

    def call(self, name: str, args: dict | None = None) -> ToolResult:
        """Runs tool ``name``; never raises for a model's mistake (see the module docs)."""
        return self._call(name, args, CallContext())

    async def acall(self, name: str, args: dict | None = None) -> ToolResult:
        """:meth:`call` from asyncio: the work runs on a worker thread; when the awaiting task is
        cancelled, the work is stopped (a running bash command's process group is killed) before
        ``CancelledError`` propagates. A quick call (its tool's ``quick`` says so: a read of a
        small file) runs on the loop instead: the hop to a worker and back cost more than the read
        (0.35-0.6 ms of a 2,000-line read's 2.4 ms through ``ironcode mcp``)."""
        context = CallContext()
        entry = self._entries.get(name) if isinstance(name, str) else None
        if entry is not None and entry.quick is not None and self._quick(entry, args):
            return self._call(name, args, context)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool(), self._call, name, args, context)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            context.cancel()
            await asyncio.wait([future], timeout=CANCEL_GRACE_S)
            raise

    def _quick(self, entry: _Entry, args: object) -> bool:
        """The tool's ``quick`` verdict on raw arguments; anything odd means no (the worker path
        validates and answers it)."""
        try:
            return bool(entry.quick(self, args))
        except Exception:  # noqa: BLE001 - a hint only: the call itself reports the problem
            return False

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    MAX_CONCURRENT_CALLS, thread_name_prefix="ironcode-toolbox"
                )
            return self._executor

    def _call(self, name: str, args: object, context: CallContext) -> ToolResult:
        try:
            entry = self._entries.get(name) if isinstance(name, str) else None
            if entry is None:
                return self._not_served(name)
            if self._closed:
                return error_result("closed", "This toolbox is closed: it runs no more tools.")
            known = validate(entry, args)
            previous = getattr(self._local, "context", None)
            self._local.context = context
            try:
                result = entry.run(self, known)
            finally:
                self._local.context = previous
            if not result.is_error:
                result.text = bound_text(result.text)
            return result
        except IronCodeError as e:
            return error_result(e.kind, e.message)
        except Exception as e:  # a bug of ours: still an answer, never a traceback to the model
            return error_result(
                "panic", f"Internal error in tool {name}: {type(e).__name__}: {e}. This is a bug in ironcode."
            )

    def _not_served(self, name: object) -> ToolResult:
        if isinstance(name, str) and self._removed.get(name) == "read_only":
            return error_result("read_only", f"The tool {name} is not available: this toolbox is read-only.")
        served = ", ".join(self._entries)
        shown = (
            repr(name)
            if len(repr(name)) <= MAX_QUOTED_VALUE_CHARS
            else f"{repr(name)[:MAX_QUOTED_VALUE_CHARS]}…"
        )
        return error_result("unknown_tool", f"There is no tool named {shown}. The tools are: {served}.")

    # -- helpers for the tools -------------------------------------------------------------------

    def engine(self, op: str, *args: Any, root: str, **kwargs: Any) -> Any:
        """``ironcode.<op>(*args, root=root, **kwargs)``: the dispatching operation, confined to
        the root that holds the path (the engine opens beneath it)."""
        return getattr(ironcode, op)(*args, root=root, **kwargs)

    def version(self, located: Located) -> Version | None:
        """The file's current version for the read rule (None if it does not exist)."""
        from .agent_reads import MAX_KEPT_BYTES, Version

        found = self.roots.fingerprint(located, MAX_KEPT_BYTES)
        return None if found is None else Version(*found)

    def remember(self, located: Located) -> None:
        """Records the file's current version (after a read, or a change by this toolbox)."""
        self.reads.remember(located.path, self.version(located))

    def context(self) -> CallContext:
        """The running call's context (for tools that start processes or wait)."""
        context = getattr(self._local, "context", None)
        return context if context is not None else CallContext()

    # -- exporters -------------------------------------------------------------------------------

    def anthropic_tools(self, text_editor: str = "ours") -> list[dict]:
        """Messages API tool definitions; ``text_editor="native"`` declares Anthropic's own
        text_editor_20250728 instead of our schema for str_replace_based_edit_tool."""
        if text_editor not in ("ours", "native"):
            raise IronCodeError(
                "invalid_argument", f"text_editor must be 'ours' or 'native', got {text_editor!r}"
            )
        out = []
        for tool in self.tools:
            if tool.name == TEXT_EDITOR and text_editor == "native":
                out.append({"type": TEXT_EDITOR_NATIVE_TYPE, "name": TEXT_EDITOR})
            else:
                out.append(
                    {
                        "name": tool.name,
                        "description": tool.description,
                        "input_schema": copy.deepcopy(tool.input_schema),
                    }
                )
        return out

    def openai_tools(self, api: str = "responses") -> list[dict]:
        """Function tools in the shape of the Responses API (default) or Chat Completions."""
        if api == "responses":
            return [
                {
                    "type": "function",
                    "name": t.name,
                    "description": t.description,
                    "parameters": copy.deepcopy(t.input_schema),
                    "strict": False,
                }
                for t in self.tools
            ]
        if api == "chat":
            return [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": copy.deepcopy(t.input_schema),
                    },
                }
                for t in self.tools
            ]
        raise IronCodeError("invalid_argument", f"api must be 'responses' or 'chat', got {api!r}")

    @staticmethod
    def anthropic_result(tool_use_id: str, result: ToolResult) -> dict:
        """A ``tool_result`` content block for the next user message; it always carries ``is_error``."""
        return {
            "type": "tool_result",
            "tool_use_id": tool_use_id,
            "content": result.text,
            "is_error": result.is_error,
        }

    @staticmethod
    def openai_result(call_id: str, result: ToolResult, api: str = "responses") -> dict:
        """A Responses ``function_call_output`` input item (or, with ``api="chat"``, a ``tool`` message)."""
        if api == "chat":
            return {"role": "tool", "tool_call_id": call_id, "content": result.text}
        return {"type": "function_call_output", "call_id": call_id, "output": result.text}

    # -- closing ---------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Kills every process the toolbox started (foreground commands, what they left running,
        background shells) and removes its spill files. Idempotent; safe from any thread while
        calls run (a call that starts a process afterwards has it killed at once)."""
        with self._close_lock:
            self._closed = True
            self._finalizer()
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False)

    def __enter__(self) -> Toolbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ironcode.agent.Toolbox roots={list(self.roots.folders)} tools={len(self.tools)}>"


def _shutdown(shells, groups, roots) -> None:
    """What closing does; also run by the garbage collector or at exit for a toolbox never closed."""
    shells.close_all()
    groups.kill_all()
    roots.remove_spills()
