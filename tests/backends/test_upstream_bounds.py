"""No upstream behaviour holds a run forever or stalls the server (issue 8, points 19 and 21): keep-alive
comments without data, a stream that never ends, a malformed chunked body, oversized lines and bodies."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
from starlette.responses import Response, StreamingResponse

from tests.backends._fake_upstream import FakeUpstream, _chunk, stream, text_chunks
from tests.runs._helpers import TIME, WEATHER, wait_status


async def _start(client: openai.AsyncOpenAI, model: str) -> Any:
    a = await client.beta.assistants.create(model=model, tools=[WEATHER, TIME])
    t = await client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    return await client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id)


def keepalives_forever(first: str = "") -> Response:
    async def body() -> AsyncIterator[bytes]:
        if first:
            yield b"data: " + json.dumps(_chunk({"content": first})).encode() + b"\n\n"
        while True:
            yield b": keep-alive\n\n"
            await asyncio.sleep(0.05)

    return StreamingResponse(body(), media_type="text/event-stream")


def tokens_forever() -> Response:
    async def body() -> AsyncIterator[bytes]:
        while True:
            yield b"data: " + json.dumps(_chunk({"content": "la "})).encode() + b"\n\n"
            await asyncio.sleep(0.05)

    return StreamingResponse(body(), media_type="text/event-stream")


@pytest.mark.settings(upstream_idle_timeout_seconds=0.5, upstream_max_retries=0)
async def test_keepalives_without_data_fail_the_turn(client: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    upstream.scenarios["m"] = lambda n: keepalives_forever(first="Hel")
    run = await _start(client, "m")
    done = await wait_status(client, run.thread_id, run.id, timeout=10)
    assert done.status == "failed"
    assert done.last_error is not None and "no data for 0.5 s" in done.last_error.message


@pytest.mark.settings(upstream_turn_timeout_seconds=1.0)
async def test_a_turn_that_never_ends_fails_at_its_deadline(client: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    upstream.scenarios["m"] = lambda n: tokens_forever()
    run = await _start(client, "m")
    done = await wait_status(client, run.thread_id, run.id, timeout=10)
    assert done.status == "failed"
    assert done.last_error is not None and "within 1 s" in done.last_error.message
    [message] = (await client.beta.threads.messages.list(run.thread_id, run_id=run.id)).data
    assert message.status == "incomplete"


@pytest.mark.settings(upstream_max_line_bytes=256 * 1024, upstream_max_retries=0)
async def test_an_oversized_line_fails_the_run_cleanly(client: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    huge = b"data: " + json.dumps(_chunk({"content": "x" * (3 * 1024 * 1024)})).encode() + b"\n\n"
    upstream.scenarios["m"] = lambda n: stream(text_chunks("fine"), raw=[huge])
    run = await _start(client, "m")
    started = time.monotonic()
    done = await wait_status(client, run.thread_id, run.id, timeout=10)
    assert done.status == "failed"
    assert done.last_error is not None and "longer than 262144 bytes" in done.last_error.message
    assert time.monotonic() - started < 5


@pytest.mark.settings(upstream_max_response_bytes=64 * 1024, upstream_max_retries=0)
async def test_an_oversized_answer_fails_the_run(client: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    upstream.scenarios["m"] = lambda n: stream(text_chunks(*(["word " * 200] * 200)))
    run = await _start(client, "m")
    done = await wait_status(client, run.thread_id, run.id, timeout=10)
    assert done.status == "failed"
    assert done.last_error is not None and "exceeded 65536 bytes" in done.last_error.message
