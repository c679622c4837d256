"""The one SSE encoder: ``event: <name>\\ndata: <json>\\n\\n``, ending with ``event: done`` / ``[DONE]``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
from starlette.responses import StreamingResponse

from assistantd.runs.events import RunEvent

DONE = b"event: done\ndata: [DONE]\n\n"


def encode(event: RunEvent) -> bytes:
    return b"event: " + event.event.encode() + b"\ndata: " + orjson.dumps(event.data) + b"\n\n"


async def _frames(events: AsyncIterator[RunEvent]) -> AsyncIterator[bytes]:
    async for event in events:
        yield encode(event)
    yield DONE


def sse(events: AsyncIterator[RunEvent]) -> StreamingResponse:
    return StreamingResponse(
        _frames(events),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )
