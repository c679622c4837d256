"""``GET /v1/organization/usage/completions``: tokens per project, model and day, in OpenAI's shape."""

from __future__ import annotations

import time

import httpx2

from tests._support import check_envelope
from tests.organization.conftest import Tenant


async def test_usage_is_counted_per_project_and_model_and_outlives_the_thread(
    admin: httpx2.AsyncClient, tenants: tuple[Tenant, Tenant]
) -> None:
    a, b = tenants
    start = int(time.time()) - 60
    assistant = await a.client.beta.assistants.create(model="m")
    thread = await a.client.beta.threads.create(messages=[{"role": "user", "content": "hello there"}])
    run = await a.client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.usage is not None and run.usage.total_tokens > 0
    response = await b.client.responses.create(model="m2", input="hi")
    assert response.usage is not None
    await a.client.beta.threads.delete(thread.id)

    page = await admin.get(
        "/usage/completions", params={"start_time": start, "group_by": ["project_id", "model"], "bucket_width": "1d"}
    )
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["object"] == "page" and body["has_more"] is False and body["next_page"] is None
    assert [bucket["object"] for bucket in body["data"]] == ["bucket"]
    results = {(r["project_id"], r["model"]): r for r in body["data"][0]["results"]}
    assert (a.project_id, "m") in results, (
        body,
        await admin.get("/usage/completions", params={"start_time": start, "group_by": "model"}).json()
        if False
        else None,
    )
    ours = results[(a.project_id, "m")]
    assert ours["object"] == "organization.usage.completions.result"
    assert ours["input_tokens"] == run.usage.prompt_tokens and ours["output_tokens"] == run.usage.completion_tokens
    assert ours["num_model_requests"] >= 1
    theirs = results[(b.project_id, "m2")]
    assert theirs["input_tokens"] == response.usage.input_tokens

    only_b = await admin.get("/usage/completions", params={"start_time": start, "project_ids[]": [b.project_id]})
    totals = only_b.json()["data"][0]["results"]
    assert len(totals) == 1 and totals[0]["project_id"] is None
    assert totals[0]["output_tokens"] == response.usage.output_tokens


async def test_usage_buckets_page_and_bad_input(admin: httpx2.AsyncClient, tenants: tuple[Tenant, Tenant]) -> None:
    a, _ = tenants
    now = int(time.time())
    first = await admin.get(
        "/usage/completions", params={"start_time": now - 3 * 3600, "bucket_width": "1h", "limit": 2}
    )
    body = first.json()
    assert len(body["data"]) == 2 and body["has_more"] is True
    rest = await admin.get(
        "/usage/completions",
        params={"start_time": now - 3 * 3600, "bucket_width": "1h", "limit": 2, "page": body["next_page"]},
    )
    assert rest.json()["data"][0]["start_time"] == int(body["next_page"])
    for params in ({}, {"start_time": now, "bucket_width": "1w"}, {"start_time": now, "limit": 99}):
        bad = await admin.get("/usage/completions", params=params)
        assert bad.status_code == 400, params
        check_envelope(bad.json())
    assert (await a.raw.get("/organization/usage/completions", params={"start_time": now})).status_code == 403
