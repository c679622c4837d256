"""The analyst scenario end to end: upload a CSV, the (scripted) model runs code that prints totals, draws a
chart and writes a cleaned CSV; the answer carries an ``image_file`` and a ``file_path`` link. Polled and streamed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest

from assistantd import Settings
from assistantd.backends.scripted import Call, Say, ScriptedBackend
from tests.tools.conftest import with_code_interpreter
from tests.tools.test_code_interpreter import ANALYST_CODE, SALES

pytestmark = pytest.mark.anyio

ANSWER = "Totals: January 150, February 70, March 30. The cleaned file: [cleaned.csv](sandbox:/mnt/data/cleaned.csv)"


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend()


@pytest.fixture
async def client(settings: Settings, backend: ScriptedBackend) -> AsyncIterator[openai.AsyncOpenAI]:
    async with with_code_interpreter(settings, backend) as c:
        yield c


async def analyst(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> tuple[str, str]:
    upload = await client.files.create(file=("sales.csv", SALES), purpose="assistants")
    a = await client.beta.assistants.create(model="m", tools=[{"type": "code_interpreter"}])
    t = await client.beta.threads.create(
        messages=[
            {
                "role": "user",
                "content": "Monthly totals as a chart, and a cleaned CSV please.",
                "attachments": [{"file_id": upload.id, "tools": [{"type": "code_interpreter"}]}],
            }
        ]
    )
    backend.add(Call(("code_interpreter", json.dumps({"code": ANALYST_CODE}))), Say(ANSWER))
    return a.id, t.id


async def check_answer(client: openai.AsyncOpenAI, backend: ScriptedBackend, thread_id: str, run_id: str) -> None:
    steps = await client.beta.threads.runs.steps.list(run_id, thread_id=thread_id, order="asc")
    tool_step = steps.data[0]
    assert tool_step.type == "tool_calls" and tool_step.status == "completed"
    [call] = tool_step.step_details.tool_calls  # type: ignore[union-attr]
    assert call.type == "code_interpreter" and call.code_interpreter.input == ANALYST_CODE  # type: ignore[union-attr]
    outputs = call.code_interpreter.outputs  # type: ignore[union-attr]
    assert [o.type for o in outputs] == ["logs", "image"]
    assert "2024-01    150.0" in outputs[0].logs  # type: ignore[union-attr]
    image_id = outputs[1].image.file_id  # type: ignore[union-attr]

    [message] = (await client.beta.threads.messages.list(thread_id, run_id=run_id)).data
    text, image = message.content
    assert text.type == "text" and text.text.value == ANSWER
    [ann] = text.text.annotations
    assert ann.type == "file_path" and ann.text == "sandbox:/mnt/data/cleaned.csv"
    assert ANSWER[ann.start_index : ann.end_index] == ann.text
    cleaned = await client.files.content(ann.file_path.file_id)  # type: ignore[union-attr]
    assert cleaned.content.startswith(b"month,amount\n")
    assert image.type == "image_file" and image.image_file.file_id == image_id
    assert (await client.files.content(image_id)).content.startswith(b"\x89PNG")

    second = backend.requests[1]
    tool_message = [m for m in second.messages if m.role == "tool"][-1]
    assert "150.0" in str(tool_message.content)
    assert [f.name for f in backend.requests[0].tools] == ["code_interpreter"]


async def test_analyst_scenario_polled(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    assistant_id, thread_id = await analyst(client, backend)
    async with asyncio.timeout(120):
        run = await client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert run.status == "completed", run.last_error
    await check_answer(client, backend, thread_id, run.id)


async def test_analyst_scenario_streamed(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    assistant_id, thread_id = await analyst(client, backend)
    events: list[Any] = []
    async with (
        asyncio.timeout(120),
        client.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id) as stream,
    ):
        async for event in stream:
            events.append(event)
        run = await stream.get_final_run()
        [step, _] = await stream.get_final_run_steps()
        [final] = await stream.get_final_messages()
    assert run.status == "completed"
    deltas = [e.data.delta.step_details.tool_calls[0] for e in events if e.event == "thread.run.step.delta"]
    ci = [d.code_interpreter for d in deltas if d.code_interpreter is not None]
    first_input = next(i for i, d in enumerate(ci) if d.input)
    first_output = next(i for i, d in enumerate(ci) if d.outputs)
    assert first_input < first_output  # the code is streamed before the outputs
    # the SDK's accumulated snapshot of the step matches the stored one
    [call] = step.step_details.tool_calls  # type: ignore[union-attr]
    assert call.code_interpreter.input == ANALYST_CODE  # type: ignore[union-attr]
    assert final.content[0].text.annotations[0].type == "file_path"  # type: ignore[union-attr]
    assert final.content[1].type == "image_file"
    await check_answer(client, backend, thread_id, run.id)


async def test_a_run_continued_by_another_process_links_the_files_its_code_wrote(settings: Settings) -> None:
    """What a code_interpreter call wrote is recorded with the call, not kept by the process that ran it: a
    run that waits on a function, continued after a restart, still links the file its code wrote."""
    weather = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    code = "open('/mnt/data/report.txt', 'w').write('all good')\nprint('written')"
    first = ScriptedBackend([Call(("code_interpreter", json.dumps({"code": code}))), Call(("get_weather", "{}"))])
    async with with_code_interpreter(settings, first) as client:
        a = await client.beta.assistants.create(model="m", tools=[{"type": "code_interpreter"}, weather])  # type: ignore[list-item]
        t = await client.beta.threads.create(messages=[{"role": "user", "content": "Write the report."}])
        async with asyncio.timeout(120):
            run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
        assert run.status == "requires_action", run.last_error
        raw = await client.beta.threads.runs.steps.with_raw_response.list(run.id, thread_id=t.id)
        assert "_private" not in raw.http_response.text  # what the server keeps for itself is never shown
        [pending] = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]

    answer = "Done: [report.txt](sandbox:/mnt/data/report.txt)"
    async with with_code_interpreter(settings, ScriptedBackend([Say(answer)])) as client:
        async with asyncio.timeout(120):
            done = await client.beta.threads.runs.submit_tool_outputs_and_poll(
                run_id=run.id, thread_id=t.id, tool_outputs=[{"tool_call_id": pending.id, "output": "sunny"}]
            )
        assert done.status == "completed", done.last_error
        [message] = (await client.beta.threads.messages.list(t.id, run_id=run.id)).data
        [ann] = message.content[0].text.annotations  # type: ignore[union-attr]
        assert ann.type == "file_path" and ann.text == "sandbox:/mnt/data/report.txt"
        assert (await client.files.content(ann.file_path.file_id)).content == b"all good"  # type: ignore[union-attr]


async def test_a_later_run_links_a_file_an_earlier_run_wrote_without_linking_it(settings: Settings) -> None:
    code = "open('/mnt/data/notes.txt', 'w').write('kept')"
    first = ScriptedBackend([Call(("code_interpreter", json.dumps({"code": code}))), Say("Written.")])
    async with with_code_interpreter(settings, first) as client:
        a = await client.beta.assistants.create(model="m", tools=[{"type": "code_interpreter"}])
        t = await client.beta.threads.create(messages=[{"role": "user", "content": "Keep notes."}])
        async with asyncio.timeout(120):
            run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
        assert run.status == "completed", run.last_error

    answer = "Your notes: [notes.txt](sandbox:/mnt/data/notes.txt)"
    async with with_code_interpreter(settings, ScriptedBackend([Say(answer)])) as client:
        await client.beta.threads.messages.create(t.id, role="user", content="Where are my notes?")
        async with asyncio.timeout(120):
            later = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
        assert later.status == "completed", later.last_error
        [message] = (await client.beta.threads.messages.list(t.id, run_id=later.id)).data
        [ann] = message.content[0].text.annotations  # type: ignore[union-attr]
        assert ann.type == "file_path" and ann.text == "sandbox:/mnt/data/notes.txt"
        assert (await client.files.content(ann.file_path.file_id)).content == b"kept"  # type: ignore[union-attr]
