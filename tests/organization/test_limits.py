"""Per-project limits: OpenAI's 429s with ``Retry-After`` and ``x-ratelimit-*``, and nothing stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import openai
import pytest
from asgi_lifespan import LifespanManager

from assistantd import Settings, create_app
from tests._support import check_envelope, db_count
from tests.organization.conftest import ADMIN_KEY, _http, new_tenant


async def _serve(settings: Settings) -> AsyncIterator[tuple[Any, httpx2.AsyncClient, Settings]]:
    application = create_app(settings)
    lifespan = LifespanManager(application, startup_timeout=30, shutdown_timeout=30)
    async with lifespan as manager, _http(manager.app, ADMIN_KEY, base_url="http://test/v1/organization") as admin:
        yield manager.app, admin, settings


@pytest.fixture
async def limited(org_settings: Settings) -> AsyncIterator[tuple[Any, httpx2.AsyncClient, Settings]]:
    settings = org_settings.model_copy(
        update={"rate_limit_requests_per_minute": 5, "max_concurrent_runs_per_project": 1, "project_storage_bytes": 100}
    )
    async for served in _serve(settings):
        yield served


async def test_requests_per_minute_are_a_429_with_retry_after_per_project(
    limited: tuple[Any, httpx2.AsyncClient, Settings],
) -> None:
    app, admin, _ = limited
    a = await new_tenant(app, admin, "a")
    b = await new_tenant(app, admin, "b")
    first = await a.raw.get("/assistants")
    assert first.headers["x-ratelimit-limit-requests"] == "5"
    assert first.headers["x-ratelimit-remaining-requests"] == "4"
    assert first.headers["x-ratelimit-reset-requests"].endswith(("s", "ms"))
    for _ in range(4):
        assert (await a.raw.get("/assistants")).status_code == 200
    refused = await a.raw.post("/assistants", json={"model": "m"})
    assert refused.status_code == 429
    error = check_envelope(refused.json())
    assert error["code"] == "rate_limit_exceeded"
    assert int(refused.headers["retry-after"]) >= 1
    assert (await b.raw.get("/assistants")).json()["data"] == []
    assert (await b.raw.get("/assistants")).status_code == 200  # another project is not held back
    assert db_count(settings_of(limited), "assistants") == 0  # the refused request stored nothing
    with pytest.raises(openai.RateLimitError):
        await a.client.with_options(max_retries=0).beta.assistants.list()


def settings_of(served: Any) -> Settings:
    return served[2]


async def test_storage_quota_is_insufficient_quota_before_the_upload_is_read(
    limited: tuple[Any, httpx2.AsyncClient, Settings],
) -> None:
    app, admin, _ = limited
    a = await new_tenant(app, admin, "a")
    await a.client.files.create(file=("small.txt", b"x" * 40), purpose="assistants")
    with pytest.raises(openai.RateLimitError) as err:
        await a.client.files.create(file=("big.txt", b"y" * 200), purpose="assistants")
    assert err.value.status_code == 429 and err.value.code == "insufficient_quota"
    assert [f.filename for f in (await a.client.files.list()).data] == ["small.txt"]


@pytest.fixture
async def quota(org_settings: Settings) -> AsyncIterator[tuple[Any, httpx2.AsyncClient, Settings]]:
    async for served in _serve(org_settings.model_copy(update={"project_storage_bytes": 100})):
        yield served


async def test_vector_store_indexes_count_toward_the_storage_quota(
    quota: tuple[Any, httpx2.AsyncClient, Settings],
) -> None:
    """Quota 100 bytes: a 40-byte file fits, and so does its index (counted as its size until built); a second
    store indexing the same file would pass 100 (40 file + 40 index + 40 more), so it is refused and stores
    nothing, on each of the three ways to attach."""
    app, admin, _ = quota
    a = await new_tenant(app, admin, "a")
    doc = await a.client.files.create(file=("doc.txt", b"z" * 40), purpose="assistants")
    store = await a.client.vector_stores.create(name="one", file_ids=[doc.id])
    assert store.status in ("in_progress", "completed")
    other = await a.client.vector_stores.create(name="empty")
    for attach in (
        lambda: a.client.vector_stores.create(name="two", file_ids=[doc.id]),
        lambda: a.client.vector_stores.files.create(other.id, file_id=doc.id),
        lambda: a.client.vector_stores.file_batches.create(other.id, file_ids=[doc.id]),
    ):
        with pytest.raises(openai.RateLimitError) as err:
            await attach()
        assert err.value.code == "insufficient_quota"
        assert "vector stores" in err.value.message
    assert [s.name for s in (await a.client.vector_stores.list()).data] == ["empty", "one"]
    assert (await a.client.vector_stores.files.list(other.id)).data == []
    # The helpers that make or extend a store inline: tool_resources, and file_search attachments.
    helper = {"file_search": {"vector_stores": [{"file_ids": [doc.id]}]}}
    attachment = [{"file_id": doc.id, "tools": [{"type": "file_search"}]}]
    thread = await a.client.beta.threads.create()
    for attach in (
        lambda: a.client.beta.assistants.create(model="m", tool_resources=helper),
        lambda: a.client.beta.threads.create(tool_resources=helper),
        lambda: a.client.beta.threads.create(messages=[{"role": "user", "content": "x", "attachments": attachment}]),
        lambda: a.client.beta.threads.messages.create(thread.id, role="user", content="x", attachments=attachment),
    ):
        with pytest.raises(openai.RateLimitError) as err:
            await attach()
        assert err.value.code == "insufficient_quota"
    assert (await a.client.beta.assistants.list()).data == []
    assert (await a.client.beta.threads.messages.list(thread.id)).data == []
    assert [s.name for s in (await a.client.vector_stores.list()).data] == ["empty", "one"]


async def test_concurrent_runs_per_project(limited: tuple[Any, httpx2.AsyncClient, Settings]) -> None:
    app, admin, _ = limited
    a = await new_tenant(app, admin, "a")
    assistant = await a.client.beta.assistants.create(
        model="m", tools=[{"type": "function", "function": {"name": "wait", "parameters": {"type": "object"}}}]
    )
    thread = await a.client.beta.threads.create(messages=[{"role": "user", "content": "call wait"}])
    run = await a.client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, tool_choice={"type": "function", "function": {"name": "wait"}}
    )
    assert run.status == "requires_action"
    other = await a.client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    refused = await a.raw.post(f"/threads/{other.id}/runs", json={"assistant_id": assistant.id})
    assert refused.status_code == 429
    assert check_envelope(refused.json())["code"] == "rate_limit_exceeded"


async def test_tokens_per_minute(org_settings: Settings) -> None:
    async for app, admin, _ in _serve(org_settings.model_copy(update={"rate_limit_tokens_per_minute": 1})):
        a = await new_tenant(app, admin, "a")
        first = await a.client.responses.with_raw_response.create(model="m", input="hello")
        assert first.headers["x-ratelimit-limit-tokens"] == "1"
        with pytest.raises(openai.RateLimitError) as err:
            await a.client.with_options(max_retries=0).responses.create(model="m", input="again")
        assert "tokens per minute" in err.value.message
