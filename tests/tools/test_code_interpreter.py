"""The code_interpreter ``Tool`` on a real app, store and bubblewrap sandbox (the engine calls it the same way)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import pytest
from fastapi import FastAPI

from assistantd import Settings
from assistantd.sandbox import SandboxUnavailable
from assistantd.store.records import RunRecord
from assistantd.tools.base import ToolContext
from assistantd.tools.code_interpreter import CodeInterpreter
from tests._support import assert_api_error

pytestmark = pytest.mark.anyio

SALES = b"month,amount\n2024-01,100\n2024-01,50\n2024-02,70\n2024-03,30\n2024-03,\n"
ANALYST_CODE = """
import pandas as pd, matplotlib.pyplot as plt
df = pd.read_csv('/mnt/data/sales.csv').dropna()
monthly = df.groupby('month')['amount'].sum()
print(monthly.to_string())
monthly.plot(kind='bar', title='Monthly totals'); plt.show()
df.to_csv('/mnt/data/cleaned.csv', index=False)
"""


@pytest.fixture
async def tool(settings: Settings) -> AsyncIterator[CodeInterpreter]:
    t = await CodeInterpreter.open(settings)
    if t.pool is None:
        pytest.skip(f"no sandbox here: {t.unavailable}")
    yield t
    await t.close()


class Calls:
    """Runs tool calls as the engine would, keeping the step deltas it emitted."""

    def __init__(self, app: Any, tool: CodeInterpreter, thread_id: str, assistant_id: str) -> None:
        ctx = app.state.services.files.ctx
        self.tool, self.deltas = tool, list[dict[str, Any]]()
        self.ctx = ToolContext(
            run=run_record(thread_id, assistant_id), db=ctx.db, blobs=ctx.blobs, emit_delta=self.deltas.append
        )
        self.n = 0

    async def __call__(self, code: str) -> dict[str, Any]:
        self.n += 1
        return await self.tool.call(self.ctx, f"call_{self.n}", {"code": code}, {"type": "code_interpreter"})


def run_record(thread_id: str, assistant_id: str) -> RunRecord:
    return RunRecord(
        id="run_test", thread_id=thread_id, assistant_id=assistant_id, created_at=0, status="in_progress",
        model="m", instructions="", tools=[{"type": "code_interpreter"}], metadata={}, started_at=0,
        expires_at=None, cancelled_at=None, failed_at=None, completed_at=None, required_action=None,
        last_error=None, incomplete_details=None, usage=None, temperature=None, top_p=None,
        max_prompt_tokens=None, max_completion_tokens=None, truncation_strategy={"type": "auto"},
        tool_choice="auto", parallel_tool_calls=True, response_format="auto", reasoning_effort=None,
        additional_instructions=None, cancel_requested=False,
    )  # fmt: skip


def logs(call: dict[str, Any]) -> str:
    return "\n".join(o["logs"] for o in call["code_interpreter"]["outputs"] if o["type"] == "logs")


async def setup(client: openai.AsyncOpenAI, *uploads: tuple[str, bytes]) -> tuple[str, str, list[str]]:
    ids = [(await client.files.create(file=(n, b), purpose="assistants")).id for n, b in uploads]
    a = await client.beta.assistants.create(
        model="m", tools=[{"type": "code_interpreter"}], tool_resources={"code_interpreter": {"file_ids": ids}}
    )
    t = await client.beta.threads.create()
    return t.id, a.id, ids


async def test_the_analyst_flow(fastapi_app: FastAPI, client: openai.AsyncOpenAI, tool: CodeInterpreter) -> None:
    thread_id, assistant_id, _ = await setup(client, ("sales.csv", SALES))
    calls = Calls(fastapi_app, tool, thread_id, assistant_id)
    call = await calls(ANALYST_CODE)

    assert call["id"] == "call_1" and call["type"] == "code_interpreter"
    assert call["code_interpreter"]["input"] == ANALYST_CODE
    text = logs(call)
    assert "2024-01    150.0" in text and "2024-03     30.0" in text
    [image] = [o for o in call["code_interpreter"]["outputs"] if o["type"] == "image"]
    png = await client.files.content(image["image"]["file_id"])
    assert png.content.startswith(b"\x89PNG")
    assert (await client.files.retrieve(image["image"]["file_id"])).purpose == "assistants_output"
    # step deltas: the code first, then the outputs with their indices
    assert calls.deltas[0] == {"type": "code_interpreter", "code_interpreter": {"input": ANALYST_CODE}}
    outs = calls.deltas[1]["code_interpreter"]["outputs"]
    assert [o["index"] for o in outs] == [0, 1] and [o["type"] for o in outs] == ["logs", "image"]

    answer = "Totals above. Download the cleaned data: [cleaned.csv](sandbox:/mnt/data/cleaned.csv)."
    annotated = await tool.annotate(calls.ctx, answer, [call])
    [ann] = annotated.annotations
    assert ann["type"] == "file_path"
    assert answer[ann["start_index"] : ann["end_index"]] == ann["text"] == "sandbox:/mnt/data/cleaned.csv"
    cleaned = await client.files.retrieve(ann["file_path"]["file_id"])
    assert cleaned.purpose == "assistants_output" and cleaned.filename == "/mnt/data/cleaned.csv"
    content = (await client.files.content(cleaned.id)).content
    assert content.startswith(b"month,amount\n2024-01,100") and not content.rstrip().endswith(b",")
    assert annotated.extra_parts == [{"type": "image_file", "image_file": {"file_id": image["image"]["file_id"]}}]
    assert annotated.text is None


async def test_state_persists_per_thread_and_threads_are_apart(
    fastapi_app: FastAPI, client: openai.AsyncOpenAI, tool: CodeInterpreter
) -> None:
    t1, a, _ = await setup(client, ("one.txt", b"first thread"))
    t2 = (await client.beta.threads.create()).id
    c1, c2 = Calls(fastapi_app, tool, t1, a), Calls(fastapi_app, tool, t2, a)
    await c1("secret = 'only thread one'\nopen('/mnt/data/mine.txt', 'w').write('x')")
    assert logs(await c1("print(secret)")) == "only thread one"
    other = logs(await c2("import os\nprint(sorted(os.listdir('/mnt/data')))\nprint(secret)"))
    assert "mine.txt" not in other and "NameError" in other
    assert "['one.txt']" in other  # the assistant's file, in its own copy


async def test_input_names_and_clashes(fastapi_app: FastAPI, client: openai.AsyncOpenAI, tool: CodeInterpreter) -> None:
    t, a, (first, second, _) = await setup(
        client, ("data.csv", b"1"), ("dir/data.csv", b"2"), ("../../etc/passwd", b"3")
    )
    attached = (await client.files.create(file=("notes.md", b"4"), purpose="assistants")).id
    await client.beta.threads.messages.create(
        t, role="user", content="see", attachments=[{"file_id": attached, "tools": [{"type": "code_interpreter"}]}]
    )
    out = logs(
        await Calls(fastapi_app, tool, t, a)("import os\nfor n in sorted(os.listdir('.')): print(n, open(n).read())")
    )
    assert out.splitlines() == sorted(["data.csv 1", f"data-{second}.csv 2", "notes.md 4", "passwd 3"])
    assert first


async def test_reclaimed_session_restores_files_and_says_so(
    fastapi_app: FastAPI, client: openai.AsyncOpenAI, tool: CodeInterpreter
) -> None:
    t, a, _ = await setup(client, ("sales.csv", SALES))
    calls = Calls(fastapi_app, tool, t, a)
    first = logs(await calls("x = 1\nprint(len(open('sales.csv').read()))"))
    assert "previous Python session" not in first
    assert tool.pool is not None and await tool.pool.reap(now=float("inf")) == 1
    again = logs(await calls("import os\nprint(os.listdir('.'))\nprint(x)"))
    assert again.startswith("[The previous Python session of this thread ended because it was idle too long")
    assert "Files restored in /mnt/data: sales.csv" in again
    assert "['sales.csv']" in again and "NameError" in again


async def test_crash_is_reported_and_the_next_call_gets_a_new_session(
    fastapi_app: FastAPI, client: openai.AsyncOpenAI, tool: CodeInterpreter
) -> None:
    t, a, _ = await setup(client, ("in.txt", b"kept"))
    calls = Calls(fastapi_app, tool, t, a)
    crashed = logs(await calls("import ctypes\nctypes.string_at(0)"))
    assert "The Python session crashed: a segmentation fault" in crashed
    after = logs(await calls("print(open('in.txt').read())"))
    assert "ended because it crashed" in after and after.endswith("kept")


async def test_timeouts_are_readable(fastapi_app: FastAPI, client: openai.AsyncOpenAI, settings: Settings) -> None:
    quick = await CodeInterpreter.open(settings.model_copy(update={"code_interpreter_timeout_seconds": 1.0}))
    if quick.pool is None:
        pytest.skip(f"no sandbox here: {quick.unavailable}")
    try:
        t, a, _ = await setup(client)
        out = logs(await Calls(fastapi_app, quick, t, a)("print('started', flush=True)\nwhile True: pass"))
        assert out.startswith("started") and "Execution timed out after 1 seconds" in out
    finally:
        await quick.close()


async def test_bad_arguments_and_replay(
    fastapi_app: FastAPI, client: openai.AsyncOpenAI, tool: CodeInterpreter
) -> None:
    t, a, _ = await setup(client)
    calls = Calls(fastapi_app, tool, t, a)
    bad = await tool.call(calls.ctx, "call_x", {"source": "print(1)"}, {"type": "code_interpreter"})
    assert "needs a string argument 'code'" in logs(bad)
    call = await calls("print('hello')\n1/0")
    arguments, output = tool.replay(call)
    assert json.loads(arguments) == {"code": "print('hello')\n1/0"}
    assert output.startswith("hello\n") and "ZeroDivisionError" in output
    assert tool.replay({"code_interpreter": {"input": "x", "outputs": []}})[1] == "(no output)"
    spec = tool.function({"type": "code_interpreter"})
    assert spec.name == "code_interpreter" and spec.parameters is not None
    assert spec.parameters["required"] == ["code"]


async def test_unavailable_sandbox_is_explained(
    fastapi_app: FastAPI, client: openai.AsyncOpenAI, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    broken = settings.model_copy(update={"code_interpreter_python": Path("/nonexistent/bin/python")})
    with caplog.at_level(logging.ERROR, logger="assistantd.tools"):
        off = await CodeInterpreter.open(broken)
    assert off.pool is None and off.unavailable is not None
    assert "code_interpreter is DISABLED" in caplog.text and "setup-sandbox" in caplog.text
    t, a, _ = await setup(client)
    out = logs(await Calls(fastapi_app, off, t, a)("print(1)"))
    assert out.startswith("Error: code_interpreter is not available on this server")
    await off.close()


def test_unsandboxed_mode_needs_the_opt_in(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    from assistantd.sandbox import SubprocessSandbox, sandbox_from_settings, sandbox_root

    unreachable = settings.model_copy(update={"code_interpreter_dir": Path("/root/not-reachable")})
    with pytest.raises(SandboxUnavailable, match="not reachable by the sandbox uids"):
        sandbox_from_settings(unreachable)
    opted = settings.model_copy(
        update={"code_interpreter_unsandboxed": True, "code_interpreter_dir": sandbox_root(settings)}
    )
    opted = opted.model_copy(update={"code_interpreter_python": Path("/opt/assistantd-sandbox/bin/python")})
    with caplog.at_level(logging.WARNING, logger="assistantd.sandbox"):
        chosen = sandbox_from_settings(opted)
    if isinstance(chosen, SubprocessSandbox):  # only where bubblewrap itself is missing
        assert "UNSANDBOXED" in caplog.text
    chosen.close()  # gives its uid claim back


async def test_more_than_20_files_or_a_missing_file_is_a_400(client: openai.AsyncOpenAI) -> None:
    real = (await client.files.create(file=("a.txt", b"a"), purpose="assistants")).id
    with pytest.raises(openai.BadRequestError) as exc:
        await client.beta.assistants.create(model="m", tool_resources={"code_interpreter": {"file_ids": [real] * 21}})
    assert_api_error(exc.value, 400, param="tool_resources.code_interpreter.file_ids")
    with pytest.raises(openai.BadRequestError) as exc:
        await client.beta.threads.create(tool_resources={"code_interpreter": {"file_ids": [real, "file-missing"]}})
    assert_api_error(exc.value, 400, param="tool_resources.code_interpreter.file_ids[1]")
    t = await client.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as exc:
        await client.beta.threads.messages.create(
            t.id, role="user", content="x",
            attachments=[{"file_id": "file-nope", "tools": [{"type": "code_interpreter"}]}],
        )  # fmt: skip
    assert_api_error(exc.value, 400, param="attachments[0].file_id")
