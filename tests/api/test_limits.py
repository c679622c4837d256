"""Request bodies are bounded before they are read into memory: ``max_request_bytes`` for JSON (413 with
OpenAI's envelope), ``max_file_bytes`` for uploads, whether the size is declared or the body is chunked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import openai
import pytest

from assistantd import Settings
from tests._support import assert_error, db_count

LIMIT = 64 * 1024
CHUNK = 64 * 1024
CHUNKS = 256  # 16 MiB, if it were all read


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_request_bytes": LIMIT, "max_file_bytes": LIMIT})


class Body:
    """A chunked body of ``CHUNKS`` chunks that counts how many the server pulled."""

    def __init__(self, head: bytes = b"", tail: bytes = b"") -> None:
        self.head, self.tail, self.sent = head, tail, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.head
        for _ in range(CHUNKS):
            self.sent += 1
            yield b"x" * CHUNK
        yield self.tail


async def test_json_body_at_the_limit_is_read(client: openai.AsyncOpenAI, settings: Settings) -> None:
    thread = await client.beta.threads.create()
    text = "x" * (LIMIT - 200)
    message = await client.beta.threads.messages.create(thread.id, role="user", content=text)
    assert message.content[0].text.value == text  # type: ignore[union-attr]


async def test_declared_length_over_the_limit_is_refused_unread(raw: httpx2.AsyncClient, settings: Settings) -> None:
    thread = (await raw.post("/threads", json={})).json()["id"]
    body = b'{"role": "user", "content": "' + b"x" * LIMIT + b'"}'
    r = await raw.post(f"/threads/{thread}/messages", content=body, headers={"content-type": "application/json"})
    error = assert_error(r, 413, contains=f"maximum is {LIMIT} bytes")
    assert error["type"] == "invalid_request_error"
    assert db_count(settings, "messages") == 0


@pytest.mark.parametrize(
    "path",
    [
        "/threads",
        "/threads/THREAD/messages",
        "/assistants",
        "/vector_stores",
        "/threads/THREAD/runs",
        "/threads/runs",
    ],
)
async def test_chunked_json_body_is_cut_off_at_the_limit(
    raw: httpx2.AsyncClient, settings: Settings, path: str
) -> None:
    thread = (await raw.post("/threads", json={})).json()["id"]
    body = Body(b'{"role": "user", "content": "', b'"}')
    r = await raw.post(path.replace("THREAD", thread), content=body, headers={"content-type": "application/json"})
    assert_error(r, 413, contains="too large")
    assert body.sent <= 2, f"the server read {body.sent} chunks of {CHUNK} bytes past a {LIMIT}-byte limit"
    assert db_count(settings, "messages") == 0


async def test_chunked_upload_is_cut_off_at_the_limit(raw: httpx2.AsyncClient, settings: Settings) -> None:
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body = Body(head, f"\r\n--{boundary}--\r\n".encode())
    r = await raw.post("/files", content=body, headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert_error(r, 400, param="file", code="file_too_large")
    assert body.sent <= 3, f"the server read {body.sent} chunks of {CHUNK} bytes past a {LIMIT}-byte limit"
    files = Path(settings.data_dir) / "files"
    assert db_count(settings, "files") == 0 and not [p for p in files.iterdir() if not p.name.startswith(".")]
