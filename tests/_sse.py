"""Assistants SSE in tests: parse the raw bytes, and check a stream against OpenAI's event rules.

``validate_event_stream`` plays the part of vLLM's ``validate_streaming_event_stack``: it walks the events
once, keeping the open steps, messages and tool calls on a stack, and fails on the first event that the
SDK's ``AssistantEventHandler`` (or OpenAI's documented order, spec §7) would not accept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

RUN_STATUSES = (
    "created",
    "queued",
    "in_progress",
    "requires_action",
    "completed",
    "incomplete",
    "failed",
    "cancelling",
    "cancelled",
    "expired",
)
STEP_STATUSES = ("created", "in_progress", "completed", "failed", "cancelled", "expired")
MESSAGE_STATUSES = ("created", "in_progress", "completed", "incomplete")
KNOWN_EVENTS = frozenset(
    {"thread.created", "thread.run.step.delta", "thread.message.delta", "error"}
    | {f"thread.run.{s}" for s in RUN_STATUSES}
    | {f"thread.run.step.{s}" for s in STEP_STATUSES}
    | {f"thread.message.{s}" for s in MESSAGE_STATUSES}
)
RUN_END = frozenset(
    f"thread.run.{s}" for s in ("requires_action", "completed", "incomplete", "failed", "cancelled", "expired")
)
STEP_END = frozenset(f"thread.run.step.{s}" for s in ("completed", "failed", "cancelled", "expired"))
MESSAGE_END = frozenset({"thread.message.completed", "thread.message.incomplete"})

DONE_FRAME = b"event: done\ndata: [DONE]\n\n"


@dataclass(frozen=True)
class Event:
    event: str
    data: dict[str, Any]


def parse_sse(body: bytes) -> list[Event]:
    """Raw ``text/event-stream`` bytes → events. Every frame must have an ``event:`` line; the stream must end
    with exactly one ``event: done`` / ``data: [DONE]`` frame, which is not returned."""
    assert body.endswith(DONE_FRAME), body[-200:]
    assert body.count(b"data: [DONE]") == 1, "more than one [DONE]"
    frames = body[: -len(DONE_FRAME)].decode().split("\n\n")
    assert frames[-1] == "", "the last frame before [DONE] is not terminated by a blank line"
    events = []
    for frame in frames[:-1]:
        lines = frame.split("\n")
        assert len(lines) == 2 and lines[0].startswith("event: ") and lines[1].startswith("data: "), frame
        events.append(Event(lines[0][len("event: ") :], json.loads(lines[1][len("data: ") :])))
    return events


def names(events: list[Event]) -> list[str]:
    return [e.event for e in events]


@dataclass
class _State:
    open_steps: dict[str, str] = field(default_factory=dict)
    """step id → type, for steps created and not yet ended."""
    ended_steps: set[str] = field(default_factory=set)
    open_messages: set[str] = field(default_factory=set)
    ended_messages: set[str] = field(default_factory=set)
    announced_calls: set[tuple[str, int]] = field(default_factory=set)
    text_started: set[tuple[str, int]] = field(default_factory=set)
    run_status: str | None = None


def validate_event_stream(events: list[Event], *, start: str = "thread.run.created") -> None:
    """Fail unless ``events`` (one stream, ``[DONE]`` already stripped) follow OpenAI's rules.

    ``start`` is the first event expected: ``thread.created`` (create-thread-and-run), ``thread.run.created``
    (create run) or ``thread.run.step.completed`` (submit tool outputs).
    """
    assert events, "empty stream"
    assert events[0].event == start, names(events)[:5]
    assert events[-1].event in RUN_END, f"the stream ends with {events[-1].event}, not a final run event"
    st = _State()
    for i, e in enumerate(events):
        where = f"event {i} ({e.event}) in {names(events)}"
        assert e.event in KNOWN_EVENTS, where
        if e.event == "thread.created":
            assert i == 0, where
            assert e.data["object"] == "thread", where
        elif e.event.startswith("thread.run.step."):
            _step_event(st, e, where)
        elif e.event.startswith("thread.run."):
            _run_event(st, e, where, last=i == len(events) - 1)
        elif e.event.startswith("thread.message."):
            _message_event(st, e, where)
    # Everything opened is closed, except a tool_calls step waiting for outputs.
    assert not st.open_messages, f"messages never completed: {st.open_messages}"
    waiting = [s for s, kind in st.open_steps.items() if kind == "tool_calls"]
    if events[-1].event == "thread.run.requires_action":
        assert len(waiting) == len(st.open_steps) == 1, st.open_steps
    else:
        assert not st.open_steps, f"steps never ended: {st.open_steps}"


def _run_event(st: _State, e: Event, where: str, *, last: bool) -> None:
    assert e.data["object"] == "thread.run", where
    status = e.event.removeprefix("thread.run.")
    expected = "queued" if status == "created" else status
    assert e.data["status"] == expected, (where, e.data["status"])
    if e.event in RUN_END:
        assert last, f"{where}: a final run event must end the stream"
    if status in ("completed", "failed", "cancelled", "expired", "incomplete"):
        assert e.data["expires_at"] is None, where
    elif status != "cancelling":
        assert e.data["expires_at"] is not None, where
    if status == "in_progress":
        assert e.data["started_at"] is not None, where
        assert st.run_status in ("created", "queued"), f"{where}: in_progress after {st.run_status}"
    if status == "queued":
        assert st.run_status in (None, "created"), f"{where}: queued after {st.run_status}"
    st.run_status = status


def _step_event(st: _State, e: Event, where: str) -> None:
    if e.event == "thread.run.step.delta":
        assert e.data["object"] == "thread.run.step.delta", where
        step_id = e.data["id"]
        assert step_id in st.open_steps, f"{where}: delta for a step that is not open"
        details = e.data["delta"]["step_details"]
        assert details["type"] == st.open_steps[step_id], where
        for call in details.get("tool_calls") or []:
            _tool_call_delta(st, step_id, call, where)
        return
    step = e.data
    assert step["object"] == "thread.run.step", where
    status = e.event.removeprefix("thread.run.step.")
    if status == "created":
        assert step["id"] not in st.open_steps and step["id"] not in st.ended_steps, where
        assert step["status"] == "in_progress", where
        st.open_steps[step["id"]] = step["type"]
        if step["type"] == "tool_calls":
            assert step["step_details"]["tool_calls"] == [], where
        return
    if status == "in_progress":
        assert step["id"] in st.open_steps, where
        return
    # A submit_tool_outputs stream starts by completing the step created in the previous stream.
    if step["id"] not in st.open_steps:
        assert not st.open_steps and not st.ended_steps and step["type"] == "tool_calls", where
    st.open_steps.pop(step["id"], None)
    st.ended_steps.add(step["id"])
    assert step["status"] == status, where
    assert step[f"{status}_at" if status != "expired" else "expired_at"] is not None, where
    if status == "completed":
        assert step["usage"] is not None, f"{where}: a completed step carries usage"


def _tool_call_delta(st: _State, step_id: str, call: dict[str, Any], where: str) -> None:
    assert isinstance(call.get("index"), int), f"{where}: tool call delta without an integer index"
    key = (step_id, call["index"])
    assert "type" in call, where
    fn = call.get("function") or {}
    if key not in st.announced_calls:
        st.announced_calls.add(key)
        assert isinstance(call.get("id"), str) and call["id"].startswith("call_"), where
        assert fn.get("name"), f"{where}: the first delta of a tool call names the function"
        assert "output" in fn and fn["output"] is None, where
    else:
        assert "id" not in call, f"{where}: the tool call id is repeated (the SDK would concatenate it)"
        assert "name" not in fn, f"{where}: the function name is repeated (the SDK would concatenate it)"


def _message_event(st: _State, e: Event, where: str) -> None:
    if e.event == "thread.message.delta":
        assert e.data["object"] == "thread.message.delta", where
        msg_id = e.data["id"]
        assert msg_id in st.open_messages, f"{where}: delta for a message that is not open"
        for part in e.data["delta"].get("content") or []:
            assert isinstance(part.get("index"), int), f"{where}: content delta without an integer index"
            key = (msg_id, part["index"])
            if part["type"] == "text":
                if key not in st.text_started:
                    st.text_started.add(key)
                    assert part["text"].get("annotations") == [], f"{where}: the first text delta has annotations []"
                for ann in part["text"].get("annotations") or []:
                    assert isinstance(ann.get("index"), int), f"{where}: annotation without index"
        return
    msg = e.data
    assert msg["object"] == "thread.message", where
    status = e.event.removeprefix("thread.message.")
    if status == "created":
        assert msg["id"] not in st.open_messages and msg["id"] not in st.ended_messages, where
        assert msg["status"] == "in_progress" and msg["content"] == [], where
        assert any(kind == "message_creation" for kind in st.open_steps.values()), (
            f"{where}: a message is created inside its message_creation step"
        )
        st.open_messages.add(msg["id"])
    elif status == "in_progress":
        assert msg["id"] in st.open_messages, where
    else:
        assert msg["id"] in st.open_messages, where
        st.open_messages.discard(msg["id"])
        st.ended_messages.add(msg["id"])
        assert msg["status"] == status, where
