"""code_interpreter on the Responses API, in a container (real bubblewrap sandbox): the call item with its
code and outputs, and a ``container_file_citation`` for a file the code wrote, downloadable from the
Containers API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import openai
import pytest
from asgi_lifespan import LifespanManager

from assistantd import Settings, create_app
from assistantd.backends.scripted import Call, Say, ScriptedBackend


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend()


@pytest.fixture
async def client(settings: Settings, backend: ScriptedBackend) -> AsyncIterator[openai.AsyncOpenAI]:
    application = create_app(settings, model_backend=backend)
    async with LifespanManager(application, startup_timeout=30, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as http:
            yield openai.AsyncOpenAI(base_url="http://test/v1", api_key="x", http_client=http, max_retries=0)


async def test_code_runs_in_an_auto_container(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    code = "open('/mnt/data/out.txt', 'w').write('hi')\nprint(6 * 7)"
    backend.add(
        Call(("code_interpreter", json.dumps({"code": code}))), Say("Saved [out.txt](sandbox:/mnt/data/out.txt).")
    )
    async with client.responses.stream(
        model="m",
        input="compute and save",
        tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
        include=["code_interpreter_call.outputs"],
    ) as stream:
        async for _ in stream:
            pass
        response = await stream.get_final_response()
    assert response.status == "completed", response.error
    call, message = response.output
    assert call.type == "code_interpreter_call" and call.code == code
    assert call.container_id is not None and call.container_id.startswith("cntr_")
    assert [o.type for o in call.outputs or []] == ["logs"] and call.outputs[0].logs.strip() == "42"  # type: ignore[union-attr,index]
    assert response.tools[0].container == call.container_id  # type: ignore[union-attr]
    assert backend.requests[1].messages[-1].content.startswith("42")  # the model saw the logs
    [citation] = message.content[0].annotations  # type: ignore[union-attr]
    assert citation.type == "container_file_citation" and citation.filename == "out.txt"
    text = message.content[0].text  # type: ignore[union-attr]
    assert text[citation.start_index : citation.end_index] == "sandbox:/mnt/data/out.txt"
    content = await client.containers.files.content.retrieve(citation.file_id, container_id=citation.container_id)
    assert content.read() == b"hi"


async def test_an_unknown_container_is_a_404(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as exc:
        await client.responses.create(
            model="m", input="x", tools=[{"type": "code_interpreter", "container": "cntr_doesnotexist000000000"}]
        )
    assert exc.value.body["param"] == "tools[0].container"  # type: ignore[index]
