"""The OpenAI Agents SDK for Python (``openai-agents``, pinned in scripts/test) against assistantd, as its docs
point it at another server: ``OpenAIResponsesModel(openai_client=AsyncOpenAI(base_url=...))``, tracing off.
The tool loop, a streamed run, and the two ways to chain by response id."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest
from agents import Agent, ModelSettings, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled
from openai.types.responses import ResponseTextDeltaEvent

from tests.clients.conftest import Served

set_tracing_disabled(True)  # or it posts traces to OpenAI

ECHO = "(scripted demo backend, not a language model) You said: "


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@pytest.fixture
async def model(served: Served) -> AsyncIterator[OpenAIResponsesModel]:
    async with openai.AsyncOpenAI(base_url=served.base_url, api_key="sk-test", max_retries=0) as client:
        yield OpenAIResponsesModel(model="scripted-model", openai_client=client)


def _agent(model: OpenAIResponsesModel) -> Agent:
    return Agent(
        name="weather",
        instructions="Answer with the tool's result.",
        model=model,
        tools=[get_weather],
        model_settings=ModelSettings(tool_choice="auto"),
    )


def _queue_call(served: Served) -> None:
    from assistantd.backends.scripted import Call

    served.backend.add(Call(("get_weather", '{"city": "Paris"}')))


async def test_plain_answer(served: Served, model: OpenAIResponsesModel) -> None:
    agent = Agent(name="echo", instructions="Be brief.", model=model)
    result = await Runner.run(agent, "hello agents")
    assert result.final_output == ECHO + "hello agents"
    sent = served.recorder.posts()[0].request_json()
    assert sent["instructions"] == "Be brief."


async def test_tool_loop_stateless(served: Served, model: OpenAIResponsesModel) -> None:
    _queue_call(served)
    result = await Runner.run(_agent(model), "weather in Paris?")
    assert result.final_output == "The tool returned: sunny in Paris", served.recorder.dump()
    # The default: the whole history replayed, [user, function_call, function_call_output].
    second = served.recorder.posts()[1].request_json()
    assert [i.get("type", "message") for i in second["input"]] == ["message", "function_call", "function_call_output"]
    assert "previous_response_id" not in second


async def test_streamed_run(served: Served, model: OpenAIResponsesModel) -> None:
    _queue_call(served)
    result = Runner.run_streamed(_agent(model), "weather in Paris?")
    deltas = ""
    async for event in result.stream_events():
        if event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent):
            deltas += event.data.delta
    assert result.final_output == deltas == "The tool returned: sunny in Paris", served.recorder.dump()
    assert all(p.request_json()["stream"] is True for p in served.recorder.posts())


async def test_previous_response_id(served: Served, model: OpenAIResponsesModel) -> None:
    agent = Agent(name="echo", model=model)
    first = await Runner.run(agent, "first turn")
    assert first.last_response_id is not None
    second = await Runner.run(agent, "second turn", previous_response_id=first.last_response_id)
    assert second.final_output == ECHO + "second turn"
    sent = served.recorder.posts()[1].request_json()
    assert sent["previous_response_id"] == first.last_response_id
    # The server kept the chain: the second response's context holds the first turn.
    prompt = served.backend.requests[1].messages
    assert [m.role for m in prompt if m.role in ("user", "assistant")] == ["user", "assistant", "user"]


async def test_auto_previous_response_id(served: Served, model: OpenAIResponsesModel) -> None:
    _queue_call(served)
    result = await Runner.run(_agent(model), "weather in Paris?", auto_previous_response_id=True)
    assert result.final_output == "The tool returned: sunny in Paris", served.recorder.dump()
    first, second = (p.request_json() for p in served.recorder.posts())
    assert "previous_response_id" not in first
    # On the tool turn it sends only the function_call_output, chained to the first response.
    assert second["previous_response_id"].startswith("resp_")
    assert [i["type"] for i in second["input"]] == ["function_call_output"]


async def test_streamed_auto_previous_response_id(served: Served, model: OpenAIResponsesModel) -> None:
    _queue_call(served)
    result = Runner.run_streamed(_agent(model), "weather in Paris?", auto_previous_response_id=True)
    async for _ in result.stream_events():
        pass
    assert result.final_output == "The tool returned: sunny in Paris", served.recorder.dump()
    second = served.recorder.posts()[1].request_json()
    assert second["stream"] is True and second["previous_response_id"].startswith("resp_")
    assert [i["type"] for i in second["input"]] == ["function_call_output"]


async def test_store_false_replay(served: Served, model: OpenAIResponsesModel) -> None:
    _queue_call(served)
    agent = _agent(model).clone(model_settings=ModelSettings(store=False))
    result = await Runner.run(agent, "weather in Paris?")
    assert result.final_output == "The tool returned: sunny in Paris", served.recorder.dump()
    assert [p.request_json()["store"] for p in served.recorder.posts()] == [False, False]
