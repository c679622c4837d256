"""The OpenAI Agents SDK for Python (``openai-agents``, pinned in scripts/test) against assistantd, as its docs
point it at another server: ``OpenAIResponsesModel(openai_client=AsyncOpenAI(base_url=...))``, tracing off.
The tool loop, a streamed run, the two ways to chain by response id, and the hosted tools as the SDK sends
them (``FileSearchTool``, ``CodeInterpreterTool``)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import openai
import pytest
from agents import (
    Agent,
    CodeInterpreterTool,
    FileSearchTool,
    ModelSettings,
    OpenAIResponsesModel,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from openai.types.responses import ResponseTextDeltaEvent

from assistantd.backends.scripted import Call
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


async def test_file_search_tool_with_results(served: Served, model: OpenAIResponsesModel) -> None:
    async with openai.AsyncOpenAI(base_url=served.base_url, api_key="sk-test", max_retries=0) as client:
        f = await client.files.create(file=("notes.txt", b"The secret word is pineapple."), purpose="assistants")
        store = await client.vector_stores.create(name="notes", file_ids=[f.id])
        deadline = time.monotonic() + 30
        while store.status != "completed":
            assert time.monotonic() < deadline, store
            store = await client.vector_stores.retrieve(store.id)
    served.backend.add(Call(("file_search", '{"query": "secret word"}')))
    agent = Agent(
        name="fs", model=model, tools=[FileSearchTool(vector_store_ids=[store.id], include_search_results=True)]
    )
    result = await Runner.run(agent, "What is the secret word?")
    assert "The secret word is pineapple." in result.final_output
    sent = served.recorder.posts()[0].request_json()
    assert sent["include"] == ["file_search_call.results"]
    output = result.raw_responses[0].output
    call = next(o for o in output if o.type == "file_search_call")
    assert call.results and call.results[0].file_id == f.id
    message = next(o for o in output if o.type == "message")
    assert {a.type for part in message.content if part.type == "output_text" for a in part.annotations} == {
        "file_citation"
    }


async def test_code_interpreter_tool(served: Served, model: OpenAIResponsesModel) -> None:
    served.backend.add(Call(("code_interpreter", '{"code": "print(6 * 7)"}')))
    tool = CodeInterpreterTool(tool_config={"type": "code_interpreter", "container": {"type": "auto"}})
    result = await Runner.run(Agent(name="ci", model=model, tools=[tool]), "Compute six times seven.")
    assert result.final_output == "The tool returned: 42", served.recorder.dump()
    call = next(o for o in result.raw_responses[0].output if o.type == "code_interpreter_call")
    assert call.code == "print(6 * 7)" and call.container_id.startswith("cntr_")
