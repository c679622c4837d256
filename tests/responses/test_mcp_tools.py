"""MCP tools on the Responses API against a real MCP server on loopback (the official SDK's ``MCPServer``):
listing, calls, approval requests and responses, all through the official client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import openai
import pytest
from asgi_lifespan import LifespanManager
from mcp.server.mcpserver import MCPServer

from assistantd import Settings, create_app
from assistantd.backends.scripted import Call, Say, ScriptedBackend
from tests._serve import serve_in_thread


def _server() -> MCPServer:
    server = MCPServer("calc")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    return server


@pytest.fixture(scope="module")
def mcp_url() -> Iterator[str]:
    with serve_in_thread(_server().streamable_http_app()) as url:
        yield url + "/mcp"


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend()


@pytest.fixture
async def client(tmp_path: Path, sandbox_dir: Path, backend: ScriptedBackend) -> AsyncIterator[openai.AsyncOpenAI]:
    settings = Settings(
        data_dir=tmp_path / "data", code_interpreter_dir=sandbox_dir / tmp_path.name, code_interpreter_spare_sessions=0
    )
    async with LifespanManager(
        create_app(settings, model_backend=backend), startup_timeout=30, shutdown_timeout=30
    ) as manager:
        transport = httpx.ASGITransport(manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield openai.AsyncOpenAI(base_url="http://test/v1", api_key="x", http_client=http, max_retries=0)


def _tool(url: str, approval: str) -> dict[str, object]:
    return {"type": "mcp", "server_label": "calc", "server_url": url, "require_approval": approval}


async def test_listed_tools_are_offered_and_called(
    client: openai.AsyncOpenAI, backend: ScriptedBackend, mcp_url: str
) -> None:
    backend.add(Call(("add", json.dumps({"a": 2, "b": 3}))), Say("2 + 3 = 5"))
    response = await client.responses.create(model="m", input="add 2 and 3", tools=[_tool(mcp_url, "never")])
    assert response.status == "completed", response.error
    assert [o.type for o in response.output] == ["mcp_list_tools", "mcp_call", "message"]
    listing, call, _ = response.output
    assert listing.type == "mcp_list_tools" and [t.name for t in listing.tools] == ["add"]
    assert call.type == "mcp_call" and call.name == "add" and call.output == "5" and call.error is None
    assert response.output_text == "2 + 3 = 5"
    assert [f.name for f in backend.requests[0].tools] == ["add"]
    assert backend.requests[1].messages[-1].content == "5"  # the model saw the tool's output
    assert "headers" not in response.tools[0].model_dump(exclude_none=True)


async def test_approval_is_asked_then_given(client: openai.AsyncOpenAI, backend: ScriptedBackend, mcp_url: str) -> None:
    backend.add(Call(("add", json.dumps({"a": 1, "b": 1}))))
    first = await client.responses.create(model="m", input="add 1 and 1", tools=[_tool(mcp_url, "always")])
    assert [o.type for o in first.output] == ["mcp_list_tools", "mcp_approval_request"]
    request = first.output[1]
    assert request.type == "mcp_approval_request" and request.name == "add"
    backend.add(Say("It is 2."))
    second = await client.responses.create(
        model="m",
        previous_response_id=first.id,
        tools=[_tool(mcp_url, "always")],
        input=[{"type": "mcp_approval_response", "approval_request_id": request.id, "approve": True}],
    )
    assert second.status == "completed", second.error
    assert [o.type for o in second.output] == ["mcp_call", "message"]  # the chain's listing is reused
    assert second.output[0].output == "2"  # type: ignore[union-attr]
    assert second.output_text == "It is 2."


async def test_an_unknown_approval_request_is_a_400(client: openai.AsyncOpenAI, mcp_url: str) -> None:
    with pytest.raises(openai.BadRequestError) as exc:
        await client.responses.create(
            model="m",
            tools=[_tool(mcp_url, "always")],
            input=[{"type": "mcp_approval_response", "approval_request_id": "mcpr_nope", "approve": True}],
        )
    assert exc.value.body["param"] == "input[0].approval_request_id"  # type: ignore[index]


async def test_a_bad_server_url_is_a_400(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as exc:
        await client.responses.create(
            model="m", input="x", tools=[{"type": "mcp", "server_label": "x", "server_url": "ftp://h/"}]
        )
    assert exc.value.body["param"] == "tools[0].server_url"  # type: ignore[index]
