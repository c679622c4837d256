"""/v1/threads/{thread_id}/messages through the official client."""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import pytest
from openai.types.beta import Thread

from assistantd import Settings
from assistantd.services.messages import new_message_values
from assistantd.store import repos
from assistantd.store.db import Database
from assistantd.wire.messages import MessageCreate
from tests._schema import assert_schema
from tests._support import assert_api_error, assert_error, make_file, wire


async def _thread(client: openai.AsyncOpenAI) -> Thread:
    return await client.beta.threads.create()


async def _texts(client: openai.AsyncOpenAI, thread_id: str, **kw: Any) -> list[str]:
    page = await client.beta.threads.messages.list(thread_id, **kw)
    return [m.content[0].text.value for m in page.data]


async def test_create_string_content(client: openai.AsyncOpenAI) -> None:
    thread = await _thread(client)
    message, body = await wire(
        client.beta.threads.messages.with_raw_response.create(thread.id, role="user", content="Hello?")
    )
    assert_schema(body, "MessageObject")
    assert message.id.startswith("msg_")
    assert body["object"] == "thread.message" and body["thread_id"] == thread.id
    assert body["content"] == [{"type": "text", "text": {"value": "Hello?", "annotations": []}}]
    assert body["role"] == "user" and body["status"] == "completed"
    assert body["assistant_id"] is None and body["run_id"] is None
    assert body["incomplete_details"] is None and body["incomplete_at"] is None
    assert body["attachments"] == [] and body["metadata"] == {}
    _, got = await wire(client.beta.threads.messages.with_raw_response.retrieve(message.id, thread_id=thread.id))
    assert got == body


async def test_create_content_parts_and_attachments_echoed(client: openai.AsyncOpenAI) -> None:
    thread = await _thread(client)
    image = await make_file(client, b"\x89PNG...", "cat.png", "vision")
    data = await make_file(client, b"a,b\n1,2\n", "data.csv")
    doc = await make_file(client, b"manual", "manual.txt")
    content: Any = [
        {"type": "text", "text": "Look at these"},
        {"type": "image_file", "image_file": {"file_id": image.id, "detail": "high"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/dog.webp"}},
    ]
    attachments: Any = [
        {"file_id": data.id, "tools": [{"type": "code_interpreter"}]},
        {"file_id": doc.id, "tools": [{"type": "file_search"}, {"type": "code_interpreter"}]},
    ]
    _, body = await wire(
        client.beta.threads.messages.with_raw_response.create(
            thread.id, role="assistant", content=content, attachments=attachments, metadata={"m": "1"}
        )
    )
    assert_schema(body, "MessageObject")
    assert body["role"] == "assistant"
    assert body["content"] == [
        {"type": "text", "text": {"value": "Look at these", "annotations": []}},
        *content[1:],
    ]
    assert body["attachments"] == attachments
    assert body["metadata"] == {"m": "1"}
    got = await client.beta.threads.retrieve(thread.id)
    assert got.tool_resources is not None and got.tool_resources.code_interpreter is not None
    assert got.tool_resources.code_interpreter.file_ids == [data.id, doc.id]


async def test_list_newest_first_by_default(client: openai.AsyncOpenAI) -> None:
    thread = await _thread(client)
    for text in ("one", "two", "three"):
        await client.beta.threads.messages.create(thread.id, role="user", content=text)
    _, body = await wire(client.beta.threads.messages.with_raw_response.list(thread.id))
    assert_schema(body, "ListMessagesResponse")
    assert [m["content"][0]["text"]["value"] for m in body["data"]] == ["three", "two", "one"]
    assert body["first_id"] == body["data"][0]["id"] and body["last_id"] == body["data"][-1]["id"]
    assert body["has_more"] is False
    assert await _texts(client, thread.id, order="asc") == ["one", "two", "three"]
    # Other threads' messages never leak in.
    other = await _thread(client)
    await client.beta.threads.messages.create(other.id, role="user", content="elsewhere")
    assert await _texts(client, thread.id) == ["three", "two", "one"]


async def test_list_empty_thread(client: openai.AsyncOpenAI, raw: httpx2.AsyncClient) -> None:
    thread = await _thread(client)
    r = await raw.get(f"/threads/{thread.id}/messages")
    assert r.json() == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}


async def test_list_run_id_filter(client: openai.AsyncOpenAI, settings: Settings) -> None:
    thread = await _thread(client)
    await client.beta.threads.messages.create(thread.id, role="user", content="question")
    # A message written by a run, stored the way the run engine stores it (runs are another suite's).
    db = Database(settings.effective_database_url)
    try:
        async with db.write() as conn:
            thread_record = await repos.threads.get(conn, thread.id)
            assert thread_record is not None
            req = MessageCreate(role="assistant", content="answer")
            values, _ = await new_message_values(conn, thread_record, req)
            values.update(run_id="run_abc", assistant_id="asst_abc")
            await repos.messages.insert(conn, values)
    finally:
        await db.dispose()

    page = await client.beta.threads.messages.list(thread.id, run_id="run_abc")
    assert [m.content[0].text.value for m in page.data] == ["answer"]
    assert page.data[0].run_id == "run_abc" and page.data[0].assistant_id == "asst_abc"
    assert (await client.beta.threads.messages.list(thread.id, run_id="run_other")).data == []
    assert await _texts(client, thread.id) == ["answer", "question"]


async def test_modify_metadata(client: openai.AsyncOpenAI) -> None:
    thread = await _thread(client)
    m = await client.beta.threads.messages.create(thread.id, role="user", content="x", metadata={"a": "1"})
    _, body = await wire(
        client.beta.threads.messages.with_raw_response.update(m.id, thread_id=thread.id, metadata={"b": "2"})
    )
    assert_schema(body, "MessageObject")
    assert body["metadata"] == {"b": "2"}
    assert body["content"][0]["text"]["value"] == "x"
    _, body = await wire(client.beta.threads.messages.with_raw_response.update(m.id, thread_id=thread.id))
    assert body["metadata"] == {"b": "2"}
    _, body = await wire(
        client.beta.threads.messages.with_raw_response.update(m.id, thread_id=thread.id, metadata=None)
    )
    assert body["metadata"] == {}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"metadata": {"k": ["v"]}}, "metadata.k"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"content": "changed"}, "content"),
        ({"role": "assistant"}, "role"),
    ],
)
async def test_rejected_modify_changes_nothing(
    client: openai.AsyncOpenAI, raw: httpx2.AsyncClient, body: dict[str, Any], param: str
) -> None:
    thread = await _thread(client)
    m = await client.beta.threads.messages.create(thread.id, role="user", content="x", metadata={"a": "1"})
    _, before = await wire(client.beta.threads.messages.with_raw_response.retrieve(m.id, thread_id=thread.id))
    r = await raw.post(f"/threads/{thread.id}/messages/{m.id}", json=body)
    assert_error(r, 400, param=param)
    _, after = await wire(client.beta.threads.messages.with_raw_response.retrieve(m.id, thread_id=thread.id))
    assert after == before


async def test_delete(client: openai.AsyncOpenAI) -> None:
    thread = await _thread(client)
    keep = await client.beta.threads.messages.create(thread.id, role="user", content="keep")
    m = await client.beta.threads.messages.create(thread.id, role="user", content="drop")
    deleted, body = await wire(client.beta.threads.messages.with_raw_response.delete(m.id, thread_id=thread.id))
    assert body == {"id": m.id, "object": "thread.message.deleted", "deleted": True}
    assert_schema(body, "DeleteMessageResponse")
    assert deleted.deleted is True
    assert [x.id for x in (await client.beta.threads.messages.list(thread.id)).data] == [keep.id]
    with pytest.raises(openai.NotFoundError):
        await client.beta.threads.messages.retrieve(m.id, thread_id=thread.id)
    with pytest.raises(openai.NotFoundError):
        await client.beta.threads.messages.delete(m.id, thread_id=thread.id)


async def test_message_of_another_thread_is_not_found(client: openai.AsyncOpenAI) -> None:
    a, b = await _thread(client), await _thread(client)
    m = await client.beta.threads.messages.create(a.id, role="user", content="x")
    for call in (
        client.beta.threads.messages.retrieve(m.id, thread_id=b.id),
        client.beta.threads.messages.update(m.id, thread_id=b.id, metadata={"k": "v"}),
        client.beta.threads.messages.delete(m.id, thread_id=b.id),
    ):
        with pytest.raises(openai.NotFoundError):
            await call
    assert (await client.beta.threads.messages.retrieve(m.id, thread_id=a.id)).metadata == {}


async def test_ids(client: openai.AsyncOpenAI, raw: httpx2.AsyncClient) -> None:
    thread = await _thread(client)
    assert_error(
        await raw.get("/threads/undefined/messages"),
        400,
        param="thread_id",
        contains="Expected an ID that begins with 'thread'",
    )
    assert_error(
        await raw.post("/threads/undefined/messages", json={"role": "user", "content": "x"}), 400, param="thread_id"
    )
    assert_error(
        await raw.get(f"/threads/{thread.id}/messages/undefined"),
        400,
        param="message_id",
        contains="Expected an ID that begins with 'msg'",
    )
    assert_error(await raw.get(f"/threads/{thread.id}/messages/msg_unknown"), 404, contains="msg_unknown")
    assert_error(await raw.get("/threads/thread_unknown/messages"), 404)
    with pytest.raises(openai.NotFoundError):
        await client.beta.threads.messages.create("thread_unknown", role="user", content="x")
    with pytest.raises(openai.BadRequestError) as exc:
        await client.beta.threads.messages.retrieve("undefined", thread_id=thread.id)
    assert_api_error(exc.value, 400, param="message_id")


@pytest.mark.parametrize(
    ("body", "param", "contains"),
    [
        ({"content": "x"}, "role", "Missing required parameter: 'role'"),
        ({"role": "user"}, "content", "Missing required parameter: 'content'"),
        ({"role": "system", "content": "x"}, "role", "Invalid value: 'system'"),
        ({"role": "tool", "content": "x"}, "role", "Invalid value: 'tool'"),
        ({"role": "user", "content": None}, "content", "got null"),
        ({"role": "user", "content": {"type": "text", "text": "x"}}, "content", "but got an object"),
        ({"role": "user", "content": []}, "content", "empty array"),
        ({"role": "user", "content": ["plain"]}, "content[0]", "expected an object"),
        (
            {"role": "user", "content": [{"type": "refusal", "refusal": "no"}]},
            "content[0].type",
            "Invalid value: 'refusal'",
        ),
        (
            {"role": "user", "content": [{"type": "text", "text": {"value": "x"}}]},
            "content[0].text",
            "expected a string",
        ),
        (
            {"role": "user", "content": [{"type": "image_file", "image_file": {"file_id": "file-none"}}]},
            "content[0].image_file.file_id",
            "No file found with id 'file-none'",
        ),
        (
            {"role": "user", "content": [{"type": "image_file", "image_file": {"file_id": "undefined"}}]},
            "content[0].image_file.file_id",
            "undefined",
        ),
        (
            {
                "role": "user",
                "content": [{"type": "image_file", "image_file": {"file_id": "file-none", "detail": "max"}}],
            },
            "content[0].image_file.detail",
            "Invalid value: 'max'",
        ),
        (
            {"role": "user", "content": [{"type": "image_url", "image_url": {}}]},
            "content[0].image_url.url",
            "Missing required parameter",
        ),
        (
            {"role": "user", "content": "x", "attachments": [{"file_id": "file-none", "tools": []}]},
            "attachments[0].file_id",
            "file-none",
        ),
        (
            {"role": "user", "content": "x", "attachments": [{"tools": []}]},
            "attachments[0].file_id",
            "Missing required parameter",
        ),
        (
            {"role": "user", "content": "x", "attachments": [{"file_id": "file-a", "tools": [{"type": "function"}]}]},
            "attachments[0].tools[0].type",
            "Invalid value: 'function'",
        ),
        ({"role": "user", "content": "x", "attachments": "file-a"}, "attachments", "expected an array"),
        ({"role": "user", "content": "x", "metadata": {"k": "v" * 513}}, "metadata.k", "maximum length 512"),
        ({"role": "user", "content": "x", "metadata": {"k": None}}, "metadata.k", "expected a string"),
        (
            {"role": "user", "content": "x", "file_ids": ["file-a"]},
            "file_ids",
            "Unrecognized request argument supplied: file_ids",
        ),
    ],
)
async def test_invalid_create_stores_nothing(
    client: openai.AsyncOpenAI, raw: httpx2.AsyncClient, body: dict[str, Any], param: str, contains: str
) -> None:
    f = await make_file(client)
    thread = await client.beta.threads.create(
        messages=[{"role": "user", "content": "before"}],
        tool_resources={"code_interpreter": {"file_ids": [f.id]}},
    )
    _, before = await wire(client.beta.threads.with_raw_response.retrieve(thread.id))
    r = await raw.post(f"/threads/{thread.id}/messages", json=body)
    assert_error(r, 400, param=param, contains=contains)
    assert await _texts(client, thread.id) == ["before"]
    _, after = await wire(client.beta.threads.with_raw_response.retrieve(thread.id))
    assert after == before


async def test_too_many_code_interpreter_files_rejected(client: openai.AsyncOpenAI) -> None:
    thread = await _thread(client)
    files = [await make_file(client, name=f"{i}.txt") for i in range(21)]
    ok: Any = [{"file_id": f.id, "tools": [{"type": "code_interpreter"}]} for f in files[:20]]
    await client.beta.threads.messages.create(thread.id, role="user", content="20 files", attachments=ok)
    extra: Any = [{"file_id": files[20].id, "tools": [{"type": "code_interpreter"}]}]
    with pytest.raises(openai.BadRequestError) as exc:
        await client.beta.threads.messages.create(thread.id, role="user", content="one more", attachments=extra)
    assert_api_error(exc.value, 400, param="attachments")
    assert await _texts(client, thread.id) == ["20 files"]
    got = await client.beta.threads.retrieve(thread.id)
    assert got.tool_resources is not None and got.tool_resources.code_interpreter is not None
    assert len(got.tool_resources.code_interpreter.file_ids or []) == 20
