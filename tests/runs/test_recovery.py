"""Durable execution: a server stopped mid-run leaves no run stuck; the next start fails it with last_error."""

from __future__ import annotations

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


async def test_run_in_progress_at_shutdown_fails_at_restart(settings: Settings) -> None:
    async with serving(settings, ScriptedBackend([Hang("half an")])) as client:
        a = await assistant(client)
        t = await thread(client)
        run = await client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id)
        await wait_status(client, t.id, run.id, "in_progress")

    async with serving(settings, ScriptedBackend([Say("fresh")])) as client:
        failed = await wait_status(client, t.id, run.id)
        assert failed.status == "failed" and failed.failed_at is not None
        assert failed.last_error is not None and failed.last_error.code == "server_error"
        assert "stopped" in failed.last_error.message
        for step in (await client.beta.threads.runs.steps.list(run.id, thread_id=t.id)).data:
            assert step.status == "failed"
        for msg in (await client.beta.threads.messages.list(t.id, run_id=run.id)).data:
            assert msg.status == "incomplete"
        # The thread is usable again.
        again = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
        assert again.status == "completed"
    assert db_count(settings, "jobs") == 0


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
