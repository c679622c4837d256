"""Responses SSE in tests: parse the raw bytes, and check a stream the way OpenAI's SDK and spec would.

``validate_response_events`` walks the events once and fails on the first thing that OpenAI's documented
order (spec responses.md §6) or the SDK would not accept: every event must validate against the SDK's
``ResponseStreamEvent``; ``sequence_number`` counts from 0 (or ``start``) without gaps; ``response.created``
comes first and every lifecycle event keeps its ``response.id``; ``output_index`` is contiguous in the order
items are added; a content part is added before its deltas and done (``output_text.done`` then
``content_part.done``) before its item; deltas concatenate to the ``.done`` text and arguments; every added
item is done before the terminal event, which is the last, and ``response.completed`` carries all of them.
Then the events are fed to the SDK's own accumulator (``ResponseStreamState``, what ``responses.stream()``
runs), whose final response and accumulated snapshot must agree with ``response.completed``.
"""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass, field
from typing import Any

from openai import omit
from openai._models import construct_type
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
EVENT_TYPES: dict[str, Any] = {
    typing.get_args(cls.model_fields["type"].annotation)[0]: cls
    for cls in typing.get_args(typing.get_args(ResponseStreamEvent)[0])
}
"""Each event type's SDK model, so a bad event's error names its own fields, not the whole union's."""
LIFECYCLE = frozenset(
    {"response.created", "response.queued", "response.in_progress", "response.completed"}
    | {"response.failed", "response.incomplete"}
)
TERMINAL = frozenset({"response.completed", "response.failed", "response.incomplete"})
ITEM_EVENT_PREFIXES = ("response.output_text.", "response.refusal.", "response.content_part.")


def parse_sse(body: bytes) -> list[dict[str, Any]]:
    """Raw ``text/event-stream`` bytes → event dicts. Each frame is ``event: <type>`` + ``data: <json>``
    whose ``type`` matches; a trailing ``data: [DONE]`` frame (Open Responses) is accepted and dropped."""
    text = body.decode()
    assert text.endswith("\n\n"), text[-200:]
    events = []
    for frame in text[:-2].split("\n\n"):
        lines = [ln for ln in frame.split("\n") if not ln.startswith(":")]  # keep-alive comments
        if not lines:
            continue
        if lines[-1] == "data: [DONE]":
            continue
        assert len(lines) == 2 and lines[0].startswith("event: ") and lines[1].startswith("data: "), frame
        data = json.loads(lines[1][len("data: ") :])
        assert data["type"] == lines[0][len("event: ") :], frame
        events.append(data)
    return events


@dataclass
class _Item:
    id: str | None
    type: str
    parts: dict[int, dict[str, Any]] = field(default_factory=dict)
    text: dict[int, str] = field(default_factory=dict)
    arguments: str = ""
    code: str = ""
    done: bool = False
    args_done: bool = False


@dataclass
class StreamSummary:
    final: dict[str, Any]
    """The terminal event's ``response``."""
    done_items: list[dict[str, Any]]
    """``output_item.done`` items by output_index."""
    types: list[str]


def validate_response_events(events: list[dict[str, Any]], *, start: int = 0) -> StreamSummary:
    """Check a whole stream (or, with ``start``, a resumed tail that still begins at ``response.created``)."""
    assert events, "no events"
    for n, event in enumerate(events):
        assert event.get("type") in EVENT_TYPES, f"not an event type of the SDK: {event.get('type')}"
        EVENT_TYPES[event["type"]].model_validate(event)
        EVENT_ADAPTER.validate_python(event)
        assert event["sequence_number"] == start + n, (n, event["type"], event["sequence_number"])
    assert events[0]["type"] == "response.created", events[0]["type"]
    response_id = events[0]["response"]["id"]
    opened: dict[int, _Item] = {}
    terminal: dict[str, Any] | None = None
    for event in events:
        kind = event["type"]
        assert terminal is None, f"{kind} after the terminal event"
        if kind in LIFECYCLE:
            assert event["response"]["id"] == response_id, "lifecycle response identity changed"
            if kind in TERMINAL:
                terminal = event
            continue
        if kind == "error":
            continue
        index = event["output_index"]
        if kind == "response.output_item.added":
            assert index == len(opened), f"output_index {index} is not the next one ({len(opened)})"
            opened[index] = _Item(event["item"].get("id"), event["item"]["type"])
            continue
        assert index in opened, f"{kind} for output_index {index} before its output_item.added"
        item = opened[index]
        assert not item.done, f"{kind} after output_item.done of {index}"
        if "item_id" in event:
            assert event["item_id"] == item.id, (kind, event["item_id"], item.id)
        if kind == "response.output_item.done":
            assert event["item"]["type"] == item.type and event["item"].get("id") == item.id
            _check_item_done(item, event["item"])
            item.done = True
        elif kind.startswith(ITEM_EVENT_PREFIXES):
            _check_content_event(item, event)
        elif kind in ("response.function_call_arguments.delta", "response.mcp_call_arguments.delta"):
            assert not item.args_done
            item.arguments += event["delta"]
        elif kind in ("response.function_call_arguments.done", "response.mcp_call_arguments.done"):
            assert event["arguments"] == item.arguments, "arguments deltas do not add up to .done"
            item.args_done = True
        elif kind == "response.code_interpreter_call_code.delta":
            item.code += event["delta"]
        elif kind == "response.code_interpreter_call_code.done":
            assert event["code"] == item.code
    assert terminal is not None, "the stream has no terminal event"
    assert all(i.done for i in opened.values()), "items still open at the terminal event"
    done_items = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    done_items.sort(key=lambda i: next(k for k, v in opened.items() if v.id == i.get("id")))
    final = terminal["response"]
    if terminal["type"] == "response.completed":
        assert final["output"] == done_items, "response.completed does not carry the output items as done"
        _check_sdk_accumulator(events)
    return StreamSummary(final, done_items, [e["type"] for e in events])


def _check_content_event(item: _Item, event: dict[str, Any]) -> None:
    kind = event["type"]
    ci = event["content_index"]
    if kind == "response.content_part.added":
        assert ci == len(item.parts), f"content_index {ci} is not the next part"
        item.parts[ci] = {"part": event["part"], "text_done": False, "done": False}
        item.text[ci] = ""
        return
    assert ci in item.parts, f"{kind} before content_part.added for {ci}"
    state = item.parts[ci]
    assert not state["done"], f"{kind} after content_part.done"
    if kind in ("response.output_text.delta", "response.refusal.delta"):
        assert not state["text_done"]
        item.text[ci] += event["delta"]
    elif kind == "response.output_text.done":
        assert event["text"] == item.text[ci], "text deltas do not add up to output_text.done"
        state["text_done"] = True
    elif kind == "response.refusal.done":
        assert event["refusal"] == item.text[ci]
        state["text_done"] = True
    elif kind == "response.content_part.done":
        assert state["text_done"], "content_part.done before output_text.done / refusal.done"
        state["done"] = True
        state["final"] = event["part"]


def _check_item_done(item: _Item, final: dict[str, Any]) -> None:
    if item.type == "message":
        assert all(p["done"] for p in item.parts.values()), "output_item.done with a content part still open"
        assert final["content"] == [item.parts[i]["final"] for i in range(len(item.parts))]
    if item.type == "function_call":
        assert item.args_done, "function_call done without function_call_arguments.done"
        assert final["arguments"] == item.arguments


def _check_sdk_accumulator(events: list[dict[str, Any]]) -> None:
    """What ``responses.stream(...).get_final_response()`` does with these events must work and agree."""
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=omit, text_format=omit)
    for raw in events:
        state.handle_event(typing.cast(Any, construct_type(type_=ResponseStreamEvent, value=raw)))
    final = state._completed_response
    assert final is not None, "the SDK saw no response.completed"
    expected = events[-1]["response"]
    assert final.id == expected["id"]
    assert [_unparsed(o.to_dict()) for o in final.output] == expected["output"]
    snapshot: Any = vars(state)["_ResponseStreamState__current_snapshot"]  # the accumulated deltas
    for accumulated, want in zip(snapshot.output, expected["output"], strict=True):
        if want["type"] == "message":
            # The SDK accumulates output_text deltas only (refusals come whole from output_item.done).
            got = [c.text for c in accumulated.content if c.type == "output_text"]
            assert got == [c["text"] for c in want["content"] if c["type"] == "output_text"], "SDK's text differs"
        elif want["type"] == "function_call":
            assert accumulated.arguments == want["arguments"], "SDK's accumulated arguments differ"


def _unparsed(value: Any) -> Any:
    """The SDK's parsed output without the fields it adds (``parsed``, ``parsed_arguments``)."""
    if isinstance(value, dict):
        return {k: _unparsed(v) for k, v in value.items() if k not in ("parsed", "parsed_arguments")}
    if isinstance(value, list):
        return [_unparsed(v) for v in value]
    return value
