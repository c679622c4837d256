"""Prompts tests: the real app with a ``ScriptedBackend`` as every model's upstream, driven through the official
client. Our extension endpoints (``/v1/prompts``, ``/v1/assistants/{id}/versions``) have no SDK methods, so they
go through the client's generic ``get``/``post``/``delete`` (``cast_to=object``: the JSON as sent)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from assistantd import Settings, create_app
from assistantd.backends.scripted import ScriptedBackend

MODEL = "test-model"


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend()


@pytest.fixture
def fastapi_app(settings: Settings, backend: ScriptedBackend) -> FastAPI:
    return create_app(settings, model_backend=backend)


@pytest.fixture
async def app(fastapi_app: FastAPI) -> AsyncIterator[Any]:
    async with LifespanManager(fastapi_app, startup_timeout=30, shutdown_timeout=30) as manager:
        yield manager.app


async def get(client: openai.AsyncOpenAI, path: str, **query: Any) -> Any:
    return await client.get(path, cast_to=object, options={"params": query})


async def post(client: openai.AsyncOpenAI, path: str, body: dict[str, Any] | None = None) -> Any:
    return await client.post(path, cast_to=object, body=body or {})


async def delete(client: openai.AsyncOpenAI, path: str) -> Any:
    return await client.delete(path, cast_to=object)
