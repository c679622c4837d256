"""``include[]=step_details.tool_calls[*].file_search.results[*].content`` on streamed runs, through the
official client: create run, create-thread-and-run and submit-tool-outputs streams carry the results'
content in their step events when asked, and only then."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from openai.lib.streaming import AsyncAssistantStreamManager

from assistantd import Settings, create_app
from assistantd.backends.scripted import Call, Say, ScriptedBackend
from tests.vector_stores._docs import MANUAL

INCLUDE = "step_details.tool_calls[*].file_search.results[*].content"
SEARCH = Call(("file_search", json.dumps({"query": "warranty"})))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"embeddings": "hashing"})


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend()


@pytest.fixture
async def app(settings: Settings, backend: ScriptedBackend) -> AsyncIterator[FastAPI]:
    async with LifespanManager(
        create_app(settings, model_backend=backend), startup_timeout=30, shutdown_timeout=30
    ) as manager:
        yield manager.app  # type: ignore[misc]


async def manual_assistant(client: openai.AsyncOpenAI, *extra_tools: dict[str, Any]) -> str:
    store = await client.vector_stores.create(name="manuals")
    await client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=("manual.txt", MANUAL.encode()))
    assistant = await client.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "file_search"}, *extra_tools],  # type: ignore[list-item]
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    return assistant.id


async def streamed_contents(manager: AsyncAssistantStreamManager[Any]) -> list[Any]:
    """The content of every file_search result in the stream's completed step events."""
    contents = []
    async with manager as stream:
        async for event in stream:
            if event.event == "thread.run.step.completed" and event.data.step_details.type == "tool_calls":
                for call in event.data.step_details.tool_calls:
                    if call.type == "file_search":
                        contents += [r.content for r in call.file_search.results or []]
    assert contents, "the stream showed no file_search results"
    return contents


def texts(contents: list[Any]) -> str:
    return " ".join(part.text for content in contents for part in content or [])


async def test_create_run_stream_includes_content(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    assistant_id = await manual_assistant(client)
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "Warranty?"}])
    backend.add(SEARCH, Say("Three years."), SEARCH, Say("Three years."))
    plain = await streamed_contents(client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant_id))
    assert plain == [None] * len(plain)
    included = await streamed_contents(
        client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant_id, include=[INCLUDE])
    )
    assert all(included) and "three-year" in texts(included)


async def test_create_thread_and_run_stream_includes_content(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    assistant_id = await manual_assistant(client)
    backend.add(SEARCH, Say("Three years."))
    included = await streamed_contents(
        client.beta.threads.create_and_run_stream(
            assistant_id=assistant_id,
            thread={"messages": [{"role": "user", "content": "Warranty?"}]},
            extra_query={"include": [INCLUDE]},
        )
    )
    assert all(included) and "three-year" in texts(included)


async def test_submit_tool_outputs_stream_includes_content(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    lookup = {"type": "function", "function": {"name": "order_date", "parameters": {"type": "object"}}}
    assistant_id = await manual_assistant(client, lookup)
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "Is my order under warranty?"}])
    backend.add(Call(("order_date", "{}")), SEARCH, Say("Yes."))
    run = await client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    assert run.status == "requires_action" and run.required_action is not None
    [call] = run.required_action.submit_tool_outputs.tool_calls
    included = await streamed_contents(
        client.beta.threads.runs.submit_tool_outputs_stream(
            run_id=run.id,
            thread_id=thread.id,
            tool_outputs=[{"tool_call_id": call.id, "output": "2025-01-01"}],
            extra_query={"include": [INCLUDE]},
        )
    )
    assert all(included) and "three-year" in texts(included)
