"""Citations while the answer streams, through the official client: a marker the model writes is kept once
(never doubled), the markers the server adds are streamed as text before their annotation, and what the
SDK's stream helpers assemble from the deltas is the message the server stored (openai 3.57.0 in process;
3.57.0 and 1.109.1 against a real server on loopback)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from openai.lib.streaming import AsyncAssistantEventHandler
from openai.types.beta.threads import Message, MessageDeltaEvent

from assistantd import Settings, create_app
from assistantd.backends.scripted import Call, Say, ScriptedBackend
from tests._serve import serve_in_thread
from tests.backends._fake_upstream import FakeUpstream, stream, text_chunks, tool_chunks
from tests.vector_stores._docs import MANUAL

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).resolve().parent / "sdk_scripts" / "stream_citations.py"
SDKS = {"openai-3.57.0": ROOT / ".venv" / "bin" / "python", "openai-1.109.1": ROOT / ".venv-openai1" / "bin" / "python"}
NAME = "x200 manual.txt"  # a space: the scripted model streams word by word, so its marker comes in two pieces
GROUNDED = "The X200 comes with a three-year limited warranty covering parts and labour."
CITED = f"Brush the burrs weekly and never wash them with water.【0†{NAME}】"
ANSWER = f"{GROUNDED} {CITED} Enjoy your coffee!"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"embeddings": "hashing"})


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend()


@pytest.fixture
def fastapi_app(settings: Settings, backend: ScriptedBackend) -> FastAPI:
    return create_app(settings, model_backend=backend)


@pytest.fixture
async def app(fastapi_app: FastAPI) -> AsyncIterator[FastAPI]:
    async with LifespanManager(fastapi_app, startup_timeout=30, shutdown_timeout=30) as manager:
        yield manager.app  # type: ignore[misc]


async def manual_assistant(client: openai.AsyncOpenAI) -> tuple[str, str]:
    store = await client.vector_stores.create(name="manuals")
    f = await client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=(NAME, MANUAL.encode()))
    assistant = await client.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    return assistant.id, f.id


def text_of(message: Message) -> Any:
    part = message.content[0]
    assert part.type == "text"
    return part.text


def spans(annotations: list[Any]) -> list[tuple[str, str, int, int, str]]:
    out = []
    for a in annotations:
        a = a if isinstance(a, dict) else a.model_dump()
        out.append((a["type"], a["text"], a["start_index"], a["end_index"], a["file_citation"]["file_id"]))
    return out


async def test_a_marker_the_model_writes_is_never_doubled(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    assistant_id, manual_id = await manual_assistant(client)
    answer = CITED  # grounded in the manual, and cited by the model right after its full stop
    backend.add(Call(("file_search", json.dumps({"query": "cleaning"}))), Say(answer))
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "How do I clean it?"}])
    run = await client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    assert run.status == "completed", run.last_error
    text = text_of((await client.beta.threads.messages.list(thread.id)).data[0])
    assert text.value == answer
    start = answer.index("【")
    assert spans(text.annotations) == [("file_citation", f"【0†{NAME}】", start, len(answer), manual_id)]


class Recorder(AsyncAssistantEventHandler):
    """Keeps the text as the deltas bring it, checks each annotation against the text received before it,
    and the SDK's own snapshot of the message."""

    def __init__(self) -> None:
        super().__init__()
        self.received = ""
        self.annotation_deltas = 0
        self.snapshot: Message | None = None
        self.completed: Message | None = None

    async def on_message_delta(self, delta: MessageDeltaEvent, snapshot: Message) -> None:
        for part in delta.content or []:
            if part.type != "text" or part.text is None:
                continue
            self.received += part.text.value or ""
            for a in part.text.annotations or []:
                self.annotation_deltas += 1
                assert a.start_index is not None and a.end_index is not None
                assert self.received[a.start_index : a.end_index] == a.text, "annotation on text not yet received"
        self.snapshot = snapshot.model_copy(deep=True)

    async def on_message_done(self, message: Message) -> None:
        self.completed = message


async def test_the_streamed_text_is_the_final_text(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    assistant_id, manual_id = await manual_assistant(client)
    backend.add(Call(("file_search", json.dumps({"query": "warranty burrs"}))), Say(ANSWER))
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "Warranty and care?"}])
    recorder = Recorder()
    async with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant_id, event_handler=recorder
    ) as stream:
        await stream.until_done()
    stored = (await client.beta.threads.messages.list(thread.id)).data[0]
    final = text_of(stored)
    # The server cited the grounded sentence, once: its marker is part of the streamed text.
    marker = f"【0†{NAME}】"
    assert final.value == f"{GROUNDED}{marker} {CITED} Enjoy your coffee!"
    assert recorder.received == final.value
    assert recorder.annotation_deltas == len(final.annotations) == 2
    assert spans(final.annotations) == [
        ("file_citation", marker, len(GROUNDED), len(GROUNDED) + len(marker), manual_id),
        ("file_citation", marker, final.value.rindex("【"), final.value.rindex("】") + 1, manual_id),
    ]
    assert recorder.snapshot is not None and recorder.completed is not None
    snap = text_of(recorder.snapshot)
    assert snap.value == final.value == text_of(recorder.completed).value
    assert spans(snap.annotations) == spans(final.annotations) == spans(text_of(recorder.completed).annotations)


@pytest.mark.e2e
@pytest.mark.parametrize("sdk", sorted(SDKS))
def test_sdk_stream_helpers_assemble_the_stored_message(
    fastapi_app: FastAPI, backend: ScriptedBackend, sdk: str
) -> None:
    python = SDKS[sdk]
    if not python.exists():
        pytest.skip(f"{python} is missing: scripts/test creates it")
    backend.add(Call(("file_search", json.dumps({"query": "warranty burrs"}))), Say(ANSWER))
    with serve_in_thread(fastapi_app) as url:
        done = subprocess.run(
            [str(python), str(SCRIPT), url + "/v1", NAME, MANUAL],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("OK 2 citations"), done.stdout


async def test_a_real_upstream_streaming_character_by_character(settings: Settings) -> None:
    """The OpenAI-compatible backend against a loopback fake that streams the answer one character a chunk:
    markers split anywhere, sentence ends seen before what follows them."""
    upstream = FakeUpstream()
    turns = [
        stream(tool_chunks(("file_search", json.dumps({"query": "warranty burrs"})))),
        stream(text_chunks(*ANSWER)),
    ]
    upstream.scenarios["gpt-4o"] = lambda n: turns[n]
    with serve_in_thread(upstream.app(), lifespan="off") as url:
        app = create_app(settings.model_copy(update={"upstream_base_url": url + "/v1", "upstream_api_key": "sk"}))
        async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
            http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=manager.app), base_url="http://test")
            async with openai.AsyncOpenAI(base_url="http://test/v1", api_key="sk", http_client=http) as client:
                assistant_id, _ = await manual_assistant(client)
                thread = await client.beta.threads.create(messages=[{"role": "user", "content": "Warranty?"}])
                recorder = Recorder()
                async with client.beta.threads.runs.stream(
                    thread_id=thread.id, assistant_id=assistant_id, event_handler=recorder
                ) as s:
                    await s.until_done()
                final = text_of((await client.beta.threads.messages.list(thread.id)).data[0])
    assert final.value == f"{GROUNDED}【0†{NAME}】 {CITED} Enjoy your coffee!"
    assert recorder.received == final.value and recorder.annotation_deltas == 2
    assert recorder.snapshot is not None and text_of(recorder.snapshot).value == final.value
