"""The console's own JSON routes (``/console/api``) on both databases, without a browser: the thread search
(IDs, metadata, message text, matched literally), a thread's runs and responses, and the project's usage."""

from __future__ import annotations

import httpx2
import openai

ROOT = "http://test"


async def test_thread_search_finds_text_metadata_and_ids_literally(
    client: openai.AsyncOpenAI, raw: httpx2.AsyncClient
) -> None:
    hit = await client.beta.threads.create(messages=[{"role": "user", "content": "The Zebra_50% invoice"}])
    tagged = await client.beta.threads.create(metadata={"customer": "ACME"})
    await client.beta.threads.create(messages=[{"role": "user", "content": "unrelated"}])

    async def found(q: str) -> list[str]:
        answer = await raw.get(ROOT + "/console/api/threads", params={"q": q})
        assert answer.status_code == 200, answer.text
        return [t["id"] for t in answer.json()["data"]]

    assert await found("zebra_50%") == [hit.id]  # case-insensitive, % and _ literal
    assert await found("zebra_5%0") == []
    assert await found("acme") == [tagged.id]
    assert await found(hit.id[-10:]) == [hit.id]
    assert len(await found("")) == 3


async def test_runs_and_usage_of_the_project(client: openai.AsyncOpenAI, raw: httpx2.AsyncClient) -> None:
    thread = await client.beta.threads.create()
    runs = await raw.get(ROOT + f"/console/api/threads/{thread.id}/runs")
    assert runs.status_code == 200 and runs.json()["data"] == []
    usage = await raw.get(ROOT + "/console/api/usage", params={"days": 3})
    assert usage.status_code == 200, usage.text
    assert len(usage.json()["data"]) == 3
