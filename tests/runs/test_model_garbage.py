"""Garbage from the model upstream ends the run as ``failed`` with a readable ``last_error``: never stuck, never 500."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from assistantd.backends.base import UpstreamError, UpstreamRateLimited
from assistantd.backends.scripted import Call, Fail, Say, ScriptedBackend, Turn
from tests._schema import assert_schema
from tests._sse import names, validate_event_stream
from tests.runs._helpers import WEATHER, assistant, stream_events, thread

pytestmark = pytest.mark.anyio

GARBAGE: list[Any] = [
    pytest.param(Call(("get_weather", '{"city": "Par')), "server_error", "invalid JSON arguments", id="bad-json"),
    pytest.param(Call(("get_weather", "[1, 2")), "server_error", "invalid JSON arguments", id="bad-json-array"),
    pytest.param(Say(""), "server_error", "empty answer", id="empty-answer"),
    pytest.param(Say("   "), "server_error", "empty answer", id="blank-answer"),
    pytest.param(Call(("delete_everything", "{}")), "server_error", "does not have", id="unknown-tool"),
    pytest.param(Call(("get_weather", "{}"), ("rm_rf", "{}")), "server_error", "'rm_rf'", id="one-unknown-of-parallel"),
    pytest.param(Fail(UpstreamError("upstream exploded")), "server_error", "upstream exploded", id="fail-first"),
    pytest.param(
        Fail(UpstreamError("connection reset"), text_first="Hello wor"),
        "server_error",
        "connection reset",
        id="fail-after-tokens",
    ),
    pytest.param(Fail(UpstreamRateLimited("slow down")), "rate_limit_exceeded", "slow down", id="rate-limited"),
]


@pytest.mark.parametrize(("turn", "code", "says"), GARBAGE)
async def test_garbage_fails_the_run(
    client: openai.AsyncOpenAI, backend: ScriptedBackend, raw: Any, turn: Turn, code: str, says: str
) -> None:
    backend.add(turn)
    a = await assistant(client, tools=[WEATHER])
    t = await thread(client)
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    assert run.status == "failed"
    assert run.last_error is not None and run.last_error.code == code
    assert says in run.last_error.message
    assert run.failed_at is not None and run.expires_at is None and run.completed_at is None
    assert run.required_action is None
    body = (await raw.get(f"/threads/{t.id}/runs/{run.id}")).json()
    assert_schema(body, "RunObject")

    steps = (await raw.get(f"/threads/{t.id}/runs/{run.id}/steps")).json()
    for step in steps["data"]:
        assert_schema(step, "RunStepObject")
        assert step["status"] in ("failed", "completed"), step
    msgs = await client.beta.threads.messages.list(t.id, run_id=run.id)
    for m in msgs.data:
        assert m.status == "incomplete" and m.incomplete_details is not None
        assert m.incomplete_details.reason == "run_failed"

    # The thread is usable again, and the same garbage streamed ends with run.failed then [DONE].
    backend.add(turn)
    events, _ = await stream_events(raw, f"/threads/{t.id}/runs", {"assistant_id": a.id})
    validate_event_stream(events)
    assert events[-1].event == "thread.run.failed"
    assert events[-1].data["last_error"]["code"] == code


async def test_failure_after_tokens_keeps_what_was_said(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Fail(UpstreamError("dropped"), text_first="Partial answer"))
    a = await assistant(client)
    t = await thread(client)
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    assert run.status == "failed"
    [msg] = (await client.beta.threads.messages.list(t.id, run_id=run.id)).data
    assert msg.content[0].text.value == "Partial answer"  # type: ignore[union-attr]
    assert msg.incomplete_at is not None and msg.completed_at is None
    [step] = (await client.beta.threads.runs.steps.list(run.id, thread_id=t.id)).data
    assert step.status == "failed" and step.failed_at is not None


async def test_invalid_arguments_fail_the_tool_step(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Call(("get_weather", "{not json")))
    a = await assistant(client, tools=[WEATHER])
    t = await thread(client)
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    assert run.status == "failed"
    [step] = (await client.beta.threads.runs.steps.list(run.id, thread_id=t.id)).data
    assert step.type == "tool_calls" and step.status == "failed"
    assert step.last_error is not None and step.last_error.code == "server_error"
    assert "get_weather" in step.last_error.message


async def test_empty_arguments_mean_no_arguments(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Call(("get_weather", "")))
    a = await assistant(client, tools=[WEATHER])
    t = await thread(client)
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    assert run.status == "requires_action"
    assert run.required_action.submit_tool_outputs.tool_calls[0].function.arguments == "{}"  # type: ignore[union-attr]
    await client.beta.threads.runs.cancel(run.id, thread_id=t.id)


async def test_garbage_during_a_later_turn(client: openai.AsyncOpenAI, backend: ScriptedBackend, raw: Any) -> None:
    backend.add(Call(("get_weather", "{}")), Fail(UpstreamError("gone")))
    a = await assistant(client, tools=[WEATHER])
    t = await thread(client)
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    [call] = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    events, _ = await stream_events(
        raw,
        f"/threads/{t.id}/runs/{run.id}/submit_tool_outputs",
        {"tool_outputs": [{"tool_call_id": call.id, "output": "x"}]},
    )
    validate_event_stream(events, start="thread.run.step.completed")
    assert names(events)[-1] == "thread.run.failed"
    run = await client.beta.threads.runs.retrieve(run.id, thread_id=t.id)
    assert run.status == "failed" and run.last_error is not None and "gone" in run.last_error.message
