"""Attachments on a run's messages accumulate, through the official client: every ``additional_messages``
attachment reaches the thread's ``tool_resources`` (code_interpreter files, the thread's vector store), and in
create-thread-and-run the top-level ``tool_resources`` join what the messages' attachments made. The files
then reach ``/mnt/data`` (when this machine has a sandbox)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
from asgi_lifespan import LifespanManager

from assistantd import Settings, create_app
from assistantd.backends.scripted import Call, Say, ScriptedBackend
from tests._support import assert_api_error, make_file
from tests.tools.conftest import with_code_interpreter

CI = [{"type": "code_interpreter"}]
FS = [{"type": "file_search"}]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"embeddings": "hashing"})


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend()


@pytest.fixture
async def app(settings: Settings, backend: ScriptedBackend) -> AsyncIterator[Any]:
    async with LifespanManager(
        create_app(settings, model_backend=backend), startup_timeout=30, shutdown_timeout=30
    ) as manager:
        yield manager.app


async def files(client: openai.AsyncOpenAI, *names: str) -> list[str]:
    return [(await make_file(client, f"{name} text".encode(), name)).id for name in names]


async def store_files(client: openai.AsyncOpenAI, store_id: str) -> set[str]:
    return {f.id for f in (await client.vector_stores.files.list(store_id)).data}


async def test_additional_messages_attachments_accumulate(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    a, b, c, d = await files(client, "a.csv", "b.csv", "c.txt", "d.txt")
    assistant = await client.beta.assistants.create(model="m", tools=[*CI, *FS])  # type: ignore[list-item]
    thread = await client.beta.threads.create()
    backend.add(Say("Done."))
    run = await client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        additional_messages=[
            {
                "role": "user",
                "content": "one",
                "attachments": [{"file_id": a, "tools": CI}, {"file_id": c, "tools": FS}],
            },
            {"role": "user", "content": "two", "attachments": [{"file_id": b, "tools": CI}]},
            {"role": "user", "content": "three", "attachments": [{"file_id": d, "tools": [*CI, *FS]}]},
        ],
    )
    assert run.status == "completed", run.last_error
    resources = (await client.beta.threads.retrieve(thread.id)).tool_resources
    assert resources is not None and resources.code_interpreter is not None and resources.file_search is not None
    assert resources.code_interpreter.file_ids == [a, b, d]
    [store_id] = resources.file_search.vector_store_ids or []
    assert await store_files(client, store_id) == {c, d}


async def test_create_thread_and_run_merges_tool_resources(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    a, b, c, d = await files(client, "a.csv", "b.csv", "c.txt", "d.txt")
    assistant = await client.beta.assistants.create(model="m", tools=[*CI, *FS])  # type: ignore[list-item]
    backend.add(Say("Done."), Say("Done."))
    run = await client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={
            "messages": [
                {"role": "user", "content": "x", "attachments": [{"file_id": a, "tools": CI}]},
                {"role": "user", "content": "y", "attachments": [{"file_id": c, "tools": FS}]},
            ]
        },
        tool_resources={"code_interpreter": {"file_ids": [b]}},
    )
    assert run.status == "completed", run.last_error
    resources = (await client.beta.threads.retrieve(run.thread_id)).tool_resources
    assert resources is not None and resources.code_interpreter is not None and resources.file_search is not None
    assert resources.code_interpreter.file_ids == [b, a]
    [store_id] = resources.file_search.vector_store_ids or []
    assert await store_files(client, store_id) == {c}

    # A vector store given at the top level is the thread's one: the attachments go into it.
    store = await client.vector_stores.create(name="mine")
    run = await client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "z", "attachments": [{"file_id": d, "tools": FS}]}]},
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    resources = (await client.beta.threads.retrieve(run.thread_id)).tool_resources
    assert resources is not None and resources.file_search is not None
    assert resources.file_search.vector_store_ids == [store.id]
    assert await store_files(client, store.id) == {d}

    # Two different vector stores for one thread: a 400, and no thread is made.
    other = await client.vector_stores.create(name="other")
    with pytest.raises(openai.BadRequestError) as exc:
        await client.beta.threads.create_and_run(
            assistant_id=assistant.id,
            thread={"tool_resources": {"file_search": {"vector_store_ids": [other.id]}}},
            tool_resources={"file_search": {"vector_store_ids": [store.id]}},
        )
    assert_api_error(exc.value, 400, param="tool_resources.file_search.vector_store_ids")


@pytest.fixture
async def sandboxed(settings: Settings, backend: ScriptedBackend) -> AsyncIterator[openai.AsyncOpenAI]:
    async with with_code_interpreter(settings, backend) as c:
        yield c


async def test_every_attached_file_reaches_mnt_data(sandboxed: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    client = sandboxed
    a, b = await files(client, "a.csv", "b.csv")
    assistant = await client.beta.assistants.create(model="m", tools=CI)  # type: ignore[arg-type]
    thread = await client.beta.threads.create()
    code = "import os; print(sorted(os.listdir('/mnt/data')))"
    backend.add(Call(("code_interpreter", json.dumps({"code": code}))), Say("Listed."))
    run = await client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        additional_messages=[
            {"role": "user", "content": "one", "attachments": [{"file_id": a, "tools": CI}]},
            {"role": "user", "content": "two", "attachments": [{"file_id": b, "tools": CI}]},
        ],
    )
    assert run.status == "completed", run.last_error
    steps = await client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc")
    [call] = steps.data[0].step_details.tool_calls  # type: ignore[union-attr]
    logs = " ".join(o.logs for o in call.code_interpreter.outputs if o.type == "logs")  # type: ignore[union-attr]
    assert "a.csv" in logs and "b.csv" in logs, logs
