"""Build one model turn's input from the run, its thread, and the run's own steps so far.

Order: the instructions (plus ``additional_instructions``) as the system message, then the thread's
messages from before this run (truncated per ``truncation_strategy`` and the token budget), then this
run's own turns: assistant text, and assistant tool calls each followed by its ``tool`` result message.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assistantd.backends.base import ChatMessage, FunctionSpec, ToolCall, TurnRequest
from assistantd.backends.registry import Route
from assistantd.runs.item_chat import chat_messages, data_url
from assistantd.runs.tokens import PER_MESSAGE_OVERHEAD, MessageTokens, count_contents
from assistantd.store import responses as item_codec
from assistantd.store.blobs import BlobStore
from assistantd.store.records import MessageRecord, RunRecord, RunStepRecord
from assistantd.tools.base import Tool

DEFAULT_COMPLETION_RESERVE = 4096
THREAD_TOKENS = MessageTokens()
"""Counts of the thread messages turns have been built from, shared by every run of the process."""


@dataclass(frozen=True)
class TurnInput:
    request: TurnRequest
    prompt_tokens: int
    over_budget: bool
    """True when even the truncated prompt exceeds ``max_prompt_tokens``."""
    completion_spent: bool = False
    """True when earlier turns used up ``max_completion_tokens``: no turn may be asked for."""


def function_specs(tools: list[dict[str, Any]]) -> list[FunctionSpec]:
    out = []
    for tool in tools:
        if tool.get("type") == "function":
            fn = tool["function"]
            out.append(FunctionSpec(fn["name"], fn.get("description"), fn.get("parameters"), fn.get("strict")))
    return out


def _system_prompt(run: RunRecord, schema_hint: str | None) -> str:
    parts = [p for p in (run.instructions, run.additional_instructions, schema_hint) if p]
    return "\n\n".join(parts)


async def _content(message: MessageRecord, blobs: BlobStore) -> str | list[dict[str, Any]]:
    texts: list[str] = []
    parts: list[dict[str, Any]] = []
    for part in message.content:
        kind = part.get("type")
        if kind == "text":
            value = part["text"]["value"]
            texts.append(value)
            parts.append({"type": "text", "text": value})
        elif kind == "image_url":
            parts.append({"type": "image_url", "image_url": part["image_url"]})
        elif kind == "image_file":
            url = await data_url(blobs, part["image_file"]["file_id"])
            if url:
                detail = part["image_file"].get("detail") or "auto"
                parts.append({"type": "image_url", "image_url": {"url": url, "detail": detail}})
    if len(parts) == len(texts):
        return "\n".join(texts)
    return parts


ServerTools = Mapping[str, tuple[Tool, dict[str, Any]]]
"""The run's server-side tools by the function name the model sees (``ToolRegistry.for_run``)."""


def _replayed(call: dict[str, Any], by_type: dict[str, Tool]) -> tuple[ToolCall, str] | None:
    """A recorded tool call as the model made it, and the output it got (None: not the model's call)."""
    if call.get("type") == "function":
        fn = call["function"]
        return ToolCall(call["id"], fn["name"], fn["arguments"]), fn.get("output") or ""
    tool = by_type.get(str(call.get("type")))
    if tool is None:
        return None
    arguments, output = tool.replay(call)
    return ToolCall(call["id"], tool.name, arguments), output


def _run_turns(steps: list[RunStepRecord], own: dict[str, MessageRecord], server: ServerTools) -> list[ChatMessage]:
    by_type = {tool.type: tool for tool, _ in server.values()}
    out: list[ChatMessage] = []
    for step in steps:
        if step.status in ("failed", "cancelled", "expired"):
            continue  # a turn interrupted by a stopped process, taken again since
        details = step.step_details
        if step.type == "message_creation":
            msg = own.get(details["message_creation"]["message_id"])
            text = "".join(p["text"]["value"] for p in msg.content if p.get("type") == "text") if msg else ""
            if text:
                out.append(ChatMessage("assistant", text))
            continue
        replayed = [r for c in details.get("tool_calls") or [] if (r := _replayed(c, by_type)) is not None]
        if not replayed:
            continue
        out.append(ChatMessage("assistant", None, tuple(call for call, _ in replayed)))
        for call, output in replayed:
            out.append(ChatMessage("tool", output, tool_call_id=call.id))
    return out


async def _sizes(messages: Sequence[ChatMessage]) -> list[int]:
    """Each message's prompt tokens: its content, its tool calls' names and arguments, the overhead."""
    texts: list[str | list[dict[str, Any]] | None] = [m.content for m in messages]
    for m in messages:
        texts.extend(part for c in m.tool_calls for part in (c.name, c.arguments))
    counts = await count_contents(texts)
    out, call = [], len(messages)
    for i, m in enumerate(messages):
        n = 2 * len(m.tool_calls)
        out.append(PER_MESSAGE_OVERHEAD + counts[i] + sum(counts[call : call + n]))
        call += n
    return out


async def _thread_sizes(records: Sequence[MessageRecord], messages: Sequence[ChatMessage]) -> list[int]:
    """``_sizes`` of the thread's messages, each finished one counted once per process."""
    known: list[int | None] = [None if r.status == "in_progress" else THREAD_TOKENS.get(r.id) for r in records]
    missing = [i for i, n in enumerate(known) if n is None]
    for i, n in zip(missing, await _sizes([messages[i] for i in missing]), strict=True):
        known[i] = n
        if records[i].status != "in_progress":
            THREAD_TOKENS.put(records[i].id, n)
    return [n or 0 for n in known]


def _in_context(m: MessageRecord) -> bool:
    """Thread messages, and the items a response or a client added (function calls and their outputs):
    an Assistants run's own tool calls were never context for later runs, as OpenAI's were not."""
    return m.type == "message" or m.run_id is None or not m.run_id.startswith("run_")


async def _thread_chat(
    records: Sequence[MessageRecord], blobs: BlobStore
) -> tuple[list[MessageRecord], list[ChatMessage]]:
    """The thread's rows as chat messages, one each (a row that gives the model nothing is left out)."""
    kept: list[MessageRecord] = []
    out: list[ChatMessage] = []
    for m in records:
        if m.type == "message":
            kept.append(m)
            out.append(ChatMessage("user" if m.role == "user" else "assistant", await _content(m, blobs)))
            continue
        if m.data is None or m.data.get("kind") == item_codec.FOREIGN:
            continue
        chat = await chat_messages([item_codec.item_of(m.data)], blobs)
        if len(chat) == 1:
            kept.append(m)
            out.append(chat[0])
    return kept, out


def _calls_only(m: ChatMessage) -> bool:
    return bool(m.tool_calls) and not m.content


def merge_calls(messages: list[ChatMessage]) -> list[ChatMessage]:
    """Consecutive assistant messages that only call tools become one (parallel calls, as upstreams expect)."""
    out: list[ChatMessage] = []
    for m in messages:
        last = out[-1] if out else None
        if last is not None and m.role == last.role == "assistant" and _calls_only(m) and _calls_only(last):
            out[-1] = dataclasses.replace(last, tool_calls=(*last.tool_calls, *m.tool_calls))
            continue
        out.append(m)
    return out


def response_format_for(run: RunRecord, route: Route) -> tuple[dict[str, Any] | None, str | None]:
    fmt = run.response_format
    if not isinstance(fmt, dict) or fmt.get("type") == "text":
        return None, None
    if fmt.get("type") == "json_object":
        return {"type": "json_object"}, None
    spec = fmt.get("json_schema") or {}
    if route.supports_json_schema:
        return {"type": "json_schema", "json_schema": spec}, None
    hint = "Answer only with one JSON value that conforms to this JSON Schema:\n" + json.dumps(spec.get("schema") or {})
    return {"type": "json_object"}, hint


async def build_turn(
    run: RunRecord,
    history: list[MessageRecord],
    steps: list[RunStepRecord],
    route: Route,
    blobs: BlobStore,
    *,
    prompt_used: int,
    completion_used: int,
    extra: tuple[ChatMessage, ...] = (),
    server: ServerTools | None = None,
) -> TurnInput:
    """The next turn's request. ``history`` is the whole thread, oldest first."""
    response_format, schema_hint = response_format_for(run, route)
    system = _system_prompt(run, schema_hint)
    before = [m for m in history if m.run_id != run.id and _in_context(m)]
    own = {m.id: m for m in history if m.run_id == run.id}
    if run.truncation_strategy.get("type") == "last_messages" and run.truncation_strategy.get("last_messages"):
        before = before[-int(run.truncation_strategy["last_messages"]) :]
    before, thread_msgs = await _thread_chat(before, blobs)
    server = server or {}
    tail = _run_turns(steps, own, server) + list(extra)
    head = [ChatMessage("system", system)] if system else []

    completion_left = (run.max_completion_tokens - completion_used) if run.max_completion_tokens else None
    reserve = (
        completion_left if completion_left is not None else min(DEFAULT_COMPLETION_RESERVE, route.context_window // 4)
    )
    budget = route.context_window - reserve
    if run.max_prompt_tokens is not None:
        budget = min(budget, run.max_prompt_tokens - prompt_used)
    fixed = sum(await _sizes(head + tail))
    sizes = await _thread_sizes(before, thread_msgs)
    total = fixed + sum(sizes)
    # "auto": drop the oldest messages until the prompt fits, keeping at least the newest one.
    drop = 0
    while total > budget and drop < len(thread_msgs) - 1:
        total -= sizes[drop]
        drop += 1
    thread_msgs = thread_msgs[drop:]
    over = run.max_prompt_tokens is not None and total > run.max_prompt_tokens - prompt_used
    tools = function_specs(run.tools) + [tool.function(entry) for tool, entry in server.values()]
    request = TurnRequest(
        model=run.model,
        messages=head + merge_calls(thread_msgs) + tail,
        tools=tools,
        tool_choice=tool_choice_for(run.tool_choice, server) if tools else None,
        parallel_tool_calls=run.parallel_tool_calls if tools else None,
        temperature=run.temperature,
        top_p=run.top_p,
        max_tokens=max(completion_left, 1) if completion_left is not None else None,
        response_format=response_format,
        reasoning_effort=run.reasoning_effort,
    )
    return TurnInput(request, total, over, completion_spent=completion_left is not None and completion_left <= 0)


def tool_choice_for(choice: Any, server: ServerTools) -> Any:
    """A named built-in tool becomes the named function it is offered as."""
    if isinstance(choice, dict) and choice.get("type") in ("file_search", "code_interpreter"):
        for name, (tool, _) in server.items():
            if tool.type == choice["type"]:
                return {"type": "function", "function": {"name": name}}
        return "required"
    return choice
