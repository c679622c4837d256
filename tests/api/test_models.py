"""GET /v1/models: what the upstreams report plus the configured names; empty when there are none."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from assistantd import Settings
from tests._schema import assert_schema
from tests._support import assert_api_error, serve, wire


class FakeUpstream:
    """An OpenAI-compatible ``/v1/models`` on a loopback port, recording the keys it was sent."""

    def __init__(self, models: list[dict[str, Any]]) -> None:
        self.models = models
        self.keys: list[str | None] = []
        app = Starlette(routes=[Route("/v1/models", self._list)])
        config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="error", ws="none")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    async def _list(self, request: Request) -> JSONResponse:
        self.keys.append(request.headers.get("authorization"))
        return JSONResponse({"object": "list", "data": self.models})

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:  # wait on the server's own readiness flag
            if not self.thread.is_alive():
                raise RuntimeError("fake upstream failed to start")
            self.thread.join(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join()


@pytest.fixture
def upstream() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream(
        [
            {"id": "llama3", "object": "model", "created": 1700000000, "owned_by": "ollama"},
            {"id": "shared", "object": "model", "created": 1700000001, "owned_by": "ollama"},
            {"no_id": True},
        ]
    )
    with fake as url:
        yield fake, url


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_empty_when_nothing_configured(client: openai.AsyncOpenAI) -> None:
    page, body = await wire(client.models.with_raw_response.list())
    assert body == {"object": "list", "data": []}
    assert_schema(body, "ListModelsResponse")
    assert page.data == []
    with pytest.raises(openai.NotFoundError) as exc:
        await client.models.retrieve("gpt-4o")
    error = assert_api_error(exc.value, 404, param="model")
    assert error["code"] == "model_not_found"


async def test_configured_models(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, upstream_base_url="", models="gpt-4o, my-model ,gpt-4o")
    async with serve(settings) as client:
        page, body = await wire(client.models.with_raw_response.list())
        assert_schema(body, "ListModelsResponse")
        assert [m.id for m in page.data] == ["gpt-4o", "my-model"]
        model, one = await wire(client.models.with_raw_response.retrieve("my-model"))
        assert_schema(one, "Model")
        assert model.object == "model" and model.owned_by
        with pytest.raises(openai.NotFoundError):
            await client.models.retrieve("other")


async def test_upstream_models_merged_with_configured(tmp_path: Path, upstream: tuple[FakeUpstream, str]) -> None:
    fake, url = upstream
    settings = Settings(
        data_dir=tmp_path, upstream_base_url=url + "/", upstream_api_key="up-key", models="shared,local-only"
    )
    async with serve(settings) as client:
        _, body = await wire(client.models.with_raw_response.list())
        assert_schema(body, "ListModelsResponse")
        assert [m["id"] for m in body["data"]] == ["llama3", "shared", "local-only"]
        assert body["data"][0] == {"id": "llama3", "object": "model", "created": 1700000000, "owned_by": "ollama"}
        assert (await client.models.retrieve("llama3")).owned_by == "ollama"
    assert fake.keys and set(fake.keys) == {"Bearer up-key"}


async def test_unreachable_upstream_still_lists_configured(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, upstream_base_url=f"http://127.0.0.1:{_closed_port()}/v1", models="fallback")
    async with serve(settings) as client:
        page = await client.models.list()
        assert [m.id for m in page.data] == ["fallback"]
