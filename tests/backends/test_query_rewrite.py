"""``rewrite_query`` of ``vector_stores.search`` rewritten by a model upstream (``query_rewrite_model``), with
the keyword reduction as the fallback when that model fails; ``search_query`` echoes what was searched."""

from __future__ import annotations

import openai
import pytest

from tests.backends._fake_upstream import FakeUpstream, error, stream, text_chunks

MANUAL = "The X200 comes with a three-year limited warranty covering parts and labour."


async def _store(client: openai.AsyncOpenAI) -> str:
    store = await client.vector_stores.create(name="manuals")
    f = await client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=("x200.txt", MANUAL.encode()))
    assert f.status == "completed"
    return store.id


@pytest.mark.settings(query_rewrite_model="rewriter")
async def test_the_model_rewrites_the_query(client: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    upstream.scenarios["rewriter"] = lambda n: stream(text_chunks('"X200 warranty', ' period"'))
    store_id = await _store(client)
    page = await client.vector_stores.search(
        store_id, query="how long am I covered if my X200 breaks?", rewrite_query=True
    )
    assert page.search_query == ["X200 warranty period"]
    assert page.data and page.data[0].filename == "x200.txt"
    sent = upstream.requests[-1]
    assert sent["messages"][-1] == {"role": "user", "content": "how long am I covered if my X200 breaks?"}
    # Without rewrite_query the model is not asked.
    before = len(upstream.requests)
    await client.vector_stores.search(store_id, query="warranty")
    assert len(upstream.requests) == before


@pytest.mark.settings(query_rewrite_model="broken", upstream_max_retries=0)
async def test_a_failing_model_falls_back_to_keywords(client: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    upstream.scenarios["broken"] = lambda n: error(400, "This model cannot do that")
    store_id = await _store(client)
    page = await client.vector_stores.search(
        store_id, query="How long is the warranty on the X200?", rewrite_query=True
    )
    assert page.search_query == ["long warranty x200"]
    assert page.data[0].filename == "x200.txt"
