"""Runs against upstreams that behave like vLLM, OpenAI (reasoning models included) and servers that ignore
``tool_choice``: what each refuses or ignores, the server adapts to or enforces (issue 8, points 1-4)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests._serve import serve_in_thread
from tests.backends._dialects import DialectUpstream
from tests.runs._helpers import TIME, WEATHER, assistant, thread


@pytest.fixture
def dialect(request: pytest.FixtureRequest) -> DialectUpstream:
    marker = request.node.get_closest_marker("dialect")
    return DialectUpstream(**(marker.kwargs if marker else {}))


@pytest.fixture
def upstream_url(dialect: DialectUpstream) -> Iterator[str]:
    with serve_in_thread(dialect.app(), lifespan="off") as url:
        yield url + "/v1"


async def _run(client: openai.AsyncOpenAI, user: str, model: str = "gpt-4o", **kw: Any) -> Any:
    a = await assistant(client, model=model, tools=[WEATHER, TIME])
    t = await thread(client, user)
    return await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id, **kw)


async def _answer(client: openai.AsyncOpenAI, run: Any, output: str = "21C") -> Any:
    outputs = [{"tool_call_id": c.id, "output": output} for c in run.required_action.submit_tool_outputs.tool_calls]
    return await client.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=run.thread_id, run_id=run.id, tool_outputs=outputs
    )


@pytest.mark.dialect(json_only=True)
async def test_vllm_gets_json(client: openai.AsyncOpenAI, dialect: DialectUpstream) -> None:
    run = await _run(client, "hello")
    assert run.status == "completed", run.last_error
    assert dialect.refused == []
    assert dialect.content_types == ["application/json"]


async def test_forced_function_applies_to_the_first_turn_only(
    client: openai.AsyncOpenAI, dialect: DialectUpstream
) -> None:
    run = await _run(client, "hello", tool_choice={"type": "function", "function": {"name": "get_weather"}})
    assert run.status == "requires_action", run.last_error
    run = await _answer(client, run)
    assert run.status == "completed", run.last_error
    first, second = dialect.requests
    assert first["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert second["tool_choice"] == "auto"
    messages = await client.beta.threads.messages.list(run.thread_id)
    assert messages.data[0].content[0].text.value == "The tool said: 21C"  # type: ignore[union-attr]
    assert run.tool_choice.model_dump() == {"type": "function", "function": {"name": "get_weather"}}  # type: ignore[union-attr]


async def test_required_does_not_return_after_every_submission(
    client: openai.AsyncOpenAI, dialect: DialectUpstream
) -> None:
    run = await _run(client, "hello", tool_choice="required")
    assert run.status == "requires_action", run.last_error
    run = await _answer(client, run)
    assert run.status == "completed", run.last_error
    assert [r["tool_choice"] for r in dialect.requests] == ["required", "auto"]


@pytest.mark.settings(embeddings="hashing")
async def test_forced_file_search_completes(client: openai.AsyncOpenAI, dialect: DialectUpstream) -> None:
    store = await client.vector_stores.create(name="manual")
    await client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("manual.txt", b"Lift the lid off to refill the tank.")
    )
    a = await assistant(
        client,
        model="gpt-4o",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    t = await thread(client, "how do I refill it?")
    run = await client.beta.threads.runs.create_and_poll(
        thread_id=t.id, assistant_id=a.id, tool_choice={"type": "file_search"}
    )
    assert run.status == "completed", run.last_error
    assert len(dialect.requests) == 2
    assert dialect.requests[0]["tool_choice"] == {"type": "function", "function": {"name": "file_search"}}
    assert dialect.requests[1]["tool_choice"] == "auto"


async def test_reasoning_model_gets_max_completion_tokens(client: openai.AsyncOpenAI, dialect: DialectUpstream) -> None:
    run = await _run(client, "hello", model="o3-mini", max_completion_tokens=500)
    assert run.status == "completed", run.last_error
    [body] = dialect.requests
    assert body["max_completion_tokens"] == 500
    assert "max_tokens" not in body and "parallel_tool_calls" not in body
    assert dialect.refused == []


async def test_reasoning_model_refusing_parallel_tool_calls(
    client: openai.AsyncOpenAI, dialect: DialectUpstream
) -> None:
    """o-series refuse ``parallel_tool_calls``: it is dropped once (remembered), and enforced by the server."""
    run = await _run(client, "get_weather and get_time please", model="o3-mini", parallel_tool_calls=False)
    assert run.status == "requires_action", run.last_error
    [call] = run.required_action.submit_tool_outputs.tool_calls
    assert call.function.name == "get_weather"
    assert dialect.refused == ["parallel_tool_calls"]
    run = await _answer(client, run)
    assert run.status == "completed", run.last_error
    assert dialect.refused == ["parallel_tool_calls"]  # learned: not sent again
    assert all("parallel_tool_calls" not in r for r in dialect.requests[1:])


@pytest.mark.dialect(max_tokens_only=True)
async def test_upstream_that_only_knows_max_tokens(client: openai.AsyncOpenAI, dialect: DialectUpstream) -> None:
    run = await _run(client, "hello", max_completion_tokens=300)
    assert run.status == "completed", run.last_error
    again = await _run(client, "hello again", max_completion_tokens=300)
    assert again.status == "completed", again.last_error
    assert dialect.refused == ["max_completion_tokens"]
    assert [r.get("max_tokens") for r in dialect.requests] == [None, 300, 300]


@pytest.mark.dialect(obeys_tool_choice=False)
async def test_parallel_false_is_enforced(client: openai.AsyncOpenAI, dialect: DialectUpstream) -> None:
    run = await _run(client, "get_weather and get_time please", parallel_tool_calls=False)
    assert run.status == "requires_action", run.last_error
    assert [c.function.name for c in run.required_action.submit_tool_outputs.tool_calls] == ["get_weather"]
    steps = await client.beta.threads.runs.steps.list(run.id, thread_id=run.thread_id)
    [step] = steps.data
    assert [c.function.name for c in step.step_details.tool_calls] == ["get_weather"]  # type: ignore[union-attr]


@pytest.mark.dialect(obeys_tool_choice=False)
async def test_tool_choice_none_is_enforced(client: openai.AsyncOpenAI, dialect: DialectUpstream) -> None:
    """The upstream calls the tool anyway: no call reaches the client; asked again without tools, it answers."""
    run = await _run(client, "get_weather please", tool_choice="none")
    assert run.status == "completed", run.last_error
    steps = await client.beta.threads.runs.steps.list(run.id, thread_id=run.thread_id)
    assert [s.type for s in steps.data] == ["message_creation"]
    messages = await client.beta.threads.messages.list(run.thread_id)
    assert messages.data[0].role == "assistant"
    assert "tools" not in dialect.requests[-1]


@pytest.mark.dialect(obeys_tool_choice=False)
async def test_required_ignored_fails_clearly(client: openai.AsyncOpenAI, dialect: DialectUpstream) -> None:
    """The upstream answers with text: one corrective retry, then ``failed``, and the text never reaches
    the thread."""
    run = await _run(client, "hello", tool_choice="required")
    assert run.status == "failed"
    assert run.last_error is not None and "tool_choice" in run.last_error.message
    assert len(dialect.requests) == 2
    assert "must call a tool" in json.dumps(dialect.requests[1]["messages"][-1])
    messages = await client.beta.threads.messages.list(run.thread_id)
    assert [m.role for m in messages.data] == ["user"]
