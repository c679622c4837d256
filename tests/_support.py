"""Small helpers shared by the API tests: wire JSON next to SDK objects, error-envelope checks, factories."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import httpx2
import openai
from asgi_lifespan import LifespanManager
from openai._legacy_response import LegacyAPIResponse
from openai.types import FileObject

from assistantd import Settings, create_app

T = TypeVar("T")

ENVELOPE_KEYS = {"message", "type", "param", "code"}


async def wire(call: Awaitable[LegacyAPIResponse[T]]) -> tuple[T, Any]:
    """Await a ``client.….with_raw_response.…`` call: the SDK's parsed object and the JSON on the wire."""
    response = await call
    return response.parse(), json.loads(response.text)


def check_envelope(body: Any) -> dict[str, Any]:
    """OpenAI's error envelope, exactly: ``{"error": {"message", "type", "param", "code"}}``."""
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict) and set(error) == ENVELOPE_KEYS, error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["type"], str) and error["type"], error
    assert error["param"] is None or isinstance(error["param"], str), error
    assert error["code"] is None or isinstance(error["code"], str), error
    return error


def assert_error(
    response: httpx2.Response,
    status: int,
    *,
    param: str | None = None,
    contains: str = "",
    code: str | None = None,
) -> dict[str, Any]:
    """A rejected raw request: the status, the envelope, ``param`` naming the field."""
    assert response.status_code == status, response.text
    error = check_envelope(response.json())
    assert error["param"] == param, error
    assert contains in error["message"], error
    assert error["code"] == code, error
    return error


def assert_api_error(exc: openai.APIStatusError, status: int, *, param: str | None = None) -> dict[str, Any]:
    """A rejected SDK call: the status, the SDK's parsed fields and the envelope behind them."""
    assert exc.status_code == status, exc
    error = check_envelope(exc.response.json())
    assert exc.param == error["param"] == param, error
    assert exc.message.endswith(error["message"]) or error["message"] in exc.message
    return error


def db_count(settings: Settings, table: str, where: str = "", *args: Any) -> int:
    """Rows in one of our tables, read straight from the database (to prove nothing was stored). ``where``
    uses ``?`` placeholders on either backend."""
    return int(db_query(settings, f"SELECT count(*) FROM {table} {where}", *args)[0][0])


def db_execute(settings: Settings, sql: str, *args: Any) -> None:
    """One write statement on the test's database outside the app (to age a row, say). ``?`` placeholders."""
    _on_database(settings, sql, args, rows=False)


def db_query(settings: Settings, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of one statement, run on the test's database outside the app (SQLite file or PostgreSQL).
    ``?`` placeholders on either backend."""
    return _on_database(settings, sql, args, rows=True)


def _on_database(settings: Settings, sql: str, args: tuple[Any, ...], *, rows: bool) -> list[tuple[Any, ...]]:
    if settings.effective_database_url.startswith("sqlite"):
        with sqlite3.connect(settings.data_dir / "assistantd.db") as conn:
            cursor = conn.execute(sql, args)
            return [tuple(r) for r in cursor.fetchall()] if rows else []
    import psycopg

    with psycopg.connect(settings.effective_database_url) as pg:
        result = pg.execute(sql.replace("?", "%s"), args)
        return [tuple(r) for r in result.fetchall()] if rows else []


async def make_file(
    client: openai.AsyncOpenAI, content: bytes = b"hello", name: str = "a.txt", purpose: str = "assistants"
) -> FileObject:
    return await client.files.create(file=(name, content), purpose=purpose)


@contextlib.asynccontextmanager
async def serve(settings: Settings, api_key: str = "sk-test") -> AsyncIterator[openai.AsyncOpenAI]:
    """A client on its own app, for tests that need settings the ``client`` fixture does not have."""
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
        http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=manager.app), base_url="http://test")
        async with openai.AsyncOpenAI(
            base_url="http://test/v1", api_key=api_key, http_client=http, max_retries=0
        ) as client:
            yield client
