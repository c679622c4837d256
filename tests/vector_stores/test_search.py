"""``vector_stores.search`` through the official client: ranking, scores, filters, options, bad input."""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import pytest

from tests._schema import assert_schema
from tests._support import assert_error, wire
from tests.vector_stores._docs import FAQ, MANUAL

CATALOG = [
    ("x200.txt", MANUAL, {"product": "x200", "year": 2024, "public": True, "tier": "gold"}),
    ("faq.txt", FAQ, {"product": "shop", "year": 2023, "public": True, "tier": "silver"}),
    (
        "z9.txt",
        "The Z9 kettle has a one-year warranty and boils water in ninety seconds.",
        {"product": "z9", "year": 2022, "public": False},
    ),
]


@pytest.fixture
async def store(client: openai.AsyncOpenAI) -> tuple[str, dict[str, str]]:
    s = await client.vector_stores.create(name="catalog")
    ids = {}
    for name, text, attributes in CATALOG:
        f = await client.vector_stores.files.upload_and_poll(
            vector_store_id=s.id, file=(name, text.encode()), attributes=attributes
        )
        assert f.status == "completed"
        ids[name] = f.id
    return s.id, ids


async def test_search_page_shape(client: openai.AsyncOpenAI, store: tuple[str, dict[str, str]]) -> None:
    store_id, ids = store
    page, body = await wire(client.vector_stores.with_raw_response.search(store_id, query="X200 warranty"))
    assert_schema(body, "VectorStoreSearchResultsPage")
    assert body["object"] == "vector_store.search_results.page"
    assert body["search_query"] == ["X200 warranty"] and body["has_more"] is False and body["next_page"] is None
    assert page.data[0].file_id == ids["x200.txt"] and page.data[0].filename == "x200.txt"
    assert page.data[0].attributes == CATALOG[0][2]
    scores = [d.score for d in page.data]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert "three-year" in page.data[0].content[0].text and page.data[0].content[0].type == "text"


async def test_sdk_pages_the_results(client: openai.AsyncOpenAI, store: tuple[str, dict[str, str]]) -> None:
    store_id, _ = store
    found = [d async for d in client.vector_stores.search(store_id, query="warranty")]
    assert len(found) >= 2


async def test_max_num_results_and_threshold(client: openai.AsyncOpenAI, store: tuple[str, dict[str, str]]) -> None:
    store_id, _ = store
    one = await client.vector_stores.search(store_id, query="warranty", max_num_results=1)
    assert len(one.data) == 1
    every = await client.vector_stores.search(store_id, query="warranty")
    cut = every.data[0].score - 1e-6
    high = await client.vector_stores.search(store_id, query="warranty", ranking_options={"score_threshold": cut})
    assert [d.file_id for d in high.data] == [every.data[0].file_id]
    none = await client.vector_stores.search(
        store_id, query="warranty", ranking_options={"score_threshold": 1.0, "ranker": "none"}
    )
    assert none.data == []


async def test_query_list_and_rewrite(client: openai.AsyncOpenAI, store: tuple[str, dict[str, str]]) -> None:
    store_id, ids = store
    page = await client.vector_stores.search(store_id, query=["kettle boils", "refund returns"])
    assert {ids["z9.txt"], ids["faq.txt"]} <= {d.file_id for d in page.data}
    rewritten = await client.vector_stores.search(
        store_id, query="How long is the warranty on the X200?", rewrite_query=True
    )
    assert rewritten.search_query == ["long warranty x200"]
    assert rewritten.data[0].file_id == ids["x200.txt"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"type": "eq", "key": "product", "value": "z9"}, {"z9.txt"}),
        ({"type": "ne", "key": "product", "value": "z9"}, {"x200.txt", "faq.txt"}),
        ({"type": "gt", "key": "year", "value": 2022}, {"x200.txt", "faq.txt"}),
        ({"type": "gte", "key": "year", "value": 2024}, {"x200.txt"}),
        ({"type": "lt", "key": "year", "value": 2024}, {"faq.txt", "z9.txt"}),
        ({"type": "lte", "key": "year", "value": 2022}, {"z9.txt"}),
        ({"type": "eq", "key": "public", "value": False}, {"z9.txt"}),
        ({"type": "in", "key": "product", "value": ["x200", "z9"]}, {"x200.txt", "z9.txt"}),
        ({"type": "nin", "key": "product", "value": ["x200", "z9"]}, {"faq.txt"}),
        ({"type": "eq", "key": "tier", "value": "gold"}, {"x200.txt"}),
        ({"type": "ne", "key": "tier", "value": "gold"}, {"faq.txt", "z9.txt"}),
        (
            {
                "type": "and",
                "filters": [
                    {"type": "eq", "key": "public", "value": True},
                    {"type": "lt", "key": "year", "value": 2024},
                ],
            },
            {"faq.txt"},
        ),
        (
            {
                "type": "or",
                "filters": [
                    {"type": "eq", "key": "product", "value": "z9"},
                    {
                        "type": "and",
                        "filters": [
                            {"type": "eq", "key": "tier", "value": "gold"},
                            {"type": "gte", "key": "year", "value": 2024},
                        ],
                    },
                ],
            },
            {"x200.txt", "z9.txt"},
        ),
    ],
)
async def test_filters(
    client: openai.AsyncOpenAI, store: tuple[str, dict[str, str]], filters: dict[str, Any], expected: set[str]
) -> None:
    store_id, ids = store
    page = await client.vector_stores.search(
        store_id,
        query="warranty shipping returns kettle grinder",
        filters=filters,
        max_num_results=50,  # type: ignore[arg-type]
    )
    names = {name for name, fid in ids.items() if fid in {d.file_id for d in page.data}}
    assert names == expected


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"query": "x", "filters": {"type": "like", "key": "a", "value": "b"}}, "filters.type"),
        ({"query": "x", "filters": {"key": "a", "value": "b"}}, "filters.type"),
        ({"query": "x", "filters": {"type": "in", "key": "a", "value": "b"}}, "filters.value"),
        ({"query": "x", "filters": {"type": "eq", "key": "a", "value": ["b"]}}, "filters.value"),
        ({"query": "x", "filters": {"type": "and", "filters": [{"type": "xor"}]}}, "filters.filters[0].type"),
        ({"query": "x", "max_num_results": 51}, "max_num_results"),
        ({"query": "x", "max_num_results": 0}, "max_num_results"),
        ({"query": "x", "ranking_options": {"score_threshold": 1.5}}, "ranking_options.score_threshold"),
        ({"query": "x", "ranking_options": {"ranker": "default_2024_08_21"}}, "ranking_options.ranker"),
        ({"query": ""}, "query"),
        ({"query": []}, "query"),
        ({}, "query"),
    ],
)
async def test_bad_search(
    raw: httpx2.AsyncClient, client: openai.AsyncOpenAI, body: dict[str, Any], param: str
) -> None:
    store = await client.vector_stores.create()
    assert_error(await raw.post(f"/vector_stores/{store.id}/search", json=body), 400, param=param)


@pytest.mark.settings(embeddings="none")
async def test_keyword_search_without_embeddings(client: openai.AsyncOpenAI, store: tuple[str, dict[str, str]]) -> None:
    store_id, ids = store
    page = await client.vector_stores.search(store_id, query="kettle")
    assert [d.file_id for d in page.data] == [ids["z9.txt"]]
    assert 0 < page.data[0].score < 1
    assert (await client.vector_stores.search(store_id, query="zeppelin")).data == []


@pytest.mark.settings(embeddings="local")
async def test_local_model_finds_meaning_without_shared_words(
    client: openai.AsyncOpenAI, store: tuple[str, dict[str, str]]
) -> None:
    store_id, ids = store
    page = await client.vector_stores.search(store_id, query="How do I get my money back for an item?")
    assert page.data[0].file_id == ids["faq.txt"]
    page = await client.vector_stores.search(store_id, query="heating beverages quickly")
    assert page.data[0].file_id == ids["z9.txt"]


@pytest.mark.settings(embeddings="upstream", embedding_base_url="http://127.0.0.1:9/v1")
async def test_embeddings_upstream_down(client: openai.AsyncOpenAI) -> None:
    """Nothing listens on port 9: ingestion fails with a server_error; search still answers (keywords)."""
    store = await client.vector_stores.create()
    f = await client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=("m.txt", MANUAL.encode()))
    assert f.status == "failed" and f.last_error is not None and f.last_error.code == "server_error"
    assert (await client.vector_stores.search(store.id, query="warranty")).data == []
