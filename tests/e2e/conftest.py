"""End-to-end: the app under a real uvicorn on a loopback port, with a ``ScriptedBackend`` as the model.

This covers what ``ASGITransport`` cannot (it buffers whole bodies): incremental SSE delivery, clients that
disconnect, and cancellation while a stream is open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx2
import openai
import pytest
from fastapi import FastAPI

from assistantd import Settings, create_app
from assistantd.backends.scripted import ScriptedBackend
from tests._serve import serve_in_thread


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend()


@pytest.fixture
def server_app(settings: Settings, backend: ScriptedBackend) -> FastAPI:
    return create_app(settings, model_backend=backend)


@pytest.fixture
def base_url(server_app: FastAPI) -> Iterator[str]:
    with serve_in_thread(server_app) as url:
        yield url + "/v1"


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=base_url, api_key="sk-test", max_retries=0) as c:
        yield c


@pytest.fixture
async def raw(base_url: str) -> AsyncIterator[httpx2.AsyncClient]:
    headers = {"Authorization": "Bearer sk-test", "OpenAI-Beta": "assistants=v2"}
    async with httpx2.AsyncClient(base_url=base_url, headers=headers, timeout=10) as c:
        yield c
