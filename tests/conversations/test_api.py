"""The Conversations API through the official client, and one id space with the Assistants API: a thread is a
conversation (one row, one id), continued through either API, with every item in order in both views."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2
import openai
import pytest

from assistantd.backends.scripted import Call, Say, ScriptedBackend
from tests._support import assert_error, db_count
from tests.responses.conftest import MODEL, WEATHER, texts

pytestmark = pytest.mark.anyio


async def _wait_run(client: openai.AsyncOpenAI, thread_id: str, run_id: str) -> Any:
    for _ in range(400):
        run = await client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        if run.status not in ("queued", "in_progress", "cancelling"):
            return run
        await asyncio.sleep(0.02)
    raise AssertionError("run did not settle")


# --- the Conversations API ------------------------------------------------------------------------------


async def test_create_retrieve_update_delete(client: openai.AsyncOpenAI, settings: Any) -> None:
    conv = await client.conversations.create(
        items=[{"type": "message", "role": "user", "content": "hello"}], metadata={"topic": "demo"}
    )
    assert conv.id.startswith("conv_") and conv.object == "conversation" and conv.metadata == {"topic": "demo"}
    again = await client.conversations.retrieve(conv.id)
    assert again.model_dump() == conv.model_dump()
    updated = await client.conversations.update(conv.id, metadata={"topic": "other"})
    assert updated.metadata == {"topic": "other"}
    deleted = await client.conversations.delete(conv.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (conv.id, "conversation.deleted", True)
    with pytest.raises(openai.NotFoundError):
        await client.conversations.retrieve(conv.id)
    with pytest.raises(openai.NotFoundError):
        await client.beta.threads.retrieve(conv.id)
    with pytest.raises(openai.NotFoundError):
        await client.conversations.items.list(conv.id)
    assert db_count(settings, "messages") == 1  # deleting a conversation keeps its items, as OpenAI does


async def test_items_create_list_retrieve_delete(client: openai.AsyncOpenAI) -> None:
    conv = await client.conversations.create()
    made = await client.conversations.items.create(
        conv.id,
        items=[
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "weather?"}]},
            {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city":"Oslo"}'},
            {"type": "function_call_output", "call_id": "call_1", "output": "rain"},
            # The Agents SDK's session adds the model's answers back as output messages.
            {
                "type": "message",
                "role": "assistant",
                "id": "msg_from_sdk",
                "status": "completed",
                "content": [{"type": "output_text", "text": "It rains.", "annotations": []}],
            },
        ],
    )
    assert [i.type for i in made.data] == ["message", "function_call", "function_call_output", "message"]
    listed = await client.conversations.items.list(conv.id)
    assert [i.id for i in listed.data] == [i.id for i in reversed(made.data)]  # newest first by default
    page = await client.conversations.items.list(conv.id, order="asc", limit=2)
    assert [i.type for i in page.data] == ["message", "function_call"] and page.has_more
    rest = await client.conversations.items.list(conv.id, order="asc", after=page.data[-1].id)
    assert [i.type for i in rest.data] == ["function_call_output", "message"] and not rest.has_more
    everything = [i async for i in client.conversations.items.list(conv.id, limit=1)]  # the SDK pages by last_id
    assert len(everything) == 4
    answer = await client.conversations.items.retrieve("msg_from_sdk", conversation_id=conv.id)
    assert answer.type == "message" and answer.role == "assistant"
    assert answer.content[0].type == "output_text" and answer.content[0].text == "It rains."
    after_delete = await client.conversations.items.delete("msg_from_sdk", conversation_id=conv.id)
    assert after_delete.id == conv.id and after_delete.object == "conversation"
    with pytest.raises(openai.NotFoundError):
        await client.conversations.items.retrieve("msg_from_sdk", conversation_id=conv.id)
    # Only the messages are thread messages.
    messages = await client.beta.threads.messages.list(conv.id, order="asc")
    assert [m.content[0].text.value for m in messages.data] == ["weather?"]  # type: ignore[union-attr]


async def test_list_conversations_extension(client: openai.AsyncOpenAI) -> None:
    made = [await client.conversations.create(metadata={"team": "a" if i % 2 else "b"}) for i in range(5)]
    thread = await client.beta.threads.create(metadata={"team": "a"})
    listed = await client.get("/conversations", cast_to=object, options={"params": {"limit": 3}})
    assert isinstance(listed, dict)
    assert [c["id"] for c in listed["data"]] == [thread.id, made[4].id, made[3].id] and listed["has_more"]
    more = await client.get(
        "/conversations", cast_to=object, options={"params": {"limit": 3, "after": listed["last_id"]}}
    )
    assert isinstance(more, dict)
    assert [c["id"] for c in more["data"]] == [made[2].id, made[1].id, made[0].id] and not more["has_more"]
    team_a = await client.get("/conversations", cast_to=object, options={"params": {"metadata[team]": "a"}})
    assert isinstance(team_a, dict)
    assert [c["id"] for c in team_a["data"]] == [thread.id, made[3].id, made[1].id]
    oldest = await client.get("/conversations", cast_to=object, options={"params": {"order": "asc", "limit": 1}})
    assert isinstance(oldest, dict) and oldest["data"][0]["id"] == made[0].id
    await client.conversations.delete(made[3].id)
    team_a = await client.get("/conversations", cast_to=object, options={"params": {"metadata[team]": "a"}})
    assert isinstance(team_a, dict) and made[3].id not in [c["id"] for c in team_a["data"]]


# --- one id space -----------------------------------------------------------------------------------------


async def test_thread_continued_through_responses_and_back(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    """A thread made through Assistants, continued through Responses, then through Assistants again: every
    message in order in both views, and each model turn sees the whole history."""
    assistant = await client.beta.assistants.create(model=MODEL, instructions="Be brief.")
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "one"}])
    backend.add(Say("A1"), Say("A2"), Say("A3"))
    run = await client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"

    response = await client.responses.create(model=MODEL, conversation=thread.id, input="two")
    assert response.output_text == "A2" and response.conversation is not None
    assert response.conversation.id == thread.id
    assert texts(backend.requests[-1].messages) == [("user", "one"), ("assistant", "A1"), ("user", "two")]

    await client.beta.threads.messages.create(thread.id, role="user", content="three")
    run = await client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    history = [(m.role, m.content) for m in backend.requests[-1].messages if m.role != "system"]
    assert history == [("user", "one"), ("assistant", "A1"), ("user", "two"), ("assistant", "A2"), ("user", "three")]

    expected = ["one", "A1", "two", "A2", "three", "A3"]
    messages = await client.beta.threads.messages.list(thread.id, order="asc")
    assert [m.content[0].text.value for m in messages.data] == expected  # type: ignore[union-attr]
    assert [m.role for m in messages.data] == ["user", "assistant"] * 3
    items = await client.conversations.items.list(thread.id, order="asc")
    assert [i.content[0].text for i in items.data] == expected  # type: ignore[union-attr]
    assert (await client.conversations.retrieve(thread.id)).id == thread.id


async def test_conversation_read_as_a_thread_and_run(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    conv = await client.conversations.create(items=[{"role": "user", "content": "hi"}], metadata={"k": "v"})
    thread = await client.beta.threads.retrieve(conv.id)
    assert thread.id == conv.id and thread.metadata == {"k": "v"}
    assistant = await client.beta.assistants.create(model=MODEL)
    backend.add(Say("hello back"))
    run = await client.beta.threads.runs.create_and_poll(thread_id=conv.id, assistant_id=assistant.id)
    assert run.status == "completed" and run.thread_id == conv.id
    items = await client.conversations.items.list(conv.id, order="asc")
    assert [(i.role, i.content[0].text) for i in items.data] == [  # type: ignore[union-attr]
        ("user", "hi"),
        ("assistant", "hello back"),
    ]


async def test_tool_calls_of_runs_and_responses_in_the_log(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    """A response's function call and output land in the conversation; a later Assistants run sees them."""
    conv = await client.conversations.create()
    backend.add(Call(("get_weather", '{"city":"Oslo"}')), Say("Rain in Oslo."), Say("Take an umbrella."))
    first = await client.responses.create(model=MODEL, conversation=conv.id, input="weather?", tools=[WEATHER])
    call = first.output[0]
    assert call.type == "function_call"
    second = await client.responses.create(
        model=MODEL,
        conversation=conv.id,
        tools=[WEATHER],
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "rain"}],
    )
    assert second.output_text == "Rain in Oslo."
    items = await client.conversations.items.list(conv.id, order="asc")
    assert [i.type for i in items.data] == ["message", "function_call", "function_call_output", "message"]
    assistant = await client.beta.assistants.create(model=MODEL)
    await client.beta.threads.messages.create(conv.id, role="user", content="so?")
    run = await client.beta.threads.runs.create_and_poll(thread_id=conv.id, assistant_id=assistant.id)
    assert run.status == "completed"
    seen = backend.requests[-1].messages
    assert [m.role for m in seen] == ["user", "assistant", "tool", "assistant", "user"]
    assert seen[1].tool_calls[0].id == call.call_id and seen[2].content == "rain"


async def test_racing_responses_both_land(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    conv = await client.conversations.create(items=[{"role": "user", "content": "start"}])
    backend.add(Say("first answer", delay=0.01), Say("second answer", delay=0.01))
    await asyncio.gather(
        client.responses.create(model=MODEL, conversation=conv.id, input="q1"),
        client.responses.create(model=MODEL, conversation=conv.id, input="q2"),
    )
    items = await client.conversations.items.list(conv.id, order="asc")
    texts = [i.content[0].text for i in items.data]  # type: ignore[union-attr]
    assert len(texts) == 5 and texts[0] == "start"
    # Each response's input and output are one contiguous block.
    blocks = {tuple(texts[1:3]), tuple(texts[3:5])}
    assert {b[0] for b in blocks} == {"q1", "q2"}
    assert {b[1] for b in blocks} == {"first answer", "second answer"}


async def test_active_run_and_responses_coexist(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    """A run waiting for tool outputs holds its thread for runs, not for responses."""
    assistant = await client.beta.assistants.create(
        model=MODEL, tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    )
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "weather?"}])
    backend.add(Call(("get_weather", "{}")), Say("side answer"), Say("It rains."))
    run = await client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    run = await _wait_run(client, thread.id, run.id)
    assert run.status == "requires_action"
    assert run.required_action is not None
    call_id = run.required_action.submit_tool_outputs.tool_calls[0].id
    # The output of the run's call belongs to the run: a clear 400 says where to send it.
    with pytest.raises(openai.BadRequestError) as err:
        await client.responses.create(
            model=MODEL,
            conversation=thread.id,
            input=[{"type": "function_call_output", "call_id": call_id, "output": "rain"}],
        )
    assert "submit_tool_outputs" in err.value.message and run.id in err.value.message
    side = await client.responses.create(model=MODEL, conversation=thread.id, input="meanwhile?")
    assert side.output_text == "side answer"
    with pytest.raises(openai.BadRequestError):
        await client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    run = await client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call_id, "output": "rain"}]
    )
    assert run.status == "completed"
    kinds = [i.type for i in (await client.conversations.items.list(thread.id, order="asc")).data]
    assert kinds == ["message", "message", "message", "function_call", "function_call_output", "message"]


async def test_dangling_call_refuses_a_new_run(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    conv = await client.conversations.create()
    backend.add(Call(("get_weather", '{"city":"Oslo"}')))
    first = await client.responses.create(model=MODEL, conversation=conv.id, input="weather?", tools=[WEATHER])
    call = first.output[0]
    assert call.type == "function_call"
    assistant = await client.beta.assistants.create(model=MODEL)
    with pytest.raises(openai.BadRequestError) as err:
        await client.beta.threads.runs.create(thread_id=conv.id, assistant_id=assistant.id)
    assert call.call_id in err.value.message
    with pytest.raises(openai.BadRequestError) as err:
        await client.responses.create(model=MODEL, conversation=conv.id, input="never mind")
    assert f"No tool output found for function call {call.call_id}" in err.value.message


# --- bad input --------------------------------------------------------------------------------------------


async def test_bad_input(client: openai.AsyncOpenAI, raw: httpx2.AsyncClient, settings: Any) -> None:
    conv = await client.conversations.create()
    before = db_count(settings, "messages"), db_count(settings, "threads")
    many = [{"role": "user", "content": f"m{i}"} for i in range(21)]
    r = await raw.post("/conversations", json={"items": many})
    assert_error(r, 400, param="items")
    r = await raw.post(f"/conversations/{conv.id}/items", json={"items": many})
    assert_error(r, 400, param="items")
    r = await raw.post(f"/conversations/{conv.id}/items", json={"items": [{"type": "teleport", "to": "mars"}]})
    assert_error(r, 400, param="items[0].type")
    dup = [{"type": "message", "role": "user", "id": "msg_same", "content": "a"}] * 2
    r = await raw.post(f"/conversations/{conv.id}/items", json={"items": dup})
    assert_error(r, 400, param="items[1].id")
    r = await raw.post("/conversations", json={"metadata": {f"k{i}": "v" for i in range(17)}})
    assert_error(r, 400, param="metadata")
    r = await raw.post("/conversations", json={"metadata": {"k": "v" * 513}})
    assert_error(r, 400, param="metadata.k")
    assert (db_count(settings, "messages"), db_count(settings, "threads")) == before  # nothing stored
    await client.conversations.items.create(
        conv.id, items=[{"type": "message", "role": "user", "id": "msg_x", "content": "a"}]
    )
    r = await raw.post(
        f"/conversations/{conv.id}/items",
        json={"items": [{"type": "message", "role": "user", "id": "msg_x", "content": "b"}]},
    )
    assert_error(r, 400, param="items[0].id")
    r = await raw.get("/conversations/bogus")
    assert_error(r, 400, param="conversation_id", code="invalid_value")
    r = await raw.get("/conversations/conv_missing")
    assert_error(r, 404, param="conversation_id")
    r = await raw.post("/responses", json={"model": MODEL, "input": "x", "conversation": "conv_missing"})
    assert_error(r, 404, param="conversation")
    r = await raw.post(
        "/responses", json={"model": MODEL, "input": "x", "conversation": conv.id, "previous_response_id": "resp_1"}
    )
    assert_error(r, 400, param="conversation", contains="Mutually exclusive")
    await client.conversations.delete(conv.id)
    r = await raw.post("/responses", json={"model": MODEL, "input": "x", "conversation": {"id": conv.id}})
    assert_error(r, 404, param="conversation")
    r = await raw.post(f"/conversations/{conv.id}/items", json={"items": [{"role": "user", "content": "late"}]})
    assert_error(r, 404, param="conversation_id")
    assert db_count(settings, "runs") == 0


async def test_include_and_item_json(client: openai.AsyncOpenAI) -> None:
    conv = await client.conversations.create(
        items=[{"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "think"}]}]
    )
    items = await client.conversations.items.list(conv.id, include=["reasoning.encrypted_content"])
    assert items.data[0].type == "reasoning"
    assert json.loads(items.data[0].model_dump_json())["summary"][0]["text"] == "think"
