"""Citations a reader can follow, through the official client: every Assistants ``file_citation`` names the
file and quotes the chunk the cited sentence rests on (``file_citation.quote``, verbatim, at most
``MAX_QUOTE`` characters: the passage around the matching sentence in a long chunk), streamed and stored
alike; every Responses ``file_citation`` has its ``filename``; and the whole chunk is always there through
the run step's ``include[]`` and the response's ``include=["file_search_call.results"]``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Final

import openai
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from openai.lib.streaming import AsyncAssistantEventHandler
from openai.types.beta.threads import MessageDelta

from assistantd import Settings, create_app
from assistantd.backends.scripted import Call, Say, ScriptedBackend
from assistantd.tools._citations import MAX_QUOTE, quote
from tests.vector_stores._docs import MANUAL

INCLUDE: Final = "step_details.tool_calls[*].file_search.results[*].content"
NAME = "x200 manual.txt"
GROUNDED = "The X200 comes with a three-year limited warranty covering parts and labour."
CITED = f"Brush the burrs weekly and never wash them with water.【0†{NAME}】"
ANSWER = f"{GROUNDED} {CITED}"

FILLER = [
    f"Section {i}: the {topic} committee met on day {i} and recorded its {topic} findings in ledger {i}."
    for i, topic in enumerate(
        ["harbour", "orchard", "railway", "library", "bakery", "quarry", "vineyard", "museum", "brewery", "stable"] * 3
    )
]
FACT = "The lighthouse keeper paints the railings bright orange every April before the storms."
LOG = " ".join([*FILLER, FACT, "Visitors may climb the tower on Sundays only."])
LOG_NAME = "keeper log.txt"
LOG_ANSWER = "The lighthouse railings get painted bright orange every April."


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


async def store_with(client: openai.AsyncOpenAI, name: str, text: str) -> tuple[str, str]:
    store = await client.vector_stores.create(name="docs")
    f = await client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=(name, text.encode()))
    assert f.status == "completed", f.last_error
    return store.id, f.id


async def assistant_on(client: openai.AsyncOpenAI, store_id: str) -> str:
    assistant = await client.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store_id]}},
    )
    return assistant.id


def cited(annotation: Any) -> dict[str, Any]:
    """An Assistants annotation's ``file_citation`` as JSON (``quote`` is not a field of the SDK's
    non-delta model, so it is kept as an extra)."""
    data: dict[str, Any] = annotation.model_dump()["file_citation"]
    return data


async def step_contents(client: openai.AsyncOpenAI, thread_id: str, run_id: str) -> list[str]:
    steps = await client.beta.threads.runs.steps.list(run_id, thread_id=thread_id, include=[INCLUDE])
    out = []
    for step in steps.data:
        if step.step_details.type == "tool_calls":
            for call in step.step_details.tool_calls:
                if call.type == "file_search":
                    for result in call.file_search.results or []:
                        assert result.content, "include[] asked for the content"
                        out.append("".join(part.text or "" for part in result.content))
    return out


async def test_run_citations_quote_the_chunk(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    store_id, file_id = await store_with(client, NAME, MANUAL)
    backend.add(Call(("file_search", json.dumps({"query": "warranty burrs cleaning"}))), Say(ANSWER))
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "Warranty and care?"}])
    run = await client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=await assistant_on(client, store_id)
    )
    assert run.status == "completed", run.last_error
    message = (await client.beta.threads.messages.list(thread.id)).data[0]
    assert message.content[0].type == "text"
    annotations = message.content[0].text.annotations
    assert len(annotations) == 2  # the grounded sentence (marker inserted) and the model's own marker
    [content] = await step_contents(client, thread.id, run.id)
    assert content == MANUAL.strip() or MANUAL.strip() in content
    for a in annotations:
        assert a.type == "file_citation"
        assert cited(a) == {"file_id": file_id, "quote": content.strip()}  # a short chunk is quoted whole
    file = await client.files.retrieve(file_id)
    assert file.filename == NAME


async def test_a_long_chunk_is_quoted_around_the_cited_sentence(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    store_id, file_id = await store_with(client, LOG_NAME, LOG)
    backend.add(Call(("file_search", json.dumps({"query": "lighthouse railings orange"}))), Say(LOG_ANSWER))
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "When are the railings painted?"}])
    run = await client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=await assistant_on(client, store_id)
    )
    assert run.status == "completed", run.last_error
    [content] = await step_contents(client, thread.id, run.id)
    assert len(content) > MAX_QUOTE and FACT in content  # one chunk, longer than a quote
    message = (await client.beta.threads.messages.list(thread.id)).data[0]
    assert message.content[0].type == "text"
    [annotation] = message.content[0].text.annotations
    assert message.content[0].text.value == f"{LOG_ANSWER}【0†{LOG_NAME}】"
    data = cited(annotation)
    assert data["file_id"] == file_id
    assert FACT in data["quote"] and data["quote"] in content
    assert len(data["quote"]) <= MAX_QUOTE
    assert data["quote"].endswith(".")  # whole sentences


class Deltas(AsyncAssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.quotes: list[str | None] = []

    async def on_message_delta(self, delta: MessageDelta, snapshot: Any) -> None:
        for part in delta.content or []:
            if part.type == "text" and part.text is not None:
                for a in part.text.annotations or []:
                    assert a.type == "file_citation" and a.file_citation is not None
                    self.quotes.append(a.file_citation.quote)


async def test_streamed_annotations_carry_the_stored_quote(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    store_id, _ = await store_with(client, NAME, MANUAL)
    backend.add(Call(("file_search", json.dumps({"query": "warranty burrs cleaning"}))), Say(ANSWER))
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "Warranty and care?"}])
    handler = Deltas()
    async with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=await assistant_on(client, store_id), event_handler=handler
    ) as stream:
        await stream.until_done()
    message = (await client.beta.threads.messages.list(thread.id)).data[0]
    assert message.content[0].type == "text"
    stored = [cited(a)["quote"] for a in message.content[0].text.annotations]
    assert handler.quotes == stored and len(stored) == 2 and all(stored)


def response_citations(response: Any) -> list[Any]:
    return [
        a
        for item in response.output
        if item.type == "message"
        for part in item.content
        if part.type == "output_text"
        for a in part.annotations
    ]


def response_results(response: Any) -> list[Any]:
    return [r for item in response.output if item.type == "file_search_call" for r in item.results or []]


@pytest.mark.parametrize("streamed", [False, True])
async def test_response_citations_name_the_file(
    client: openai.AsyncOpenAI, backend: ScriptedBackend, streamed: bool
) -> None:
    store_id, file_id = await store_with(client, NAME, MANUAL)
    backend.add(Call(("file_search", json.dumps({"query": "warranty burrs cleaning"}))), Say(ANSWER))
    request: dict[str, Any] = {
        "model": "gpt-4o",
        "input": "Warranty and care?",
        "tools": [{"type": "file_search", "vector_store_ids": [store_id]}],
        "include": ["file_search_call.results"],
    }
    if streamed:
        async with client.responses.stream(**request) as stream:
            events = [e async for e in stream]
            response = await stream.get_final_response()
        added = [e.annotation for e in events if e.type == "response.output_text.annotation.added"]
        assert [(a.type, a.filename) for a in added] == [("file_citation", NAME)] * 2  # type: ignore[union-attr]
    else:
        response = await client.responses.create(**request)
    assert response.status == "completed"
    kept = await client.responses.retrieve(response.id, include=["file_search_call.results"])
    for shown in (response, kept):
        citations = response_citations(shown)
        assert [(c.type, c.file_id, c.filename) for c in citations] == [("file_citation", file_id, NAME)] * 2
        [result] = response_results(shown)
        assert result.file_id == file_id and result.filename == NAME
        assert result.text and MANUAL.strip() in result.text  # the whole chunk


def test_quote_picks_whole_sentences_within_the_limit() -> None:
    assert quote("  Short chunk.  ", "anything") == "Short chunk."
    found = quote(LOG, LOG_ANSWER)
    assert FACT in found and found in LOG and len(found) <= MAX_QUOTE
    assert quote(LOG, "nothing in common here") == LOG[: len(quote(LOG, "nothing in common here"))]
    one_sentence = "word " * 400
    cut = quote(one_sentence, "word")
    assert len(cut) <= MAX_QUOTE and one_sentence.startswith(cut) and not cut.endswith(" ")
