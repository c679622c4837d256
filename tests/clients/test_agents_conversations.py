"""The OpenAI Agents SDK for Python keeping state in a conversation (responses-clients.md §2): ``conversation_id``
(it sends ``conversation`` and only the new items, so the server must append the response's ``function_call`` to
the conversation) and ``OpenAIConversationsSession`` (it reads the items, posts without ``conversation``, then adds
the output items back with ``conversations.items.create``); and ``conversation_id`` on a thread made through the
Assistants API (a thread is a conversation)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest
from agents import Agent, OpenAIConversationsSession, OpenAIResponsesModel, Runner, function_tool

from assistantd.backends.scripted import Call
from tests.clients.conftest import Served

ECHO = "(scripted demo backend, not a language model) You said: "


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@pytest.fixture
async def client(served: Served) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=served.base_url, api_key="sk-test", max_retries=0) as c:
        yield c


def _agent(client: openai.AsyncOpenAI) -> Agent:
    model = OpenAIResponsesModel(model="scripted-model", openai_client=client)
    return Agent(name="weather", instructions="Answer with the tool's result.", model=model, tools=[get_weather])


async def test_conversation_id_tool_loop_then_next_turn(served: Served, client: openai.AsyncOpenAI) -> None:
    conversation = await client.conversations.create()
    served.backend.add(Call(("get_weather", '{"city": "Paris"}')))
    first = await Runner.run(_agent(client), "weather in Paris?", conversation_id=conversation.id)
    assert first.final_output == "The tool returned: sunny in Paris", served.recorder.dump()
    # The tool turn sends the lone function_call_output: the conversation must hold the call it answers.
    tool_turn = served.recorder.posts()[1].request_json()
    assert tool_turn["conversation"] == conversation.id
    assert [i["type"] for i in tool_turn["input"]] == ["function_call_output"]
    second = await Runner.run(_agent(client), "and now?", conversation_id=conversation.id)
    assert second.final_output == ECHO + "and now?"
    items = [i async for i in client.conversations.items.list(conversation.id, order="asc")]
    assert [i.type for i in items] == [
        "message",
        "function_call",
        "function_call_output",
        "message",
        "message",
        "message",
    ]


async def test_openai_conversations_session(served: Served, client: openai.AsyncOpenAI) -> None:
    session = OpenAIConversationsSession(openai_client=client)
    served.backend.add(Call(("get_weather", '{"city": "Oslo"}')))
    first = await Runner.run(_agent(client), "weather in Oslo?", session=session)
    assert first.final_output == "The tool returned: sunny in Oslo", served.recorder.dump()
    second = await Runner.run(_agent(client), "thanks", session=session)
    assert second.final_output == ECHO + "thanks"
    # The second request replays what the session stored: the first turn, its call and output, its answer.
    replay = served.recorder.posts()[-1].request_json()["input"]
    assert [i.get("type", "message") for i in replay][:4] == [
        "message",
        "function_call",
        "function_call_output",
        "message",
    ]
    assert "conversation" not in served.recorder.posts()[-1].request_json()


async def test_conversation_id_on_an_assistants_thread(served: Served, client: openai.AsyncOpenAI) -> None:
    """A thread made through Assistants, continued by the Agents SDK as its conversation, read back as a thread."""
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "hello from Assistants"}])
    served.backend.add(Call(("get_weather", '{"city": "Rome"}')))
    result = await Runner.run(_agent(client), "weather in Rome?", conversation_id=thread.id)
    assert result.final_output == "The tool returned: sunny in Rome", served.recorder.dump()
    session = OpenAIConversationsSession(conversation_id=thread.id, openai_client=client)
    stored = await session.get_items()
    assert [i.get("type", "message") for i in stored] == [
        "message",
        "message",
        "function_call",
        "function_call_output",
        "message",
    ]
    messages = await client.beta.threads.messages.list(thread.id, order="asc")
    assert [m.role for m in messages.data] == ["user", "user", "assistant"]
    assert messages.data[2].content[0].text.value == "The tool returned: sunny in Rome"  # type: ignore[union-attr]
