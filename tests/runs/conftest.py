"""Run tests: the app with a ``ScriptedBackend`` standing in for the model upstream.

``@pytest.mark.settings(run_expiry_seconds=1)`` changes ``Settings`` fields for one test's app.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from assistantd import Settings, create_app
from assistantd.backends.scripted import ScriptedBackend


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "settings(**fields): Settings fields for this test's app")


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    marker = request.node.get_closest_marker("settings")
    return settings.model_copy(update=marker.kwargs) if marker else settings


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend()


@pytest.fixture
def fastapi_app(settings: Settings, backend: ScriptedBackend) -> FastAPI:
    """The application object itself (its ``state`` holds the backends once started)."""
    return create_app(settings, model_backend=backend)


@pytest.fixture
async def app(fastapi_app: FastAPI) -> AsyncIterator[Any]:
    async with LifespanManager(fastapi_app, startup_timeout=30, shutdown_timeout=30) as manager:
        yield manager.app
