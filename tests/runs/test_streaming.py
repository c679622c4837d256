"""Streaming: OpenAI's event order and delta rules on the raw bytes, and the SDK's stream helpers end to end."""

from __future__ import annotations

import gc
import json
from typing import Any

import openai
import pytest
from fastapi import FastAPI
from openai.lib.streaming import AsyncAssistantEventHandler
from openai.types.beta import AssistantStreamEvent
from openai.types.beta.assistant_stream_event import ThreadRunCreated, ThreadRunQueued
from openai.types.beta.threads import Message, Run, Text, TextDelta
from openai.types.beta.threads.runs import RunStep, ToolCall

from assistantd.backends.base import UpstreamError
from assistantd.backends.scripted import Call, Fail, Say, ScriptedBackend
from assistantd.wire.runs import RunCreate
from tests._schema import assert_schema
from tests._sse import Event, names, validate_event_stream
from tests.runs._helpers import TIME, WEATHER, args, assistant, stream_events, thread, wait_status

pytestmark = pytest.mark.anyio

TEXT_RUN = [
    "thread.run.created",
    "thread.run.queued",
    "thread.run.in_progress",
    "thread.run.step.created",
    "thread.run.step.in_progress",
    "thread.message.created",
    "thread.message.in_progress",
]
TEXT_END = ["thread.message.completed", "thread.run.step.completed", "thread.run.completed"]


def _text(events: list[Event]) -> str:
    return "".join(
        part["text"]["value"]
        for e in events
        if e.event == "thread.message.delta"
        for part in e.data["delta"]["content"]
    )


def _without_deltas(events: list[Event]) -> list[str]:
    return [n for n in names(events) if not n.endswith(".delta")]


async def test_text_run_event_order(client: openai.AsyncOpenAI, backend: ScriptedBackend, raw: Any) -> None:
    backend.add(Say("The current weather is sunny"))
    a = await assistant(client)
    t = await thread(client)
    events, body = await stream_events(raw, f"/threads/{t.id}/runs", {"assistant_id": a.id})
    validate_event_stream(events)
    assert _without_deltas(events) == TEXT_RUN + TEXT_END
    deltas = [e for e in events if e.event == "thread.message.delta"]
    assert len(deltas) == 5
    assert deltas[0].data["delta"]["content"] == [
        {"index": 0, "type": "text", "text": {"value": "The", "annotations": []}}
    ]
    assert deltas[1].data["delta"]["content"] == [{"index": 0, "type": "text", "text": {"value": " current"}}]
    assert _text(events) == "The current weather is sunny"
    completed = next(e for e in events if e.event == "thread.message.completed").data
    assert completed["content"][0]["text"]["value"] == "The current weather is sunny"
    assert_schema(completed, "MessageObject")
    assert_schema(events[-1].data, "RunObject")
    assert events[-1].data["usage"]["total_tokens"] > 0
    step = next(e for e in events if e.event == "thread.run.step.completed").data
    assert_schema(step, "RunStepObject")
    assert step["step_details"]["message_creation"]["message_id"] == completed["id"]
    # The stream's final objects are what the API returns afterwards.
    assert (await raw.get(f"/threads/{t.id}/runs/{events[-1].data['id']}")).json() == events[-1].data
    assert (await raw.get(f"/threads/{t.id}/messages/{completed['id']}")).json() == completed
    assert body.endswith(b"\n\nevent: done\ndata: [DONE]\n\n")


async def test_function_call_run_event_order(client: openai.AsyncOpenAI, backend: ScriptedBackend, raw: Any) -> None:
    backend.add(Call(("get_weather", args(city="Paris")), ("get_time", args(tz="CET"))), Say("Sunny at noon."))
    a = await assistant(client, tools=[WEATHER, TIME])
    t = await thread(client)
    events, body = await stream_events(raw, f"/threads/{t.id}/runs", {"assistant_id": a.id})
    validate_event_stream(events)
    assert _without_deltas(events) == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.run.requires_action",
    ]
    last_frame = body.rsplit(b"\n\nevent: ", 2)[-2]
    assert last_frame.startswith(b"thread.run.requires_action\ndata: ") and body.endswith(b"data: [DONE]\n\n")
    step_id = events[3].data["id"]
    calls: dict[int, dict[str, Any]] = {}
    for e in events:
        if e.event == "thread.run.step.delta":
            assert e.data["id"] == step_id
            for c in e.data["delta"]["step_details"]["tool_calls"]:
                if c["index"] not in calls:
                    assert c["function"]["output"] is None and c["type"] == "function"
                    calls[c["index"]] = {"id": c["id"], "name": c["function"]["name"], "arguments": ""}
                calls[c["index"]]["arguments"] += c["function"].get("arguments", "")
    required = events[-1].data["required_action"]["submit_tool_outputs"]["tool_calls"]
    assert [
        {"id": c["id"], "name": c["function"]["name"], "arguments": c["function"]["arguments"]} for c in required
    ] == [
        calls[0],
        calls[1],
    ]
    assert_schema(events[-1].data, "RunObject")

    outputs = [{"tool_call_id": calls[0]["id"], "output": "20C"}, {"tool_call_id": calls[1]["id"], "output": "12:00"}]
    run_id = events[-1].data["id"]
    after, body = await stream_events(
        raw, f"/threads/{t.id}/runs/{run_id}/submit_tool_outputs", {"tool_outputs": outputs}
    )
    validate_event_stream(after, start="thread.run.step.completed")
    assert _without_deltas(after) == [
        "thread.run.step.completed",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.message.created",
        "thread.message.in_progress",
        *TEXT_END,
    ]
    tool_step = after[0].data
    assert tool_step["id"] == step_id and tool_step["usage"] is not None
    assert [c["function"]["output"] for c in tool_step["step_details"]["tool_calls"]] == ["20C", "12:00"]
    assert_schema(tool_step, "RunStepObject")
    assert after[1].data["required_action"] is None and after[1].data["status"] == "queued"
    assert _text(after) == "Sunny at noon."
    assert body.endswith(b"event: done\ndata: [DONE]\n\n")


async def test_create_thread_and_run_stream_starts_with_the_thread(
    client: openai.AsyncOpenAI, backend: ScriptedBackend, raw: Any
) -> None:
    backend.add(Say("Hi there"))
    a = await assistant(client)
    events, _ = await stream_events(
        raw,
        "/threads/runs",
        {"assistant_id": a.id, "thread": {"messages": [{"role": "user", "content": "hello"}], "metadata": {"x": "y"}}},
    )
    validate_event_stream(events, start="thread.created")
    assert _without_deltas(events) == ["thread.created", *TEXT_RUN, *TEXT_END]
    created = events[0].data
    assert_schema(created, "ThreadObject")
    assert created["metadata"] == {"x": "y"} and "tool_resources" in created
    assert events[1].data["thread_id"] == created["id"]
    assert (await raw.get(f"/threads/{created['id']}")).json() == created


@pytest.mark.parametrize(
    ("turns", "last"),
    [
        pytest.param([Fail(UpstreamError("boom"), text_first="Half an")], "thread.run.failed", id="failed"),
        pytest.param([Say("Cut short", finish_reason="length")], "thread.run.incomplete", id="incomplete"),
        pytest.param([Call(("nope", "{}"))], "thread.run.failed", id="unknown-tool"),
        pytest.param([Say("not json"), Say('{"a": 1}')], "thread.run.completed", id="retried-format"),
    ],
)
async def test_other_endings_stream_in_order(
    client: openai.AsyncOpenAI, backend: ScriptedBackend, raw: Any, turns: list[Any], last: str
) -> None:
    backend.add(*turns)
    a = await assistant(client, tools=[WEATHER])
    t = await thread(client)
    events, _ = await stream_events(
        raw, f"/threads/{t.id}/runs", {"assistant_id": a.id, "response_format": {"type": "json_object"}}
    )
    validate_event_stream(events)
    assert events[-1].event == last


async def test_sdk_raw_stream_yields_typed_events(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("typed"))
    a = await assistant(client)
    t = await thread(client)
    stream = await client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id, stream=True)
    events: list[AssistantStreamEvent] = [e async for e in stream]
    assert isinstance(events[0], ThreadRunCreated) and isinstance(events[1], ThreadRunQueued)
    assert events[-1].event == "thread.run.completed"
    assert all(e.event is not None for e in events)


class RecordingHandler(AsyncAssistantEventHandler):
    """Records what the SDK's handler reports, checking the text snapshots as they grow."""

    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self.snapshots: list[str] = []
        self.done_texts: list[str] = []
        self.created_calls: list[str] = []
        self.done_calls: list[tuple[str, str]] = []
        self.steps_done: list[RunStep] = []
        self.messages_done: list[Message] = []
        self.events: list[str] = []

    async def on_event(self, event: AssistantStreamEvent) -> None:
        self.events.append(event.event)

    async def on_text_delta(self, delta: TextDelta, snapshot: Text) -> None:
        self.text += delta.value or ""
        assert snapshot.value == self.text
        self.snapshots.append(snapshot.value)

    async def on_text_done(self, text: Text) -> None:
        self.done_texts.append(text.value)

    async def on_tool_call_created(self, tool_call: ToolCall) -> None:
        self.created_calls.append(tool_call.id)

    async def on_tool_call_done(self, tool_call: ToolCall) -> None:
        assert tool_call.type == "function"
        self.done_calls.append((tool_call.id, tool_call.function.arguments))

    async def on_run_step_done(self, run_step: RunStep) -> None:
        self.steps_done.append(run_step)

    async def on_message_done(self, message: Message) -> None:
        self.messages_done.append(message)


async def test_event_handler_end_to_end(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(
        Call(("get_weather", args(city="Paris")), ("get_time", args(tz="CET"))),
        Say("In Paris it is 20C at noon."),
    )
    a = await assistant(client, tools=[WEATHER, TIME])
    t = await thread(client, "weather and time?")
    handler = RecordingHandler()
    async with client.beta.threads.runs.stream(thread_id=t.id, assistant_id=a.id, event_handler=handler) as h:
        await h.until_done()
    run: Run = await handler.get_final_run()
    assert run.status == "requires_action" and handler.events[-1] == "thread.run.requires_action"
    required = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    assert handler.created_calls == [c.id for c in required]
    assert handler.done_calls == [(c.id, c.function.arguments) for c in required]
    assert json.loads(handler.done_calls[0][1]) == {"city": "Paris"}
    [step] = await handler.get_final_run_steps()
    assert step.type == "tool_calls" and step.status == "in_progress"

    after = RecordingHandler()
    async with client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=t.id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": c.id, "output": f"out{i}"} for i, c in enumerate(required)],
        event_handler=after,
    ) as h:
        await h.until_done()
    final = await after.get_final_run()
    assert final.status == "completed" and after.events[-1] == "thread.run.completed"
    assert after.events[0] == "thread.run.step.completed"
    assert after.text == "In Paris it is 20C at noon." and after.snapshots[-1] == after.text
    assert after.done_texts == [after.text]
    assert after.created_calls == [] and after.done_calls == []
    [message] = await after.get_final_messages()
    assert message.status == "completed" and message.content[0].text.value == after.text  # type: ignore[union-attr]
    assert [s.type for s in after.steps_done] == ["tool_calls", "message_creation"]
    outputs = [c.function.output for c in after.steps_done[0].step_details.tool_calls]  # type: ignore[union-attr]
    assert outputs == ["out0", "out1"]
    stored = await client.beta.threads.messages.retrieve(message.id, thread_id=t.id)
    assert stored.content[0].text.value == after.text  # type: ignore[union-attr]


async def test_text_deltas_helper(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("one two three"))
    a = await assistant(client)
    t = await thread(client)
    async with client.beta.threads.runs.stream(thread_id=t.id, assistant_id=a.id) as stream:
        text = "".join([d async for d in stream.text_deltas])
        final = await stream.get_final_run()
    assert text == "one two three" and final.status == "completed"


async def test_create_and_run_stream_helper(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Call(("get_weather", args(city="Rome"))), Say("Warm."))
    a = await assistant(client, tools=[WEATHER])
    handler = RecordingHandler()
    async with client.beta.threads.create_and_run_stream(
        assistant_id=a.id, thread={"messages": [{"role": "user", "content": "Rome?"}]}, event_handler=handler
    ) as h:
        await h.until_done()
    assert handler.events[0] == "thread.created"
    run = await handler.get_final_run()
    assert run.status == "requires_action" and len(handler.created_calls) == len(handler.done_calls) == 1
    [call] = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    async with client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=run.thread_id, run_id=run.id, tool_outputs=[{"tool_call_id": call.id, "output": "25C"}]
    ) as stream:
        text = "".join([d async for d in stream.text_deltas])
    assert text == "Warm."
    final = await client.beta.threads.runs.retrieve(run.id, thread_id=run.thread_id)
    assert final.status == "completed"


async def test_streams_release_their_subscriptions(
    client: openai.AsyncOpenAI, backend: ScriptedBackend, raw: Any, fastapi_app: FastAPI
) -> None:
    runs = fastapi_app.state.services.runs
    backend.add(Say("read to the end"), Say("never read", delay=0.05))
    a = await assistant(client)
    t = await thread(client)
    events, _ = await stream_events(raw, f"/threads/{t.id}/runs", {"assistant_id": a.id})
    assert events[-1].event == "thread.run.completed"
    assert runs.events.subscribers() == 0

    # A stream whose client went away before the first event: dropping it unsubscribes.
    stream = await runs.stream_run(t.id, RunCreate(assistant_id=a.id))
    assert runs.events.subscribers() == 1
    del stream
    gc.collect()
    assert runs.events.subscribers() == 0
    [run, _] = (await client.beta.threads.runs.list(t.id)).data
    assert (await wait_status(client, t.id, run.id)).status == "completed"
