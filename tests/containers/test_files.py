"""/v1/containers/{id}/files through the official client: upload, copy a File, list, retrieve, content, delete."""

from __future__ import annotations

import json

import httpx2
import openai
import pytest
from openai.types.containers import FileCreateResponse, FileListResponse, FileRetrieveResponse

from assistantd import Settings
from tests._support import assert_api_error, assert_error, db_count, make_file, wire
from tests.containers.conftest import mounted_app

pytestmark = pytest.mark.anyio


async def test_upload_list_retrieve_content_delete(client: openai.AsyncOpenAI) -> None:
    c = await client.containers.create(name="files")
    created, body = await wire(client.containers.files.with_raw_response.create(c.id, file=("notes.txt", b"hi there")))
    assert isinstance(created, FileCreateResponse)
    assert set(body) == {"id", "object", "container_id", "created_at", "bytes", "path", "source"}
    assert created.id.startswith("cfile_") and created.object == "container.file"
    assert (created.container_id, created.bytes, created.source) == (c.id, 8, "user")
    assert created.path == "/mnt/data/notes.txt"

    got = await client.containers.files.retrieve(created.id, container_id=c.id)
    assert isinstance(got, FileRetrieveResponse) and got.model_dump() == created.model_dump()
    listed = [f async for f in client.containers.files.list(c.id)]
    assert all(isinstance(f, FileListResponse) for f in listed) and [f.id for f in listed] == [created.id]
    content = await client.containers.files.content.retrieve(created.id, container_id=c.id)
    assert content.content == b"hi there"

    raw = await client.containers.files.with_raw_response.delete(created.id, container_id=c.id)
    assert raw.parse() is None
    assert json.loads(raw.text) == {"id": created.id, "object": "container.file.deleted", "deleted": True}
    assert [f async for f in client.containers.files.list(c.id)] == []
    with pytest.raises(openai.NotFoundError) as exc:
        await client.containers.files.retrieve(created.id, container_id=c.id)
    assert_api_error(exc.value, 404, param="file_id")


async def test_copy_a_file_by_id_and_same_path_replaces(client: openai.AsyncOpenAI, settings: Settings) -> None:
    c = await client.containers.create(name="copy")
    f = await make_file(client, b"v1", "data.csv")
    first = await client.containers.files.create(c.id, file_id=f.id)
    assert (first.path, first.bytes, first.source) == ("/mnt/data/data.csv", 2, "user")
    second = await client.containers.files.create(c.id, file=("data.csv", b"version 2"))
    assert second.path == first.path and second.id != first.id
    assert [x.id async for x in client.containers.files.list(c.id)] == [second.id]
    with pytest.raises(openai.NotFoundError):
        await client.containers.files.content.retrieve(first.id, container_id=c.id)
    assert db_count(settings, "container_files") == 1


async def test_list_pages(client: openai.AsyncOpenAI) -> None:
    c = await client.containers.create(name="pages")
    ids = [(await client.containers.files.create(c.id, file=(f"f{i}.txt", b"x"))).id for i in range(3)]
    _, body = await wire(client.containers.files.with_raw_response.list(c.id, limit=2, order="asc"))
    assert body["object"] == "list" and body["has_more"] is True and body["first_id"] == ids[0]
    assert [f.id async for f in client.containers.files.list(c.id, limit=1, order="asc")] == ids


async def test_file_of_another_container_is_404(client: openai.AsyncOpenAI) -> None:
    a = await client.containers.create(name="a")
    b = await client.containers.create(name="b")
    f = await client.containers.files.create(a.id, file=("x.txt", b"x"))
    with pytest.raises(openai.NotFoundError) as exc:
        await client.containers.files.retrieve(f.id, container_id=b.id)
    assert f.id in assert_api_error(exc.value, 404, param="file_id")["message"]


async def test_bad_file_requests_are_400(
    client: openai.AsyncOpenAI, raw: httpx2.AsyncClient, settings: Settings
) -> None:
    c = await client.containers.create(name="bad")
    with pytest.raises(openai.BadRequestError) as exc:
        await client.containers.files.create(c.id, file_id="file-nope")
    assert_api_error(exc.value, 400, param="file_id")
    with pytest.raises(openai.BadRequestError) as exc:
        await client.containers.files.create(c.id)
    assert_api_error(exc.value, 400, param="file")
    assert_error(await raw.post(f"/containers/{c.id}/files", json={"file_id": 5}), 400, param="file_id")
    assert_error(await raw.post(f"/containers/{c.id}/files", json={"file_id": "f", "x": 1}), 400, param="x")
    assert_error(
        await raw.post(f"/containers/{c.id}/files", content=b"{not json", headers={"content-type": "application/json"}),
        400,
        contains="could not parse the JSON body",
    )
    assert_error(await raw.post(f"/containers/{c.id}/files", files={"other": ("a", b"a")}), 400, param="file")
    with pytest.raises(openai.BadRequestError) as exc:
        await client.containers.files.retrieve("file-abc", container_id=c.id)
    assert_api_error(exc.value, 400, param="file_id")
    assert db_count(settings, "container_files") == 0


async def test_file_too_big_is_400_and_stores_nothing(settings: Settings) -> None:
    small = settings.model_copy(update={"max_file_bytes": 1000})
    async with mounted_app(small) as client:
        c = await client.containers.create(name="big")
        with pytest.raises(openai.BadRequestError) as exc:
            await client.containers.files.create(c.id, file=("big.bin", b"x" * 5000))
        error = assert_api_error(exc.value, 400, param="file")
        assert error["code"] == "file_too_large"
        assert [f async for f in client.containers.files.list(c.id)] == []
    assert db_count(small, "container_files") == 0
