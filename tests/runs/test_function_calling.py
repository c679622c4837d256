"""Function calling: requires_action with every call, submit_tool_outputs and its 400s, tool messages to the model."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from assistantd import Settings
from assistantd.backends.scripted import Call, Hang, Say, ScriptedBackend
from tests._schema import assert_schema
from tests._support import assert_api_error, assert_error, db_count, wire
from tests.runs._helpers import TIME, WEATHER, args, assistant, thread, wait_status

pytestmark = pytest.mark.anyio


async def test_single_call_round_trip(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Call(("get_weather", args(city="Paris"))), Say("It is 20C in Paris."))
    a = await assistant(client, tools=[WEATHER])
    t = await thread(client, "Weather in Paris?")
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    _, body = await wire(client.beta.threads.runs.with_raw_response.retrieve(run.id, thread_id=t.id))
    assert_schema(body, "RunObject")
    assert body["status"] == "requires_action" and body["expires_at"] is not None
    [call] = body["required_action"]["submit_tool_outputs"]["tool_calls"]
    assert body["required_action"]["type"] == "submit_tool_outputs"
    assert call["id"].startswith("call_") and call["type"] == "function"
    assert call["function"] == {"name": "get_weather", "arguments": args(city="Paris")}
    _, step = await wire(client.beta.threads.runs.steps.with_raw_response.list(run.id, thread_id=t.id))
    assert step["data"][0]["step_details"]["tool_calls"][0]["function"]["output"] is None

    done = await client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=t.id, tool_outputs=[{"tool_call_id": call["id"], "output": "20C"}]
    )
    assert done.status == "completed" and done.required_action is None
    assert done.usage is not None and done.usage.total_tokens > 0

    first, second = backend.requests
    assert first.messages[-1].role == "user" and [f.name for f in first.tools] == ["get_weather"]
    *_, asked, answered = second.messages
    assert asked.role == "assistant" and asked.content is None
    assert [(c.id, c.name, c.arguments) for c in asked.tool_calls] == [(call["id"], "get_weather", args(city="Paris"))]
    assert (answered.role, answered.content, answered.tool_call_id) == ("tool", "20C", call["id"])
    assert not any(m.role == "user" and "20C" in str(m.content) for m in second.messages)

    msgs = await client.beta.threads.messages.list(t.id)
    assert msgs.data[0].content[0].text.value == "It is 20C in Paris."  # type: ignore[union-attr]
    assert len(msgs.data) == 2  # the tool exchange lives in the run steps, not in the thread


async def test_parallel_calls(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Call(("get_weather", args(city="Rome")), ("get_time", args(tz="CET"))), Say("Warm, noon."))
    a = await assistant(client, tools=[WEATHER, TIME])
    t = await thread(client)
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    assert run.status == "requires_action"
    calls = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("get_weather", {"city": "Rome"}),
        ("get_time", {"tz": "CET"}),
    ]
    assert len({c.id for c in calls}) == 2
    outputs = [{"tool_call_id": calls[1].id, "output": "12:00"}, {"tool_call_id": calls[0].id, "output": "25C"}]
    done = await client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=t.id, tool_outputs=outputs
    )
    assert done.status == "completed"
    tool_messages = [m for m in backend.requests[1].messages if m.role == "tool"]
    assert [(m.tool_call_id, m.content) for m in tool_messages] == [(calls[0].id, "25C"), (calls[1].id, "12:00")]

    _, steps = await wire(client.beta.threads.runs.steps.with_raw_response.list(run.id, thread_id=t.id, order="asc"))
    tool_step = steps["data"][0]
    assert_schema(tool_step, "RunStepObject")
    assert tool_step["status"] == "completed" and tool_step["completed_at"] is not None
    assert [(c["id"], c["function"]["output"]) for c in tool_step["step_details"]["tool_calls"]] == [
        (calls[0].id, "25C"),
        (calls[1].id, "12:00"),
    ]


@pytest.mark.parametrize(
    ("outputs", "param"),
    [
        pytest.param(lambda ids: [{"tool_call_id": ids[0], "output": "x"}], "tool_outputs", id="partial"),
        pytest.param(
            lambda ids: [{"tool_call_id": "call_unknown", "output": "x"}, {"tool_call_id": ids[1], "output": "y"}],
            "tool_outputs[0].tool_call_id",
            id="unknown-id",
        ),
        pytest.param(
            lambda ids: [{"tool_call_id": ids[0], "output": "x"}, {"tool_call_id": ids[0], "output": "y"}],
            "tool_outputs[1].tool_call_id",
            id="duplicate-id",
        ),
        pytest.param(lambda ids: [], "tool_outputs", id="empty"),
        pytest.param(lambda ids: [{"tool_call_id": ids[0]}], "tool_outputs[0].output", id="no-output"),
        pytest.param(lambda ids: [{"tool_call_id": ids[0], "output": 3}], "tool_outputs[0].output", id="not-str"),
    ],
)
async def test_bad_tool_outputs_change_nothing(
    client: openai.AsyncOpenAI, raw: Any, backend: ScriptedBackend, outputs: Any, param: str
) -> None:
    backend.add(Call(("get_weather", args(city="A")), ("get_time", args(tz="B"))), Say("done"))
    a = await assistant(client, tools=[WEATHER, TIME])
    t = await thread(client)
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    ids = [c.id for c in run.required_action.submit_tool_outputs.tool_calls]  # type: ignore[union-attr]
    steps_before = (await raw.get(f"/threads/{t.id}/runs/{run.id}/steps")).json()
    before = (await raw.get(f"/threads/{t.id}/runs/{run.id}")).json()

    resp = await raw.post(f"/threads/{t.id}/runs/{run.id}/submit_tool_outputs", json={"tool_outputs": outputs(ids)})
    assert_error(resp, 400, param=param)
    assert (await raw.get(f"/threads/{t.id}/runs/{run.id}")).json() == before
    assert (await raw.get(f"/threads/{t.id}/runs/{run.id}/steps")).json() == steps_before
    assert len(backend.requests) == 1

    good = [{"tool_call_id": i, "output": "ok"} for i in ids]
    done = await client.beta.threads.runs.submit_tool_outputs_and_poll(run_id=run.id, thread_id=t.id, tool_outputs=good)  # type: ignore[arg-type]
    assert done.status == "completed"


async def test_submit_when_not_requires_action(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Call(("get_weather", args(city="A"))), Say("done"))
    a = await assistant(client, tools=[WEATHER])
    t = await thread(client)
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    [call] = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    outputs = [{"tool_call_id": call.id, "output": "1"}]
    await client.beta.threads.runs.submit_tool_outputs_and_poll(run_id=run.id, thread_id=t.id, tool_outputs=outputs)  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError) as again:
        await client.beta.threads.runs.submit_tool_outputs(run_id=run.id, thread_id=t.id, tool_outputs=outputs)  # type: ignore[arg-type]
    assert_api_error(again.value, 400, param="run_id")
    assert "completed" in again.value.message
    with pytest.raises(openai.BadRequestError) as stream_again:
        async with client.beta.threads.runs.submit_tool_outputs_stream(
            run_id=run.id,
            thread_id=t.id,
            tool_outputs=outputs,  # type: ignore[arg-type]
        ) as stream:
            await stream.until_done()
    assert_api_error(stream_again.value, 400, param="run_id")
    with pytest.raises(openai.NotFoundError):
        other = await thread(client)
        await client.beta.threads.runs.submit_tool_outputs(run_id=run.id, thread_id=other.id, tool_outputs=outputs)  # type: ignore[arg-type]
    assert len(backend.requests) == 2


async def test_tool_choice_must_name_an_available_tool(
    client: openai.AsyncOpenAI, raw: Any, settings: Settings
) -> None:
    a = await assistant(client, tools=[WEATHER])
    t = await thread(client)
    for choice in (
        {"type": "function", "function": {"name": "get_time"}},
        {"type": "file_search"},
        {"type": "code_interpreter"},
    ):
        resp = await raw.post(f"/threads/{t.id}/runs", json={"assistant_id": a.id, "tool_choice": choice})
        assert_error(resp, 400, param="tool_choice")
    # The run's tools override decides what is available.
    resp = await raw.post(
        f"/threads/{t.id}/runs",
        json={
            "assistant_id": a.id,
            "tools": [TIME],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        },
    )
    assert_error(resp, 400, param="tool_choice")
    resp = await raw.post("/threads/runs", json={"assistant_id": a.id, "tool_choice": {"type": "file_search"}})
    assert_error(resp, 400, param="tool_choice")
    assert db_count(settings, "runs") == 0
    assert db_count(settings, "threads") == 1


async def test_tool_choice_none_and_required_reach_the_model(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    backend.add(Say("no tools"), Call(("get_weather", args(city="X"))))
    a = await assistant(client, tools=[WEATHER])
    t = await thread(client)
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id, tool_choice="none")
    assert run.status == "completed" and run.tool_choice == "none"
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id, tool_choice="required")
    assert run.status == "requires_action" and run.tool_choice == "required"
    assert [r.tool_choice for r in backend.requests] == ["none", "required"]
    await client.beta.threads.runs.cancel(run.id, thread_id=t.id)
    await wait_status(client, t.id, run.id)


async def test_submit_while_in_progress_is_rejected(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Hang())
    a = await assistant(client, tools=[WEATHER])
    t = await thread(client)
    run = await client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id)
    await wait_status(client, t.id, run.id, "in_progress")
    with pytest.raises(openai.BadRequestError) as exc:
        await client.beta.threads.runs.submit_tool_outputs(
            run_id=run.id, thread_id=t.id, tool_outputs=[{"tool_call_id": "call_x", "output": "x"}]
        )
    assert "in_progress" in assert_api_error(exc.value, 400, param="run_id")["message"]
    await client.beta.threads.runs.cancel(run.id, thread_id=t.id)
    assert (await wait_status(client, t.id, run.id)).status == "cancelled"
