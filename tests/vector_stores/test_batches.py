"""File batches through the official client: upload_and_poll, create_and_poll, per-file options, cancel."""

from __future__ import annotations

import asyncio

import httpx2
import openai
import pytest

from assistantd import Settings
from tests._schema import assert_schema
from tests._support import assert_api_error, assert_error, make_file, wire
from tests.vector_stores._docs import FAQ, MANUAL


async def test_upload_and_poll(client: openai.AsyncOpenAI) -> None:
    store = await client.vector_stores.create()
    batch = await client.vector_stores.file_batches.upload_and_poll(
        store.id, files=[("manual.txt", MANUAL.encode()), ("faq.md", FAQ.encode()), ("x.png", b"\x89PNG\r\n\x1a\n")]
    )
    assert batch.id.startswith("vsfb_") and batch.object == "vector_store.files_batch"
    assert batch.file_counts.model_dump() == {"in_progress": 0, "completed": 2, "failed": 1, "cancelled": 0, "total": 3}
    assert batch.status == "completed"
    _, body = await wire(
        client.vector_stores.file_batches.with_raw_response.retrieve(batch.id, vector_store_id=store.id)
    )
    assert_schema(body, "VectorStoreFileBatchObject")
    listed = [f async for f in client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id)]
    assert len(listed) == 3
    failed = await client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id, filter="failed")
    assert [f.last_error.code for f in failed.data if f.last_error] == ["unsupported_file"]
    store = await client.vector_stores.retrieve(store.id)
    assert store.file_counts.total == 3 and store.file_counts.completed == 2


async def test_counts_are_exact_while_ingesting(client: openai.AsyncOpenAI) -> None:
    store = await client.vector_stores.create()
    ids = [(await make_file(client, f"{MANUAL}\n{i}".encode(), f"m{i}.txt")).id for i in range(12)]
    batch = await client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=ids)
    while True:
        batch = await client.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id)
        counts = batch.file_counts
        assert counts.total == 12
        assert counts.in_progress + counts.completed + counts.failed + counts.cancelled == 12
        store_counts = (await client.vector_stores.retrieve(store.id)).file_counts
        assert store_counts.completed >= counts.completed  # read after: never fewer
        if counts.in_progress == 0:
            break
        await asyncio.sleep(0.01)
    assert counts.completed == 12 and batch.status == "completed"


async def test_files_with_their_own_options(client: openai.AsyncOpenAI) -> None:
    store = await client.vector_stores.create()
    a = await make_file(client, MANUAL.encode(), "manual.txt")
    b = await make_file(client, FAQ.encode(), "faq.txt")
    batch = await client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id,
        files=[
            {"file_id": a.id, "attributes": {"kind": "manual"}},
            {
                "file_id": b.id,
                "attributes": {"kind": "faq"},
                "chunking_strategy": {
                    "type": "static",
                    "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 0},
                },
            },
        ],
    )
    assert batch.file_counts.completed == 2
    fa = await client.vector_stores.files.retrieve(a.id, vector_store_id=store.id)
    fb = await client.vector_stores.files.retrieve(b.id, vector_store_id=store.id)
    assert fa.attributes == {"kind": "manual"} and fb.attributes == {"kind": "faq"}
    assert (
        fb.chunking_strategy is not None and fb.chunking_strategy.model_dump()["static"]["max_chunk_size_tokens"] == 200
    )


async def test_global_options_apply_to_file_ids(client: openai.AsyncOpenAI) -> None:
    store = await client.vector_stores.create()
    a = await make_file(client, MANUAL.encode(), "manual.txt")
    batch = await client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, file_ids=[a.id], attributes={"team": "support"}
    )
    assert batch.file_counts.completed == 1
    assert (await client.vector_stores.files.retrieve(a.id, vector_store_id=store.id)).attributes == {"team": "support"}


async def test_bad_batches(client: openai.AsyncOpenAI, raw: httpx2.AsyncClient) -> None:
    store = await client.vector_stores.create()
    a = await make_file(client)
    url = f"/vector_stores/{store.id}/file_batches"
    assert_error(await raw.post(url, json={}), 400, param="file_ids")
    assert_error(await raw.post(url, json={"file_ids": [a.id], "files": [{"file_id": a.id}]}), 400, param="file_ids")
    assert_error(await raw.post(url, json={"file_ids": []}), 400, param="file_ids")
    with pytest.raises(openai.BadRequestError) as exc:
        await client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=[a.id, "file-zz"])
    assert_api_error(exc.value, 400, param="file_ids[1]")
    with pytest.raises(openai.BadRequestError) as exc:
        await client.vector_stores.file_batches.create(vector_store_id=store.id, files=[{"file_id": "file-zz"}])
    assert_api_error(exc.value, 400, param="files[0].file_id")
    assert (await client.vector_stores.retrieve(store.id)).file_counts.total == 0
    with pytest.raises(openai.NotFoundError):
        await client.vector_stores.file_batches.retrieve("vsfb_nothere", vector_store_id=store.id)
    other = await client.vector_stores.create()
    batch = await client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=[a.id])
    with pytest.raises(openai.NotFoundError):
        await client.vector_stores.file_batches.retrieve(batch.id, vector_store_id=other.id)


@pytest.mark.settings(ingest_workers=1)
async def test_cancel(client: openai.AsyncOpenAI, settings: Settings) -> None:
    store = await client.vector_stores.create()
    ids = [(await make_file(client, f"{MANUAL * 30}\n{i}".encode(), f"m{i}.txt")).id for i in range(20)]
    batch = await client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=ids)
    cancelled = await client.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id)
    assert cancelled.status == "cancelled"
    counts = cancelled.file_counts
    assert counts.cancelled > 0 and counts.in_progress == 0 and counts.total == 20
    assert counts.completed + counts.failed + counts.cancelled == 20
    polled = await client.vector_stores.file_batches.poll(batch.id, vector_store_id=store.id)
    assert polled.status == "cancelled" and polled.file_counts.cancelled == counts.cancelled
    listed = await client.vector_stores.file_batches.list_files(
        batch.id, vector_store_id=store.id, filter="cancelled", limit=100
    )
    cancelled_ids = {f.id for f in listed.data}
    assert len(cancelled_ids) == counts.cancelled
    page = await client.vector_stores.search(store.id, query="warranty", max_num_results=50)
    assert not {d.file_id for d in page.data} & cancelled_ids
