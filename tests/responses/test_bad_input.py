"""Bad input on /v1/responses: OpenAI's error envelope, a 400 (never 409 or 5xx) naming the ``param``, and
nothing stored by a rejected request (no run of kind ``response``, no item, nothing sent to the model)."""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import pytest

from assistantd import Settings
from assistantd.backends.scripted import Say, ScriptedBackend
from tests._support import assert_api_error, assert_error, check_envelope, db_count
from tests.responses.conftest import MODEL, WEATHER


def stored(settings: Settings) -> tuple[int, int]:
    return (
        db_count(settings, "runs", "WHERE kind = 'response'"),
        db_count(settings, "response_items"),
    )


async def test_previous_response_id_with_conversation(
    client: openai.AsyncOpenAI, backend: ScriptedBackend, settings: Settings
) -> None:
    backend.add(Say("parent"))
    parent = await client.responses.create(model=MODEL, input="hi")
    before = stored(settings)
    for conversation in ("conv_abc", {"id": "conv_abc"}):
        with pytest.raises(openai.BadRequestError) as exc:
            await client.responses.create(
                model=MODEL,
                input="more",
                previous_response_id=parent.id,
                conversation=conversation,  # type: ignore[arg-type]
            )
        error = assert_api_error(exc.value, 400, param="conversation")
        assert "previous_response_id" in error["message"] and error["type"] == "invalid_request_error"
    assert stored(settings) == before and len(backend.requests) == 1


BAD_FIELDS: list[Any] = [
    ({"temperature": 3}, "temperature"),
    ({"temperature": "1"}, "temperature"),
    ({"top_p": 1.5}, "top_p"),
    ({"max_output_tokens": 5}, "max_output_tokens"),
    ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
    ({"metadata": {"k": "v" * 513}}, "metadata.k"),
    ({"truncation": "sometimes"}, "truncation"),
    ({"include": ["everything"]}, "include[0]"),
    ({"background": True, "store": False}, "background"),
    ({"text": {"format": {"type": "json_schema", "schema": {"type": "object"}}}}, "text.format.name"),
    ({"text": {"format": {"type": "json_schema", "name": "bad name!", "schema": {}}}}, "text.format.name"),
    ({"text": {"format": {"type": "json_schema", "name": "x", "schema": "an object"}}}, "text.format.schema"),
    ({"text": {"format": {"type": "xml"}}}, "text.format.type"),
    ({"tools": [{"type": "function", "parameters": {}}]}, "tools[0].name"),
    ({"tools": [{"type": "function", "name": "has space"}]}, "tools[0].name"),
    ({"input": 42}, "input"),
    ({"input": [{"type": "not_an_item_type"}]}, "input[0].type"),
    ({"input": [{"type": "function_call_output", "call_id": "c"}]}, "input[0].output"),
    ({"input": [{"type": "item_reference", "id": "msg_nowhere"}]}, "input[0].id"),
    ({"input": [{"type": "function_call_output", "call_id": "call_nowhere", "output": "x"}]}, "input[0]"),
    ({"parallel_tool_calls": "yes"}, "parallel_tool_calls"),
    ({"tool_choice": "sometimes"}, "tool_choice"),
    ({"tools": [WEATHER], "tool_choice": {"type": "function", "name": "nope"}}, "tool_choice"),
]


@pytest.mark.parametrize(("extra", "param"), BAD_FIELDS)
async def test_bad_field_is_a_400_naming_it(
    raw: httpx2.AsyncClient, backend: ScriptedBackend, settings: Settings, extra: dict[str, Any], param: str
) -> None:
    body = {"model": MODEL, "input": "hi", **extra}
    for stream in (False, True):
        resp = await raw.post("/responses", json={**body, "stream": stream})
        assert_error(resp, 400, param=param)
        assert resp.headers["content-type"].startswith("application/json"), "a rejected stream is not SSE"
    assert stored(settings) == (0, 0) and backend.requests == []


async def test_a_schema_that_is_not_a_json_schema_is_a_400(
    raw: httpx2.AsyncClient, backend: ScriptedBackend, settings: Settings
) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "bogus"}}}
    fmt = {"type": "json_schema", "name": "Thing", "schema": schema, "strict": True}
    resp = await raw.post("/responses", json={"model": MODEL, "input": "hi", "text": {"format": fmt}})
    assert_error(resp, 400, param="text.format.schema")
    assert stored(settings) == (0, 0) and backend.requests == []


async def test_missing_model_is_a_400(raw: httpx2.AsyncClient, settings: Settings) -> None:
    resp = await raw.post("/responses", json={"input": "hi"})
    assert_error(resp, 400, param="model")
    assert stored(settings) == (0, 0)


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"just a string"'], ids=["broken", "array", "string"])
async def test_a_body_that_is_not_a_json_object_is_a_400(
    raw: httpx2.AsyncClient, settings: Settings, body: bytes
) -> None:
    resp = await raw.post("/responses", content=body, headers={"Content-Type": "application/json"})
    assert resp.status_code == 400, resp.text
    check_envelope(resp.json())
    assert stored(settings) == (0, 0)


async def test_unknown_response_everywhere_is_a_404(raw: httpx2.AsyncClient) -> None:
    for method, path in [
        ("GET", "/responses/resp_nope"),
        ("DELETE", "/responses/resp_nope"),
        ("POST", "/responses/resp_nope/cancel"),
        ("GET", "/responses/resp_nope/input_items"),
    ]:
        resp = await raw.request(method, path)
        assert_error(resp, 404, param="response_id")


@pytest.mark.parametrize(
    ("query", "param"),
    [({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"order": "sideways"}, "order"), ({"after": "x"}, "after")],
)
async def test_bad_input_items_query_is_a_400(
    client: openai.AsyncOpenAI, raw: httpx2.AsyncClient, backend: ScriptedBackend, query: dict[str, Any], param: str
) -> None:
    backend.add(Say("ok"))
    r = await client.responses.create(model=MODEL, input="hi")
    resp = await raw.get(f"/responses/{r.id}/input_items", params=query)
    assert_error(resp, 400, param=param)


async def test_bad_input_tokens_request_is_a_400(raw: httpx2.AsyncClient) -> None:
    resp = await raw.post("/responses/input_tokens", json={"model": MODEL, "input": "hi", "previous_response_id": "x"})
    error = assert_error(resp, 400, param="previous_response_id", code="previous_response_not_found")
    assert "x" in error["message"]
    resp = await raw.post("/responses/input_tokens", json={"model": MODEL, "input": 3})
    assert_error(resp, 400, param="input")


async def test_a_rejected_request_leaves_the_chain_intact(
    client: openai.AsyncOpenAI, backend: ScriptedBackend, raw: httpx2.AsyncClient
) -> None:
    """A 400 on a child does not touch its parent, and the next good child still sees the whole context."""
    backend.add(Say("first answer"), Say("second answer"))
    parent = await client.responses.create(model=MODEL, input="first")
    bad = {"model": MODEL, "input": "x", "previous_response_id": parent.id, "temperature": 9}
    assert_error(await raw.post("/responses", json=bad), 400, param="temperature")
    child = await client.responses.create(model=MODEL, input="second", previous_response_id=parent.id)
    assert child.output_text == "second answer"
    assert [m.content for m in backend.requests[-1].messages] == ["first", "first answer", "second"]
    items = await client.responses.input_items.list(parent.id)
    assert len(items.data) == 1
