"""Vector store files through the official client: the SDK's helpers, formats, failures, attributes."""

from __future__ import annotations

import httpx2
import openai
import pytest

from assistantd import Settings
from tests._schema import assert_schema
from tests._support import assert_api_error, assert_error, make_file, wire
from tests.vector_stores import _docs
from tests.vector_stores._docs import MANUAL


async def test_upload_and_poll(client: openai.AsyncOpenAI) -> None:
    store = await client.vector_stores.create(name="manuals")
    f = await client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("manual.txt", MANUAL.encode()), attributes={"product": "x200"}
    )
    assert f.status == "completed" and f.last_error is None
    assert f.vector_store_id == store.id and f.id.startswith("file-")
    assert f.attributes == {"product": "x200"} and f.usage_bytes > 0
    _, body = await wire(client.vector_stores.files.with_raw_response.retrieve(f.id, vector_store_id=store.id))
    assert_schema(body, "VectorStoreFileObject")
    store = await client.vector_stores.retrieve(store.id)
    assert store.file_counts.completed == 1 and store.file_counts.total == 1 and store.status == "completed"


async def test_create_and_poll_with_static_chunking(client: openai.AsyncOpenAI) -> None:
    store = await client.vector_stores.create()
    a = await make_file(client, (MANUAL * 20).encode(), "long.txt")
    f = await client.vector_stores.files.create_and_poll(
        file_id=a.id,
        vector_store_id=store.id,
        chunking_strategy={"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}},
    )
    assert f.status == "completed"
    page = await client.vector_stores.search(store.id, query="warranty", max_num_results=50)
    assert len(page.data) > 10  # 100-token chunks of a 20-times repeated manual


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("manual.pdf", _docs.pdf(MANUAL)),
        ("manual.docx", _docs.docx(MANUAL)),
        ("manual.pptx", _docs.pptx(MANUAL)),
        ("manual.html", _docs.html(MANUAL)),
        ("manual.md", MANUAL.encode()),
        ("manual.json", b'{"warranty": "The X200 comes with a three-year limited warranty."}'),
        ("grinder.py", b'def warranty():\n    """The X200 comes with a three-year limited warranty."""\n'),
        ("manual-latin1.txt", MANUAL.replace("labour", "labour \xe9t\xe9").encode("latin-1")),
    ],
)
async def test_formats_are_extracted(client: openai.AsyncOpenAI, name: str, content: bytes) -> None:
    store = await client.vector_stores.create()
    f = await client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=(name, content))
    assert f.status == "completed", f.last_error
    page = await client.vector_stores.search(store.id, query="three-year warranty")
    assert page.data and "warranty" in page.data[0].content[0].text
    assert page.data[0].filename == name
    content_page = await client.vector_stores.files.content(f.id, vector_store_id=store.id)
    assert any("warranty" in part.text for part in content_page.data)
    if name.endswith(".html"):
        assert "secret" not in content_page.data[0].text and "color" not in content_page.data[0].text


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("photo.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "unsupported_file"),
        ("archive.zip", b"PK\x03\x04garbage", "unsupported_file"),
        ("blob.bin", bytes(range(256)) * 8, "unsupported_file"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "invalid_file"),
        ("broken.docx", b"PK not a zip", "invalid_file"),
        ("broken.pptx", b"nope", "invalid_file"),
        ("broken.json", b'{"a": ', "invalid_file"),
        ("empty.txt", b"   \n ", "invalid_file"),
    ],
)
async def test_unreadable_files_fail_alone(client: openai.AsyncOpenAI, name: str, content: bytes, code: str) -> None:
    good = await make_file(client, MANUAL.encode(), "manual.txt")
    bad = await make_file(client, content, name)
    batch = await client.vector_stores.file_batches.create_and_poll(
        vector_store_id=(await client.vector_stores.create()).id, file_ids=[good.id, bad.id]
    )
    assert batch.file_counts.completed == 1 and batch.file_counts.failed == 1 and batch.file_counts.in_progress == 0
    f = await client.vector_stores.files.retrieve(bad.id, vector_store_id=batch.vector_store_id)
    assert f.status == "failed" and f.last_error is not None
    assert f.last_error.code == code and f.last_error.message
    ok = await client.vector_stores.files.retrieve(good.id, vector_store_id=batch.vector_store_id)
    assert ok.status == "completed"
    page = await client.vector_stores.search(batch.vector_store_id, query="warranty")
    assert {d.file_id for d in page.data} == {good.id}


async def test_list_with_status_filter_and_pagination(client: openai.AsyncOpenAI) -> None:
    store = await client.vector_stores.create()
    good = [await make_file(client, f"{MANUAL} {i}".encode(), f"m{i}.txt") for i in range(3)]
    bad = await make_file(client, b"\x89PNG\r\n\x1a\n", "p.png")
    await client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, file_ids=[*(g.id for g in good), bad.id]
    )
    completed = [f.id async for f in client.vector_stores.files.list(store.id, filter="completed", limit=2)]
    assert sorted(completed) == sorted(g.id for g in good)
    failed = await client.vector_stores.files.list(store.id, filter="failed")
    assert [f.id for f in failed.data] == [bad.id]
    asc = [f.id async for f in client.vector_stores.files.list(store.id, order="asc", limit=1)]
    assert asc == [*(g.id for g in good), bad.id]
    first = await client.vector_stores.files.list(store.id, order="asc", after=good[0].id, limit=2)
    assert [f.id for f in first.data] == [good[1].id, good[2].id] and first.has_more


async def test_list_filter_must_be_a_status(raw: httpx2.AsyncClient, client: openai.AsyncOpenAI) -> None:
    store = await client.vector_stores.create()
    response = await raw.get(f"/vector_stores/{store.id}/files", params={"filter": "done"})
    assert_error(response, 400, param="filter")


async def test_update_attributes(client: openai.AsyncOpenAI) -> None:
    store = await client.vector_stores.create()
    f = await client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=("m.txt", MANUAL.encode()))
    assert f.attributes == {}
    f = await client.vector_stores.files.update(
        f.id, vector_store_id=store.id, attributes={"year": 2024, "draft": False, "lang": "en", "ratio": 0.5}
    )
    assert f.attributes == {"year": 2024, "draft": False, "lang": "en", "ratio": 0.5}
    page = await client.vector_stores.search(
        store.id, query="warranty", filters={"type": "eq", "key": "year", "value": 2024}
    )
    assert page.data and page.data[0].attributes == f.attributes


@pytest.mark.parametrize(
    ("attributes", "param"),
    [
        ({f"k{i}": "v" for i in range(17)}, "attributes"),
        ({"k" * 65: "v"}, "attributes"),
        ({"k": "v" * 513}, "attributes.k"),
        ({"k": [1]}, "attributes.k"),
        ({"k": None}, "attributes.k"),
    ],
)
async def test_bad_attributes(
    client: openai.AsyncOpenAI, raw: httpx2.AsyncClient, attributes: object, param: str
) -> None:
    store = await client.vector_stores.create()
    a = await make_file(client)
    response = await raw.post(f"/vector_stores/{store.id}/files", json={"file_id": a.id, "attributes": attributes})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"].startswith(param)


async def test_delete_file_keeps_the_file_and_drops_chunks(client: openai.AsyncOpenAI) -> None:
    store = await client.vector_stores.create()
    f = await client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=("m.txt", MANUAL.encode()))
    gone = await client.vector_stores.files.delete(f.id, vector_store_id=store.id)
    assert gone.deleted and gone.id == f.id and gone.object == "vector_store.file.deleted"
    assert (await client.files.retrieve(f.id)).id == f.id
    assert (await client.vector_stores.search(store.id, query="warranty")).data == []
    store = await client.vector_stores.retrieve(store.id)
    assert store.file_counts.total == 0 and store.usage_bytes == 0
    with pytest.raises(openai.NotFoundError):
        await client.vector_stores.files.retrieve(f.id, vector_store_id=store.id)


async def test_deleting_the_file_detaches_it_everywhere(client: openai.AsyncOpenAI) -> None:
    a = await make_file(client, MANUAL.encode(), "manual.txt")
    one = await client.vector_stores.create(file_ids=[a.id])
    two = await client.vector_stores.create(file_ids=[a.id])
    for store in (one, two):
        await client.vector_stores.files.poll(a.id, vector_store_id=store.id)
    await client.files.delete(a.id)
    for store in (one, two):
        assert (await client.vector_stores.retrieve(store.id)).file_counts.total == 0
        assert (await client.vector_stores.search(store.id, query="warranty")).data == []


async def test_unknown_file_and_store(client: openai.AsyncOpenAI) -> None:
    store = await client.vector_stores.create()
    with pytest.raises(openai.BadRequestError) as exc:
        await client.vector_stores.files.create(vector_store_id=store.id, file_id="file-missing")
    assert_api_error(exc.value, 400, param="file_id")
    with pytest.raises(openai.NotFoundError):
        await client.vector_stores.files.create(vector_store_id="vs_missing", file_id="file-x")
    with pytest.raises(openai.NotFoundError):
        await client.vector_stores.files.retrieve("file-nothere", vector_store_id=store.id)


async def test_reattaching_reingests(client: openai.AsyncOpenAI, settings: Settings) -> None:
    store = await client.vector_stores.create()
    f = await client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=("m.txt", MANUAL.encode()))
    again = await client.vector_stores.files.create_and_poll(
        file_id=f.id, vector_store_id=store.id, attributes={"v": 2}
    )
    assert again.status == "completed" and again.attributes == {"v": 2}
    store = await client.vector_stores.retrieve(store.id)
    assert store.file_counts.total == 1
    page = await client.vector_stores.search(store.id, query="warranty")
    assert len({(d.file_id, d.content[0].text) for d in page.data}) == len(page.data)
