"""Small factories and state waiters for the run tests (no shared mutable world: each test builds its own)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx2
import openai
from openai.types.beta import Assistant, Thread
from openai.types.beta.threads import Run

from tests._sse import Event, parse_sse

T = TypeVar("T")

WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TIME: dict[str, Any] = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}},
}

ACTIVE = ("queued", "in_progress", "cancelling")


def args(**kw: Any) -> str:
    return json.dumps(kw)


async def assistant(client: openai.AsyncOpenAI, **kw: Any) -> Assistant:
    kw.setdefault("model", "test-model")
    return await client.beta.assistants.create(**kw)


async def thread(client: openai.AsyncOpenAI, *texts: str) -> Thread:
    return await client.beta.threads.create(messages=[{"role": "user", "content": t} for t in texts or ("hi",)])


async def eventually(check: Callable[[], Awaitable[T | None]], *, timeout: float = 10.0, what: str = "") -> T:
    """Poll ``check`` until it returns something other than None (waiting on state, not on a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.01)


async def wait_status(
    client: openai.AsyncOpenAI, thread_id: str, run_id: str, *statuses: str, timeout: float = 10.0
) -> Run:
    """Poll the run until its status is one of ``statuses`` (default: anything not active)."""

    async def check() -> Run | None:
        run = await client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        done = run.status in statuses if statuses else run.status not in ACTIVE
        return run if done else None

    return await eventually(check, timeout=timeout, what=f"run {run_id} to reach {statuses or 'a final status'}")


async def stream_events(raw: httpx2.AsyncClient, path: str, body: dict[str, Any]) -> tuple[list[Event], bytes]:
    """POST with ``stream: true`` through the plain client; the parsed events and the raw bytes."""
    resp = await raw.post(path, json={**body, "stream": True})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/event-stream")
    return parse_sse(resp.content), resp.content
