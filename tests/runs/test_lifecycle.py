"""Run lifecycle and fields: statuses and timestamps, usage, overrides reaching the model, list/retrieve/modify,
steps, and the bad-input rules of create (404/400 with ``param``, nothing stored)."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest

from assistantd import Settings
from assistantd.backends.scripted import Call, Say, ScriptedBackend
from tests._schema import assert_schema
from tests._support import assert_api_error, assert_error, db_count, wire
from tests.runs._helpers import TIME, WEATHER, args, assistant, thread, wait_status

pytestmark = pytest.mark.anyio

FILE_SEARCH_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"


async def test_text_run_goes_queued_in_progress_completed(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("one two three four", delay=0.15))
    a = await assistant(client)
    t = await thread(client, "hello")
    run, body = await wire(client.beta.threads.runs.with_raw_response.create(thread_id=t.id, assistant_id=a.id))
    assert_schema(body, "RunObject")
    assert body["status"] == "queued" and body["started_at"] is None
    assert body["expires_at"] == body["created_at"] + 600
    assert body["usage"] is None and body["last_error"] is None and body["required_action"] is None

    running = await wait_status(client, t.id, run.id, "in_progress")
    assert running.started_at is not None and running.started_at >= run.created_at
    assert running.expires_at == run.created_at + 600 and running.completed_at is None

    done = await wait_status(client, t.id, run.id)
    _, body = await wire(client.beta.threads.runs.with_raw_response.retrieve(run.id, thread_id=t.id))
    assert_schema(body, "RunObject")
    assert body["status"] == "completed"
    assert body["expires_at"] is None and body["completed_at"] is not None
    assert body["started_at"] == running.started_at
    assert body["failed_at"] is None and body["cancelled_at"] is None and body["incomplete_details"] is None
    usage = body["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]

    _, steps = await wire(client.beta.threads.runs.steps.with_raw_response.list(run.id, thread_id=t.id))
    assert_schema(steps, "ListRunStepsResponse")
    [step] = steps["data"]
    assert step["type"] == "message_creation" and step["status"] == "completed"
    assert step["usage"]["total_tokens"] == usage["total_tokens"]
    assert step["completed_at"] is not None and step["expired_at"] is None
    message_id = step["step_details"]["message_creation"]["message_id"]
    message = await client.beta.threads.messages.retrieve(message_id, thread_id=t.id)
    assert message.run_id == done.id and message.assistant_id == a.id and message.status == "completed"
    assert message.content[0].text.value == "one two three four"  # type: ignore[union-attr]
    listed = await client.beta.threads.messages.list(t.id, run_id=run.id)
    assert [m.id for m in listed.data] == [message_id]


async def test_overrides_reach_the_model(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Call(("get_time", "{}")), Say('{"ok": true}'))
    a = await assistant(client, instructions="Assistant says A.", tools=[WEATHER], temperature=1.5, top_p=0.5)
    t = await thread(client, "first", "second", "third")
    overrides: dict[str, Any] = {
        "model": "other-model",
        "instructions": "Run says B.",
        "tools": [TIME],
        "temperature": 0.2,
        "top_p": 0.3,
        "metadata": {"k": "v"},
        "response_format": {"type": "json_object"},
        "tool_choice": {"type": "function", "function": {"name": "get_time"}},
        "parallel_tool_calls": False,
        "truncation_strategy": {"type": "last_messages", "last_messages": 2},
        "max_completion_tokens": 300,
    }
    run, body = await wire(
        client.beta.threads.runs.with_raw_response.create(
            thread_id=t.id,
            assistant_id=a.id,
            additional_instructions="Also C.",
            additional_messages=[{"role": "user", "content": "extra"}],
            **overrides,
        )
    )
    assert_schema(body, "RunObject")
    for key, value in overrides.items():
        assert body[key] == value, key
    waiting = await wait_status(client, t.id, run.id)
    assert waiting.status == "requires_action", waiting.last_error
    [call] = waiting.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    done = await client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=t.id, tool_outputs=[{"tool_call_id": call.id, "output": "noon"}]
    )
    assert done.status == "completed", done.last_error

    req, after = backend.requests
    assert after.tool_choice == "auto"  # a forced tool_choice applies to the run's first turn only
    assert req.model == "other-model"
    assert req.messages[0].role == "system" and req.messages[0].content == "Run says B.\n\nAlso C."
    # last_messages=2: "third" and the additional message, in order.
    assert [(m.role, m.content) for m in req.messages[1:]] == [("user", "third"), ("user", "extra")]
    assert [f.name for f in req.tools] == ["get_time"]
    assert req.tool_choice == {"type": "function", "function": {"name": "get_time"}}
    assert req.parallel_tool_calls is False
    assert (req.temperature, req.top_p) == (0.2, 0.3)
    assert req.response_format == {"type": "json_object"}
    assert req.max_tokens == 300
    messages = await client.beta.threads.messages.list(t.id, order="asc")
    assert [m.content[0].text.value for m in messages.data][-2:] == ["extra", '{"ok": true}']  # type: ignore[union-attr]


async def test_assistant_settings_are_the_defaults(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("fine"))
    a = await assistant(client, model="m-a", instructions="Be A.", tools=[WEATHER], temperature=0.7, top_p=0.9)
    t = await thread(client)
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    assert run.status == "completed"
    assert (run.model, run.instructions, run.temperature, run.top_p) == ("m-a", "Be A.", 0.7, 0.9)
    assert run.tools[0].type == "function" and run.tool_choice == "auto" and run.parallel_tool_calls is True
    assert run.truncation_strategy is not None and run.truncation_strategy.type == "auto"
    [req] = backend.requests
    assert req.model == "m-a" and req.messages[0].content == "Be A."
    assert [f.name for f in req.tools] == ["get_weather"] and req.tool_choice == "auto"
    assert (req.temperature, req.top_p) == (0.7, 0.9)


async def test_list_retrieve_modify_runs(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("one"), Say("two"))
    a = await assistant(client)
    t = await thread(client)
    first = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id, metadata={"n": "1"})
    second = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    _, page = await wire(client.beta.threads.runs.with_raw_response.list(t.id))
    assert_schema(page, "ListRunsResponse")
    assert [r["id"] for r in page["data"]] == [second.id, first.id]
    assert page["first_id"] == second.id and page["last_id"] == first.id and page["has_more"] is False
    one = await client.beta.threads.runs.list(t.id, limit=1)
    assert [r.id for r in one.data] == [second.id] and one.has_more
    rest = await client.beta.threads.runs.list(t.id, after=second.id)
    assert [r.id for r in rest.data] == [first.id]
    asc = await client.beta.threads.runs.list(t.id, order="asc")
    assert [r.id for r in asc.data] == [first.id, second.id]
    assert [r.id async for r in client.beta.threads.runs.list(t.id, limit=1)] == [second.id, first.id]

    updated, body = await wire(
        client.beta.threads.runs.with_raw_response.update(first.id, thread_id=t.id, metadata={"n": "one"})
    )
    assert_schema(body, "RunObject")
    assert updated.metadata == {"n": "one"} and updated.status == "completed"
    again = await client.beta.threads.runs.retrieve(first.id, thread_id=t.id)
    assert again.metadata == {"n": "one"} and again.completed_at == first.completed_at


async def test_steps_list_and_retrieve(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Call(("get_weather", args(city="Paris"))), Say("Sunny."))
    a = await assistant(client, tools=[WEATHER])
    t = await thread(client)
    run = await client.beta.threads.runs.create_and_poll(
        thread_id=t.id, assistant_id=a.id, include=[FILE_SEARCH_CONTENT]
    )
    assert run.status == "requires_action"
    [waiting] = (await client.beta.threads.runs.steps.list(run.id, thread_id=t.id)).data
    assert waiting.status == "in_progress" and waiting.type == "tool_calls"
    assert waiting.usage is None  # null while in progress; counted when the outputs complete it
    call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
    run = await client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=t.id, tool_outputs=[{"tool_call_id": call.id, "output": "20C"}]
    )
    assert run.status == "completed"

    _, page = await wire(
        client.beta.threads.runs.steps.with_raw_response.list(run.id, thread_id=t.id, include=[FILE_SEARCH_CONTENT])
    )
    assert_schema(page, "ListRunStepsResponse")
    tool_step, message_step = page["data"][1], page["data"][0]  # newest first
    assert (tool_step["type"], message_step["type"]) == ("tool_calls", "message_creation")
    assert all(s["status"] == "completed" and s["run_id"] == run.id for s in page["data"])
    assert tool_step["usage"] is not None and tool_step["usage"]["total_tokens"] > 0
    [fn] = tool_step["step_details"]["tool_calls"]
    assert fn == {
        "id": call.id,
        "type": "function",
        "function": {"name": "get_weather", "arguments": args(city="Paris"), "output": "20C"},
    }
    asc = await client.beta.threads.runs.steps.list(run.id, thread_id=t.id, order="asc")
    assert [s.id for s in asc.data] == [tool_step["id"], message_step["id"]]

    for step in page["data"]:
        _, one = await wire(
            client.beta.threads.runs.steps.with_raw_response.retrieve(
                step["id"], thread_id=t.id, run_id=run.id, include=[FILE_SEARCH_CONTENT]
            )
        )
        assert_schema(one, "RunStepObject")
        assert one == step
    with pytest.raises(openai.NotFoundError) as nf:
        await client.beta.threads.runs.steps.retrieve("step_nope", thread_id=t.id, run_id=run.id)
    assert_api_error(nf.value, 404, param="step_id")
    with pytest.raises(openai.BadRequestError) as bad:
        await client.beta.threads.runs.steps.retrieve("nope", thread_id=t.id, run_id=run.id)
    assert_api_error(bad.value, 400, param="step_id")


async def test_bad_references_are_rejected_and_nothing_is_stored(
    client: openai.AsyncOpenAI, raw: Any, settings: Settings, backend: ScriptedBackend
) -> None:
    a = await assistant(client)
    t = await thread(client)
    with pytest.raises(openai.NotFoundError) as nf:
        await client.beta.threads.runs.create(thread_id=t.id, assistant_id="asst_doesnotexist")
    assert_api_error(nf.value, 404, param="assistant_id")
    assert_error(await raw.post(f"/threads/{t.id}/runs", json={"assistant_id": "nope"}), 400, param="assistant_id")
    assert_error(await raw.post("/threads/nope/runs", json={"assistant_id": a.id}), 400, param="thread_id")
    assert_error(await raw.post("/threads/thread_nope/runs", json={"assistant_id": a.id}), 404, param="thread_id")
    assert_error(await raw.get(f"/threads/{t.id}/runs/nope"), 400, param="run_id")
    assert_error(await raw.get(f"/threads/{t.id}/runs/run_nope"), 404, param="run_id")
    assert_error(await raw.post(f"/threads/{t.id}/runs/run_nope/cancel"), 404, param="run_id")
    assert_error(await raw.get(f"/threads/{t.id}/runs/run_nope/steps"), 404, param="run_id")
    assert_error(await raw.post("/threads/runs", json={"assistant_id": "asst_nope"}), 404, param="assistant_id")
    assert_error(
        await raw.post(f"/threads/{t.id}/runs", json={"assistant_id": a.id, "max_prompt_tokens": 10}),
        400,
        param="max_prompt_tokens",
    )

    await client.beta.threads.delete(t.id)
    with pytest.raises(openai.NotFoundError) as gone:
        await client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id)
    assert_api_error(gone.value, 404, param="thread_id")
    assert db_count(settings, "runs") == 0 and db_count(settings, "jobs") == 0
    assert db_count(settings, "threads") == 0  # create_thread_and_run with a bad assistant left no thread
    assert backend.requests == []


async def test_one_active_run_per_thread(
    client: openai.AsyncOpenAI, backend: ScriptedBackend, settings: Settings
) -> None:
    backend.add(Call(("get_weather", args(city="Oslo"))), Say("Cold."))
    a = await assistant(client, tools=[WEATHER])
    t = await thread(client)
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    assert run.status == "requires_action"
    with pytest.raises(openai.BadRequestError) as second:
        await client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id)
    assert run.id in assert_api_error(second.value, 400)["message"]
    with pytest.raises(openai.BadRequestError) as message:
        await client.beta.threads.messages.create(t.id, role="user", content="more")
    assert run.id in assert_api_error(message.value, 400)["message"]
    assert db_count(settings, "runs") == 1 and db_count(settings, "messages") == 1

    call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
    run = await client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=t.id, tool_outputs=[{"tool_call_id": call.id, "output": "-5C"}]
    )
    assert run.status == "completed"
    await client.beta.threads.messages.create(t.id, role="user", content="more")
    backend.add(Say("ok"))
    assert (await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)).status == "completed"


async def test_create_thread_and_run_poll(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("Made a thread."))
    a = await assistant(client)
    run = await client.beta.threads.create_and_run_poll(
        assistant_id=a.id,
        thread={"messages": [{"role": "user", "content": "start"}], "metadata": {"t": "1"}},
        metadata={"r": "1"},
    )
    assert run.status == "completed" and run.metadata == {"r": "1"}
    t = await client.beta.threads.retrieve(run.thread_id)
    assert t.metadata == {"t": "1"}
    msgs = await client.beta.threads.messages.list(t.id, order="asc")
    assert [m.role for m in msgs.data] == ["user", "assistant"]
    assert backend.requests[0].messages[-1].content == "start"


async def test_stream_request_with_bad_input_gets_a_json_error(client: openai.AsyncOpenAI, raw: Any) -> None:
    t = await thread(client)
    resp = await raw.post(f"/threads/{t.id}/runs", json={"assistant_id": "asst_nope", "stream": True})
    assert resp.headers["content-type"].startswith("application/json")
    assert_error(resp, 404, param="assistant_id")
    with pytest.raises(openai.NotFoundError):
        async with client.beta.threads.runs.stream(thread_id=t.id, assistant_id="asst_nope") as stream:
            await stream.until_done()


async def test_bad_additional_messages_store_nothing(
    client: openai.AsyncOpenAI, raw: Any, settings: Settings, backend: ScriptedBackend
) -> None:
    a = await assistant(client)
    t = await thread(client)
    body = {
        "assistant_id": a.id,
        "additional_messages": [
            {"role": "user", "content": "fine"},
            {"role": "user", "content": "x", "attachments": [{"file_id": "file-nope", "tools": []}]},
        ],
    }
    assert_error(
        await raw.post(f"/threads/{t.id}/runs", json=body), 400, param="additional_messages[1].attachments[0].file_id"
    )
    assert db_count(settings, "runs") == 0 and db_count(settings, "messages") == 1
    assert backend.requests == []


async def test_image_parts_reach_the_model(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("A cat."))
    a = await assistant(client)
    t = await client.beta.threads.create(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
                ],
            }
        ]
    )
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    assert run.status == "completed"
    assert backend.requests[0].messages[-1].content == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
    ]


async def test_concurrent_runs_on_one_thread(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    """Racing creates on one thread: exactly one run starts, the others get the active-run 400."""
    backend.add(Say("only one", delay=0.05))
    a = await assistant(client)
    t = await thread(client)
    results = await asyncio.gather(
        *(client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id) for _ in range(5)),
        return_exceptions=True,
    )
    runs = [r for r in results if not isinstance(r, BaseException)]
    errors = [r for r in results if isinstance(r, openai.BadRequestError)]
    assert len(runs) == 1 and len(errors) == 4
    assert (await wait_status(client, t.id, runs[0].id)).status == "completed"


async def test_many_threads_run_at_once(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(*(Say(f"answer {i}", delay=0.02) for i in range(24)))
    a = await assistant(client)
    threads = [await thread(client, f"q{i}") for i in range(24)]
    runs = await asyncio.gather(
        *(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id) for t in threads)
    )
    assert [r.status for r in runs] == ["completed"] * 24
    assert len(backend.requests) == 24
    answers = set()
    for t in threads:
        [latest, _] = (await client.beta.threads.messages.list(t.id)).data
        answers.add(latest.content[0].text.value)  # type: ignore[union-attr]
    assert answers == {f"answer {i}" for i in range(24)}


async def test_concurrent_submits_apply_once(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Call(("get_weather", args(city="X"))), Say("done"))
    a = await assistant(client, tools=[WEATHER])
    t = await thread(client)
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    [call] = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    results = await asyncio.gather(
        *(
            client.beta.threads.runs.submit_tool_outputs(
                run_id=run.id, thread_id=t.id, tool_outputs=[{"tool_call_id": call.id, "output": str(i)}]
            )
            for i in range(3)
        ),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, openai.BadRequestError) for r in results if isinstance(r, BaseException))
    assert (await wait_status(client, t.id, run.id)).status == "completed"
    assert len(backend.requests) == 2


async def test_run_responses_carry_the_poll_interval(client: openai.AsyncOpenAI, raw: Any, settings: Settings) -> None:
    a = await assistant(client)
    t = await thread(client)
    created = await raw.post(f"/threads/{t.id}/runs", json={"assistant_id": a.id})
    expected = str(settings.poll_after_ms)
    assert created.headers["openai-poll-after-ms"] == expected
    run_id = created.json()["id"]
    assert (await raw.get(f"/threads/{t.id}/runs/{run_id}")).headers["openai-poll-after-ms"] == expected


@pytest.mark.parametrize(
    ("field", "value", "param"),
    [
        ("temperature", 2.5, "temperature"),
        ("top_p", -0.1, "top_p"),
        ("max_completion_tokens", 100, "max_completion_tokens"),
        ("truncation_strategy", {"type": "last_messages", "last_messages": 0}, "truncation_strategy.last_messages"),
        ("truncation_strategy", {"type": "middle"}, "truncation_strategy.type"),
        ("tool_choice", "sometimes", "tool_choice"),
        ("tool_choice", {"type": "function", "function": {}}, "tool_choice.function.name"),
        ("response_format", {"type": "xml"}, "response_format.type"),
        ("tools", [{"type": "function", "function": {"name": f"f{i}"}} for i in range(21)], "tools"),
        ("metadata", {f"k{i}": "v" for i in range(17)}, "metadata"),
        ("parallel_tool_calls", "yes", "parallel_tool_calls"),
        ("model", "", "model"),
        ("additional_messages", [{"role": "system", "content": "x"}], "additional_messages[0].role"),
    ],
)
async def test_invalid_run_options_are_400_with_param(
    client: openai.AsyncOpenAI, raw: Any, settings: Settings, field: str, value: Any, param: str
) -> None:
    a = await assistant(client)
    t = await thread(client)
    resp = await raw.post(f"/threads/{t.id}/runs", json={"assistant_id": a.id, field: value})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["param"] == param, resp.json()
    assert db_count(settings, "runs") == 0
