"""The Administration API: projects, service accounts and their keys, and who may use which key where."""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import pytest

from tests._support import check_envelope
from tests.organization.conftest import ADMIN_KEY, Tenant, _http, new_tenant


async def test_projects_are_created_listed_renamed_and_archived(admin: httpx2.AsyncClient) -> None:
    made = await admin.post("/projects", json={"name": "support bot"})
    assert made.status_code == 200
    project = made.json()
    assert project["object"] == "organization.project"
    assert project["id"].startswith("proj_") and project["status"] == "active" and project["archived_at"] is None
    assert (await admin.get(f"/projects/{project['id']}")).json() == project
    renamed = (await admin.post(f"/projects/{project['id']}", json={"name": "helpdesk"})).json()
    assert renamed["name"] == "helpdesk"
    listed = (await admin.get("/projects")).json()
    assert listed["object"] == "list" and project["id"] in [p["id"] for p in listed["data"]]
    archived = (await admin.post(f"/projects/{project['id']}/archive")).json()
    assert archived["status"] == "archived" and archived["archived_at"] is not None
    assert project["id"] not in [p["id"] for p in (await admin.get("/projects")).json()["data"]]
    everything = (await admin.get("/projects", params={"include_archived": "true"})).json()
    assert project["id"] in [p["id"] for p in everything["data"]]


async def test_a_service_account_key_is_shown_once_stored_hashed_and_revocable(
    org_app: Any, admin: httpx2.AsyncClient, org_settings: Any
) -> None:
    from tests._support import db_query

    tenant = await new_tenant(org_app, admin, "p")
    assert tenant.key.startswith("sk-proj-")
    assistant = await tenant.client.beta.assistants.create(model="m")
    keys = (await admin.get(f"/projects/{tenant.project_id}/api_keys")).json()["data"]
    assert len(keys) == 1 and tenant.key not in str(keys)
    assert keys[0]["redacted_value"].endswith(tenant.key[-4:]) and keys[0]["last_used_at"] is not None
    assert keys[0]["owner"]["type"] == "service_account"
    stored = db_query(org_settings, "select digest, redacted_value from api_keys")
    assert all(tenant.key not in str(row) for row in stored)

    deleted = await admin.delete(f"/projects/{tenant.project_id}/api_keys/{keys[0]['id']}")
    assert deleted.json() == {"object": "organization.project.api_key.deleted", "id": keys[0]["id"], "deleted": True}
    with pytest.raises(openai.AuthenticationError) as err:
        await tenant.client.beta.assistants.retrieve(assistant.id)
    assert err.value.status_code == 401
    check_envelope(err.value.response.json())
    assert err.value.response.json()["error"]["code"] == "invalid_api_key"


async def test_deleting_a_service_account_revokes_its_keys(org_app: Any, admin: httpx2.AsyncClient) -> None:
    tenant = await new_tenant(org_app, admin, "p")
    accounts = (await admin.get(f"/projects/{tenant.project_id}/service_accounts")).json()["data"]
    assert [a["object"] for a in accounts] == ["organization.project.service_account"]
    gone = await admin.delete(f"/projects/{tenant.project_id}/service_accounts/{accounts[0]['id']}")
    assert gone.json()["deleted"] is True
    with pytest.raises(openai.AuthenticationError):
        await tenant.client.models.list()


async def test_an_archived_projects_keys_stop_working(org_app: Any, admin: httpx2.AsyncClient) -> None:
    tenant = await new_tenant(org_app, admin, "p")
    await tenant.client.models.list()
    await admin.post(f"/projects/{tenant.project_id}/archive")
    with pytest.raises(openai.AuthenticationError) as err:
        await tenant.client.models.list()
    assert "archived" in err.value.message


async def test_unknown_keys_and_malformed_headers_are_401s(org_app: Any) -> None:
    for headers in (
        {"Authorization": "Bearer sk-proj-unknown"},
        {"Authorization": "Bearer sk-nothing"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer \x01\x02"},
        {},
    ):
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=org_app), base_url="http://test") as c:
            r = await c.get("/v1/assistants", headers=headers)
            assert r.status_code == 401, headers
            check_envelope(r.json())
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=org_app), base_url="http://test") as c:
        r = await c.get("/v1/assistants", params={"api_key": ADMIN_KEY})  # a key in the query string is no key
        assert r.status_code == 401


async def test_the_admin_key_reaches_only_the_admin_api_and_project_keys_never_it(
    org_app: Any, tenants: tuple[Tenant, Tenant]
) -> None:
    a, _ = tenants
    r = await a.raw.get("/organization/projects")
    assert r.status_code == 403
    assert "insufficient permissions" in check_envelope(r.json())["message"]
    async with _http(org_app, ADMIN_KEY, base_url="http://test/v1") as admin_elsewhere:
        r = await admin_elsewhere.get("/assistants")
        assert r.status_code == 403
        check_envelope(r.json())


async def test_bad_admin_input_gets_openai_errors(admin: httpx2.AsyncClient) -> None:
    assert (await admin.post("/projects", json={})).status_code == 400
    assert (await admin.post("/projects", json={"name": ""})).status_code == 400
    missing = await admin.get("/projects/proj_missing")
    assert missing.status_code == 404
    check_envelope(missing.json())
    assert (await admin.post("/projects/proj_default/archive")).status_code == 400
    assert (await admin.get("/projects/proj_missing/api_keys")).status_code == 404
