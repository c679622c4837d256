"""The Responses API's WebSocket route, which the route-table test cannot call as HTTP: a second project's
key on the same socket route cannot continue the first project's response or write into its conversation,
and is told exactly what a missing ID gets; the first project's key can."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
import websockets

from assistantd import Settings, create_app
from tests._serve import serve_in_thread
from tests.organization.conftest import ADMIN_KEY

TERMINAL = ("response.completed", "response.failed", "response.incomplete", "error")


@pytest.fixture
def url(org_settings: Settings) -> Iterator[str]:
    with serve_in_thread(create_app(org_settings)) as base:
        yield base


async def _key(admin: httpx2.AsyncClient, name: str) -> str:
    project = (await admin.post("/v1/organization/projects", json={"name": name})).json()
    made = await admin.post(f"/v1/organization/projects/{project['id']}/service_accounts", json={"name": "bot"})
    return str(made.json()["api_key"]["value"])


async def _turn(url: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
    """One ``response.create`` over a fresh connection: its terminal event (or error)."""
    ws_url = url.replace("http://", "ws://") + "/v1/responses"
    async with websockets.connect(ws_url, additional_headers={"Authorization": f"Bearer {key}"}) as ws:
        await ws.send(json.dumps({"type": "response.create", **body}))
        while True:
            event: dict[str, Any] = json.loads(await ws.recv())
            if event["type"] in TERMINAL:
                return event


async def test_another_projects_response_and_conversation_are_missing_over_the_socket(url: str) -> None:
    async with httpx2.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as admin:
        key_a, key_b = await _key(admin, "a"), await _key(admin, "b")
    async with httpx2.AsyncClient(base_url=url + "/v1", headers={"Authorization": f"Bearer {key_a}"}) as a:
        first = (await a.post("/responses", json={"model": "m", "input": "a secret"})).json()
        conversation = (await a.post("/conversations", json={})).json()["id"]
    assert first["status"] == "completed"

    for field, theirs, nobodys in [
        ("previous_response_id", first["id"], "resp_" + "0" * 24),
        ("conversation", conversation, "conv_" + "0" * 24),
    ]:
        crossed = await _turn(url, key_b, {"model": "m", "input": "hi", field: theirs})
        missing = await _turn(url, key_b, {"model": "m", "input": "hi", field: nobodys})
        assert crossed["type"] == missing["type"] == "error", (crossed, missing)
        assert crossed["error"]["message"].replace(theirs, "ID") == missing["error"]["message"].replace(nobodys, "ID")
        own = await _turn(url, key_a, {"model": "m", "input": "hi", field: theirs})
        assert own["type"] == "response.completed", own

    async with httpx2.AsyncClient(base_url=url + "/v1", headers={"Authorization": f"Bearer {key_a}"}) as a:
        items = (await a.get(f"/conversations/{conversation}/items")).json()["data"]
    assert len(items) == 2  # A's own turn only: B wrote nothing into it
