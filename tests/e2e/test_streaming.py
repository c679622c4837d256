"""Over real HTTP: SSE arrives as it is produced, a client that leaves does not hurt its run, cancel is prompt."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import httpx2
import openai
import pytest
from fastapi import FastAPI

from assistantd.backends.scripted import Hang, Say, ScriptedBackend
from tests._sse import Event, names, validate_event_stream
from tests.runs._helpers import assistant, eventually, thread, wait_status

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def live_events(resp: httpx2.Response) -> AsyncIterator[Event]:
    """Parse SSE frames as they arrive (``[DONE]`` ends the iteration)."""
    name = None
    async for line in resp.aiter_lines():
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            data = line[len("data: ") :]
            assert name is not None, "data without an event line"
            if data == "[DONE]":
                assert name == "done"
                return
            yield Event(name, json.loads(data))
            name = None


async def test_deltas_arrive_before_the_run_completes(
    client: openai.AsyncOpenAI, raw: httpx2.AsyncClient, backend: ScriptedBackend
) -> None:
    backend.add(Say("one two three four five", delay=0.2))
    a = await assistant(client)
    t = await thread(client)
    events: list[Event] = []
    first_delta_at = None
    async with raw.stream("POST", f"/threads/{t.id}/runs", json={"assistant_id": a.id, "stream": True}) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        async for event in live_events(resp):
            events.append(event)
            if event.event == "thread.message.delta" and first_delta_at is None:
                first_delta_at = time.monotonic()
                run_id = events[0].data["id"]
                now = await client.beta.threads.runs.retrieve(run_id, thread_id=t.id)
                assert now.status == "in_progress", "the first delta should arrive while the run is still going"
    done_at = time.monotonic()
    assert first_delta_at is not None and done_at - first_delta_at >= 0.6
    validate_event_stream(events)
    assert names(events)[-1] == "thread.run.completed"


async def test_client_disconnect_does_not_stop_the_run(
    client: openai.AsyncOpenAI, raw: httpx2.AsyncClient, backend: ScriptedBackend, server_app: FastAPI
) -> None:
    text = " ".join(f"w{i}" for i in range(12))
    backend.add(Say(text, delay=0.05))
    a = await assistant(client)
    t = await thread(client)
    async with raw.stream("POST", f"/threads/{t.id}/runs", json={"assistant_id": a.id, "stream": True}) as resp:
        async for event in live_events(resp):
            if event.event == "thread.run.created":
                run_id = event.data["id"]
            if event.event == "thread.message.delta":
                break  # leave mid-run: the connection closes with the context
    run = await wait_status(client, t.id, run_id)
    assert run.status == "completed"
    events_log = server_app.state.services.runs.events

    async def unsubscribed() -> bool | None:
        return True if events_log.subscribers() == 0 else None

    await eventually(unsubscribed, timeout=5, what="the dropped stream to unsubscribe")
    [msg] = (await client.beta.threads.messages.list(t.id, run_id=run_id)).data
    assert msg.status == "completed" and msg.content[0].text.value == text  # type: ignore[union-attr]
    [step] = (await client.beta.threads.runs.steps.list(run_id, thread_id=t.id)).data
    assert step.status == "completed" and step.usage is not None
    # The server is healthy and the thread free.
    backend.add(Say("again"))
    again = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    assert again.status == "completed"


async def test_cancel_mid_stream_closes_the_run_promptly(
    client: openai.AsyncOpenAI, raw: httpx2.AsyncClient, backend: ScriptedBackend
) -> None:
    backend.add(Hang("Let me think"))
    a = await assistant(client)
    t = await thread(client)
    events: list[Event] = []
    async with raw.stream("POST", f"/threads/{t.id}/runs", json={"assistant_id": a.id, "stream": True}) as resp:
        async for event in live_events(resp):
            events.append(event)
            if event.event == "thread.message.delta" and len([e for e in events if e.event.endswith("delta")]) == 2:
                cancelled_at = time.monotonic()
                cancelling = await client.beta.threads.runs.cancel(events[0].data["id"], thread_id=t.id)
                assert cancelling.status == "cancelling"
    assert time.monotonic() - cancelled_at < 2
    validate_event_stream(events)
    assert [n for n in names(events) if "delta" not in n][-4:] == [
        "thread.run.cancelling",
        "thread.message.incomplete",
        "thread.run.step.cancelled",
        "thread.run.cancelled",
    ]
    run = await client.beta.threads.runs.retrieve(events[0].data["id"], thread_id=t.id)
    assert run.status == "cancelled" and run.cancelled_at is not None
    [msg] = (await client.beta.threads.messages.list(t.id, run_id=run.id)).data
    assert msg.content[0].text.value == "Let me think"  # type: ignore[union-attr]
    assert msg.incomplete_details is not None and msg.incomplete_details.reason == "run_cancelled"


async def test_sdk_stream_helper_over_http(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("streamed over a socket", delay=0.01))
    a = await assistant(client)
    t = await thread(client)
    async with client.beta.threads.runs.stream(thread_id=t.id, assistant_id=a.id) as stream:
        text = "".join([d async for d in stream.text_deltas])
        run = await stream.get_final_run()
    assert text == "streamed over a socket" and run.status == "completed"
