"""A silent stream gets SSE comment lines (issue 8, point 5), so proxies with a read timeout keep it open,
and the official SDK's stream helper ignores them."""

from __future__ import annotations

import time

import httpx2
import openai
import pytest

from assistantd import Settings
from assistantd.backends.scripted import Say, ScriptedBackend
from tests._sse import parse_sse, validate_event_stream

pytestmark = pytest.mark.e2e


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"sse_keepalive_seconds": 0.2})


async def test_silence_is_filled_with_comments(
    client: openai.AsyncOpenAI, raw: httpx2.AsyncClient, backend: ScriptedBackend
) -> None:
    backend.add(Say("thinking done", delay=1.0))
    a = await client.beta.assistants.create(model="m")
    t = await client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    chunks: list[tuple[float, bytes]] = []
    async with raw.stream("POST", f"/threads/{t.id}/runs", json={"assistant_id": a.id, "stream": True}) as resp:
        async for chunk in resp.aiter_raw():
            chunks.append((time.monotonic(), chunk))
    body = b"".join(c for _, c in chunks)
    assert body.count(b": keep-alive\n\n") >= 2
    events = parse_sse(body.replace(b": keep-alive\n\n", b""))  # comments are whole frames of their own
    validate_event_stream(events)
    assert events[-1].event == "thread.run.completed"


async def test_sdk_ignores_the_comments(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say("slow answer", delay=0.7))
    a = await client.beta.assistants.create(model="m")
    t = await client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    async with client.beta.threads.runs.stream(thread_id=t.id, assistant_id=a.id) as stream:
        await stream.until_done()
        [message] = await stream.get_final_messages()
    assert message.content[0].text.value == "slow answer"  # type: ignore[union-attr]
