"""Streamed responses (``stream: true``): OpenAI's event order (spec responses.md §6), every event valid against
the SDK's types, ``sequence_number`` from 0 without gaps, the bytes ending ``data: [DONE]``, and the SDK's own
``responses.stream()`` helper reading them to a final response equal to what retrieve returns. The last tests
run under a real uvicorn (``served``), where deltas must arrive while the model is still answering.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx2
import openai
import pytest

from assistantd.backends.base import UpstreamError
from assistantd.backends.scripted import Call, Fail, Say, ScriptedBackend
from tests._responses_sse import parse_sse, validate_response_events
from tests.responses.conftest import MODEL, TIME, WEATHER

TEXT_ORDER = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]
CALL_ORDER = [
    "response.output_item.added",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.output_item.done",
]


def squeeze(types: list[str]) -> list[str]:
    """Event types with runs of the same delta folded into one (so orders compare regardless of chunking)."""
    out: list[str] = []
    for t in types:
        if not (out and out[-1] == t and t.endswith(".delta")):
            out.append(t)
    return out


async def stream_raw(raw: httpx2.AsyncClient, **body: Any) -> tuple[bytes, list[dict[str, Any]]]:
    body.setdefault("model", MODEL)
    resp = await raw.post("/responses", json={**body, "stream": True})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/event-stream")
    return resp.content, parse_sse(resp.content)


async def test_text_stream_is_openais_sequence(
    client: openai.AsyncOpenAI, raw: httpx2.AsyncClient, backend: ScriptedBackend
) -> None:
    backend.add(Say("one two three"))
    body, events = await stream_raw(raw, input="count")
    assert body.endswith(b"data: [DONE]\n\n")
    summary = validate_response_events(events)
    assert squeeze(summary.types) == TEXT_ORDER
    assert [e["delta"] for e in events if e["type"] == "response.output_text.delta"] == ["one", " two", " three"]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    created = events[0]["response"]
    assert created["status"] == "in_progress" and created["output"] == [] and created["usage"] is None
    added = next(e for e in events if e["type"] == "response.output_item.added")["item"]
    assert added["status"] == "in_progress" and added["content"] == []
    part = next(e for e in events if e["type"] == "response.content_part.added")["part"]
    assert part == {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    final = summary.final
    assert final["status"] == "completed" and final["usage"]["output_tokens"] > 0
    assert final["output"][0]["content"][0]["text"] == "one two three"
    stored = (await raw.get(f"/responses/{final['id']}")).json()
    assert stored == final, "response.completed carries what retrieve returns"


async def test_function_call_stream(raw: httpx2.AsyncClient, backend: ScriptedBackend) -> None:
    backend.add(Call(("get_weather", '{"city": "Paris"}')))
    _, events = await stream_raw(raw, input="weather?", tools=[WEATHER])
    summary = validate_response_events(events)
    assert squeeze(summary.types) == ["response.created", "response.in_progress", *CALL_ORDER, "response.completed"]
    added = next(e for e in events if e["type"] == "response.output_item.added")["item"]
    assert added["type"] == "function_call" and added["arguments"] == "" and added["status"] == "in_progress"
    assert added["id"].startswith("fc_") and added["call_id"] and added["name"] == "get_weather"
    done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
    assert json.loads(done["arguments"]) == {"city": "Paris"} and done["name"] == "get_weather"
    [item] = summary.final["output"]
    assert item["call_id"] == added["call_id"] and item["status"] == "completed"


async def test_parallel_calls_stream_as_contiguous_items(raw: httpx2.AsyncClient, backend: ScriptedBackend) -> None:
    backend.add(Call(("get_weather", '{"city": "Rome"}'), ("get_time", '{"tz": "CET"}')))
    _, events = await stream_raw(raw, input="both", tools=[WEATHER, TIME])
    summary = validate_response_events(events)
    assert [i["name"] for i in summary.final["output"]] == ["get_weather", "get_time"]
    for index in (0, 1):  # each item's own events in order (the two items' events may interleave)
        assert squeeze([e["type"] for e in events if e.get("output_index") == index]) == CALL_ORDER


async def test_upstream_failure_ends_the_stream_with_response_failed(
    raw: httpx2.AsyncClient, backend: ScriptedBackend
) -> None:
    backend.add(Fail(UpstreamError("boom", retryable=False), text_first="partial answer"))
    body, events = await stream_raw(raw, input="hi")
    summary = validate_response_events(events)
    assert summary.types[-1] == "response.failed" and body.endswith(b"data: [DONE]\n\n")
    final = summary.final
    assert final["status"] == "failed" and final["error"]["code"] == "server_error"
    assert all(i["status"] != "in_progress" for i in summary.done_items)


async def test_max_output_tokens_ends_with_response_incomplete(
    raw: httpx2.AsyncClient, backend: ScriptedBackend
) -> None:
    backend.add(Say("cut short here", finish_reason="length"))
    _, events = await stream_raw(raw, input="hi", max_output_tokens=16)
    summary = validate_response_events(events)
    assert summary.types[-1] == "response.incomplete"
    assert summary.final["incomplete_details"] == {"reason": "max_output_tokens"}
    assert summary.done_items[0]["status"] == "incomplete"


async def test_json_schema_stream_shows_only_the_valid_answer(
    raw: httpx2.AsyncClient, backend: ScriptedBackend
) -> None:
    backend.add(Say("not json at all"), Say('{"ok": true}'))
    fmt = {
        "type": "json_schema",
        "name": "Ok",
        "strict": True,
        "schema": {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]},
    }
    _, events = await stream_raw(raw, input="json", text={"format": fmt})
    summary = validate_response_events(events)
    texts = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert "not json at all" not in "".join(texts)
    assert [i["content"][0]["text"] for i in summary.final["output"]] == ['{"ok": true}']


async def test_sdk_stream_helper_text(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("Hello from the stream"))
    deltas: list[str] = []
    async with client.responses.stream(model=MODEL, input="hi") as stream:
        async for event in stream:
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        final = await stream.get_final_response()
    assert "".join(deltas) == "Hello from the stream" == final.output_text
    stored = await client.responses.retrieve(final.id)
    assert stored.to_dict() == _unparsed(final.to_dict())


async def test_sdk_stream_helper_function_call_then_loop(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Call(("get_weather", '{"city": "Oslo"}')), Say("Cold."))
    async with client.responses.stream(model=MODEL, input="weather", tools=[WEATHER]) as stream:  # type: ignore[list-item]
        final = await stream.get_final_response()
    [call] = final.output
    assert call.type == "function_call" and json.loads(call.arguments) == {"city": "Oslo"}
    assert (await client.responses.retrieve(final.id)).to_dict() == _unparsed(final.to_dict())
    async with client.responses.stream(
        model=MODEL,
        previous_response_id=final.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "-3C"}],
        tools=[WEATHER],  # type: ignore[list-item]
    ) as stream:
        answer = await stream.get_final_response()
    assert answer.output_text == "Cold."


async def test_sdk_create_stream_true_yields_typed_events(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("typed events"))
    stream = await client.responses.create(model=MODEL, input="hi", stream=True)
    events = [e.to_dict() async for e in stream]
    summary = validate_response_events(events)
    assert summary.final["status"] == "completed"


def _unparsed(value: Any) -> Any:
    """The SDK's parsed output without the fields its stream helper adds (``parsed``, ``parsed_arguments``)."""
    if isinstance(value, dict):
        return {k: _unparsed(v) for k, v in value.items() if k not in ("parsed", "parsed_arguments")}
    if isinstance(value, list):
        return [_unparsed(v) for v in value]
    return value


# --- over real HTTP -------------------------------------------------------------------------------------


@pytest.mark.e2e
async def test_deltas_arrive_while_the_model_answers(served_raw: httpx2.AsyncClient, backend: ScriptedBackend) -> None:
    backend.add(Say("one two three four five", delay=0.2))
    events: list[dict[str, Any]] = []
    first_delta_at = None
    async with served_raw.stream("POST", "/responses", json={"model": MODEL, "input": "go", "stream": True}) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        body = b""
        async for chunk in resp.aiter_bytes():
            body += chunk
            if first_delta_at is None and b"response.output_text.delta" in body:
                first_delta_at = time.monotonic()
                response_id = parse_sse(body[: body.rindex(b"\n\n") + 2])[0]["response"]["id"]
                now = (await served_raw.get(f"/responses/{response_id}")).json()
                assert now["status"] == "in_progress", "the first delta should arrive while the response runs"
    done_at = time.monotonic()
    assert first_delta_at is not None and done_at - first_delta_at >= 0.6
    events = parse_sse(body)
    validate_response_events(events)
    assert body.endswith(b"data: [DONE]\n\n")


@pytest.mark.e2e
async def test_sdk_stream_helper_over_http(served: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("streamed over uvicorn", delay=0.01), Say("and raw", delay=0.01))
    seen: list[str] = []
    async with served.responses.stream(model=MODEL, input="hi") as stream:
        async for event in stream:
            seen.append(event.type)
        final = await stream.get_final_response()
    assert squeeze(seen) == TEXT_ORDER
    assert final.output_text == "streamed over uvicorn"
    raw_stream = await served.responses.create(model=MODEL, input="hi", stream=True)
    validate_response_events([e.to_dict() async for e in raw_stream])
    assert (await served.responses.retrieve(final.id)).output_text == final.output_text
