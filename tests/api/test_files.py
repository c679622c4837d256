"""/v1/files through the official client: upload, list, retrieve, content, delete (and detach)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest

from assistantd import Settings
from tests._schema import assert_schema
from tests._support import assert_api_error, assert_error, db_count, make_file, wire

PURPOSES = ["assistants", "batch", "fine-tune", "vision", "user_data", "evals"]


def _blobs(settings: Settings) -> list[str]:
    root = settings.data_dir / "files"
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


@pytest.mark.parametrize("purpose", PURPOSES)
async def test_upload_every_purpose(client: openai.AsyncOpenAI, purpose: str) -> None:
    f, body = await wire(client.files.with_raw_response.create(file=("notes.jsonl", b'{"a": 1}\n'), purpose=purpose))
    if purpose != "evals":  # OpenAIFile's response enum predates the "evals" upload purpose
        assert_schema(body, "OpenAIFile")
    assert f.id.startswith("file-")
    assert body["object"] == "file" and body["purpose"] == purpose
    assert body["bytes"] == 9 and body["filename"] == "notes.jsonl" and body["status"] == "processed"
    assert isinstance(body["created_at"], int)
    _, got = await wire(client.files.with_raw_response.retrieve(f.id))
    assert got == body


async def test_content_is_the_exact_bytes(client: openai.AsyncOpenAI) -> None:
    payload = bytes(range(256)) * 64 + os.urandom(300_000)
    f = await client.files.create(file=("résumé ü.bin", payload), purpose="assistants")
    assert f.bytes == len(payload) and f.filename == "résumé ü.bin"
    content = await client.files.content(f.id)
    assert content.read() == payload
    processed = await client.files.wait_for_processing(f.id)
    assert processed.status == "processed"


async def test_empty_file(client: openai.AsyncOpenAI) -> None:
    f = await make_file(client, b"", "empty.txt")
    assert f.bytes == 0
    assert (await client.files.content(f.id)).read() == b""


async def test_expires_after(client: openai.AsyncOpenAI, raw: httpx2.AsyncClient) -> None:
    f, body = await wire(
        client.files.with_raw_response.create(
            file=("a.txt", b"x"), purpose="batch", expires_after={"anchor": "created_at", "seconds": 3600}
        )
    )
    assert_schema(body, "OpenAIFile")
    assert f.expires_at == f.created_at + 3600
    for form, param in (
        ({"expires_after[anchor]": "created_at", "expires_after[seconds]": "3599"}, "expires_after.seconds"),
        ({"expires_after[anchor]": "created_at", "expires_after[seconds]": "2592001"}, "expires_after.seconds"),
        ({"expires_after[anchor]": "created_at", "expires_after[seconds]": "soon"}, "expires_after.seconds"),
        ({"expires_after[anchor]": "last_active_at", "expires_after[seconds]": "3600"}, "expires_after.anchor"),
        ({"expires_after[seconds]": "3600"}, "expires_after.anchor"),
        ({"expires_after[anchor]": "created_at"}, "expires_after.seconds"),
    ):
        r = await raw.post("/files", files={"file": ("a.txt", b"x")}, data={"purpose": "batch", **form})
        assert_error(r, 400, param=param)
    assert len((await client.files.list()).data) == 1


async def test_list_default_limit_is_large_and_purpose_filters(client: openai.AsyncOpenAI) -> None:
    made = [
        await make_file(client, name=f"{i}.txt", purpose="vision" if i % 3 == 0 else "assistants") for i in range(25)
    ]
    page, body = await wire(client.files.with_raw_response.list())
    assert_schema(body, "ListFilesResponse")
    assert [f.id for f in page.data] == [f.id for f in reversed(made)]  # newest first, all 25 in one page
    assert body["has_more"] is False
    assert body["first_id"] == made[-1].id and body["last_id"] == made[0].id

    vision = await client.files.list(purpose="vision")
    assert [f.id for f in vision.data] == [f.id for f in reversed(made) if f.purpose == "vision"]
    assert (await client.files.list(purpose="batch")).data == []

    asc = await client.files.list(order="asc", limit=5)
    assert [f.id for f in asc.data] == [f.id for f in made[:5]]
    assert asc.has_more is True
    rest = await client.files.list(order="asc", after=made[4].id, limit=100)
    assert [f.id for f in rest.data] == [f.id for f in made[5:]]
    every = [f.id async for f in client.files.list(limit=4)]
    assert every == [f.id for f in reversed(made)]


async def test_list_limit_bounds(raw: httpx2.AsyncClient) -> None:
    assert (await raw.get("/files", params={"limit": 10_000})).status_code == 200
    assert_error(await raw.get("/files", params={"limit": 10_001}), 400, param="limit")
    assert_error(await raw.get("/files", params={"limit": 0}), 400, param="limit")
    assert_error(await raw.get("/files", params={"order": "newest"}), 400, param="order")


async def test_delete(client: openai.AsyncOpenAI, settings: Settings) -> None:
    keep = await make_file(client, b"keep")
    f = await make_file(client, b"bytes")
    assert len(_blobs(settings)) == 2
    deleted, body = await wire(client.files.with_raw_response.delete(f.id))
    assert body == {"id": f.id, "object": "file", "deleted": True}
    assert_schema(body, "DeleteFileResponse")
    assert deleted.deleted is True
    assert _blobs(settings) == [keep.id]
    for call in (client.files.retrieve(f.id), client.files.content(f.id), client.files.delete(f.id)):
        with pytest.raises(openai.NotFoundError):
            await call
    assert [x.id for x in (await client.files.list()).data] == [keep.id]


async def test_delete_detaches_everywhere(client: openai.AsyncOpenAI) -> None:
    gone, kept = await make_file(client, name="gone.csv"), await make_file(client, name="kept.csv")
    both: Any = {"code_interpreter": {"file_ids": [gone.id, kept.id]}}
    assistant = await client.beta.assistants.create(model="m", tool_resources=both)
    thread = await client.beta.threads.create(tool_resources=both)
    attached = await client.beta.threads.messages.create(
        thread.id,
        role="user",
        content="see files",
        attachments=[
            {"file_id": gone.id, "tools": [{"type": "file_search"}]},
            {"file_id": kept.id, "tools": [{"type": "code_interpreter"}]},
        ],
    )
    other = await client.beta.threads.create(
        messages=[
            {
                "role": "user",
                "content": "x",
                "attachments": [{"file_id": gone.id, "tools": [{"type": "code_interpreter"}]}],
            }
        ]
    )

    await client.files.delete(gone.id)

    a = await client.beta.assistants.retrieve(assistant.id)
    assert a.tool_resources is not None and a.tool_resources.code_interpreter is not None
    assert a.tool_resources.code_interpreter.file_ids == [kept.id]
    t = await client.beta.threads.retrieve(thread.id)
    assert t.tool_resources is not None and t.tool_resources.code_interpreter is not None
    assert t.tool_resources.code_interpreter.file_ids == [kept.id]
    m = await client.beta.threads.messages.retrieve(attached.id, thread_id=thread.id)
    assert [x.file_id for x in m.attachments or []] == [kept.id]
    o = await client.beta.threads.retrieve(other.id)
    assert o.tool_resources is not None and o.tool_resources.code_interpreter is not None
    assert o.tool_resources.code_interpreter.file_ids == []
    om = (await client.beta.threads.messages.list(other.id)).data[0]
    assert om.attachments == []
    # The objects still validate and can still be modified.
    _, body = await wire(client.beta.assistants.with_raw_response.update(assistant.id, name="after"))
    assert_schema(body, "AssistantObject")


async def test_ids(client: openai.AsyncOpenAI, raw: httpx2.AsyncClient) -> None:
    for method, path in (("GET", "/files/{}"), ("GET", "/files/{}/content"), ("DELETE", "/files/{}")):
        assert_error(
            await raw.request(method, path.format("undefined")),
            400,
            param="file_id",
            contains="Expected an ID that begins with 'file'",
        )
        assert_error(await raw.request(method, path.format("file-unknown")), 404, contains="file-unknown")
    with pytest.raises(openai.BadRequestError) as exc:
        await client.files.retrieve("asst_abc")
    assert_api_error(exc.value, 400, param="file_id")


async def test_bad_uploads_store_nothing(
    client: openai.AsyncOpenAI, raw: httpx2.AsyncClient, settings: Settings
) -> None:
    cases: list[tuple[dict[str, Any], str | None, str]] = [
        ({"data": {"purpose": "assistants"}}, "file", "'file'"),
        (
            {"files": {"other": ("a.txt", b"x")}, "data": {"purpose": "assistants"}},
            "file",
            "Missing required parameter: 'file'",
        ),
        ({"data": {"purpose": "assistants", "file": "not a file part"}}, "file", "'file'"),
        ({"files": {"file": ("a.txt", b"x")}}, "purpose", "Missing required parameter: 'purpose'"),
        ({"files": {"file": ("a.txt", b"x")}, "data": {"purpose": "training"}}, "purpose", "Invalid value: 'training'"),
        (
            {"files": {"file": ("a.txt", b"x")}, "data": {"purpose": "assistants_output"}},
            "purpose",
            "Invalid value: 'assistants_output'",
        ),
        ({"json": {"file": "aGVsbG8=", "purpose": "assistants"}}, "file", "multipart/form-data"),
    ]
    for kwargs, param, contains in cases:
        assert_error(await raw.post("/files", **kwargs), 400, param=param, contains=contains)
    r = await raw.post("/files", content=b"--x\r\nnot multipart", headers={"content-type": "multipart/form-data"})
    assert_error(r, 400)
    with pytest.raises(openai.BadRequestError) as exc:
        await client.files.create(file=("a.txt", b"x"), purpose="nonsense")
    assert_api_error(exc.value, 400, param="purpose")
    assert (await client.files.list()).data == []
    assert db_count(settings, "files") == 0
    assert _blobs(settings) == []


class TestUploadLimit:
    """``max_file_bytes`` is enforced before and after reading the body, storing nothing either way."""

    LIMIT = 1024

    @pytest.fixture
    def settings(self, tmp_path: Path) -> Settings:
        return Settings(data_dir=tmp_path / "data", upstream_base_url="", max_file_bytes=self.LIMIT)

    async def test_at_the_limit(self, client: openai.AsyncOpenAI) -> None:
        f = await make_file(client, b"x" * self.LIMIT)
        assert f.bytes == self.LIMIT

    async def test_over_the_limit(self, client: openai.AsyncOpenAI, settings: Settings) -> None:
        with pytest.raises(openai.BadRequestError) as exc:
            await make_file(client, b"x" * (self.LIMIT + 1))
        error = assert_api_error(exc.value, 400, param="file")
        assert error["code"] == "file_too_large"
        assert (await client.files.list()).data == []
        assert _blobs(settings) == []

    async def test_far_over_the_limit_refused_by_content_length(
        self, raw: httpx2.AsyncClient, settings: Settings
    ) -> None:
        r = await raw.post("/files", files={"file": ("big.bin", b"x" * 200_000)}, data={"purpose": "assistants"})
        assert_error(r, 400, param="file", code="file_too_large")
        assert _blobs(settings) == []

    async def test_chunked_upload_without_length(self, raw: httpx2.AsyncClient, settings: Settings) -> None:
        boundary = "b0undary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()

        async def body() -> AsyncIterator[bytes]:
            yield head
            for _ in range(4):
                yield b"y" * 1000
            yield f"\r\n--{boundary}--\r\n".encode()

        r = await raw.post(
            "/files", content=body(), headers={"content-type": f"multipart/form-data; boundary={boundary}"}
        )
        assert_error(r, 400, param="file", code="file_too_large")
        assert _blobs(settings) == [] and db_count(settings, "files") == 0
