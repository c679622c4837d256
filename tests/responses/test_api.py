"""POST/GET/DELETE /v1/responses through the official client, with the model scripted: the Response object
(every required field, validated by the SDK's own type), input shapes, state along ``previous_response_id``
(a tree, instructions not inherited), the function tool loop (by chain and by full replay), ``text.format``,
``store: false``, limits and failures, delete, input items and input tokens, and the lenient policy.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx2
import openai
import pytest
from openai.types.responses import Response
from pydantic import BaseModel

from assistantd import Settings
from assistantd.backends.base import UpstreamError
from assistantd.backends.scripted import Call, Fail, Say, ScriptedBackend
from tests._support import assert_api_error, db_count, wire
from tests.responses.conftest import MODEL, TIME, WEATHER, said, texts

REQUIRED = {
    "id",
    "object",
    "created_at",
    "model",
    "output",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "temperature",
    "top_p",
    "instructions",
    "metadata",
    "error",
    "incomplete_details",
}
"""The Response fields OpenAI always sends (spec responses.md §5), and Open Responses' extra ones."""
OPEN_RESPONSES_REQUIRED = {
    "presence_penalty",
    "frequency_penalty",
    "top_logprobs",
    "store",
    "background",
    "service_tier",
    "text",
    "completed_at",
    "safety_identifier",
    "prompt_cache_key",
}


async def create(client: openai.AsyncOpenAI, **kw: Any) -> tuple[Response, dict[str, Any]]:
    """``responses.create`` and the raw JSON it came from (validated against the SDK's Response type)."""
    kw.setdefault("model", MODEL)
    parsed, body = await wire(client.responses.with_raw_response.create(**kw))
    Response.model_validate(body)
    return parsed, body


# --- create ---------------------------------------------------------------------------------------------


async def test_string_input_returns_a_whole_response(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("Hello there, friend"))
    r, body = await create(client, input="Say hello")
    missing = (REQUIRED | OPEN_RESPONSES_REQUIRED) - set(body)
    assert not missing, missing
    assert body["id"].startswith("resp_") and body["object"] == "response"
    assert isinstance(body["created_at"], int) and body["completed_at"] >= body["created_at"]
    assert body["status"] == "completed" and body["model"] == MODEL
    assert body["error"] is None and body["incomplete_details"] is None
    assert body["tools"] == [] and body["tool_choice"] == "auto" and body["parallel_tool_calls"] is True
    assert body["store"] is True and body["background"] is False and body["previous_response_id"] is None
    assert "output_text" not in body, "output_text is computed by the SDK, never sent"
    [message] = body["output"]
    assert message["type"] == "message" and message["id"].startswith("msg_")
    assert message["role"] == "assistant" and message["status"] == "completed"
    assert message["content"] == [
        {"type": "output_text", "text": "Hello there, friend", "annotations": [], "logprobs": []}
    ]
    assert r.output_text == "Hello there, friend"
    usage = body["usage"]
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["input_tokens_details"] == {"cached_tokens": 0, "cache_write_tokens": 0}
    assert usage["output_tokens_details"] == {"reasoning_tokens": 0}
    assert texts(backend.requests[-1].messages) == [("user", "Say hello")]
    got, again = await wire(client.responses.with_raw_response.retrieve(r.id))
    assert again == body and got.output_text == r.output_text


async def test_easy_messages_and_typed_items(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("ok"))
    r, _ = await create(
        client,
        input=[
            {"role": "developer", "content": "Answer briefly."},
            {"role": "user", "content": "first question"},
            {
                "type": "message",
                "id": f"msg_{uuid.uuid4().hex}",  # a client-made id, as Codex sends
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": "first answer", "annotations": []}],
            },
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "second question"}]},
        ],
    )
    assert r.status == "completed" and r.output_text == "ok"
    assert texts(backend.requests[-1].messages) == [
        ("system", "Answer briefly."),
        ("user", "first question"),
        ("assistant", "first answer"),
        ("user", "second question"),
    ]


async def test_instructions_metadata_and_sampling_are_echoed_and_applied(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    backend.add(Say("yes"))
    r, body = await create(
        client, input="hi", instructions="Be terse.", metadata={"k": "v"}, temperature=0.3, top_p=0.8
    )
    assert body["instructions"] == "Be terse." and body["metadata"] == {"k": "v"}
    assert body["temperature"] == 0.3 and body["top_p"] == 0.8
    sent = backend.requests[-1]
    assert texts(sent.messages) == [("system", "Be terse."), ("user", "hi")]
    assert sent.temperature == 0.3 and sent.top_p == 0.8
    assert (await client.responses.retrieve(r.id)).metadata == {"k": "v"}


# --- previous_response_id -------------------------------------------------------------------------------


async def test_chain_of_three_sees_its_ancestors_and_not_their_instructions(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    backend.add(Say("A1"), Say("A2"), Say("A3"))
    r1, _ = await create(client, input="Q1", instructions="first instructions")
    r2, _ = await create(client, input="Q2", previous_response_id=r1.id)
    r3, body = await create(client, input="Q3", previous_response_id=r2.id, instructions="third instructions")
    assert body["previous_response_id"] == r2.id and r3.output_text == "A3"
    assert texts(backend.requests[1].messages) == [("user", "Q1"), ("assistant", "A1"), ("user", "Q2")]
    assert (await client.responses.retrieve(r2.id)).instructions is None
    assert texts(backend.requests[2].messages) == [
        ("system", "third instructions"),
        ("user", "Q1"),
        ("assistant", "A1"),
        ("user", "Q2"),
        ("assistant", "A2"),
        ("user", "Q3"),
    ]


async def test_two_children_of_one_parent_each_see_only_their_own_branch(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    backend.add(Say("root answer"), Say("left answer"), Say("right answer"), Say("left again"))
    root, _ = await create(client, input="root")
    left, _ = await create(client, input="left", previous_response_id=root.id)
    right, _ = await create(client, input="right", previous_response_id=root.id)
    assert said(backend.requests[2].messages) == ["root", "right"]
    await create(client, input="left 2", previous_response_id=left.id)
    seen = texts(backend.requests[3].messages)
    assert seen == [
        ("user", "root"),
        ("assistant", "root answer"),
        ("user", "left"),
        ("assistant", "left answer"),
        ("user", "left 2"),
    ]
    assert right.output_text == "right answer"


async def test_unknown_previous_response_is_a_400(client: openai.AsyncOpenAI, settings: Settings) -> None:
    with pytest.raises(openai.BadRequestError) as exc:
        await client.responses.create(model=MODEL, input="hi", previous_response_id="resp_nope")
    error = assert_api_error(exc.value, 400, param="previous_response_id")
    assert error["code"] == "previous_response_not_found" and "resp_nope" in error["message"]
    assert db_count(settings, "runs", "WHERE kind = 'response'") == 0


async def test_deleted_parent_is_a_400(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("gone soon"))
    parent, _ = await create(client, input="hi")
    await client.responses.delete(parent.id)
    with pytest.raises(openai.BadRequestError) as exc:
        await client.responses.create(model=MODEL, input="and now?", previous_response_id=parent.id)
    assert assert_api_error(exc.value, 400, param="previous_response_id")["code"] == "previous_response_not_found"


async def test_store_false_is_not_retrievable_nor_a_parent(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    backend.add(Say("ephemeral"))
    r, body = await create(client, input="hi", store=False)
    assert body["store"] is False and r.output_text == "ephemeral"
    with pytest.raises(openai.NotFoundError) as exc:
        await client.responses.retrieve(r.id)
    assert_api_error(exc.value, 404, param="response_id")
    with pytest.raises(openai.NotFoundError):
        await client.responses.input_items.list(r.id)
    with pytest.raises(openai.BadRequestError) as bad:
        await client.responses.create(model=MODEL, input="more", previous_response_id=r.id)
    assert assert_api_error(bad.value, 400, param="previous_response_id")["code"] == "previous_response_not_found"


# --- function tools -------------------------------------------------------------------------------------


async def test_function_tools_are_echoed_flat_and_strict_by_default(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    backend.add(Say("no call needed"))
    loose = {**TIME, "strict": False}
    _, body = await create(client, input="hi", tools=[WEATHER, loose])
    assert body["tools"][0] == {**WEATHER, "strict": True}
    assert body["tools"][1]["strict"] is False and body["tools"][1]["name"] == "get_time"
    offered = backend.requests[-1].tools
    assert [(t.name, t.strict) for t in offered] == [("get_weather", True), ("get_time", False)]
    assert offered[0].parameters == WEATHER["parameters"]


async def test_function_call_item_then_loop_by_previous_response_id(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    backend.add(Call(("get_weather", '{"city": "Paris"}')), Say("It is sunny in Paris."))
    first, body = await create(client, input="Weather in Paris?", tools=[WEATHER])
    assert first.status == "completed"
    [call] = body["output"]
    assert call["type"] == "function_call" and call["id"].startswith("fc_")
    assert call["call_id"] and call["name"] == "get_weather" and call["status"] == "completed"
    assert json.loads(call["arguments"]) == {"city": "Paris"}
    second, _ = await create(
        client,
        previous_response_id=first.id,
        tools=[WEATHER],
        input=[{"type": "function_call_output", "call_id": call["call_id"], "output": '{"sky": "sunny"}'}],
    )
    assert second.output_text == "It is sunny in Paris."
    messages = backend.requests[-1].messages
    assert [m.role for m in messages] == ["user", "assistant", "tool"]
    assert messages[1].tool_calls[0].id == call["call_id"] and messages[1].tool_calls[0].name == "get_weather"
    assert messages[2].tool_call_id == call["call_id"] and messages[2].content == '{"sky": "sunny"}'


async def test_loop_by_full_replay_with_client_made_ids_and_store_false(
    client: openai.AsyncOpenAI, backend: ScriptedBackend, settings: Settings
) -> None:
    """What Codex does: store false, then the whole history again, its own ids on every item."""
    backend.add(Call(("get_weather", '{"city": "Oslo"}')), Say("Cold in Oslo."))
    question = {"type": "message", "id": f"msg_{uuid.uuid4().hex}", "role": "user", "content": "Oslo weather?"}
    _, body = await create(client, input=[question], tools=[WEATHER], store=False)
    [call] = body["output"]
    replay = [
        question,
        {
            "type": "function_call",
            "id": call["id"],
            "call_id": call["call_id"],
            "name": call["name"],
            "arguments": call["arguments"],
            "status": "completed",
        },
        {
            "type": "function_call_output",
            "id": f"fco_{uuid.uuid4().hex}",
            "call_id": call["call_id"],
            "output": "-5C",
        },
    ]
    second, _ = await create(client, input=replay, tools=[WEATHER], store=False)
    assert second.output_text == "Cold in Oslo."
    messages = backend.requests[-1].messages
    assert [m.role for m in messages] == ["user", "assistant", "tool"]
    assert messages[2].tool_call_id == call["call_id"] and messages[2].content == "-5C"
    assert db_count(settings, "runs", "WHERE kind = 'response'") == 0, "store false keeps nothing"


async def test_parallel_calls_are_separate_items_answered_together(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    backend.add(
        Call(("get_weather", '{"city": "Rome"}'), ("get_time", '{"tz": "CET"}')),
        Say("Warm, and noon."),
    )
    first, body = await create(client, input="Rome weather and time?", tools=[WEATHER, TIME])
    calls = body["output"]
    assert [c["type"] for c in calls] == ["function_call", "function_call"]
    assert [c["name"] for c in calls] == ["get_weather", "get_time"]
    assert len({c["call_id"] for c in calls}) == 2 and len({c["id"] for c in calls}) == 2
    outputs = [{"type": "function_call_output", "call_id": c["call_id"], "output": c["name"]} for c in calls]
    second, _ = await create(client, previous_response_id=first.id, tools=[WEATHER, TIME], input=outputs)
    assert second.output_text == "Warm, and noon."
    messages = backend.requests[-1].messages
    assert [m.role for m in messages] == ["user", "assistant", "tool", "tool"]
    assert [c.id for c in messages[1].tool_calls] == [c["call_id"] for c in calls]


async def test_output_for_no_call_is_a_400_naming_it(
    client: openai.AsyncOpenAI, backend: ScriptedBackend, settings: Settings
) -> None:
    backend.add(Say("hello"))
    parent, _ = await create(client, input="hi")
    for kw in ({}, {"previous_response_id": parent.id}):
        with pytest.raises(openai.BadRequestError) as exc:
            await client.responses.create(
                model=MODEL,
                input=[{"type": "function_call_output", "call_id": "call_nowhere", "output": "x"}],
                **kw,
            )
        error = assert_api_error(exc.value, 400, param="input[0]")
        assert "call_nowhere" in error["message"]
    assert db_count(settings, "runs", "WHERE kind = 'response'") == 1


@pytest.mark.parametrize(
    ("choice", "sent"),
    [
        ("required", "required"),
        ({"type": "function", "name": "get_time"}, {"type": "function", "function": {"name": "get_time"}}),
        ("none", "none"),
    ],
)
async def test_tool_choice_is_echoed_and_applied(
    client: openai.AsyncOpenAI, backend: ScriptedBackend, choice: Any, sent: Any
) -> None:
    backend.add(Say("plain answer") if choice == "none" else Call(("get_time", '{"tz": "UTC"}')))
    _, body = await create(client, input="time?", tools=[WEATHER, TIME], tool_choice=choice)
    assert body["tool_choice"] == choice
    assert backend.requests[0].tool_choice == sent
    assert body["output"][0]["type"] == ("message" if choice == "none" else "function_call")


# --- text.format -----------------------------------------------------------------------------------------


class City(BaseModel):
    name: str
    population: int


async def test_parse_with_a_pydantic_model(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say('{"name": "Lyon", "population": 520000}'))
    parsed = await client.responses.parse(model=MODEL, input="A French city", text_format=City)
    assert parsed.output_parsed == City(name="Lyon", population=520000)
    fmt = backend.requests[-1].response_format
    assert fmt is not None and fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "City"
    echoed = (await client.responses.retrieve(parsed.id)).text
    assert echoed is not None and echoed.format is not None and echoed.format.type == "json_schema"


async def test_an_answer_off_the_schema_is_retried_once(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say('{"name": "Lyon"}'), Say('{"name": "Lyon", "population": 1}'))
    parsed = await client.responses.parse(model=MODEL, input="A French city", text_format=City)
    assert parsed.status == "completed" and parsed.output_parsed == City(name="Lyon", population=1)
    assert len(parsed.output) == 1, "the rejected answer is not in the output"
    assert len(backend.requests) == 2
    retry = texts(backend.requests[1].messages)
    assert ("assistant", '{"name": "Lyon"}') in retry and retry[-1][0] == "user"


async def test_an_answer_off_the_schema_twice_fails(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("not json"), Say("still not json"))
    _, body = await create(client, input="A French city", text={"format": {"type": "json_object"}})
    assert body["status"] == "failed" and body["error"]["code"] == "server_error"
    assert body["output"] == [], "a rejected answer is not output"
    backend.add(Say("not json"), Say("still not json"))
    r = await client.responses.parse(model=MODEL, input="A French city", text_format=City)
    assert r.status == "failed" and r.output == []


async def test_json_object(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say('{"ok": true}'))
    r, body = await create(client, input="JSON please", text={"format": {"type": "json_object"}})
    assert json.loads(r.output_text) == {"ok": True}
    assert body["text"]["format"] == {"type": "json_object"}
    assert backend.requests[-1].response_format == {"type": "json_object"}


# --- limits and failures --------------------------------------------------------------------------------


async def test_max_output_tokens_cut_short_is_incomplete(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("a long answer cut", finish_reason="length"))
    r, body = await create(client, input="write a novel", max_output_tokens=16)
    assert body["status"] == "incomplete" and body["incomplete_details"] == {"reason": "max_output_tokens"}
    assert body["max_output_tokens"] == 16 and backend.requests[-1].max_tokens == 16
    assert r.output_text == "a long answer cut" and body["output"][0]["status"] == "incomplete"


@pytest.mark.settings(upstream_context_window=64)
async def test_truncation_disabled_with_oversized_input_is_a_400(
    client: openai.AsyncOpenAI, backend: ScriptedBackend, settings: Settings
) -> None:
    big = " ".join(f"word{i}" for i in range(400))
    with pytest.raises(openai.BadRequestError) as exc:
        await client.responses.create(model=MODEL, input=big)
    assert_api_error(exc.value, 400, param="input")
    assert backend.requests == [] and db_count(settings, "runs", "WHERE kind = 'response'") == 0
    backend.add(Say("short enough"))
    r, _ = await create(
        client, input=[{"role": "user", "content": big}, {"role": "user", "content": "tl;dr"}], truncation="auto"
    )
    assert r.status == "completed" and said(backend.requests[-1].messages) == ["tl;dr"]


async def test_upstream_failure_is_a_failed_response(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Fail(UpstreamError("upstream exploded", retryable=False)))
    r, body = await create(client, input="hi")
    assert body["status"] == "failed" and body["error"]["code"] == "server_error"
    assert body["error"]["message"] and body["completed_at"] is None and r.output == []


# --- delete, input items, input tokens ------------------------------------------------------------------


async def test_delete_returns_the_marker_then_404(
    client: openai.AsyncOpenAI, backend: ScriptedBackend, raw: httpx2.AsyncClient, settings: Settings
) -> None:
    backend.add(Say("bye"))
    r, _ = await create(client, input="hi")
    resp = await raw.delete(f"/responses/{r.id}", headers={"Accept": "*/*"})
    assert resp.status_code == 200 and resp.json() == {"id": r.id, "object": "response", "deleted": True}
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(r.id)
    with pytest.raises(openai.NotFoundError) as exc:
        await client.responses.delete(r.id)
    assert_api_error(exc.value, 404, param="response_id")
    assert db_count(settings, "response_items", "WHERE response_id = ?", r.id) == 0


async def test_sdk_delete_returns_none(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("bye"))
    r, _ = await create(client, input="hi")
    await client.responses.delete(r.id)  # the SDK sends Accept: */* and ignores the body
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(r.id)


def text_of(item: Any) -> str:
    """The text of an input message item as the SDK parsed it."""
    return str(item.content[0].text)


async def test_input_items_pages_as_the_sdk_pages(
    client: openai.AsyncOpenAI, backend: ScriptedBackend, raw: httpx2.AsyncClient
) -> None:
    backend.add(Say("done"))
    words = [f"m{i}" for i in range(7)]
    r, _ = await create(client, input=[{"role": "user", "content": w} for w in words])
    page = await client.responses.input_items.list(r.id, limit=3)
    assert [text_of(i) for i in page.data] == ["m6", "m5", "m4"] and page.has_more, "order is desc by default"
    body = (await raw.get(f"/responses/{r.id}/input_items", params={"limit": 3})).json()
    assert body["object"] == "list" and body["has_more"] is True
    assert body["first_id"] == page.data[0].id and body["last_id"] == page.data[-1].id
    every = [text_of(i) async for i in client.responses.input_items.list(r.id, limit=3)]
    assert every == words[::-1], "the SDK's auto-pagination (after = data[-1].id) sees every item once"
    asc = await client.responses.input_items.list(r.id, order="asc", limit=5)
    assert [text_of(i) for i in asc.data] == words[:5] and asc.has_more
    rest = await client.responses.input_items.list(r.id, order="asc", after=asc.data[-1].id)
    assert [text_of(i) for i in rest.data] == words[5:] and not rest.has_more
    for item in body["data"]:
        assert item["id"] and item["type"] == "message" and item["status"] == "completed", item


async def test_input_items_are_this_responses_own(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("one"), Say("two"))
    r1, _ = await create(client, input="first")
    r2, _ = await create(client, input="second", previous_response_id=r1.id)
    items = (await client.responses.input_items.list(r2.id)).data
    assert [text_of(i) for i in items] == ["second"]


async def test_input_tokens_count(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    short = await client.responses.input_tokens.count(model=MODEL, input="hi")
    long = await client.responses.input_tokens.count(model=MODEL, input="hi " * 200, instructions="Be terse.")
    assert short.object == "response.input_tokens" and 0 < short.input_tokens < long.input_tokens
    backend.add(Say("answer"))
    r, _ = await create(client, input="hi")
    chained = await client.responses.input_tokens.count(model=MODEL, input="more", previous_response_id=r.id)
    assert chained.input_tokens > short.input_tokens
    assert len(backend.requests) == 1, "counting calls no model"


# --- lenient policy -------------------------------------------------------------------------------------


async def test_unknown_fields_and_tool_types_are_accepted_and_not_offered(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    backend.add(Say("fine"))
    namespace = {
        "type": "namespace",
        "name": "multi_agent_v1",
        "description": "Sub-agents",
        "tools": [{"type": "function", "name": "spawn"}],
    }
    web = {"type": "web_search", "external_web_access": False}
    r, body = await create(
        client,
        input="hi",
        tools=[WEATHER, namespace, web],
        include=["reasoning.encrypted_content"],
        prompt_cache_key="k",
        reasoning={"summary": "auto"},
        extra_body={"client_metadata": {"session": "s1"}, "context_management": [{"type": "x"}]},
    )
    assert r.status == "completed"
    assert [t.name for t in backend.requests[-1].tools] == ["get_weather"]
    assert [t["type"] for t in body["tools"]] == ["function", "namespace", "web_search"]
