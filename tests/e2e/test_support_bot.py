"""docs/migrating.md's side-by-side: the same support bot written against Assistants
(``examples/support_bot/assistants_app.py``) and against Responses (``responses_app.py``), each run against a real
served assistantd, then one customer's thread carried from one app to the other and back, and picked up by the
OpenAI Agents SDK. The scripted backend plays the model: it calls ``file_search`` and ``lookup_order`` when told
to, and the apps' own code answers the function calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import openai
import pytest
from agents import Agent, OpenAIConversationsSession, OpenAIResponsesModel, Runner, set_tracing_disabled
from examples.support_bot import assistants_app, responses_app

from assistantd import Settings
from assistantd.backends.base import ChatMessage
from assistantd.backends.scripted import Call, Say, ScriptedBackend

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
APPS = [assistants_app, responses_app]
WARRANTY = "The X200 has a three-year warranty."
SHIPPED = "Order 1234 shipped with DHL, due 2026-09-02."


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"embeddings": "hashing"})  # no model weights to load


@pytest.fixture
def client(base_url: str) -> Iterator[openai.OpenAI]:
    """The synchronous client, as the apps (and most users' code) use it."""
    with openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0) as c:
        yield c


def search_turn(query: str) -> Call:
    return Call(("file_search", json.dumps({"query": query})))


def lookup_turn(order_id: str) -> Call:
    return Call(("lookup_order", json.dumps({"order_id": order_id})))


def tool_results(messages: list[ChatMessage]) -> list[str]:
    """What the model was given back by tools (file_search excerpts, function outputs), in order."""
    return [str(m.content) for m in messages if m.role == "tool"]


@pytest.mark.parametrize("app", APPS, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_the_bot_answers_from_the_manual_and_the_order_system(
    app: ModuleType, client: openai.OpenAI, backend: ScriptedBackend
) -> None:
    bot = app.setup(client)
    conversation = app.start(client)
    backend.add(search_turn("X200 warranty"), Say(WARRANTY), lookup_turn("1234"), Say(SHIPPED))

    assert app.answer(client, bot, conversation, "How long is the warranty?").startswith(WARRANTY)
    assert sorted(t.name for t in backend.requests[0].tools) == ["file_search", "lookup_order"]
    assert "three-year limited warranty" in tool_results(backend.requests[1].messages)[-1]

    assert app.answer(client, bot, conversation, "Where is my order 1234?") == SHIPPED
    # The app's own lookup_order answered the call, and the model saw its output.
    assert tool_results(backend.requests[3].messages)[-1] == app.lookup_order("1234")
    assert "DHL" in app.lookup_order("1234")


def test_a_thread_carried_from_assistants_to_responses_and_back(
    client: openai.OpenAI, backend: ScriptedBackend
) -> None:
    """One endpoint at a time: a thread the Assistants app made, continued by the Responses app (with the
    assistant's own vector store), then by the Assistants app again; every message in order in both views."""
    assistant_id = assistants_app.setup(client)
    assistant = client.beta.assistants.retrieve(assistant_id)
    assert assistant.tool_resources is not None and assistant.tool_resources.file_search is not None
    [store_id] = assistant.tool_resources.file_search.vector_store_ids or []
    thread_id = assistants_app.start(client)

    backend.add(search_turn("warranty"), Say(WARRANTY))
    first = assistants_app.answer(client, assistant_id, thread_id, "How long is the warranty?")
    backend.add(lookup_turn("1234"), Say(SHIPPED))
    second = responses_app.answer(client, store_id, thread_id, "Where is my order 1234?")
    backend.add(Say("You are welcome."))
    third = assistants_app.answer(client, assistant_id, thread_id, "Thanks!")
    assert (second, third) == (SHIPPED, "You are welcome.")

    # The last Assistants run saw the whole conversation, with the Responses turn's function call and output
    # (the earlier run's file_search results are not replayed: server-side tool results stay in their turn).
    seen = [m for m in backend.requests[-1].messages if m.role != "system"]
    assert [m.role for m in seen] == ["user", "assistant", "user", "assistant", "tool", "assistant", "user"]
    assert seen[4].content == responses_app.lookup_order("1234")

    said = ["How long is the warranty?", first, "Where is my order 1234?", SHIPPED, "Thanks!", "You are welcome."]
    messages = client.beta.threads.messages.list(thread_id, order="asc").data
    assert [m.role for m in messages] == ["user", "assistant"] * 3
    assert [m.content[0].text.value for m in messages] == said  # type: ignore[union-attr]

    items = client.conversations.items.list(thread_id, order="asc").data
    assert [i.type for i in items] == [
        "message",
        "file_search_call",
        "message",
        "message",
        "function_call",
        "function_call_output",
        "message",
        "message",
        "message",
    ]
    texts = [i.content[0].text for i in items if i.type == "message"]  # type: ignore[union-attr]
    assert texts == said


def test_the_assistant_as_a_prompt_on_its_own_thread(client: openai.OpenAI, backend: ScriptedBackend) -> None:
    """docs/migrating.md's first step: keep the assistant, run it through Responses as a prompt."""
    assistant_id = assistants_app.setup(client)
    thread_id = assistants_app.start(client)
    backend.add(lookup_turn("1234"), Say(SHIPPED))
    response = client.responses.create(
        prompt={"id": assistant_id}, conversation=thread_id, input="Where is my order 1234?"
    )
    [call] = [item for item in response.output if item.type == "function_call"]
    response = client.responses.create(
        prompt={"id": assistant_id},
        conversation=thread_id,
        input=[
            {"type": "function_call_output", "call_id": call.call_id, "output": assistants_app.lookup_order("1234")}
        ],
    )
    assert response.output_text == SHIPPED and response.model == assistants_app.MODEL
    assert backend.requests[0].messages[0].content == assistants_app.INSTRUCTIONS
    assert sorted(t.name for t in backend.requests[0].tools) == ["file_search", "lookup_order"]
    messages = client.beta.threads.messages.list(thread_id, order="asc").data
    assert [m.content[0].text.value for m in messages] == ["Where is my order 1234?", SHIPPED]  # type: ignore[union-attr]


async def test_the_agents_sdk_continues_an_assistants_thread(
    base_url: str, client: openai.OpenAI, backend: ScriptedBackend
) -> None:
    """``conversation_id=`` and ``OpenAIConversationsSession`` on a thread id, as docs/migrating.md shows."""
    set_tracing_disabled(True)
    assistant_id = assistants_app.setup(client)
    thread_id = assistants_app.start(client)
    backend.add(Say("Hello from the assistant."))
    assert assistants_app.answer(client, assistant_id, thread_id, "Hi") == "Hello from the assistant."

    async with openai.AsyncOpenAI(base_url=base_url, api_key="sk-test", max_retries=0) as aclient:
        agent = Agent(
            name="Acme support",
            instructions=assistants_app.INSTRUCTIONS,
            model=OpenAIResponsesModel(model=assistants_app.MODEL, openai_client=aclient),
        )
        backend.add(Say("By conversation_id."), Say("By session."))
        result = await Runner.run(agent, "Still there?", conversation_id=thread_id)
        assert result.final_output == "By conversation_id."
        session = OpenAIConversationsSession(conversation_id=thread_id, openai_client=aclient)
        result = await Runner.run(agent, "And now?", session=session)
        assert result.final_output == "By session."
    # The session's request replayed the whole thread; the thread holds all of it, in order.
    assert [m.role for m in backend.requests[-1].messages if m.role != "system"] == ["user", "assistant"] * 2 + ["user"]
    messages = client.beta.threads.messages.list(thread_id, order="asc").data
    assert [m.content[0].text.value for m in messages] == [  # type: ignore[union-attr]
        "Hi",
        "Hello from the assistant.",
        "Still there?",
        "By conversation_id.",
        "And now?",
        "By session.",
    ]


@pytest.mark.parametrize("app", APPS, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_the_apps_run_as_scripts(app: ModuleType, base_url: str, backend: ScriptedBackend) -> None:
    backend.add(search_turn("warranty"), Say(WARRANTY), lookup_turn("1234"), Say(SHIPPED))
    script = ROOT / "examples" / "support_bot" / f"{app.__name__.rsplit('.', 1)[-1]}.py"
    env = {**os.environ, "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "sk-test"}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"bot  > {WARRANTY}" in done.stdout and f"bot  > {SHIPPED}" in done.stdout, done.stdout
