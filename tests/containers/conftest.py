"""Containers fixtures: the real app (``create_app``), with the Containers API on its real services.

Until ``create_app`` mounts the containers router and builds ``app.state.containers`` itself, this
fixture does both the way ``create_app`` will (the router under the authenticated ``/v1``; the service on the
app's own store and code_interpreter pool). Once it does, the fixture only uses what is there.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import openai
import pytest
from asgi_lifespan import LifespanManager
from fastapi import Depends, FastAPI

from assistantd import Settings, create_app
from assistantd.api.deps import authenticate
from assistantd.containers.router import router
from assistantd.containers.service import Containers
from assistantd.tools.code_interpreter import CodeInterpreter


def _mounted(app: FastAPI) -> bool:
    return any(getattr(r, "path", "") == "/v1/containers" for r in app.router.routes)


def build(settings: Settings) -> FastAPI:
    application = create_app(settings)
    if not _mounted(application):
        application.include_router(router, prefix="/v1", dependencies=[Depends(authenticate)])
    return application


@contextlib.asynccontextmanager
async def running(application: FastAPI) -> AsyncIterator[Any]:
    async with LifespanManager(application, startup_timeout=30, shutdown_timeout=30) as manager:
        state = application.state
        own = getattr(state, "containers", None) is None
        if own:
            tool = state.services.runs.engine.tools.by_type["code_interpreter"]
            assert isinstance(tool, CodeInterpreter)
            state.containers = Containers(state.services.files.ctx, tool.pool, unavailable=tool.unavailable)
            await state.containers.start()
        try:
            yield manager.app
        finally:
            if own:
                await state.containers.close()
                del state.containers


@contextlib.asynccontextmanager
async def mounted_app(settings: Settings) -> AsyncIterator[openai.AsyncOpenAI]:
    """A client on its own app, for tests that need other settings than the ``client`` fixture's."""
    async with running(build(settings)) as asgi:
        http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=asgi), base_url="http://test")
        async with openai.AsyncOpenAI(
            base_url="http://test/v1", api_key="sk-test", http_client=http, max_retries=0
        ) as client:
            yield client


@pytest.fixture
def fastapi_app(settings: Settings) -> FastAPI:
    return build(settings)


@pytest.fixture
async def app(fastapi_app: FastAPI) -> AsyncIterator[Any]:
    async with running(fastapi_app) as asgi:
        yield asgi


@pytest.fixture
def containers(fastapi_app: FastAPI, app: Any) -> Containers:
    """The service the Responses code_interpreter tool calls."""
    service = fastapi_app.state.containers
    assert isinstance(service, Containers)
    return service
