"""The ``file_search`` tool in runs, driven by the scripted model through the official client: the support
manual scenario end to end (polled and streamed), step details, ``include[]``, citations with and without
markers, message attachments, tool_resources and the opt-in search on every turn."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from openai.types.beta.threads import Message

from assistantd import Settings, create_app
from assistantd.backends.scripted import Call, Say, ScriptedBackend
from tests._support import assert_api_error, make_file
from tests.vector_stores._docs import FAQ, MANUAL

INCLUDE = "step_details.tool_calls[*].file_search.results[*].content"
ANSWER = "The X200 comes with a three-year limited warranty covering parts and labour."


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    fields: dict[str, Any] = {"embeddings": "hashing"}
    marker = request.node.get_closest_marker("settings")
    if marker:
        fields.update(marker.kwargs)
    return settings.model_copy(update=fields)


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend()


@pytest.fixture
async def app(settings: Settings, backend: ScriptedBackend) -> AsyncIterator[FastAPI]:
    async with LifespanManager(
        create_app(settings, model_backend=backend), startup_timeout=30, shutdown_timeout=30
    ) as manager:
        yield manager.app  # type: ignore[misc]


async def manual_store(client: openai.AsyncOpenAI) -> tuple[str, str]:
    store = await client.vector_stores.create(name="manuals")
    f = await client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("x200-manual.txt", MANUAL.encode())
    )
    await client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=("faq.txt", FAQ.encode()))
    return store.id, f.id


async def support_assistant(client: openai.AsyncOpenAI, store_id: str, **tool: Any) -> str:
    assistant = await client.beta.assistants.create(
        model="gpt-4o",
        instructions="Answer from the manuals.",
        tools=[{"type": "file_search", **({"file_search": tool} if tool else {})}],
        tool_resources={"file_search": {"vector_store_ids": [store_id]}},
    )
    return assistant.id


def text_of(message: Message) -> Any:
    part = message.content[0]
    assert part.type == "text"
    return part.text


async def test_support_manual_scenario_polled(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    store_id, manual_id = await manual_store(client)
    assistant_id = await support_assistant(client, store_id)
    backend.add(Call(("file_search", json.dumps({"query": "X200 warranty length"}))), Say(ANSWER))
    thread = await client.beta.threads.create(
        messages=[{"role": "user", "content": "How long is the warranty on the X200?"}]
    )
    run = await client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    assert run.status == "completed", run.last_error

    # The model was offered the tool, and saw the excerpts with their markers on its second turn.
    first, second = backend.requests
    assert [t.name for t in first.tools] == ["file_search"]
    tool_message = second.messages[-1]
    assert tool_message.role == "tool" and "three-year" in str(tool_message.content)
    assert "【0†x200-manual.txt】" in str(tool_message.content)

    # The answer cites the manual although the model wrote no marker.
    message = (await client.beta.threads.messages.list(thread.id)).data[0]
    text = text_of(message)
    assert text.value.startswith(ANSWER)
    [citation] = text.annotations
    assert citation.type == "file_citation" and citation.file_citation.file_id == manual_id
    assert text.value[citation.start_index : citation.end_index] == citation.text == "【0†x200-manual.txt】"

    # The step records the call as OpenAI's did; content only with include[].
    steps = await client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc")
    tool_step = steps.data[0]
    assert tool_step.type == "tool_calls" and tool_step.status == "completed"
    call = tool_step.step_details.tool_calls[0]  # type: ignore[union-attr]
    assert call.type == "file_search"
    assert call.file_search.ranking_options is not None
    assert call.file_search.ranking_options.model_dump() == {"ranker": "auto", "score_threshold": 0.0}
    results = call.file_search.results or []
    assert results[0].file_id == manual_id and results[0].file_name == "x200-manual.txt"
    assert 0 < results[0].score <= 1 and results[0].content is None
    full = await client.beta.threads.runs.steps.retrieve(
        tool_step.id, thread_id=thread.id, run_id=run.id, include=[INCLUDE]
    )
    content = full.step_details.tool_calls[0].file_search.results[0].content  # type: ignore[union-attr]
    assert content and "three-year" in (content[0].text or "")


async def test_support_manual_scenario_streamed(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    store_id, manual_id = await manual_store(client)
    assistant_id = await support_assistant(client, store_id)
    backend.add(Call(("file_search", json.dumps({"query": "warranty"}))), Say(ANSWER))
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "Warranty of the X200?"}])
    delta_citations: list[str] = []
    async with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant_id) as stream:
        events = []
        async for event in stream:
            events.append(event.event)
            if event.event == "thread.message.delta":
                for part in event.data.delta.content or []:
                    if part.type == "text" and part.text and part.text.annotations:
                        delta_citations += [
                            a.file_citation.file_id
                            for a in part.text.annotations
                            if a.type == "file_citation" and a.file_citation and a.file_citation.file_id
                        ]
        run = await stream.get_final_run()
        messages = await stream.get_final_messages()
    assert run.status == "completed"
    assert "thread.run.step.delta" in events
    assert delta_citations == [manual_id]  # the annotations arrive in a delta too
    text = text_of(messages[-1])
    assert [a.file_citation.file_id for a in text.annotations if a.type == "file_citation"] == [manual_id]


async def test_model_markers_are_converted(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    store_id, manual_id = await manual_store(client)
    assistant_id = await support_assistant(client, store_id)
    backend.add(Call(("file_search", json.dumps({"query": "warranty"}))), Say("Three years【4:0†source】."))
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "Warranty?"}])
    run = await client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    assert run.status == "completed"
    text = text_of((await client.beta.threads.messages.list(thread.id)).data[0])
    assert text.value == "Three years【4:0†source】."
    [citation] = text.annotations
    assert citation.text == "【4:0†source】" and citation.file_citation.file_id == manual_id  # type: ignore[union-attr]
    assert (citation.start_index, citation.end_index) == (11, 11 + len("【4:0†source】"))


async def test_options_are_honoured(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    store_id, _ = await manual_store(client)
    ranking = {"ranker": "default_2024_08_21", "score_threshold": 0.0}
    assistant_id = await support_assistant(client, store_id, max_num_results=1, ranking_options=ranking)
    backend.add(Call(("file_search", json.dumps({"query": "warranty shipping returns"}))), Say("Done."))
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "?"}])
    run = await client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    steps = await client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc")
    call = steps.data[0].step_details.tool_calls[0]  # type: ignore[union-attr]
    assert len(call.file_search.results or []) == 1
    assert call.file_search.ranking_options.model_dump() == ranking
    backend.add(Call(("file_search", json.dumps({"query": "warranty"}))), Say("Done."))
    high = {"ranker": "auto", "score_threshold": 1.0}
    run = await client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant_id,
        tools=[{"type": "file_search", "file_search": {"ranking_options": high}}],
    )
    steps = await client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc")
    assert steps.data[0].step_details.tool_calls[0].file_search.results == []  # type: ignore[union-attr]
    assert "No results" in str(backend.requests[-1].messages[-1].content)


async def test_attachment_creates_the_thread_store(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    manual = await make_file(client, MANUAL.encode(), "manual.txt")
    assistant = await client.beta.assistants.create(model="gpt-4o", tools=[{"type": "file_search"}])
    thread = await client.beta.threads.create(
        messages=[
            {
                "role": "user",
                "content": "Warranty?",
                "attachments": [{"file_id": manual.id, "tools": [{"type": "file_search"}]}],
            }
        ]
    )
    assert thread.tool_resources and thread.tool_resources.file_search
    [store_id] = thread.tool_resources.file_search.vector_store_ids or []
    store = await client.vector_stores.retrieve(store_id)
    assert store.expires_after is not None and store.expires_after.days == 7
    assert store.expires_after.anchor == "last_active_at" and store.file_counts.total == 1
    faq = await make_file(client, FAQ.encode(), "faq.txt")
    await client.beta.threads.messages.create(
        thread.id,
        role="user",
        content="And shipping?",
        attachments=[{"file_id": faq.id, "tools": [{"type": "file_search"}]}],
    )
    same = await client.beta.threads.retrieve(thread.id)
    assert same.tool_resources.file_search.vector_store_ids == [store_id]  # type: ignore[union-attr]
    # The run waits for the thread's store to finish ingesting, then finds both files.
    backend.add(Call(("file_search", json.dumps({"query": "warranty shipping"}))), Say(ANSWER))
    run = await client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    steps = await client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc")
    found = {r.file_id for r in steps.data[0].step_details.tool_calls[0].file_search.results or []}  # type: ignore[union-attr]
    assert found == {manual.id, faq.id}


async def test_tool_resources_helper_and_validation(client: openai.AsyncOpenAI) -> None:
    manual = await make_file(client, MANUAL.encode(), "manual.txt")
    assistant = await client.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_stores": [{"file_ids": [manual.id], "metadata": {"k": "v"}}]}},
    )
    [store_id] = assistant.tool_resources.file_search.vector_store_ids  # type: ignore[union-attr]
    store = await client.vector_stores.retrieve(store_id)
    assert store.metadata == {"k": "v"} and store.file_counts.total == 1
    with pytest.raises(openai.BadRequestError) as exc:
        await client.beta.assistants.create(
            model="gpt-4o", tool_resources={"file_search": {"vector_store_ids": [store_id, store_id]}}
        )
    assert_api_error(exc.value, 400, param="tool_resources.file_search.vector_store_ids")
    with pytest.raises(openai.BadRequestError) as exc:
        await client.beta.threads.create(tool_resources={"file_search": {"vector_store_ids": ["vs_missing"]}})
    assert_api_error(exc.value, 400, param="tool_resources.file_search.vector_store_ids[0]")
    with pytest.raises(openai.BadRequestError) as exc:
        await client.beta.assistants.create(
            model="gpt-4o", tool_resources={"file_search": {"vector_stores": [{"file_ids": ["file-nope"]}]}}
        )
    assert_api_error(exc.value, 400, param="tool_resources.file_search.vector_stores[0].file_ids[0]")


@pytest.mark.settings(file_search_every_turn=True)
async def test_every_turn_search_for_models_that_never_call_tools(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    store_id, manual_id = await manual_store(client)
    assistant_id = await support_assistant(client, store_id)
    backend.add(Say(ANSWER))
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "How long is the X200 warranty?"}])
    run = await client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    assert run.status == "completed"
    text = text_of((await client.beta.threads.messages.list(thread.id)).data[0])
    assert text.annotations[0].file_citation.file_id == manual_id  # type: ignore[union-attr]
