"""Run tests: the app with a ``ScriptedBackend`` standing in for the model upstream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgi_lifespan import LifespanManager

from assistantd import Settings, create_app
from assistantd.backends.scripted import ScriptedBackend


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend()


@pytest.fixture
async def app(settings: Settings, backend: ScriptedBackend) -> AsyncIterator[Any]:
    application = create_app(settings, model_backend=backend)
    async with LifespanManager(application) as manager:
        yield manager.app
