"""/v1/threads through the official client: create with messages and resources, modify, delete."""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import pytest

from assistantd import Settings
from tests._schema import assert_schema
from tests._support import assert_api_error, assert_error, db_count, make_file, wire


async def test_create_empty(client: openai.AsyncOpenAI, raw: httpx2.AsyncClient) -> None:
    thread, body = await wire(client.beta.threads.with_raw_response.create())
    assert_schema(body, "ThreadObject")
    assert thread.id.startswith("thread_")
    assert body["object"] == "thread" and body["metadata"] == {}
    assert isinstance(body["created_at"], int)
    # No body at all (not even "{}") is an empty thread too.
    r = await raw.post("/threads")
    assert r.status_code == 200, r.text
    assert_schema(r.json(), "ThreadObject")


async def test_create_echoes_fields_and_retrieve_matches(client: openai.AsyncOpenAI) -> None:
    f = await make_file(client)
    resources: Any = {"code_interpreter": {"file_ids": [f.id]}}
    _, body = await wire(
        client.beta.threads.with_raw_response.create(metadata={"user": "42"}, tool_resources=resources)
    )
    assert_schema(body, "ThreadObject")
    assert body["metadata"] == {"user": "42"}
    assert body["tool_resources"] == resources
    _, got = await wire(client.beta.threads.with_raw_response.retrieve(body["id"]))
    assert got == body


async def test_create_with_messages_keeps_their_order(client: openai.AsyncOpenAI) -> None:
    f = await make_file(client, name="data.csv")
    thread = await client.beta.threads.create(
        messages=[
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": [{"type": "text", "text": "second"}], "metadata": {"n": "2"}},
            {
                "role": "user",
                "content": "third",
                "attachments": [{"file_id": f.id, "tools": [{"type": "code_interpreter"}]}],
            },
        ]
    )
    page = await client.beta.threads.messages.list(thread.id, order="asc")
    texts = [m.content[0].text.value for m in page.data]
    assert texts == ["first", "second", "third"]
    assert [m.role for m in page.data] == ["user", "assistant", "user"]
    assert page.data[1].metadata == {"n": "2"}
    assert page.data[2].attachments is not None and page.data[2].attachments[0].file_id == f.id
    # A code_interpreter attachment lands in the thread's tool_resources.
    got = await client.beta.threads.retrieve(thread.id)
    assert got.tool_resources is not None and got.tool_resources.code_interpreter is not None
    assert got.tool_resources.code_interpreter.file_ids == [f.id]


async def test_modify_unset_vs_null(client: openai.AsyncOpenAI) -> None:
    f = await make_file(client)
    thread = await client.beta.threads.create(
        metadata={"a": "1"}, tool_resources={"code_interpreter": {"file_ids": [f.id]}}
    )
    _, body = await wire(client.beta.threads.with_raw_response.update(thread.id, metadata={"b": "2"}))
    assert_schema(body, "ThreadObject")
    assert body["metadata"] == {"b": "2"}
    assert body["tool_resources"] == {"code_interpreter": {"file_ids": [f.id]}}  # unset: unchanged
    _, body = await wire(client.beta.threads.with_raw_response.update(thread.id))
    assert body["metadata"] == {"b": "2"}
    _, body = await wire(
        client.beta.threads.with_raw_response.update(thread.id, tool_resources={"code_interpreter": {"file_ids": []}})
    )
    assert body["tool_resources"] == {"code_interpreter": {"file_ids": []}}
    _, body = await wire(client.beta.threads.with_raw_response.update(thread.id, metadata=None, tool_resources=None))
    assert body["metadata"] == {} and body["tool_resources"] == {}
    assert_schema(body, "ThreadObject")


async def test_delete_thread_deletes_its_messages(client: openai.AsyncOpenAI, settings: Settings) -> None:
    keep = await client.beta.threads.create(messages=[{"role": "user", "content": "stay"}])
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "a"}])
    message = await client.beta.threads.messages.create(thread.id, role="user", content="b")
    assert db_count(settings, "messages") == 3

    deleted, body = await wire(client.beta.threads.with_raw_response.delete(thread.id))
    assert body == {"id": thread.id, "object": "thread.deleted", "deleted": True}
    assert_schema(body, "DeleteThreadResponse")
    assert deleted.deleted is True

    assert db_count(settings, "messages", "WHERE thread_id = ?", thread.id) == 0
    assert db_count(settings, "messages") == 1
    for call in (
        client.beta.threads.retrieve(thread.id),
        client.beta.threads.messages.list(thread.id),
        client.beta.threads.messages.retrieve(message.id, thread_id=thread.id),
        client.beta.threads.delete(thread.id),
    ):
        with pytest.raises(openai.NotFoundError):
            await call
    assert len((await client.beta.threads.messages.list(keep.id)).data) == 1


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
async def test_malformed_and_unknown_ids(raw: httpx2.AsyncClient, method: str) -> None:
    body = {} if method == "POST" else None
    r = await raw.request(method, "/threads/undefined", json=body)
    assert_error(
        r,
        400,
        param="thread_id",
        contains="Invalid 'thread_id': 'undefined'. Expected an ID that begins with 'thread'.",
    )
    r = await raw.request(method, "/threads/thread_unknown", json=body)
    assert_error(r, 404, contains="thread_unknown")


async def test_malformed_id_through_the_sdk(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as exc:
        await client.beta.threads.retrieve("undefined")
    assert_api_error(exc.value, 400, param="thread_id")


@pytest.mark.parametrize(
    ("body", "param", "contains"),
    [
        ({"messages": "hi"}, "messages", "expected an array"),
        ({"messages": [{"content": "x"}]}, "messages[0].role", "Missing required parameter"),
        ({"messages": [{"role": "user"}]}, "messages[0].content", "Missing required parameter"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages[0].role", "Invalid value: 'system'"),
        ({"messages": [{"role": "user", "content": 7}]}, "messages[0].content", "expected one of a string or an array"),
        ({"messages": [{"role": "user", "content": []}]}, "messages[0].content", "empty array"),
        (
            {"messages": [{"role": "user", "content": "ok"}, {"role": "user", "content": [{"type": "audio"}]}]},
            "messages[1].content[0].type",
            "Invalid value: 'audio'",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "text"}]}]},
            "messages[0].content[0].text",
            "Missing required parameter",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"type": "image_file", "image_file": {"file_id": "file-nope"}}]}
                ]
            },
            "messages[0].content[0].image_file.file_id",
            "file-nope",
        ),
        (
            {"messages": [{"role": "user", "content": "x", "attachments": [{"file_id": "file-nope", "tools": []}]}]},
            "messages[0].attachments[0].file_id",
            "file-nope",
        ),
        (
            {"messages": [{"role": "user", "content": "x", "metadata": {"k": "v" * 513}}]},
            "messages[0].metadata.k",
            "maximum length 512",
        ),
        (
            {"messages": [{"role": "user", "content": "x", "file_ids": []}]},
            "messages[0].file_ids",
            "Unrecognized request argument supplied: file_ids",
        ),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata", "at most 16"),
        (
            {"tool_resources": {"code_interpreter": {"file_ids": ["file-nope"]}}},
            "tool_resources.code_interpreter.file_ids[0]",
            "file-nope",
        ),
        (
            {"tool_resources": {"code_interpreter": {"file_ids": [1]}}},
            "tool_resources.code_interpreter.file_ids[0]",
            "expected a string",
        ),
        ({"tool_resources": "all"}, "tool_resources", "expected an object"),
        ({"assistant_id": "asst_x"}, "assistant_id", "Unrecognized request argument supplied: assistant_id"),
    ],
)
async def test_invalid_create_stores_nothing(
    raw: httpx2.AsyncClient, settings: Settings, body: dict[str, Any], param: str, contains: str
) -> None:
    assert_error(await raw.post("/threads", json=body), 400, param=param, contains=contains)
    assert db_count(settings, "threads") == 0
    assert db_count(settings, "messages") == 0


async def test_second_message_failing_rolls_back_the_first(client: openai.AsyncOpenAI, settings: Settings) -> None:
    with pytest.raises(openai.BadRequestError) as exc:
        await client.beta.threads.create(
            messages=[
                {"role": "user", "content": "fine"},
                {"role": "user", "content": "x", "attachments": [{"file_id": "file-gone", "tools": []}]},
            ]
        )
    assert_api_error(exc.value, 400, param="messages[1].attachments[0].file_id")
    assert db_count(settings, "threads") == 0 and db_count(settings, "messages") == 0


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"metadata": {"k": 1}}, "metadata.k"),
        ({"metadata": {"k" * 65: "v"}}, "metadata"),
        (
            {"tool_resources": {"code_interpreter": {"file_ids": ["file-nope"]}}},
            "tool_resources.code_interpreter.file_ids[0]",
        ),
        (
            {"tool_resources": {"file_search": {"vector_store_ids": ["a", "b"]}}},
            "tool_resources.file_search.vector_store_ids",
        ),
        ({"messages": []}, "messages"),
    ],
)
async def test_rejected_modify_changes_nothing(
    client: openai.AsyncOpenAI, raw: httpx2.AsyncClient, body: dict[str, Any], param: str
) -> None:
    f = await make_file(client)
    thread = await client.beta.threads.create(
        metadata={"keep": "me"}, tool_resources={"code_interpreter": {"file_ids": [f.id]}}
    )
    _, before = await wire(client.beta.threads.with_raw_response.retrieve(thread.id))
    assert_error(await raw.post(f"/threads/{thread.id}", json=body), 400, param=param)
    _, after = await wire(client.beta.threads.with_raw_response.retrieve(thread.id))
    assert after == before
