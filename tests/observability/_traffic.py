"""Real traffic for the observability tests: an assistant with file_search over a vector store, a run that
searches (a server-side tool call) then answers, a run the upstream fails, and a response, all through the
official client against the app, with the model played by a fake OpenAI-compatible upstream on loopback."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx2
import openai
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from assistantd import Settings, create_app
from tests._serve import serve_in_thread
from tests.backends._fake_upstream import FakeUpstream, error, stream, text_chunks, tool_chunks
from tests.vector_stores._docs import MANUAL

SEARCHING = "gpt-4o"
"""The model that calls file_search, then answers."""
BROKEN = "broken-model"
"""The model whose upstream answers 500."""
ANSWERING = "answer-model"
"""The model that answers at once (responses)."""


@contextlib.contextmanager
def fake_upstream() -> Iterator[tuple[FakeUpstream, str]]:
    upstream = FakeUpstream()
    turns = [
        lambda: stream(tool_chunks(("file_search", json.dumps({"query": "warranty"})))),
        lambda: stream(text_chunks("The warranty ", "lasts three years.")),
    ]
    upstream.scenarios[SEARCHING] = lambda n: turns[n % 2]()
    upstream.scenarios[BROKEN] = lambda n: error(500, "the fake upstream is down")
    upstream.scenarios[ANSWERING] = lambda n: stream(text_chunks("Hello ", "there."))
    with serve_in_thread(upstream.app(), lifespan="off") as url:
        yield upstream, url + "/v1"


def settings_for(settings: Settings, upstream_url: str, **more: object) -> Settings:
    return settings.model_copy(
        update={
            "upstream_base_url": upstream_url,
            "upstream_api_key": "sk-upstream",
            "upstream_max_retries": 0,
            "embeddings": "hashing",
            **more,
        }
    )


@contextlib.asynccontextmanager
async def app_and_client(
    settings: Settings, api_key: str = "sk-test"
) -> AsyncIterator[tuple[FastAPI, openai.AsyncOpenAI]]:
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
        http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=manager.app), base_url="http://test")
        async with openai.AsyncOpenAI(
            base_url="http://test/v1", api_key=api_key, http_client=http, max_retries=0
        ) as client:
            yield app, client


@dataclass
class Made:
    thread_id: str
    run_id: str
    failed_run_id: str
    response_id: str
    file_id: str


async def traffic(client: openai.AsyncOpenAI, *, user_text: str = "What does the warranty cover?") -> Made:
    store = await client.vector_stores.create(name="manuals")
    f = await client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=("manual.txt", MANUAL.encode()))
    assert f.status == "completed", f.last_error
    assistant = await client.beta.assistants.create(
        model=SEARCHING,
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    run = await client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": user_text}]}
    )
    assert run.status == "completed", run.last_error
    await client.beta.threads.retrieve(run.thread_id)
    broken = await client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, model=BROKEN, thread={"messages": [{"role": "user", "content": "hi"}]}
    )
    assert broken.status == "failed"
    response = await client.responses.create(model=ANSWERING, input=user_text)
    assert response.status == "completed"
    return Made(run.thread_id, run.id, broken.id, response.id, f.id)
