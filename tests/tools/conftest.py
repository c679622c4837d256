"""Tool tests: the app object itself is kept, so tests can reach its store the way the engine does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from assistantd import Settings, create_app


@pytest.fixture
def fastapi_app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
async def app(fastapi_app: FastAPI) -> AsyncIterator[Any]:
    async with LifespanManager(fastapi_app, startup_timeout=30, shutdown_timeout=30) as manager:
        yield manager.app
