"""Responses API tests: the real app with a ``ScriptedBackend`` standing in for the model upstream, driven
through the official client (``client``, over ASGI) or raw HTTP (``raw``) for what the SDK would not send.

``@pytest.mark.settings(**fields)`` changes ``Settings`` fields for one test's app. The e2e tests (real
uvicorn, ``served``) are in test_streaming.py / test_background.py, where incremental delivery matters.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx2
import openai
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from assistantd import Settings, create_app
from assistantd.backends.base import ChatMessage
from assistantd.backends.scripted import ScriptedBackend
from tests._serve import serve_in_thread

T = TypeVar("T")

MODEL = "test-model"
WEATHER: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}
TIME: dict[str, Any] = {
    "type": "function",
    "name": "get_time",
    "parameters": {
        "type": "object",
        "properties": {"tz": {"type": "string"}},
        "required": ["tz"],
        "additionalProperties": False,
    },
}
TERMINAL = ("completed", "failed", "cancelled", "incomplete")


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
    return create_app(settings, model_backend=backend)


@pytest.fixture
async def app(fastapi_app: FastAPI) -> AsyncIterator[Any]:
    async with LifespanManager(fastapi_app, startup_timeout=30, shutdown_timeout=30) as manager:
        yield manager.app


@pytest.fixture
async def raw(app: Any) -> AsyncIterator[httpx2.AsyncClient]:
    """Plain HTTP (no OpenAI-Beta header: the Responses API has none)."""
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app),
        base_url="http://test/v1",
        headers={"Authorization": "Bearer sk-test"},
    ) as c:
        yield c


@pytest.fixture
def base_url(fastapi_app: FastAPI) -> Iterator[str]:
    """The same app under a real uvicorn on loopback (SSE delivered as produced, not buffered)."""
    with serve_in_thread(fastapi_app) as url:
        yield url + "/v1"


@pytest.fixture
async def served(base_url: str) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=base_url, api_key="sk-test", max_retries=0) as c:
        yield c


@pytest.fixture
async def served_raw(base_url: str) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(base_url=base_url, headers={"Authorization": "Bearer sk-test"}, timeout=10) as c:
        yield c


async def eventually(check: Callable[[], Awaitable[T | None]], *, timeout: float = 10.0, what: str = "") -> T:
    """Poll ``check`` until it returns something other than None (state, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.01)


async def wait_terminal(client: openai.AsyncOpenAI, response_id: str, timeout: float = 10.0) -> Any:
    """Poll retrieve (as a background client does) until the response has a terminal status."""

    async def done() -> Any:
        r = await client.responses.retrieve(response_id)
        return r if r.status in TERMINAL else None

    return await eventually(done, timeout=timeout, what=f"{response_id} to end")


def texts(messages: list[ChatMessage]) -> list[tuple[str, str]]:
    """(role, text) of the chat messages the backend was given: what the model saw."""
    out = []
    for m in messages:
        if isinstance(m.content, str):
            text = m.content
        elif m.content is None:
            text = ""
        else:
            text = " ".join(str(p.get("text", "")) for p in m.content if isinstance(p, dict))
        out.append((m.role, text))
    return out


def said(messages: list[ChatMessage]) -> list[str]:
    """Texts of the user messages the model saw, in order."""
    return [t for role, t in texts(messages) if role == "user"]
