"""Run events and the ``RunEventLog`` seam that carries them from the engine to streaming clients.

The engine publishes every event; SSE endpoints subscribe before they start (or resume) a run, so they
miss nothing. Nothing here touches the database: streamed tokens cost no write. The embedded
implementation is in-process; a PostgreSQL deployment with separate worker processes would implement
the same Protocol over LISTEN/NOTIFY.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Protocol

STREAM_END = ":end"
END_EVENTS = frozenset(
    {
        "thread.run.completed",
        "thread.run.failed",
        "thread.run.cancelled",
        "thread.run.expired",
        "thread.run.incomplete",
        "thread.run.requires_action",
        "response.completed",
        "response.failed",
        "response.incomplete",
        ":end",
    }
)
"""After one of these a stream ends (an Assistants one with ``event: done``, a Responses one with
``data: [DONE]``). ``:end`` is never sent: it ends a stream whose last event says nothing (a cancelled
response)."""


@dataclass(frozen=True, slots=True)
class RunEvent:
    event: str
    """The SSE event name, e.g. ``thread.message.delta``."""
    data: dict[str, Any]


class RunEventLog(Protocol):
    def publish(self, run_id: str, event: RunEvent) -> None:
        """Deliver ``event`` to every current subscriber of ``run_id``."""
        ...

    def subscribe(self, run_id: str) -> contextlib.AbstractContextManager[asyncio.Queue[RunEvent]]:
        """Receive ``run_id``'s events from now on, until the context exits."""
        ...


class RunStream:
    """One run's events, from subscription until the run stops or waits (an ``END_EVENTS`` event).

    The subscription is released when the stream ends, when it is closed, and when it is dropped unread: a
    client that disconnects before the first event is sent leaves nothing subscribed behind.
    """

    def __init__(self, subscription: contextlib.AbstractContextManager[asyncio.Queue[RunEvent]]) -> None:
        stack = contextlib.ExitStack()
        self._queue = stack.enter_context(subscription)
        self._release = weakref.finalize(self, stack.close)

    def __aiter__(self) -> RunStream:
        return self

    async def __anext__(self) -> RunEvent:
        if not self._release.alive:
            raise StopAsyncIteration
        event = await self._queue.get()
        if event.event in END_EVENTS:
            self._release()
        return event

    async def next_batch(self) -> list[RunEvent]:
        """The next event and every one already queued behind it (up to the end): one write to the
        client for all of them. Empty once the stream has ended."""
        if not self._release.alive:
            return []
        batch = [await self._queue.get()]
        while batch[-1].event not in END_EVENTS and not self._queue.empty():
            batch.append(self._queue.get_nowait())
        if batch[-1].event in END_EVENTS:
            self._release()
        return batch

    def close(self) -> None:
        self._release()


class InMemoryEventLog:
    """Fan-out through unbounded per-subscriber queues (a slow reader never blocks the engine)."""

    def __init__(self) -> None:
        self._subs: dict[str, list[asyncio.Queue[RunEvent]]] = defaultdict(list)

    def publish(self, run_id: str, event: RunEvent) -> None:
        for queue in self._subs.get(run_id, ()):
            queue.put_nowait(event)

    def subscribers(self, run_id: str | None = None) -> int:
        """How many streams follow ``run_id`` (or any run)."""
        if run_id is None:
            return sum(len(subs) for subs in self._subs.values())
        return len(self._subs.get(run_id, ()))

    @contextlib.contextmanager
    def subscribe(self, run_id: str) -> Any:
        queue: asyncio.Queue[RunEvent] = asyncio.Queue()
        self._subs[run_id].append(queue)
        try:
            yield queue
        finally:
            subs = self._subs.get(run_id)
            if subs is not None:
                subs.remove(queue)
                if not subs:
                    del self._subs[run_id]
