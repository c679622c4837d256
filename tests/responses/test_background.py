"""Background responses on the durable queue: ``queued`` → ``in_progress`` → terminal, pollable with retrieve;
``stream`` with ``background``; the event log replayed by ``GET ?stream=true`` from event 0 or after
``starting_after`` (what the SDK's resume helpers fetch), while running and once done; cancel (background
only, else a 400, never 409/5xx); delete while running; a restart leaves nothing stuck.

Streams run under a real uvicorn (``served``): ASGITransport buffers a whole body, so a live stream would
never be seen until it ended.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import openai
import pytest
from asgi_lifespan import LifespanManager

from assistantd import Settings, create_app
from assistantd.backends.scripted import Hang, Say, ScriptedBackend
from tests._responses_sse import parse_sse, validate_response_events
from tests._support import assert_api_error, assert_error, db_count
from tests.responses.conftest import MODEL, eventually, wait_terminal


async def read_stream(raw: httpx2.AsyncClient, method: str, path: str, **kw: Any) -> tuple[bytes, list[dict[str, Any]]]:
    async with raw.stream(method, path, **kw) as resp:
        assert resp.status_code == 200, await resp.aread()
        assert resp.headers["content-type"].startswith("text/event-stream")
        body = await resp.aread()
    return body, parse_sse(body)


async def test_background_create_returns_at_once_then_polls_to_completed(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    backend.add(Hang("still thinking"))
    r = await client.responses.create(model=MODEL, input="hi", background=True)
    assert r.status in ("queued", "in_progress") and r.background is True and r.output == []
    assert r.usage is None and r.completed_at is None
    running = await eventually(lambda: _status_is(client, r.id, "in_progress"), what="the background response to start")
    assert running.background is True
    cancelled = await client.responses.cancel(r.id)
    assert cancelled.status == "cancelled"

    backend.add(Say("done in the background", delay=0.01))
    r2 = await client.responses.create(model=MODEL, input="hi", background=True)
    final = await wait_terminal(client, r2.id)
    assert final.status == "completed" and final.output_text == "done in the background"
    assert final.usage is not None and final.usage.output_tokens > 0 and final.completed_at is not None


async def _status_is(client: openai.AsyncOpenAI, response_id: str, status: str) -> Any:
    r = await client.responses.retrieve(response_id)
    return r if r.status == status else None


@pytest.mark.e2e
async def test_stream_with_background_then_replay_from_zero_and_after_n(
    served_raw: httpx2.AsyncClient, backend: ScriptedBackend
) -> None:
    backend.add(Say("alpha beta gamma delta", delay=0.01))
    body = {"model": MODEL, "input": "go", "stream": True, "background": True}
    _, events = await read_stream(served_raw, "POST", "/responses", json=body)
    summary = validate_response_events(events)
    assert summary.types[:3] == ["response.created", "response.queued", "response.in_progress"]
    assert events[0]["response"]["status"] == "queued" and events[0]["response"]["background"] is True
    assert summary.final["status"] == "completed"
    response_id = summary.final["id"]

    replay_body, replay = await read_stream(served_raw, "GET", f"/responses/{response_id}", params={"stream": "true"})
    assert replay == events, "GET ?stream=true replays every event from 0, sequence numbers kept"
    assert replay_body.endswith(b"data: [DONE]\n\n")
    for n in (0, 4, len(events) - 2):
        _, tail = await read_stream(
            served_raw, "GET", f"/responses/{response_id}", params={"stream": "true", "starting_after": n}
        )
        assert tail == events[n + 1 :], n
    _, none_left = await read_stream(
        served_raw, "GET", f"/responses/{response_id}", params={"stream": "true", "starting_after": len(events) - 1}
    )
    assert none_left == []


@pytest.mark.e2e
async def test_sdk_resume_helpers(served: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("one two three four five six", delay=0.01))
    stream = await served.responses.create(model=MODEL, input="go", stream=True, background=True)
    events = [e.to_dict() async for e in stream]
    validate_response_events(events)
    response_id = events[0]["response"]["id"]
    n = 5
    resumed = await served.responses.retrieve(response_id, stream=True, starting_after=n)
    tail = [e.to_dict() async for e in resumed]
    assert tail == events[n + 1 :] and tail[0]["sequence_number"] == n + 1
    async with served.responses.stream(response_id=response_id, starting_after=n) as helper:
        types = [e.type async for e in helper]
        final = await helper.get_final_response()
    assert types == [e["type"] for e in events[n + 1 :]]
    assert final.output_text == "one two three four five six"
    assert (await served.responses.retrieve(response_id)).output_text == final.output_text


@pytest.mark.e2e
async def test_resume_a_running_response_after_a_dropped_stream(
    served: openai.AsyncOpenAI, served_raw: httpx2.AsyncClient, backend: ScriptedBackend
) -> None:
    words = " ".join(f"w{i}" for i in range(20))
    backend.add(Say(words, delay=0.05))
    seen: list[dict[str, Any]] = []
    body = {"model": MODEL, "input": "go", "stream": True, "background": True}
    async with served_raw.stream("POST", "/responses", json=body) as resp:
        buffer = b""
        async for chunk in resp.aiter_bytes():
            buffer += chunk
            complete = buffer[: buffer.rfind(b"\n\n") + 2] if b"\n\n" in buffer else b""
            seen = parse_sse(complete) if complete else []
            if sum(e["type"] == "response.output_text.delta" for e in seen) >= 3:
                break  # the client drops the connection mid-answer
    response_id = seen[0]["response"]["id"]
    last = seen[-1]["sequence_number"]
    assert (await served.responses.retrieve(response_id)).status == "in_progress", "dropping it does not stop it"
    resumed = await served.responses.retrieve(response_id, stream=True, starting_after=last)
    rest = [e.to_dict() async for e in resumed]
    assert [e["sequence_number"] for e in rest] == list(range(last + 1, last + 1 + len(rest)))
    validate_response_events(seen + rest)  # nothing lost nor repeated between the two connections
    async with served.responses.stream(response_id=response_id, starting_after=last) as helper:
        final = await helper.get_final_response()
    assert final.status == "completed" and final.output_text == words


@pytest.mark.e2e
async def test_cancel_a_hanging_background_response(
    served: openai.AsyncOpenAI, served_raw: httpx2.AsyncClient, backend: ScriptedBackend
) -> None:
    backend.add(Hang("partial"))
    r = await served.responses.create(model=MODEL, input="hi", background=True)
    await eventually(lambda: _status_is(served, r.id, "in_progress"), what="the response to start")
    cancelled = await served.responses.cancel(r.id)
    assert cancelled.status == "cancelled" and cancelled.id == r.id
    assert (await served.responses.retrieve(r.id)).status == "cancelled"
    body, events = await read_stream(served_raw, "GET", f"/responses/{r.id}", params={"stream": "true"})
    assert events[0]["type"] == "response.created" and body.endswith(b"data: [DONE]\n\n")
    with pytest.raises(openai.BadRequestError) as exc:
        await served.responses.cancel(r.id)
    assert_api_error(exc.value, 400, param="response_id")


async def test_cancel_of_a_non_background_or_finished_response_is_a_400(
    client: openai.AsyncOpenAI, raw: httpx2.AsyncClient, backend: ScriptedBackend
) -> None:
    backend.add(Say("foreground"), Say("background"))
    fg = await client.responses.create(model=MODEL, input="hi")
    resp = await raw.post(f"/responses/{fg.id}/cancel")
    assert_error(resp, 400, param="response_id")
    bg = await client.responses.create(model=MODEL, input="hi", background=True)
    await wait_terminal(client, bg.id)
    resp = await raw.post(f"/responses/{bg.id}/cancel")
    error = assert_error(resp, 400, param="response_id")
    assert "completed" in error["message"]
    assert (await client.responses.retrieve(bg.id)).status == "completed", "a refused cancel changes nothing"


async def test_replay_of_a_non_background_response_is_refused_cleanly(
    client: openai.AsyncOpenAI, raw: httpx2.AsyncClient, backend: ScriptedBackend
) -> None:
    backend.add(Say("foreground"))
    r = await client.responses.create(model=MODEL, input="hi")
    resp = await raw.get(f"/responses/{r.id}", params={"stream": "true"})
    assert resp.status_code in (400, 404), resp.text
    assert resp.json()["error"]["message"]


async def test_delete_a_running_background_response(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Hang("working"))
    r = await client.responses.create(model=MODEL, input="hi", background=True)
    await eventually(lambda: _status_is(client, r.id, "in_progress"), what="the response to start")
    await client.responses.delete(r.id)
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(r.id)
    backend.add(Say("next one runs"))
    nxt = await client.responses.create(model=MODEL, input="hi")
    assert nxt.output_text == "next one runs", "the worker slot was given back"


async def test_in_progress_at_shutdown_resumes_after_the_restart(settings: Settings) -> None:
    """Nothing of a response's output is stored before it ends: the restarted server takes it again from its
    input, and its replayed events number on from those sent before the stop."""
    app = create_app(settings, model_backend=ScriptedBackend([Hang("working")]))
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager, _client(manager.app) as c:
        running = await c.responses.create(model=MODEL, input="one", background=True)
        await eventually(lambda: _status_is(c, running.id, "in_progress"), what="it to start")
    app = create_app(settings, model_backend=ScriptedBackend([Say("after the restart")]))
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager, _client(manager.app) as c:
        resumed = await wait_terminal(c, running.id)
        assert resumed.status == "completed" and resumed.output_text == "after the restart"
        numbers = [e.sequence_number async for e in await c.responses.retrieve(running.id, stream=True)]
        assert numbers == sorted(set(numbers)), "no event number is used twice"
        again = await c.responses.create(model=MODEL, input="next", previous_response_id=running.id)
        assert again.status == "completed"


async def test_queued_at_shutdown_runs_after_the_restart(settings: Settings) -> None:
    one_slot = settings.model_copy(update={"run_workers": 1})
    app = create_app(one_slot, model_backend=ScriptedBackend([Hang("working"), Hang("also")]))
    async with LifespanManager(app, shutdown_timeout=5) as manager, _client(manager.app) as c:
        running = await c.responses.create(model=MODEL, input="one", background=True)
        await eventually(lambda: _status_is(c, running.id, "in_progress"), what="it to start")
        queued = await c.responses.create(model=MODEL, input="two", background=True)
        assert (await c.responses.retrieve(queued.id)).status == "queued"
    app = create_app(settings, model_backend=ScriptedBackend([Say("after the restart"), Say("after the restart")]))
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager, _client(manager.app) as c:
        ran = await wait_terminal(c, queued.id)
        assert ran.status == "completed" and ran.output_text == "after the restart"
        assert (await wait_terminal(c, running.id)).status == "completed"  # resumed, beside it


def _client(app: Any) -> openai.AsyncOpenAI:
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://test")
    return openai.AsyncOpenAI(base_url="http://test/v1", api_key="sk-test", http_client=http, max_retries=0)


@pytest.mark.settings(run_workers=1)
async def test_replay_of_a_queued_response_follows_the_database(
    served: openai.AsyncOpenAI, backend: ScriptedBackend, settings: Settings
) -> None:
    """A replay of a response no execution here has started reads its events from the database, where they
    are written as they happen (what lets another process, PostgreSQL deployments, replay it), and follows
    them until the response ends."""
    words = " ".join(f"w{i}" for i in range(20))
    backend.add(Hang("holding the only slot"), Say(words, delay=0.02))
    holder = await served.responses.create(model=MODEL, input="one", background=True)
    await eventually(lambda: _status_is(served, holder.id, "in_progress"), what="it to start")
    queued = await served.responses.create(model=MODEL, input="two", background=True)
    assert (await served.responses.retrieve(queued.id)).status == "queued"

    async def follow() -> list[dict[str, Any]]:
        return [e.to_dict() async for e in await served.responses.retrieve(queued.id, stream=True)]

    replay = asyncio.create_task(follow())
    await asyncio.sleep(0.3)
    assert not replay.done()
    await served.responses.cancel(holder.id)
    replayed = await asyncio.wait_for(replay, 30)
    validate_response_events(replayed)
    assert replayed[-1]["type"] == "response.completed"
    assert replayed[-1]["response"]["output"][0]["content"][0]["text"] == words
    assert db_count(settings, "response_events", "WHERE response_id = ?", queued.id) == len(replayed)
