"""The one SSE encoder: ``event: <name>\\ndata: <json>\\n\\n``, ending with ``event: done`` / ``[DONE]``.

``SSEResponse`` is a plain ASGI response rather than Starlette's ``StreamingResponse``: it writes every
event already queued in one send, and stops at once when the client disconnects (the run goes on). A
stream silent for ``app.state.sse_keepalive_seconds`` (a long code_interpreter cell, a file_search wait)
gets a comment line, which SSE clients ignore, so proxies with a read timeout do not cut it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import Protocol

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from assistantd.runs.events import RunEvent

DONE = b"event: done\ndata: [DONE]\n\n"
KEEPALIVE = b": keep-alive\n\n"
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


RESPONSES_DONE = b"data: [DONE]\n\n"
"""OpenAI's Responses streams end without a terminator; every client accepts this one, and the Open
Responses specification requires it."""


def encode(event: RunEvent) -> bytes:
    if event.event.startswith(":"):
        return b""  # an internal marker (``runs.events.STREAM_END``)
    return b"event: " + event.event.encode() + b"\ndata: " + orjson.dumps(event.data) + b"\n\n"


class EventSource(Protocol):
    """What the encoder reads: ``runs.events.RunStream``, or ``Replay`` over an iterator."""

    async def next_batch(self) -> list[RunEvent]: ...

    def close(self) -> None: ...


class Replay:
    """An ``EventSource`` over an async iterator of events (a response's stored events, then live ones)."""

    def __init__(self, events: AsyncGenerator[RunEvent, None]) -> None:
        self._events = events
        self._closing: asyncio.Task[None] | None = None

    async def next_batch(self) -> list[RunEvent]:
        try:
            return [await anext(self._events)]
        except StopAsyncIteration:
            return []

    def close(self) -> None:
        self._closing = asyncio.ensure_future(self._events.aclose())  # releases its subscription


class SSEResponse(Response):
    def __init__(self, events: EventSource, done: bytes = DONE) -> None:
        self.events = events
        self.done = done
        self._last_send = 0.0
        self.status_code = 200
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        keepalive = float(scope["app"].state.sse_keepalive_seconds) if "app" in scope else 15.0
        self._last_send = asyncio.get_running_loop().time()
        tasks = {
            asyncio.ensure_future(self._write(send)),
            asyncio.ensure_future(_disconnected(receive)),
            asyncio.ensure_future(self._keep_alive(send, keepalive)),
        }
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, OSError):
                    await task
            self.events.close()

    async def _write(self, send: Send) -> None:
        loop = asyncio.get_running_loop()
        while batch := await self.events.next_batch():
            await send({"type": "http.response.body", "body": b"".join(map(encode, batch)), "more_body": True})
            self._last_send = loop.time()
        await send({"type": "http.response.body", "body": self.done, "more_body": False})

    async def _keep_alive(self, send: Send, interval: float) -> None:
        """One timer per stream rather than per event: a comment once nothing was sent for ``interval``."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(max(0.0, self._last_send + interval - loop.time()))
            if loop.time() - self._last_send >= interval:
                await send({"type": "http.response.body", "body": KEEPALIVE, "more_body": True})
                self._last_send = loop.time()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def sse(events: EventSource, done: bytes = DONE) -> SSEResponse:
    return SSEResponse(events, done)
