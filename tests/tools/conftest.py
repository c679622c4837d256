"""Tool tests: the app object itself is kept, so tests can reach its store the way the engine does."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import openai
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from assistantd import Settings, create_app
from assistantd.backends.scripted import ScriptedBackend
from assistantd.tools.code_interpreter import CodeInterpreter


@pytest.fixture
def fastapi_app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
async def app(fastapi_app: FastAPI) -> AsyncIterator[Any]:
    async with LifespanManager(fastapi_app, startup_timeout=30, shutdown_timeout=30) as manager:
        yield manager.app


@contextlib.asynccontextmanager
async def with_code_interpreter(settings: Settings, backend: ScriptedBackend) -> AsyncIterator[openai.AsyncOpenAI]:
    """One lifetime of a server with code_interpreter (skipping the test where no sandbox can start), and
    the official client on it."""
    tool = await CodeInterpreter.open(settings)
    if tool.pool is None:
        pytest.skip(f"no sandbox here: {tool.unavailable}")
    try:
        app = create_app(settings, model_backend=backend, extra_tools=[tool])
        async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
            http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=manager.app), base_url="http://test")
            async with openai.AsyncOpenAI(
                base_url="http://test/v1", api_key="sk-test", http_client=http, max_retries=0
            ) as c:
                yield c
    finally:
        await tool.close()
