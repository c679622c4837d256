"""Bearer keys and the ``OpenAI-Beta`` header."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import openai
import pytest
from asgi_lifespan import LifespanManager

from assistantd import Settings, create_app
from tests._support import assert_api_error, assert_error, serve

KEYS = "sk-alpha-0001, sk-beta-0002"


@pytest.fixture
async def keyed(tmp_path: Path) -> AsyncIterator[httpx2.AsyncClient]:
    """A bare HTTP client on an app that requires one of ``KEYS`` and the beta header."""
    settings = Settings(data_dir=tmp_path, upstream_base_url="", api_keys=KEYS, require_beta_header=True)
    async with LifespanManager(create_app(settings), startup_timeout=30, shutdown_timeout=30) as manager:
        transport = httpx2.ASGITransport(app=manager.app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def test_right_key_accepted(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, upstream_base_url="", api_keys=KEYS)
    for key in ("sk-alpha-0001", "sk-beta-0002"):
        async with serve(settings, api_key=key) as client:
            a = await client.beta.assistants.create(model="m")
            assert (await client.beta.assistants.retrieve(a.id)).id == a.id
            assert (await client.files.list()).data == []
            assert (await client.models.list()).data == []


async def test_wrong_key_is_401(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, upstream_base_url="", api_keys=KEYS)
    async with serve(settings, api_key="sk-wrong-key-9999") as client:
        for call in (
            client.beta.assistants.list(),
            client.files.list(),
            client.models.list(),
            client.beta.threads.create(),
        ):
            with pytest.raises(openai.AuthenticationError) as exc:
                await call
            error = assert_api_error(exc.value, 401)
            assert error["code"] == "invalid_api_key"
            assert "sk-wrong-key-9999" not in error["message"]  # the key is masked
    async with serve(settings, api_key="sk-alpha-0001") as client:
        assert (await client.beta.assistants.list()).data == []  # nothing was created by the rejected calls


async def test_missing_key_is_401(keyed: httpx2.AsyncClient) -> None:
    beta = {"OpenAI-Beta": "assistants=v2"}
    for headers in (
        beta,
        {**beta, "Authorization": "Bearer "},
        {**beta, "Authorization": "Basic abc"},
        {**beta, "Authorization": "sk-alpha-0001"},
    ):
        r = await keyed.get("/v1/assistants", headers=headers)
        assert_error(r, 401, contains="API key")


async def test_health_needs_no_key(keyed: httpx2.AsyncClient) -> None:
    r = await keyed.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_any_key_accepted_when_none_configured(client: openai.AsyncOpenAI, raw: httpx2.AsyncClient) -> None:
    assert (await client.beta.assistants.list()).data == []
    r = await raw.get("/assistants", headers={"Authorization": "Bearer anything-at-all"})
    assert r.status_code == 200
    r = await raw.get("/assistants", headers={"Authorization": ""})
    assert_error(r, 401)


async def test_beta_header_optional_by_default(raw: httpx2.AsyncClient) -> None:
    for value in ("assistants=v2", "assistants=v1", None):
        headers = {"OpenAI-Beta": value} if value else {}
        r = await raw.post("/threads", json={}, headers=headers)
        assert r.status_code == 200, r.text


async def test_beta_header_enforced_when_required(keyed: httpx2.AsyncClient) -> None:
    auth = {"Authorization": "Bearer sk-alpha-0001"}
    for path in ("/v1/assistants", "/v1/threads/thread_x", "/v1/threads/thread_x/messages"):
        r = await keyed.get(path, headers=auth)
        assert_error(r, 400, code="invalid_beta", contains="OpenAI-Beta: assistants=v2")
    r = await keyed.post("/v1/threads", json={}, headers=auth)
    assert_error(r, 400, code="invalid_beta")
    r = await keyed.get("/v1/assistants", headers={**auth, "OpenAI-Beta": "assistants=v2"})
    assert r.status_code == 200
    # /files and /models are not Assistants endpoints: the SDK sends no beta header there.
    assert (await keyed.get("/v1/files", headers=auth)).status_code == 200
    assert (await keyed.get("/v1/models", headers=auth)).status_code == 200


async def test_sdk_sends_the_beta_header_itself(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, upstream_base_url="", require_beta_header=True)
    async with serve(settings) as client:
        thread = await client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
        assert len((await client.beta.threads.messages.list(thread.id)).data) == 1
        assert (await client.files.list()).data == []
