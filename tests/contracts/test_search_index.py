"""The ``SearchIndex`` contract, once, for every implementation (``search_index`` lists them): ``SqliteIndex``
and ``PostgresIndex`` (on a fresh database of the session's embedded PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from assistantd.retrieval import filters
from assistantd.retrieval.embedders import HashingEmbedder
from assistantd.retrieval.index import IndexedFile, SearchIndex, SearchQuery
from assistantd.retrieval.pg_index import PostgresIndex
from assistantd.retrieval.sqlite_index import SqliteIndex
from assistantd.store.db import Database

EMBEDDER = HashingEmbedder(64)
MANUAL = ["The X200 grinder has a three-year warranty.", "Clean the burrs of the X200 weekly with a brush."]
FAQ = ["Orders ship within two business days.", "Returns are accepted within thirty days."]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_for_index(request: pytest.FixtureRequest) -> str:
    """ "" for SQLite, else the URL of a fresh database (a sync fixture: the embedded server starts outside
    the event loop)."""
    return "" if request.param == "sqlite" else str(request.getfixturevalue("postgres").new_database())


@pytest.fixture
async def search_index(database_for_index: str, tmp_path: Path) -> AsyncIterator[SearchIndex]:
    if not database_for_index:
        index = SqliteIndex(tmp_path / "index.db")
        yield index
        index.close()
        return
    db = Database(database_for_index)
    try:
        pg = PostgresIndex(db)
        await pg.open()
        yield pg
    finally:
        await db.dispose()


async def put(index: SearchIndex, store: str, file_id: str, texts: list[str], **attributes: object) -> None:
    vectors = await EMBEDDER.embed(texts)
    await index.put_file(store, IndexedFile(file_id, f"{file_id}.txt", dict(attributes), texts, vectors))


async def search(index: SearchIndex, store: str, text: str, **kw: object) -> list[tuple[str, int]]:
    vector = (await EMBEDDER.embed([text]))[0]
    hits = await index.search(store, SearchQuery(text, vector, **kw))  # type: ignore[arg-type]
    assert all(0 < h.score <= 1 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    return [(h.file_id, h.chunk_index) for h in hits]


async def test_finds_the_right_chunk_in_every_mode(search_index: SearchIndex) -> None:
    await put(search_index, "vs_a", "manual", MANUAL)
    await put(search_index, "vs_a", "faq", FAQ)
    for mode in ("hybrid", "keyword", "vector"):
        assert (await search(search_index, "vs_a", "X200 warranty", mode=mode))[0] == ("manual", 0)
        assert (await search(search_index, "vs_a", "orders ship", mode=mode))[0] == ("faq", 0)


async def test_stores_are_isolated(search_index: SearchIndex) -> None:
    await put(search_index, "vs_a", "manual", MANUAL)
    await put(search_index, "vs_b", "faq", FAQ)
    assert {f for f, _ in await search(search_index, "vs_a", "warranty ship returns")} == {"manual"}
    assert {f for f, _ in await search(search_index, "vs_b", "warranty ship returns")} == {"faq"}
    assert await search(search_index, "vs_nothing", "warranty") == []


async def test_put_replaces_and_delete_removes(search_index: SearchIndex) -> None:
    await put(search_index, "vs_a", "manual", MANUAL)
    await search(search_index, "vs_a", "warranty")  # loads the store into memory first
    await put(search_index, "vs_a", "manual", ["Completely different text about kettles."])
    assert await search(search_index, "vs_a", "kettles", mode="keyword") == [("manual", 0)]
    assert await search(search_index, "vs_a", "warranty", mode="keyword") == []
    await put(search_index, "vs_a", "faq", FAQ)
    await search_index.delete("vs_a", "manual")
    assert {f for f, _ in await search(search_index, "vs_a", "kettles ship")} == {"faq"}
    assert await search_index.indexed() == {("vs_a", "faq")}
    await search_index.delete("vs_a")
    assert await search(search_index, "vs_a", "ship") == []
    assert await search_index.indexed() == set()


async def test_filters_apply_inside_the_index(search_index: SearchIndex) -> None:
    for i in range(30):
        await put(search_index, "vs_a", f"other{i}", [f"warranty terms number {i}"], kind="other")
    await put(search_index, "vs_a", "manual", MANUAL, kind="manual", year=2024)
    only = filters.from_json({"type": "eq", "key": "kind", "value": "manual"})
    assert {f for f, _ in await search(search_index, "vs_a", "warranty", limit=3, filter=only)} == {"manual"}
    await search_index.set_attributes("vs_a", "manual", {"kind": "archived"})
    assert await search(search_index, "vs_a", "warranty", limit=3, filter=only) == []


async def test_limit_and_keyword_only_files(search_index: SearchIndex) -> None:
    await search_index.put_file("vs_a", IndexedFile("plain", "plain.txt", {}, MANUAL + FAQ, None))
    assert len(await search(search_index, "vs_a", "X200 warranty orders returns", limit=2)) == 2
    assert (await search(search_index, "vs_a", "warranty", mode="keyword"))[0] == ("plain", 0)


async def test_large_store_uses_quantized_candidates_with_exact_rescoring(search_index: SearchIndex) -> None:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((6000, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    texts = [f"chunk {i}" for i in range(6000)]
    await search_index.put_file("vs_big", IndexedFile("big", "big.txt", {}, texts, vectors))
    target = vectors[4321] + 0.05 * rng.standard_normal(64).astype(np.float32)
    hits = await search_index.search("vs_big", SearchQuery("", target / np.linalg.norm(target), 5, mode="vector"))
    assert hits[0].chunk_index == 4321 and hits[0].score > 0.9


async def test_a_bulk_load_refreshes_the_planners_statistics(search_index: SearchIndex) -> None:
    """PostgreSQL only: after a bulk load the chunks table is analyzed at once (not a minute later by
    autovacuum), so the planner walks the HNSW index for a big store rather than ranking every chunk."""
    if not isinstance(search_index, PostgresIndex):
        pytest.skip("the planner's statistics are PostgreSQL's")
    from sqlalchemy import text

    async def analyzed() -> tuple[object, float]:
        async with search_index.db.read() as conn:
            row = (
                await conn.execute(
                    text(
                        "select s.last_analyze, c.reltuples from pg_stat_user_tables s "
                        "join pg_class c on c.oid = s.relid where s.relname = 'retrieval_chunks'"
                    )
                )
            ).one()
        return row[0], float(row[1])

    await put(search_index, "vs_a", "small", MANUAL)
    assert (await analyzed())[0] is None  # two chunks: not worth it
    texts = [f"Section {i}: the X{i} grinder, its burrs and its warranty." for i in range(1_200)]
    await put(search_index, "vs_a", "big", texts)
    when, rows = await analyzed()
    assert when is not None and rows >= 1_200
