"""Run semantics that must hold whatever the timing: expiry of running runs, cancels that are never lost,
the usage of what a cancelled run produced, step usage while in progress, one answer under json_schema."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import openai
import pytest

from assistantd.backends.scripted import Call, Hang, Say, ScriptedBackend
from tests._sse import parse_sse
from tests.runs._helpers import WEATHER, args, assistant, eventually, thread, wait_status


@pytest.mark.settings(run_expiry_seconds=1)
async def test_in_progress_run_expires(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    """A run still executing at ``expires_at`` ends ``expired``: the upstream request is closed and its open
    step and message end with it."""
    backend.add(Hang("thinking about it"))
    a = await assistant(client)
    t = await thread(client)
    run = await client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id)
    expired = await wait_status(client, t.id, run.id, "expired", timeout=10)
    assert expired.expires_at is None
    [step] = (await client.beta.threads.runs.steps.list(run.id, thread_id=t.id)).data
    assert step.status == "expired" and step.expired_at is not None
    [message] = (await client.beta.threads.messages.list(t.id, run_id=run.id)).data
    assert message.status == "incomplete"
    # The thread is free again.
    await client.beta.threads.messages.create(t.id, role="user", content="hello?")


@pytest.mark.settings(run_expiry_seconds=1, run_workers=1)
async def test_queued_run_expires(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    """With the only worker busy, a queued run is never started: it ends ``expired`` at ``expires_at``."""
    backend.add(Hang("busy"))
    a = await assistant(client)
    busy_thread, t = await thread(client), await thread(client)
    # Both runs in one clock second, so they expire together: were the busy one to expire a second earlier,
    # the worker it frees would rightly start the other before its own expires_at.
    while time.time() % 1 > 0.5:
        await asyncio.sleep(0.05)
    busy = await client.beta.threads.runs.create(thread_id=busy_thread.id, assistant_id=a.id)
    waiting = await client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id)
    assert waiting.status == "queued" and waiting.expires_at == busy.expires_at
    expired = await wait_status(client, t.id, waiting.id, "expired", timeout=10)
    assert expired.started_at is None
    await wait_status(client, busy.thread_id, busy.id, "expired", timeout=10)


async def test_cancel_answered_cancelling_always_ends_cancelled(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    """An instant run cancelled right after it was created: whenever the cancel answered ``cancelling``, the
    run ends ``cancelled``, never ``completed`` over it."""
    a = await assistant(client)
    outcomes: list[tuple[str, str]] = []
    for _ in range(30):
        backend.add(Say("done at once"))
        t = await thread(client)
        run = await client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id)
        try:
            answer = (await client.beta.threads.runs.cancel(run.id, thread_id=t.id)).status
        except openai.BadRequestError:
            answer = "too late"
        final = await wait_status(client, t.id, run.id)
        outcomes.append((answer, final.status))
    assert all(final == "cancelled" for answer, final in outcomes if answer == "cancelling"), outcomes
    assert all(final == "completed" for answer, final in outcomes if answer == "too late"), outcomes


async def test_cancelled_run_reports_what_the_model_produced(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    backend.add(Hang("one two three four five six"))
    a = await assistant(client)
    t = await thread(client)
    run = await client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id)

    async def streamed() -> Any:
        page = await client.beta.threads.messages.list(t.id, run_id=run.id)
        return page.data[0] if page.data else None

    await eventually(streamed, what="the answer to start")
    await client.beta.threads.runs.cancel(run.id, thread_id=t.id)
    done = await wait_status(client, t.id, run.id)
    assert done.status == "cancelled"
    assert done.usage is not None and done.usage.completion_tokens > 0 and done.usage.prompt_tokens > 0


async def test_step_usage_is_null_while_in_progress(
    client: openai.AsyncOpenAI, backend: ScriptedBackend, raw: Any
) -> None:
    backend.add(Say("a streamed answer"), Call(("get_weather", args(city="Oslo"))))
    a = await assistant(client, tools=[WEATHER])
    t = await thread(client)
    events = []
    for path, body in (
        (f"/threads/{t.id}/runs", {"assistant_id": a.id}),
        (f"/threads/{t.id}/runs", {"assistant_id": a.id}),
    ):
        resp = await raw.post(path, json={**body, "stream": True})
        events += parse_sse(resp.content)
    steps = [e.data for e in events if e.event.startswith("thread.run.step.") and e.event != "thread.run.step.delta"]
    assert steps
    for step in steps:
        if step["status"] == "in_progress":
            assert step["usage"] is None, step
    waiting = [s for s in (await client.beta.threads.runs.steps.list(events[-1].data["id"], thread_id=t.id)).data]
    assert all(s.usage is None for s in waiting if s.status == "in_progress")


async def test_json_schema_retry_keeps_only_the_valid_answer(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    backend.add(Say('{"temp": "cold"}'), Say('{"temp": 3}'))
    schema = {"type": "object", "properties": {"temp": {"type": "integer"}}, "required": ["temp"]}
    a = await assistant(client, response_format={"type": "json_schema", "json_schema": {"name": "w", "schema": schema}})
    t = await thread(client, "how cold?")
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    assert run.status == "completed", run.last_error
    messages = (await client.beta.threads.messages.list(t.id, order="asc")).data
    assert [(m.role, m.content[0].text.value) for m in messages] == [  # type: ignore[union-attr]
        ("user", "how cold?"),
        ("assistant", '{"temp": 3}'),
    ]
    steps = (await client.beta.threads.runs.steps.list(run.id, thread_id=t.id)).data
    assert len(steps) == 1


async def test_concurrent_cancel_and_completion_never_leave_a_run_active(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    a = await assistant(client)
    threads = [await thread(client) for _ in range(10)]
    for _ in threads:
        backend.add(Say("quick"))
    runs = await asyncio.gather(*(client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id) for t in threads))

    async def cancel(run: Any) -> None:
        with contextlib.suppress(openai.BadRequestError):
            await client.beta.threads.runs.cancel(run.id, thread_id=run.thread_id)

    await asyncio.gather(*(cancel(r) for r in runs))
    for r in runs:
        final = await wait_status(client, r.thread_id, r.id)
        assert final.status in ("cancelled", "completed")
