"""Two projects on one server: an admin key, and a project key each (made through the Administration API)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx2
import openai
import pytest
from asgi_lifespan import LifespanManager

from assistantd import Settings, create_app

ADMIN_KEY = "sk-admin-test-0123456789"


@dataclass
class Tenant:
    project_id: str
    key: str
    client: openai.AsyncOpenAI
    raw: httpx2.AsyncClient


@pytest.fixture
def org_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"admin_key": ADMIN_KEY, "upstream_base_url": "scripted"})


@pytest.fixture
async def org_app(org_settings: Settings) -> AsyncIterator[Any]:
    application = create_app(org_settings)
    async with LifespanManager(application, startup_timeout=30, shutdown_timeout=30) as manager:
        yield manager.app


def _http(app: Any, key: str, **kw: Any) -> httpx2.AsyncClient:
    headers = {"Authorization": f"Bearer {key}", "OpenAI-Beta": "assistants=v2"}
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), headers=headers, **kw)


@pytest.fixture
async def admin(org_app: Any) -> AsyncIterator[httpx2.AsyncClient]:
    async with _http(org_app, ADMIN_KEY, base_url="http://test/v1/organization") as c:
        yield c


async def new_tenant(app: Any, admin: httpx2.AsyncClient, name: str) -> Tenant:
    project = (await admin.post("/projects", json={"name": name})).json()
    account = (await admin.post(f"/projects/{project['id']}/service_accounts", json={"name": "bot"})).json()
    key = account["api_key"]["value"]
    http = _http(app, key, base_url="http://test")
    client = openai.AsyncOpenAI(base_url="http://test/v1", api_key=key, http_client=http, max_retries=0)
    return Tenant(project["id"], key, client, _http(app, key, base_url="http://test/v1"))


@pytest.fixture
async def tenants(org_app: Any, admin: httpx2.AsyncClient) -> AsyncIterator[tuple[Tenant, Tenant]]:
    a = await new_tenant(org_app, admin, "support bot")
    b = await new_tenant(org_app, admin, "analyst tool")
    yield a, b
    for t in (a, b):
        await t.client.close()
        await t.raw.aclose()
