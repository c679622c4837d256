"""Nobody reads what is not theirs: every mounted route, tried with a second project's key and the first
project's IDs, answers exactly as for an ID that does not exist; lists and searches show nothing of it.

The routes come from the app's own route table, so a route added later is covered without editing this
test (a new path parameter fails it until it is given an object below).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from typing import Any

from assistantd import Settings, create_app
from tests._support import check_envelope
from tests.organization.conftest import Tenant

SKIPPED_PREFIXES = ("/v1/organization", "/v1/models")
"""The Administration API (its own test: project keys get a 403 there) and the models list (not an object
of any project)."""

BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/threads/{thread_id}/runs"): {"assistant_id": "<own_assistant>"},
    ("POST", "/v1/threads/{thread_id}/runs/{run_id}"): {"metadata": {"k": "v"}},
    ("POST", "/v1/threads/{thread_id}/runs/{run_id}/submit_tool_outputs"): {
        "tool_outputs": [{"tool_call_id": "call_x", "output": "x"}]
    },
    ("POST", "/v1/threads/{thread_id}"): {"metadata": {"k": "v"}},
    ("POST", "/v1/threads/{thread_id}/messages"): {"role": "user", "content": "hi"},
    ("POST", "/v1/threads/{thread_id}/messages/{message_id}"): {"metadata": {"k": "v"}},
    ("POST", "/v1/assistants/{assistant_id}"): {"name": "taken"},
    ("POST", "/v1/vector_stores/{vector_store_id}"): {"name": "taken"},
    ("POST", "/v1/vector_stores/{vector_store_id}/search"): {"query": "secret"},
    ("POST", "/v1/vector_stores/{vector_store_id}/files"): {"file_id": "<own_file>"},
    ("POST", "/v1/vector_stores/{vector_store_id}/files/{file_id}"): {"attributes": {"k": "v"}},
    ("POST", "/v1/vector_stores/{vector_store_id}/file_batches"): {"file_ids": ["<own_file>"]},
    ("POST", "/v1/containers/{container_id}/files"): {"file_id": "<own_file>"},
    ("POST", "/v1/prompts/{prompt_id}"): {"instructions": "taken"},
    ("POST", "/v1/conversations/{conversation_id}"): {"metadata": {"k": "v"}},
    ("POST", "/v1/conversations/{conversation_id}/items"): {
        "items": [{"type": "message", "role": "user", "content": "hi"}]
    },
}


def mounted_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every HTTP route the app serves, routers included (FastAPI keeps included
    routers lazily: their effective routes are asked for)."""
    found: list[tuple[str, str]] = []

    def walk(routes: Any) -> None:
        for route in routes:
            if hasattr(route, "effective_route_contexts"):
                walk(route.effective_route_contexts())
            elif getattr(route, "methods", None) and getattr(route, "path", None):
                found.extend((m, route.path) for m in route.methods if m != "HEAD")

    walk(app.routes)
    return sorted(set(found))


async def _objects(t: Tenant) -> dict[str, str]:
    """One of every kind of object, made by ``t`` through the official client (and raw HTTP where the SDK
    has no method): their IDs by path parameter name."""
    c = t.client
    file = await c.files.create(file=("secret.txt", b"the secret launch code is 0000"), purpose="assistants")
    store = await c.vector_stores.create(name="secrets")
    await c.vector_stores.files.create_and_poll(vector_store_id=store.id, file_id=file.id)
    batch = await c.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=[file.id])
    assistant = await c.beta.assistants.create(model="m", name="secret assistant")
    thread = await c.beta.threads.create(messages=[{"role": "user", "content": "secret question"}])
    run = await c.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    steps = await c.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id)
    messages = await c.beta.threads.messages.list(thread_id=thread.id)
    response = await c.responses.create(model="m", input="secret response")
    conversation = await c.conversations.create(items=[{"type": "message", "role": "user", "content": "secret"}])
    items = await c.conversations.items.list(conversation.id)
    container = await c.containers.create(name="secret box")
    cfile = await c.containers.files.create(container.id, file=("box.txt", b"secret"))
    prompt = (await t.raw.post("/prompts", json={"model": "m", "instructions": "secret prompt"})).json()
    return {
        "file_id": file.id,
        "container_file_id": cfile.id,
        "vector_store_id": store.id,
        "batch_id": batch.id,
        "assistant_id": assistant.id,
        "thread_id": thread.id,
        "run_id": run.id,
        "step_id": steps.data[0].id,
        "message_id": messages.data[0].id,
        "response_id": response.id,
        "conversation_id": conversation.id,
        "item_id": items.data[0].id,
        "container_id": container.id,
        "prompt_id": prompt["id"],
    }


def _fake(real: str) -> str:
    """An ID of the same kind that names nothing."""
    head = re.match(r"^[a-z]+[_-]", real)
    prefix = head.group(0) if head else ""
    return prefix + secrets.token_hex(12)


def _fill(path: str, ids: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "file_id" and "/containers/" in path:
            name = "container_file_id"
        assert name in ids, f"{path}: no object for {{{name}}}: add one to _objects()"
        return ids[name]

    return re.sub(r"{(\w+)}", one, path)


def _body(method: str, path: str, own: dict[str, str]) -> dict[str, Any] | None:
    if method != "POST":
        return None

    def fill(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: fill(v) for k, v in node.items()}
        if isinstance(node, list):
            return [fill(v) for v in node]
        if isinstance(node, str) and node.startswith("<") and node.endswith(">"):
            return own[node[1:-1]]
        return node

    return dict(fill(BODIES.get((method, path), {})))


async def test_every_route_treats_another_projects_ids_as_missing(
    org_settings: Settings, tenants: tuple[Tenant, Tenant]
) -> None:
    a, b = tenants
    ids = await _objects(a)
    b_file = await b.client.files.create(file=("mine.txt", b"mine"), purpose="assistants")
    b_assistant = await b.client.beta.assistants.create(model="m")
    own = {"own_file": b_file.id, "own_assistant": b_assistant.id}
    fakes = {k: _fake(v) for k, v in ids.items()}

    routes = [
        (m, p)
        for m, p in mounted_routes(create_app(org_settings))
        if p.startswith("/v1") and not p.startswith(SKIPPED_PREFIXES)
    ]
    assert len(routes) > 60
    checked = 0
    for method, path in routes:
        if "{" not in path:
            continue
        body = _body(method, path, own)
        taken = await b.raw.request(method, _fill(path, ids).removeprefix("/v1"), json=body)
        missing = await b.raw.request(method, _fill(path, fakes).removeprefix("/v1"), json=body)
        where = f"{method} {path}"
        assert taken.status_code == 404, (where, taken.status_code, taken.text[:300])
        assert missing.status_code == 404, (where, missing.status_code, missing.text[:300])
        seen = check_envelope(taken.json())["message"]
        expected = check_envelope(missing.json())["message"]
        for name, real in ids.items():
            seen = seen.replace(real, f"<{name}>")
            expected = expected.replace(fakes[name], f"<{name}>")
        assert seen == expected, where
        checked += 1
    assert checked > 45

    # Nothing of A's shows in B's lists, and A still has every object, unchanged by B's attempts.
    for method, path in routes:
        if method == "GET" and "{" not in path:
            listed = await b.raw.get(path.removeprefix("/v1"))
            assert listed.status_code == 200, path
            assert not [v for v in ids.values() if v in listed.text], path
    assistant = await a.client.beta.assistants.retrieve(ids["assistant_id"])
    assert assistant.name == "secret assistant"
    assert (await a.client.beta.threads.messages.list(thread_id=ids["thread_id"])).data
    assert (await a.client.files.retrieve(ids["file_id"])).filename == "secret.txt"
    assert (await a.client.vector_stores.retrieve(ids["vector_store_id"])).name == "secrets"
    assert (await a.client.responses.retrieve(ids["response_id"])).id == ids["response_id"]
    assert (await a.client.containers.retrieve(ids["container_id"])).name == "secret box"
    assert (await a.raw.get(f"/prompts/{ids['prompt_id']}")).status_code == 200


async def test_another_projects_ids_in_a_body_are_missing_too(tenants: tuple[Tenant, Tenant]) -> None:
    a, b = tenants
    ids = await _objects(a)
    thread = await b.client.beta.threads.create()
    store = await b.client.vector_stores.create(name="mine")
    tries = [
        ("POST", f"/threads/{thread.id}/runs", {"assistant_id": ids["assistant_id"]}),
        ("POST", f"/vector_stores/{store.id}/files", {"file_id": ids["file_id"]}),
        (
            "POST",
            f"/threads/{thread.id}/messages",
            {
                "role": "user",
                "content": "x",
                "attachments": [{"file_id": ids["file_id"], "tools": [{"type": "file_search"}]}],
            },
        ),
        ("POST", "/responses", {"model": "m", "input": "x", "previous_response_id": ids["response_id"]}),
        ("POST", "/responses", {"model": "m", "input": "x", "conversation": ids["conversation_id"]}),
        ("POST", "/responses", {"model": "m", "input": "x", "prompt": {"id": ids["prompt_id"]}}),
        (
            "POST",
            "/assistants",
            {
                "model": "m",
                "tools": [{"type": "file_search"}],
                "tool_resources": {"file_search": {"vector_store_ids": [ids["vector_store_id"]]}},
            },
        ),
        ("POST", "/threads", {"tool_resources": {"file_search": {"vector_store_ids": [ids["vector_store_id"]]}}}),
        ("POST", "/containers", {"name": "x", "file_ids": [ids["file_id"]]}),
    ]
    for method, path, body in tries:
        r = await b.raw.request(method, path, json=body)
        assert r.status_code in (400, 404), (path, body, r.status_code, r.text[:300])
        check_envelope(r.json())


async def test_streams_and_searches_stay_within_their_project(tenants: tuple[Tenant, Tenant]) -> None:
    a, b = tenants
    ids = await _objects(a)
    ours = await b.client.vector_stores.create(name="ours")
    hits = await b.client.vector_stores.search(ours.id, query="secret launch code")
    assert hits.data == []
    r = await b.raw.get(f"/responses/{ids['response_id']}", params={"stream": "true"})
    assert r.status_code == 404
    results = await asyncio.gather(
        a.client.beta.threads.runs.list(thread_id=ids["thread_id"]),
        b.raw.get(f"/threads/{ids['thread_id']}/runs"),
    )
    assert results[0].data and results[1].status_code == 404
