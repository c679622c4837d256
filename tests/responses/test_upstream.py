"""Responses on a real OpenAI-compatible upstream on loopback: reasoning text an upstream streams
(vLLM's and DeepSeek's ``reasoning_content``) becomes a ``reasoning`` item before the answer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from asgi_lifespan import LifespanManager

from assistantd import Settings, create_app
from tests._serve import serve_in_thread
from tests.backends._fake_upstream import FakeUpstream, _chunk, stream, text_chunks


@pytest.fixture
def upstream() -> FakeUpstream:
    return FakeUpstream()


@pytest.fixture
def upstream_url(upstream: FakeUpstream) -> Iterator[str]:
    with serve_in_thread(upstream.app(), lifespan="off") as url:
        yield url + "/v1"


@pytest.fixture
async def client(tmp_path: Path, sandbox_dir: Path, upstream_url: str) -> AsyncIterator[openai.AsyncOpenAI]:
    settings = Settings(
        data_dir=tmp_path / "data",
        upstream_base_url=upstream_url,
        code_interpreter_dir=sandbox_dir / tmp_path.name,
        code_interpreter_spare_sessions=0,
    )
    async with LifespanManager(create_app(settings), startup_timeout=30, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield openai.AsyncOpenAI(base_url="http://test/v1", api_key="x", http_client=http, max_retries=0)


def reasoning_chunks(thought: str, *answer: str) -> list[dict[str, Any]]:
    first, *rest = text_chunks(*answer)
    return [first, _chunk({"reasoning_content": thought[:5]}), _chunk({"reasoning_content": thought[5:]}), *rest]


async def test_reasoning_content_becomes_a_reasoning_item(client: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    upstream.scenarios["r1"] = lambda n: stream(reasoning_chunks("Think about the sum.", "4"))
    response = await client.responses.create(model="r1", input="2+2?")
    assert [o.type for o in response.output] == ["reasoning", "message"]
    reasoning = response.output[0]
    assert reasoning.type == "reasoning" and [s.text for s in reasoning.summary] == ["Think about the sum."]
    assert response.output_text == "4"
    # The reasoning is not replayed to the upstream on the next turn; the answer is.
    upstream.scenarios["r1"] = lambda n: stream(text_chunks("8"))
    await client.responses.create(model="r1", input="and 4+4?", previous_response_id=response.id)
    roles = [(m["role"], m.get("content")) for m in upstream.requests[-1]["messages"]]
    assert roles == [("user", "2+2?"), ("assistant", "4"), ("user", "and 4+4?")]


async def test_reasoning_streams_as_summary_events(client: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    upstream.scenarios["r1"] = lambda n: stream(reasoning_chunks("Consider it.", "Yes"))
    types: list[str] = []
    async with client.responses.stream(model="r1", input="ok?") as s:
        async for event in s:
            types.append(event.type)
        final = await s.get_final_response()
    assert types.index("response.reasoning_summary_text.delta") < types.index("response.output_text.delta")
    assert [o.type for o in final.output] == ["reasoning", "message"]


def logprob_chunks(*pieces: str) -> list[dict[str, Any]]:
    """Text chunks carrying ``logprobs.content`` as an OpenAI-compatible upstream streams them when asked."""
    chunks = text_chunks(*pieces)
    for chunk, piece in zip(chunks[1 : 1 + len(pieces)], pieces, strict=True):
        token = {"token": piece, "logprob": -0.5, "bytes": list(piece.encode()), "top_logprobs": []}
        top = {"token": piece.upper(), "logprob": -2.0, "bytes": list(piece.upper().encode())}
        chunk["choices"][0]["logprobs"] = {"content": [{**token, "top_logprobs": [top]}]}
    return chunks


async def test_logprobs_where_the_upstream_gives_them(client: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    upstream.scenarios["lp"] = lambda n: stream(logprob_chunks("Hel", "lo"))
    response = await client.responses.create(
        model="lp", input="hi", include=["message.output_text.logprobs"], top_logprobs=1
    )
    asked = upstream.requests[-1]
    assert asked["logprobs"] is True and asked["top_logprobs"] == 1
    text = response.output[0].content[0]  # type: ignore[union-attr]
    assert text.type == "output_text" and [t.token for t in text.logprobs or []] == ["Hel", "lo"]
    assert text.logprobs is not None and text.logprobs[0].top_logprobs[0].token == "HEL"
    deltas: list[Any] = []
    async with client.responses.stream(model="lp", input="hi", include=["message.output_text.logprobs"]) as s:
        async for event in s:
            if event.type == "response.output_text.delta":
                deltas.append(event.logprobs)
        final = await s.get_final_response()
    assert [[t.token for t in d] for d in deltas] == [["Hel"], ["lo"]]
    assert final.output_text == "Hello"
    # Not asked for: not requested upstream, and the output has none.
    upstream.scenarios["lp"] = lambda n: stream(text_chunks("plain"))
    plain = await client.responses.create(model="lp", input="hi")
    assert "logprobs" not in upstream.requests[-1]
    assert plain.output[0].content[0].logprobs == []  # type: ignore[union-attr]
