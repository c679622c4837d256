"""Durable execution: a server stopped mid-run leaves no run stuck; the next start resumes it from its last
completed step, the interrupted turn taken again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx2
import openai
import pytest
from asgi_lifespan import LifespanManager

from assistantd import Settings, create_app
from assistantd.backends.scripted import Call, Hang, Say, ScriptedBackend
from tests._support import db_count
from tests.runs._helpers import WEATHER, args, assistant, thread, wait_status

pytestmark = pytest.mark.anyio


@contextlib.asynccontextmanager
async def serving(settings: Settings, backend: ScriptedBackend) -> AsyncIterator[openai.AsyncOpenAI]:
    """One lifetime of the server (startup to shutdown) over a shared data directory."""
    async with LifespanManager(
        create_app(settings, model_backend=backend), startup_timeout=30, shutdown_timeout=30
    ) as manager:
        http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=manager.app), base_url="http://test")
        async with openai.AsyncOpenAI(base_url="http://test/v1", api_key="x", http_client=http, max_retries=0) as c:
            yield c


async def test_run_in_progress_at_shutdown_resumes_at_restart(settings: Settings) -> None:
    async with serving(settings, ScriptedBackend([Hang("half an")])) as client:
        a = await assistant(client)
        t = await thread(client)
        run = await client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id)
        await wait_status(client, t.id, run.id, "in_progress")
        await wait_messages(client, t.id, run.id, 1)  # the answer has begun

    async with serving(settings, ScriptedBackend([Say("fresh")])) as client:
        done = await wait_status(client, t.id, run.id)
        assert done.status == "completed" and done.last_error is None
        steps = (await client.beta.threads.runs.steps.list(run.id, thread_id=t.id, order="asc")).data
        assert [s.status for s in steps] == ["failed", "completed"]
        assert steps[0].last_error is not None and steps[0].last_error.code == "server_error"
        messages = (await client.beta.threads.messages.list(t.id, run_id=run.id, order="asc")).data
        assert [m.status for m in messages] == ["incomplete", "completed"]
        assert messages[0].incomplete_details is not None
        assert messages[1].content[0].text.value == "fresh"  # type: ignore[union-attr]
        # The interrupted answer is not shown to the model again.
    assert db_count(settings, "jobs") == 0


async def test_a_run_stopped_again_and_again_fails(settings: Settings) -> None:
    for _ in range(4):  # the first start, then MAX_RESUMES resumptions, each stopped mid-turn
        async with serving(settings, ScriptedBackend([Hang("half an")])) as client:
            if _ == 0:
                a = await assistant(client)
                t = await thread(client)
                run = await client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id)
            await wait_status(client, t.id, run.id, "in_progress")
            await wait_messages(client, t.id, run.id, _ + 1)

    async with serving(settings, ScriptedBackend([Say("fresh")])) as client:
        failed = await wait_status(client, t.id, run.id)
        assert failed.status == "failed" and failed.last_error is not None
        assert "stopped 4 times" in failed.last_error.message
        again = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
        assert again.status == "completed"


async def wait_messages(client: openai.AsyncOpenAI, thread_id: str, run_id: str, count: int) -> None:
    for _ in range(200):
        if len((await client.beta.threads.messages.list(thread_id, run_id=run_id)).data) >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"run {run_id} has fewer than {count} messages")


async def test_queued_and_waiting_runs_survive_a_restart(settings: Settings) -> None:
    async with serving(settings, ScriptedBackend([Call(("get_weather", args(city="Oslo")))])) as client:
        a = await assistant(client, tools=[WEATHER])
        t = await thread(client)
        run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
        assert run.status == "requires_action"

    async with serving(settings, ScriptedBackend([Say("Cold.")])) as client:
        assert (await client.beta.threads.runs.retrieve(run.id, thread_id=t.id)).status == "requires_action"
        [call] = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
        done = await client.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=run.id, thread_id=t.id, tool_outputs=[{"tool_call_id": call.id, "output": "-3C"}]
        )
        assert done.status == "completed"


async def test_a_run_continued_by_another_process_replays_its_file_search_calls(settings: Settings) -> None:
    """A file_search call's arguments are stored with its step, not kept by the process that made it: the
    model continuing a run after a restart sees the query it searched, and the conversation's item log
    holds it."""
    searched = args(query="warranty period")
    first = ScriptedBackend([Call(("file_search", searched)), Call(("get_weather", args(city="Oslo")))])
    async with serving(settings, first) as client:
        a = await assistant(client, tools=[{"type": "file_search"}, WEATHER])
        t = await thread(client, "How long is the warranty?")
        run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
        assert run.status == "requires_action", run.last_error
        raw = await client.beta.threads.runs.steps.with_raw_response.list(run.id, thread_id=t.id)
        assert "_private" not in raw.http_response.text and "warranty" not in raw.http_response.text
        [pending] = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]

    second = ScriptedBackend([Say("Two years.")])
    async with serving(settings, second) as client:
        done = await client.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=run.id, thread_id=t.id, tool_outputs=[{"tool_call_id": pending.id, "output": "sunny"}]
        )
        assert done.status == "completed", done.last_error
        calls = [c for m in second.requests[0].messages for c in m.tool_calls]
        assert [(c.name, c.arguments) for c in calls] == [("file_search", searched), ("get_weather", args(city="Oslo"))]
        found = [i for i in (await client.conversations.items.list(t.id)).data if i.type == "file_search_call"]
        assert [i.queries for i in found] == [["warranty period"]]  # type: ignore[union-attr]
