"""``client.responses.compact``: the user's messages kept, the rest replaced by one compaction item whose summary
the model wrote; the compacted output works as the next request's input (the model sees the summary), by
``input`` or along ``previous_response_id``; bad input is a 400 and nothing is stored."""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import pytest
from openai.types.responses import CompactedResponse

from assistantd.backends.scripted import Say, ScriptedBackend
from assistantd.responses import _compacted
from tests._support import assert_error, db_count
from tests.responses.conftest import MODEL, texts

pytestmark = pytest.mark.anyio

SUMMARY = "Launch is on Tuesday; support is told first."


async def test_compact_input_then_continue(client: openai.AsyncOpenAI, backend: ScriptedBackend, settings: Any) -> None:
    backend.add(Say(SUMMARY), Say("Tuesday."))
    raw_response = await client.responses.with_raw_response.compact(
        model=MODEL,
        prompt_cache_key="k",
        input=[
            {"type": "message", "role": "user", "content": "We agreed to launch on Tuesday and notify support first."},
            {"type": "message", "role": "assistant", "content": "Understood: Tuesday, support first."},
            {"type": "function_call", "call_id": "call_1", "name": "notify", "arguments": '{"team":"support"}'},
            {"type": "function_call_output", "call_id": "call_1", "output": "sent"},
        ],
    )
    compacted = raw_response.parse()
    assert isinstance(compacted, CompactedResponse) and compacted.object == "response.compaction"
    assert [i.type for i in compacted.output] == ["message", "compaction"]
    assert compacted.usage.total_tokens > 0
    body = raw_response.http_response.json()
    assert body["output"][0]["role"] == "user" and body["output"][0]["content"][0]["text"].startswith("We agreed")
    # The summarizer saw the whole context as a transcript, tool calls included.
    transcript = backend.requests[0].messages[-1].content
    assert isinstance(transcript, str) and "notify" in transcript and "sent" in transcript
    assert db_count(settings, "runs") == 0  # nothing stored

    # A client sends the compacted output back as the start of its next input.
    answer = await client.responses.create(
        model=MODEL, input=[*body["output"], {"role": "user", "content": "When do we launch?"}]
    )
    assert answer.output_text == "Tuesday."
    seen = texts(backend.requests[-1].messages)
    assert seen[0][1].startswith("We agreed")
    assert seen[1][0] == "user" and SUMMARY in seen[1][1]
    assert seen[-1] == ("user", "When do we launch?")
    listed = await client.responses.input_items.list(answer.id, order="asc")
    assert [i.type for i in listed.data] == ["message", "compaction", "message"]


async def test_compact_along_previous_response_id(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("first answer"), Say(SUMMARY))
    first = await client.responses.create(model=MODEL, input="remember the launch is Tuesday")
    compacted = await client.responses.compact(model=MODEL, previous_response_id=first.id)
    assert [i.type for i in compacted.output] == ["message", "compaction"]
    assert "first answer" in str(backend.requests[-1].messages[-1].content)


async def test_compaction_from_elsewhere_is_kept_not_shown(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    """Another server's compaction (OpenAI's is encrypted) cannot be read here: kept in the input, not sent."""
    backend.add(Say("ok"))
    response = await client.responses.create(
        model=MODEL,
        input=[
            {"type": "compaction", "id": "cmp_x", "encrypted_content": "gAAAAABpM0Yj-opaque="},
            {"role": "user", "content": "hi"},
        ],
    )
    assert response.output_text == "ok"
    assert texts(backend.requests[-1].messages) == [("user", "hi")]


def test_codec_refuses_what_it_did_not_make() -> None:
    assert _compacted.summary_of(_compacted.encode("a summary")) == "a summary"
    assert _compacted.summary_of("gAAAAABpM0Yj") is None
    assert _compacted.summary_of(_compacted.PREFIX + "!!!not base64") is None


async def test_bad_input(raw: httpx2.AsyncClient, settings: Any) -> None:
    r = await raw.post("/responses/compact", json={"input": [{"role": "user", "content": "x"}]})
    assert_error(r, 400, param="model", contains="model")
    r = await raw.post("/responses/compact", json={"model": MODEL, "input": []})
    assert_error(r, 400, param="input")
    r = await raw.post("/responses/compact", json={"model": MODEL, "previous_response_id": "resp_missing"})
    assert_error(r, 400, param="previous_response_id", code="previous_response_not_found")
    assert db_count(settings, "runs") == 0
