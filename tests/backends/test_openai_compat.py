"""``OpenAICompatBackend`` through the whole app, against a real fake upstream on loopback.

Streamed text and tool-call fragments, what we send upstream, and every fault the issue lists: retried 429
and 5xx before the first token, bounded retries, drops after tokens (never retried), invalid chunks, timeouts.
"""

from __future__ import annotations

import json
import time
from typing import Any

import openai
import pytest

from tests._sse import validate_event_stream
from tests.backends._fake_upstream import (
    FakeUpstream,
    error,
    stalled,
    stream,
    text_chunks,
    tool_chunks,
)
from tests.runs._helpers import TIME, WEATHER, args, eventually, stream_events, wait_status

pytestmark = pytest.mark.anyio


async def _run(client: openai.AsyncOpenAI, model: str, **kw: Any) -> Any:
    a = await client.beta.assistants.create(model=model, instructions="Be brief.", tools=[WEATHER, TIME])
    t = await client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    return await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id, **kw)


async def test_streamed_text(client: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    upstream.scenarios["m"] = lambda n: stream(text_chunks("Hello", " wor", "ld"))
    run = await _run(client, "m", temperature=0.5)
    assert run.status == "completed", run.last_error
    assert run.usage is not None and (run.usage.prompt_tokens, run.usage.completion_tokens) == (11, 3)
    [msg] = (await client.beta.threads.messages.list(run.thread_id, run_id=run.id)).data
    assert msg.content[0].text.value == "Hello world"  # type: ignore[union-attr]

    [body] = upstream.requests
    assert body["model"] == "m" and body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    assert body["temperature"] == 0.5
    assert body["tools"][0] == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": WEATHER["function"]["parameters"],
        },
    }
    # parallel_tool_calls goes upstream only when false: true is every upstream's default, and OpenAI's
    # reasoning models refuse the field.
    assert body["tool_choice"] == "auto" and "parallel_tool_calls" not in body
    assert upstream.headers[0]["authorization"] == "Bearer sk-upstream"
    assert upstream.headers[0]["content-type"] == "application/json"


async def test_tool_call_fragments_and_tool_messages(client: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    turns = [
        tool_chunks(("get_weather", args(city="Paris")), ("get_time", args(tz="Europe/Paris"))),
        text_chunks("Sunny, noon."),
    ]
    upstream.scenarios["m"] = lambda n: stream(turns[n])
    run = await _run(client, "m")
    assert run.status == "requires_action", run.last_error
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {"tz": "Europe/Paris"}),
    ]
    assert run.usage is not None and run.usage.completion_tokens == 9
    run = await client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=run.thread_id,
        tool_outputs=[{"tool_call_id": calls[0].id, "output": "20C"}, {"tool_call_id": calls[1].id, "output": "12"}],
    )
    assert run.status == "completed"
    assert run.usage is not None and run.usage.total_tokens == 20 + 9 + 11 + 3
    *_, asked, weather, clock = upstream.requests[1]["messages"]
    assert asked == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}}
            for c in calls
        ],
    }
    assert weather == {"role": "tool", "content": "20C", "tool_call_id": calls[0].id}
    assert clock == {"role": "tool", "content": "12", "tool_call_id": calls[1].id}


async def test_text_then_tool_calls_in_one_turn(client: openai.AsyncOpenAI, upstream: FakeUpstream, raw: Any) -> None:
    upstream.scenarios["m"] = lambda n: stream(
        tool_chunks(("get_weather", args(city="Oslo")), text="Let me check.") if n == 0 else text_chunks("Cold.")
    )
    a = await client.beta.assistants.create(model="m", tools=[WEATHER])
    t = await client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    events, _ = await stream_events(raw, f"/threads/{t.id}/runs", {"assistant_id": a.id})
    validate_event_stream(events)
    run = events[-1].data
    assert run["status"] == "requires_action"
    steps = (await client.beta.threads.runs.steps.list(run["id"], thread_id=t.id, order="asc")).data
    assert [(s.type, s.status) for s in steps] == [("message_creation", "completed"), ("tool_calls", "in_progress")]
    assert steps[1].usage is None  # null while it waits for outputs
    [call] = run["required_action"]["submit_tool_outputs"]["tool_calls"]
    done = await client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run["id"], thread_id=t.id, tool_outputs=[{"tool_call_id": call["id"], "output": "cold"}]
    )
    steps = (await client.beta.threads.runs.steps.list(run["id"], thread_id=t.id, order="asc")).data
    assert done.usage is not None and all(s.usage is not None for s in steps)
    assert sum(s.usage.total_tokens for s in steps if s.usage) == done.usage.total_tokens


async def test_tool_calls_without_index(client: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    """Some servers send each call whole, in one chunk, without ``index``: they are still separate calls."""
    chunks: list[dict[str, Any]] = [
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"id": f"c{i}", "type": "function", "function": {"name": "get_weather", "arguments": a}}
                        ]
                    },
                    "finish_reason": None,
                }
            ]
        }
        for i, a in enumerate([args(city="A"), args(city="B")])
    ]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    upstream.scenarios["m"] = lambda n: stream(chunks)
    run = await _run(client, "m")
    assert run.status == "requires_action", run.last_error
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [json.loads(c.function.arguments) for c in calls] == [{"city": "A"}, {"city": "B"}]


@pytest.mark.parametrize(
    ("scenario", "calls"),
    [
        pytest.param(lambda n: error(429, "slow down", {"retry-after": "0.05"}) if n == 0 else None, 2, id="429-once"),
        pytest.param(lambda n: error(500, "oops") if n < 2 else None, 3, id="500-twice"),
        pytest.param(lambda n: error(503, "busy") if n == 0 else None, 2, id="503-once"),
        pytest.param(lambda n: stream(text_chunks("x"), drop_after=0) if n == 0 else None, 2, id="drop-before-token"),
    ],
)
async def test_retried_before_the_first_token(
    client: openai.AsyncOpenAI, upstream: FakeUpstream, scenario: Any, calls: int
) -> None:
    upstream.scenarios["m"] = lambda n: scenario(n) or stream(text_chunks("Recovered"))
    run = await _run(client, "m")
    assert run.status == "completed", run.last_error
    assert upstream.count("m") == calls
    [msg] = (await client.beta.threads.messages.list(run.thread_id, run_id=run.id)).data
    assert msg.content[0].text.value == "Recovered"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("scenario", "code", "says", "calls"),
    [
        pytest.param(lambda n: error(500, "always broken"), "server_error", "500", 3, id="500-always"),
        pytest.param(lambda n: error(429, "quota"), "rate_limit_exceeded", "429", 3, id="429-always"),
        pytest.param(
            lambda n: stream(text_chunks("Hello", " there", " and"), drop_after=3),
            "server_error",
            "upstream",
            1,
            id="drop-after-tokens",
        ),
        pytest.param(
            lambda n: stream(text_chunks("Hel", usage=None, finish="stop")[:2], raw=[b"data: {not json\n\n"]),
            "server_error",
            "malformed",
            1,
            id="invalid-json-chunk",
        ),
        pytest.param(lambda n: error(400, "bad tools"), "server_error", "400", 1, id="400-not-retried"),
        pytest.param(
            lambda n: stream(text_chunks("cut")[:2], raw=[]),
            "server_error",
            "closed the stream",
            1,
            id="no-finish-reason",
        ),
    ],
)
async def test_faults_fail_the_run(
    client: openai.AsyncOpenAI, upstream: FakeUpstream, scenario: Any, code: str, says: str, calls: int
) -> None:
    upstream.scenarios["m"] = scenario
    run = await _run(client, "m")
    assert run.status == "failed"
    assert run.last_error is not None and run.last_error.code == code and says in run.last_error.message
    assert upstream.count("m") == calls
    for m in (await client.beta.threads.messages.list(run.thread_id, run_id=run.id)).data:
        assert m.status == "incomplete"


@pytest.mark.settings(upstream_timeout_seconds=0.3)
async def test_timeout(client: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    upstream.scenarios["m"] = lambda n: stalled(upstream, 30)
    started = time.monotonic()
    run = await _run(client, "m")
    assert run.status == "failed"
    assert run.last_error is not None and run.last_error.code == "server_error"
    assert "timed out" in run.last_error.message
    assert upstream.count("m") == 3 and time.monotonic() - started < 10


async def test_cancel_closes_the_upstream_request(client: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    upstream.scenarios["m"] = lambda n: stalled(upstream, 30, first="Thinking")
    a = await client.beta.assistants.create(model="m")
    t = await client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    run = await client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id)

    async def said_something() -> Any:
        return (await client.beta.threads.messages.list(t.id, run_id=run.id)).data or None

    await eventually(said_something, what="the first token")
    await client.beta.threads.runs.cancel(run.id, thread_id=t.id)
    run = await wait_status(client, t.id, run.id, timeout=3)
    assert run.status == "cancelled"

    async def closed() -> Any:
        return upstream.closed_early or None

    await eventually(closed, timeout=3, what="the upstream request to be closed")


async def test_length_during_tool_arguments_is_incomplete(client: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    chunks = tool_chunks(("get_weather", args(city="Paris")))
    chunks = [*chunks[:3], {"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}]
    upstream.scenarios["m"] = lambda n: stream(chunks)
    run = await _run(client, "m")
    assert run.status == "incomplete", run.last_error
    assert run.incomplete_details is not None and run.incomplete_details.reason == "max_completion_tokens"


async def test_completion_budget_spent_ends_the_run(client: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    """max_completion_tokens covers the whole run: when a turn used it up, no further turn is asked for."""
    upstream.scenarios["m"] = lambda n: stream(
        tool_chunks(("get_weather", args(city="Paris")), usage=(10, 400)) if n == 0 else text_chunks("more")
    )
    run = await _run(client, "m", max_completion_tokens=300)
    assert run.status == "requires_action"
    assert upstream.requests[0]["max_completion_tokens"] == 300
    [call] = run.required_action.submit_tool_outputs.tool_calls
    run = await client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=run.thread_id, tool_outputs=[{"tool_call_id": call.id, "output": "x"}]
    )
    assert run.status == "incomplete", run.last_error
    assert run.incomplete_details is not None and run.incomplete_details.reason == "max_completion_tokens"
    assert upstream.count("m") == 1


async def test_streamed_run_over_http_upstream(client: openai.AsyncOpenAI, upstream: FakeUpstream, raw: Any) -> None:
    upstream.scenarios["m"] = lambda n: stream(text_chunks("A", " streamed", " answer"))
    a = await client.beta.assistants.create(model="m")
    t = await client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    events, _ = await stream_events(raw, f"/threads/{t.id}/runs", {"assistant_id": a.id})
    validate_event_stream(events)
    deltas = [e.data["delta"]["content"][0]["text"]["value"] for e in events if e.event == "thread.message.delta"]
    assert deltas == ["A", " streamed", " answer"]


async def test_usage_counted_offline_when_the_upstream_reports_none(
    client: openai.AsyncOpenAI, upstream: FakeUpstream
) -> None:
    upstream.scenarios["m"] = lambda n: stream(text_chunks("Hello", " world", usage=None))
    run = await _run(client, "m")
    assert run.status == "completed", run.last_error
    assert run.usage is not None and run.usage.completion_tokens == 2  # cl100k: "Hello", " world"
    assert run.usage.prompt_tokens > 5  # system + user message, with per-message overhead
    [step] = (await client.beta.threads.runs.steps.list(run.id, thread_id=run.thread_id)).data
    assert step.usage is not None and step.usage.total_tokens == run.usage.total_tokens
