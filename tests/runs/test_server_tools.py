"""The ``Tool`` seam through a whole run: a server-side tool the model calls, recorded as a run step,
replayed to the model on the next turn, and annotating the final answer. The tool here is a small real
implementation of the protocol (as a third-party plugin would write one), not a stand-in for ours."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
from asgi_lifespan import LifespanManager

from assistantd import Settings, create_app
from assistantd.backends.base import FunctionSpec
from assistantd.backends.scripted import Call, Say, ScriptedBackend
from assistantd.tools.base import Annotated, ToolContext

pytestmark = pytest.mark.anyio


class UpperTool:
    """Upper-cases its input; poses as the ``code_interpreter`` type so runs can enable it."""

    type = "code_interpreter"
    name = "code_interpreter"

    def function(self, run_tool: dict[str, Any]) -> FunctionSpec:
        return FunctionSpec(
            self.name, "Upper-case text", {"type": "object", "properties": {"code": {"type": "string"}}}
        )

    def started(self, call_id: str) -> dict[str, Any]:
        return {"type": "code_interpreter", "code_interpreter": {"input": "", "outputs": []}}

    async def call(
        self, ctx: ToolContext, call_id: str, arguments: dict[str, Any], run_tool: dict[str, Any]
    ) -> dict[str, Any]:
        code = str(arguments.get("code", ""))
        ctx.emit_delta({"type": "code_interpreter", "code_interpreter": {"input": code}})
        outputs = [{"type": "logs", "logs": code.upper()}]
        ctx.emit_delta({"type": "code_interpreter", "code_interpreter": {"outputs": [{"index": 0, **outputs[0]}]}})
        return {"id": call_id, "type": "code_interpreter", "code_interpreter": {"input": code, "outputs": outputs}}

    def replay(self, tool_call: dict[str, Any]) -> tuple[str, str]:
        ci = tool_call["code_interpreter"]
        return json.dumps({"code": ci["input"]}), "\n".join(o["logs"] for o in ci["outputs"])

    async def annotate(self, ctx: ToolContext, text: str, tool_calls: list[dict[str, Any]]) -> Annotated:
        marker = "sandbox:/mnt/data/out.txt"
        start = text.find(marker)
        if start < 0:
            return Annotated()
        return Annotated(
            annotations=[
                {
                    "type": "file_path",
                    "text": marker,
                    "start_index": start,
                    "end_index": start + len(marker),
                    "file_path": {"file_id": "file-x"},
                }
            ]
        )


@pytest.fixture
async def app(settings: Settings, backend: ScriptedBackend) -> AsyncIterator[Any]:
    application = create_app(settings, model_backend=backend, extra_tools=[UpperTool()])
    async with LifespanManager(application, startup_timeout=30, shutdown_timeout=30) as manager:
        yield manager.app


async def test_server_tool_runs_and_feeds_the_next_turn(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Call(("code_interpreter", json.dumps({"code": "hello"}))), Say("Saved to sandbox:/mnt/data/out.txt ok"))
    a = await client.beta.assistants.create(model="m", tools=[{"type": "code_interpreter"}])
    t = await client.beta.threads.create(messages=[{"role": "user", "content": "shout hello"}])
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    assert run.status == "completed", run.last_error
    # The tool's result went back to the model as a tool message for the second turn.
    second = backend.requests[1]
    assert second.messages[-1].role == "tool" and second.messages[-1].content == "HELLO"
    assert [t.name for t in second.tools] == ["code_interpreter"]
    steps = await client.beta.threads.runs.steps.list(thread_id=t.id, run_id=run.id, order="asc")
    assert [s.type for s in steps.data] == ["tool_calls", "message_creation"]
    call = steps.data[0].step_details.tool_calls[0]  # type: ignore[union-attr]
    assert call.type == "code_interpreter" and call.code_interpreter.outputs[0].logs == "HELLO"  # type: ignore[union-attr]
    assert steps.data[0].status == "completed"
    msg = (await client.beta.threads.messages.list(thread_id=t.id)).data[0]
    text = msg.content[0].text  # type: ignore[union-attr]
    assert text.annotations[0].type == "file_path"
    assert text.value[text.annotations[0].start_index : text.annotations[0].end_index] == "sandbox:/mnt/data/out.txt"


async def test_server_tool_streamed(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Call(("code_interpreter", json.dumps({"code": "abc"}))), Say("see sandbox:/mnt/data/out.txt"))
    a = await client.beta.assistants.create(model="m", tools=[{"type": "code_interpreter"}])
    t = await client.beta.threads.create(messages=[{"role": "user", "content": "go"}])
    async with client.beta.threads.runs.stream(thread_id=t.id, assistant_id=a.id) as stream:
        async for _ in stream:
            pass
        steps = await stream.get_final_run_steps()
        messages = await stream.get_final_messages()
        run = await stream.get_final_run()
    assert run.status == "completed"
    assert steps[0].step_details.tool_calls[0].code_interpreter.input == "abc"  # type: ignore[union-attr]
    assert messages[0].content[0].text.annotations[0].type == "file_path"  # type: ignore[union-attr]
