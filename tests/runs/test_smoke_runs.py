from __future__ import annotations

import json

import openai

from assistantd.backends.scripted import Call, Say, ScriptedBackend


async def test_text_run_polled(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("Hello there world"))
    a = await client.beta.assistants.create(model="m", instructions="Be brief")
    t = await client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    assert run.status == "completed", run.last_error
    msgs = await client.beta.threads.messages.list(t.id)
    assert msgs.data[0].content[0].text.value == "Hello there world"  # type: ignore[union-attr]
    steps = await client.beta.threads.runs.steps.list(run_id=run.id, thread_id=t.id)
    assert steps.data[0].type == "message_creation"
    assert run.usage is not None and run.usage.total_tokens > 0


async def test_function_call_streamed(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Call(("get_weather", json.dumps({"city": "Paris"}))), Say("It is sunny"))
    a = await client.beta.assistants.create(
        model="m",
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
            }
        ],
    )
    t = await client.beta.threads.create(messages=[{"role": "user", "content": "weather?"}])
    async with client.beta.threads.runs.stream(thread_id=t.id, assistant_id=a.id) as stream:
        async for _ in stream:
            pass
        run = await stream.get_final_run()
    assert run.status == "requires_action"
    call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    async with client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=t.id, run_id=run.id, tool_outputs=[{"tool_call_id": call.id, "output": "sunny"}]
    ) as stream:
        text = ""
        async for delta in stream.text_deltas:
            text += delta
        final = await stream.get_final_run()
    assert text == "It is sunny"
    assert final.status == "completed"
    assert backend.requests[-1].messages[-1].role == "tool"
