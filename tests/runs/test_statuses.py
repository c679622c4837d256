"""The other ends of a run: cancelled, expired, incomplete; and the truncation that keeps a run complete."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from fastapi import FastAPI

from assistantd import Settings
from assistantd.backends.scripted import Call, Hang, Say, ScriptedBackend
from assistantd.wire.runs import RunCreate
from tests._schema import assert_schema
from tests._support import assert_api_error, db_count
from tests.runs._helpers import WEATHER, args, assistant, eventually, thread, wait_status

pytestmark = pytest.mark.anyio

LONG = " ".join(f"word{i}" for i in range(120))  # well over 100 tokens


async def test_cancel_in_progress(client: openai.AsyncOpenAI, backend: ScriptedBackend, raw: Any) -> None:
    backend.add(Hang("Thinking about"))
    a = await assistant(client)
    t = await thread(client)
    run = await client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id)

    async def message_started() -> Any:
        page = await client.beta.threads.messages.list(t.id, run_id=run.id)
        return page.data or None

    await eventually(message_started, what="the hanging turn to start its message")
    cancelling = await client.beta.threads.runs.cancel(run.id, thread_id=t.id)
    assert cancelling.status == "cancelling"
    done = await wait_status(client, t.id, run.id)
    assert done.status == "cancelled"
    assert done.cancelled_at is not None and done.expires_at is None and done.completed_at is None
    assert_schema((await raw.get(f"/threads/{t.id}/runs/{run.id}")).json(), "RunObject")
    [msg] = (await client.beta.threads.messages.list(t.id, run_id=run.id)).data
    assert msg.status == "incomplete" and msg.incomplete_details is not None
    assert msg.incomplete_details.reason == "run_cancelled"
    assert msg.content[0].text.value == "Thinking about"  # type: ignore[union-attr]
    [step] = (await client.beta.threads.runs.steps.list(run.id, thread_id=t.id)).data
    assert step.status == "cancelled" and step.cancelled_at is not None

    with pytest.raises(openai.BadRequestError) as again:
        await client.beta.threads.runs.cancel(run.id, thread_id=t.id)
    assert_api_error(again.value, 400, param="run_id")
    assert (await client.beta.threads.runs.retrieve(run.id, thread_id=t.id)).status == "cancelled"
    # The thread is free again.
    backend.add(Say("back"))
    assert (await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)).status == "completed"


async def test_cancel_requires_action_cancels_the_waiting_step(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    backend.add(Call(("get_weather", args(city="Lima"))))
    a = await assistant(client, tools=[WEATHER])
    t = await thread(client)
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    assert run.status == "requires_action"
    assert (await client.beta.threads.runs.cancel(run.id, thread_id=t.id)).status == "cancelling"
    done = await wait_status(client, t.id, run.id)
    assert done.status == "cancelled" and done.required_action is None
    [step] = (await client.beta.threads.runs.steps.list(run.id, thread_id=t.id)).data
    assert step.status == "cancelled" and step.cancelled_at is not None
    [call] = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    with pytest.raises(openai.BadRequestError) as late:
        await client.beta.threads.runs.submit_tool_outputs(
            run_id=run.id, thread_id=t.id, tool_outputs=[{"tool_call_id": call.id, "output": "x"}]
        )
    assert_api_error(late.value, 400, param="run_id")
    assert len(backend.requests) == 1


@pytest.mark.settings(run_workers=1)
async def test_cancel_queued_run_does_not_wait_for_a_worker(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    backend.add(Hang())
    a = await assistant(client)
    busy_thread, t = await thread(client), await thread(client)
    busy = await client.beta.threads.runs.create(thread_id=busy_thread.id, assistant_id=a.id)
    await wait_status(client, busy_thread.id, busy.id, "in_progress")
    queued = await client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id)
    assert (await client.beta.threads.runs.retrieve(queued.id, thread_id=t.id)).status == "queued"
    assert (await client.beta.threads.runs.cancel(queued.id, thread_id=t.id)).status == "cancelling"
    done = await wait_status(client, t.id, queued.id, timeout=3)
    assert done.status == "cancelled" and done.started_at is None
    assert len(backend.requests) == 1  # the queued run never reached the model
    await client.beta.threads.runs.cancel(busy.id, thread_id=busy_thread.id)
    assert (await wait_status(client, busy_thread.id, busy.id)).status == "cancelled"


async def test_cancel_terminal_run_is_rejected(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("done"))
    a = await assistant(client)
    t = await thread(client)
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    with pytest.raises(openai.BadRequestError) as exc:
        await client.beta.threads.runs.cancel(run.id, thread_id=t.id)
    assert "completed" in assert_api_error(exc.value, 400, param="run_id")["message"]
    assert (await client.beta.threads.runs.retrieve(run.id, thread_id=t.id)).status == "completed"


@pytest.mark.settings(run_expiry_seconds=1)
async def test_requires_action_expires(client: openai.AsyncOpenAI, backend: ScriptedBackend, raw: Any) -> None:
    backend.add(Call(("get_weather", args(city="Nuuk"))))
    a = await assistant(client, tools=[WEATHER])
    t = await thread(client)
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    assert run.status == "requires_action" and run.expires_at == run.created_at + 1
    expired = await wait_status(client, t.id, run.id, "expired", timeout=10)
    assert expired.expires_at is None and expired.required_action is None
    assert_schema((await raw.get(f"/threads/{t.id}/runs/{run.id}")).json(), "RunObject")
    [step] = (await client.beta.threads.runs.steps.list(run.id, thread_id=t.id)).data
    assert step.status == "expired" and step.expired_at is not None
    [call] = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    with pytest.raises(openai.BadRequestError) as late:
        await client.beta.threads.runs.submit_tool_outputs(
            run_id=run.id, thread_id=t.id, tool_outputs=[{"tool_call_id": call.id, "output": "x"}]
        )
    assert_api_error(late.value, 400, param="run_id")
    with pytest.raises(openai.BadRequestError):
        await client.beta.threads.runs.cancel(run.id, thread_id=t.id)


@pytest.mark.settings(run_expiry_seconds=1)
async def test_expiry_sweeper_needs_no_reader(
    client: openai.AsyncOpenAI, backend: ScriptedBackend, settings: Settings
) -> None:
    """Nobody retrieves the run: the workers' sweeper expires it (listing runs reads without side effects)."""
    backend.add(Call(("get_weather", "{}")))
    a = await assistant(client, tools=[WEATHER])
    t = await thread(client)
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    assert run.status == "requires_action"

    async def expired() -> Any:
        [listed] = (await client.beta.threads.runs.list(t.id)).data
        return listed if listed.status == "expired" else None

    await eventually(expired, timeout=10, what="the sweeper to expire the run")
    assert db_count(settings, "jobs") == 0
    # An expired run frees its thread.
    await client.beta.threads.messages.create(t.id, role="user", content="still there?")


async def test_incomplete_on_length(client: openai.AsyncOpenAI, backend: ScriptedBackend, raw: Any) -> None:
    backend.add(Say("This answer was cut", finish_reason="length"))
    a = await assistant(client)
    t = await thread(client)
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    assert run.status == "incomplete"
    assert run.incomplete_details is not None and run.incomplete_details.reason == "max_completion_tokens"
    assert run.expires_at is None and run.usage is not None and run.usage.completion_tokens > 0
    assert_schema((await raw.get(f"/threads/{t.id}/runs/{run.id}")).json(), "RunObject")
    [msg] = (await client.beta.threads.messages.list(t.id, run_id=run.id)).data
    assert msg.status == "incomplete" and msg.incomplete_details is not None
    assert msg.incomplete_details.reason == "max_tokens"
    assert msg.content[0].text.value == "This answer was cut"  # type: ignore[union-attr]
    [step] = (await client.beta.threads.runs.steps.list(run.id, thread_id=t.id)).data
    assert step.status == "completed" and step.usage is not None


async def test_incomplete_on_max_prompt_tokens(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    a = await assistant(client)
    t = await thread(client, LONG + " " + LONG + " " + LONG)
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id, max_prompt_tokens=256)
    assert run.status == "incomplete"
    assert run.incomplete_details is not None and run.incomplete_details.reason == "max_prompt_tokens"
    assert run.max_prompt_tokens == 256
    assert backend.requests == []  # the prompt never went upstream


async def test_max_prompt_tokens_budget_spans_turns(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    """The budget covers the whole run: a second turn that would exceed what is left ends it incomplete."""
    backend.add(Call(("get_weather", "{}")), Say("never said"))
    a = await assistant(client, tools=[WEATHER])
    t = await thread(client, " ".join(f"w{i}" for i in range(150)))
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id, max_prompt_tokens=400)
    assert run.status == "requires_action"
    [call] = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    run = await client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=t.id, tool_outputs=[{"tool_call_id": call.id, "output": "ok"}]
    )
    assert run.status == "incomplete"
    assert run.incomplete_details is not None and run.incomplete_details.reason == "max_prompt_tokens"
    assert len(backend.requests) == 1


async def test_auto_truncation_drops_the_oldest_messages(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("fits"))
    a = await assistant(client, instructions="System.")
    t = await thread(client, *(f"message {i}: {LONG}" for i in range(6)))
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id, max_prompt_tokens=600)
    assert run.status == "completed"
    [req] = backend.requests
    sent = [m.content for m in req.messages if m.role == "user"]
    assert 1 <= len(sent) < 6
    assert sent == [f"message {i}: {LONG}" for i in range(6 - len(sent), 6)]  # the newest, in order
    assert req.messages[0].content == "System."
    assert run.usage is not None and run.usage.prompt_tokens <= 600


async def test_truncation_last_messages(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("one"), Say("two"))
    a = await assistant(client)
    t = await thread(client, "m1", "m2", "m3", "m4", "m5")
    run = await client.beta.threads.runs.create_and_poll(
        thread_id=t.id, assistant_id=a.id, truncation_strategy={"type": "last_messages", "last_messages": 3}
    )
    assert run.status == "completed"
    assert run.truncation_strategy is not None and run.truncation_strategy.last_messages == 3
    assert [m.content for m in backend.requests[0].messages] == ["m3", "m4", "m5"]
    # The run's own answer is history for the next run.
    await client.beta.threads.runs.create_and_poll(
        thread_id=t.id, assistant_id=a.id, truncation_strategy={"type": "last_messages", "last_messages": 2}
    )
    assert [(m.role, m.content) for m in backend.requests[1].messages] == [("user", "m5"), ("assistant", "one")]


@pytest.mark.settings(run_workers=1)
async def test_deleting_the_thread_of_a_running_run_frees_its_worker(
    client: openai.AsyncOpenAI, backend: ScriptedBackend, settings: Settings, fastapi_app: FastAPI
) -> None:
    backend.add(Hang("never finished"), Say("next"))
    a = await assistant(client)
    doomed, t = await thread(client), await thread(client)
    stream = await fastapi_app.state.services.runs.stream_run(doomed.id, RunCreate(assistant_id=a.id))
    run = (await anext(stream)).data
    await wait_status(client, doomed.id, run["id"], "in_progress")
    await client.beta.threads.delete(doomed.id)
    with pytest.raises(openai.NotFoundError):
        await client.beta.threads.runs.retrieve(run["id"], thread_id=doomed.id)
    # A stream following the deleted run ends (as cancelled) rather than hanging.
    rest = [e async for e in stream]
    assert rest[-1].event == "thread.run.cancelled"
    # The only worker must let go of the deleted run's turn and take the next run.
    nxt = await client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id)
    assert (await wait_status(client, t.id, nxt.id, timeout=10)).status == "completed"
    assert db_count(settings, "jobs") == 0
