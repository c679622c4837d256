"""/v1/vector_stores through the official client: create, list, retrieve, modify, delete, expiry."""

from __future__ import annotations

import sqlite3
import time

import httpx2
import openai
import pytest

from assistantd import Settings
from tests._schema import assert_schema
from tests._support import assert_api_error, assert_error, db_count, db_execute, make_file, wire
from tests.vector_stores._docs import FAQ, MANUAL


async def test_create_empty_store(client: openai.AsyncOpenAI) -> None:
    store, body = await wire(client.vector_stores.with_raw_response.create(name="Support", metadata={"team": "a"}))
    assert_schema(body, "VectorStoreObject")
    assert store.id.startswith("vs_") and body["object"] == "vector_store"
    assert body["name"] == "Support" and body["metadata"] == {"team": "a"}
    assert body["status"] == "completed" and body["usage_bytes"] == 0
    assert body["file_counts"] == {"in_progress": 0, "completed": 0, "failed": 0, "cancelled": 0, "total": 0}
    assert "expires_after" not in body and body["expires_at"] is None
    assert body["last_active_at"] == body["created_at"]
    _, again = await wire(client.vector_stores.with_raw_response.retrieve(store.id))
    assert again == body


async def test_create_with_files_ingests_them(client: openai.AsyncOpenAI) -> None:
    a = await make_file(client, MANUAL.encode(), "manual.txt")
    b = await make_file(client, FAQ.encode(), "faq.md")
    store = await client.vector_stores.create(name="Docs", file_ids=[a.id, b.id])
    assert store.file_counts.total == 2
    assert store.file_counts.in_progress + store.file_counts.completed == 2
    while store.file_counts.in_progress:
        store = await client.vector_stores.retrieve(store.id)
    assert store.status == "completed"
    assert store.file_counts.completed == 2 and store.file_counts.failed == 0
    assert store.usage_bytes > 0
    files = [f async for f in client.vector_stores.files.list(store.id)]
    assert {f.id for f in files} == {a.id, b.id}
    assert all(f.chunking_strategy is not None and f.chunking_strategy.type == "static" for f in files)
    assert sum(f.usage_bytes for f in files) == store.usage_bytes


async def test_chunking_strategy_is_reported_as_static(client: openai.AsyncOpenAI) -> None:
    a = await make_file(client, MANUAL.encode(), "manual.txt")
    store = await client.vector_stores.create(
        file_ids=[a.id],
        chunking_strategy={"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 50}},
    )
    f = await client.vector_stores.files.retrieve(a.id, vector_store_id=store.id)
    assert f.chunking_strategy is not None and f.chunking_strategy.model_dump() == {
        "type": "static",
        "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 50},
    }
    b = await make_file(client, FAQ.encode(), "faq.txt")
    f = await client.vector_stores.files.create(vector_store_id=store.id, file_id=b.id)
    assert f.chunking_strategy is not None and f.chunking_strategy.model_dump() == {
        "type": "static",
        "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400},
    }


@pytest.mark.parametrize(
    ("static", "param"),
    [
        ({"max_chunk_size_tokens": 99, "chunk_overlap_tokens": 0}, "chunking_strategy.static.max_chunk_size_tokens"),
        ({"max_chunk_size_tokens": 4097, "chunk_overlap_tokens": 0}, "chunking_strategy.static.max_chunk_size_tokens"),
        ({"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 401}, "chunking_strategy.static.chunk_overlap_tokens"),
        ({"max_chunk_size_tokens": 800, "chunk_overlap_tokens": -1}, "chunking_strategy.static.chunk_overlap_tokens"),
    ],
)
async def test_chunking_out_of_range_is_400(raw: httpx2.AsyncClient, static: dict[str, int], param: str) -> None:
    response = await raw.post("/vector_stores", json={"chunking_strategy": {"type": "static", "static": static}})
    assert_error(response, 400, param=param)


async def test_unknown_chunking_type_and_unknown_field(raw: httpx2.AsyncClient) -> None:
    response = await raw.post("/vector_stores", json={"chunking_strategy": {"type": "semantic"}})
    assert_error(response, 400, param="chunking_strategy.type")
    response = await raw.post("/vector_stores", json={"nmae": "typo"})
    assert_error(response, 400, param="nmae", contains="Unrecognized request argument")


async def test_unknown_file_is_400_naming_it(client: openai.AsyncOpenAI, settings: Settings) -> None:
    a = await make_file(client, b"hello", "a.txt")
    with pytest.raises(openai.BadRequestError) as exc:
        await client.vector_stores.create(file_ids=[a.id, "file-nope"])
    assert_api_error(exc.value, 400, param="file_ids[1]")
    assert [s async for s in client.vector_stores.list()] == []


async def test_list_paginates(client: openai.AsyncOpenAI) -> None:
    ids = [(await client.vector_stores.create(name=f"s{i}")).id for i in range(5)]
    page = await client.vector_stores.list(limit=2)
    assert [s.id for s in page.data] == ids[::-1][:2] and page.has_more
    every = [s.id async for s in client.vector_stores.list(limit=2, order="asc")]
    assert every == ids
    before = await client.vector_stores.list(before=ids[2], order="asc")
    assert [s.id for s in before.data] == ids[:2]


async def test_modify_name_metadata_and_expiry(client: openai.AsyncOpenAI) -> None:
    store = await client.vector_stores.create(name="old")
    changed = await client.vector_stores.update(
        store.id, name="new", metadata={"k": "v"}, expires_after={"anchor": "last_active_at", "days": 3}
    )
    assert changed.name == "new" and changed.metadata == {"k": "v"}
    assert changed.expires_after is not None and changed.expires_after.days == 3
    assert changed.expires_at == changed.last_active_at + 3 * 86400
    cleared = await client.vector_stores.update(store.id, expires_after=None)
    assert cleared.expires_after is None and cleared.expires_at is None and cleared.name == "new"


@pytest.mark.parametrize("days", [0, 366])
async def test_expiry_days_out_of_range(raw: httpx2.AsyncClient, days: int) -> None:
    body = {"expires_after": {"anchor": "last_active_at", "days": days}}
    assert_error(await raw.post("/vector_stores", json=body), 400, param="expires_after.days")
    body = {"expires_after": {"anchor": "created_at", "days": 1}}
    assert_error(await raw.post("/vector_stores", json=body), 400, param="expires_after.anchor")


async def test_delete_removes_store_files_and_chunks(client: openai.AsyncOpenAI, settings: Settings) -> None:
    a = await make_file(client, MANUAL.encode(), "manual.txt")
    store = await client.vector_stores.create(file_ids=[a.id])
    await client.vector_stores.files.poll(a.id, vector_store_id=store.id)
    assert _index_rows(settings, store.id) > 0
    gone = await client.vector_stores.delete(store.id)
    assert gone.id == store.id and gone.deleted and gone.object == "vector_store.deleted"
    assert _index_rows(settings, store.id) == 0
    with pytest.raises(openai.NotFoundError) as exc:
        await client.vector_stores.retrieve(store.id)
    assert exc.value.message.endswith(f"No vector store found with id '{store.id}'.")
    with pytest.raises(openai.NotFoundError):
        await client.vector_stores.search(store.id, query="warranty")
    with pytest.raises(openai.NotFoundError):
        await client.vector_stores.delete(store.id)
    assert (await client.files.retrieve(a.id)).id == a.id  # the File itself stays


async def test_malformed_id_is_400(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as exc:
        await client.vector_stores.retrieve("store-1")
    assert_api_error(exc.value, 400, param="vector_store_id")


async def test_expired_store_cannot_be_searched(client: openai.AsyncOpenAI, settings: Settings) -> None:
    store = await client.vector_stores.create(expires_after={"anchor": "last_active_at", "days": 1})
    db_execute(settings, "UPDATE vector_stores SET expires_at = ? WHERE id = ?", int(time.time()) - 1, store.id)
    assert (await client.vector_stores.retrieve(store.id)).status == "expired"
    with pytest.raises(openai.BadRequestError) as exc:
        await client.vector_stores.search(store.id, query="warranty")
    assert_api_error(exc.value, 400, param="vector_store_id")
    assert (await client.vector_stores.delete(store.id)).deleted


def _index_rows(settings: Settings, store_id: str) -> int:
    if not settings.effective_database_url.startswith("sqlite"):  # PostgresIndex: tables in the database
        return db_count(settings, "retrieval_chunks", "WHERE store_id = ?", store_id)
    with sqlite3.connect(settings.data_dir / "index.db") as db:
        return int(db.execute("SELECT count(*) FROM chunks WHERE store_id = ?", (store_id,)).fetchone()[0])
