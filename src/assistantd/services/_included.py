"""``include[]`` on a run's event stream: the file_search results' ``content`` in its step events.

The engine publishes one event for every subscriber, without the content (as the API shows steps by
default). A stream opened with ``include[]=step_details.tool_calls[*].file_search.results[*].content``
reads the content back from the step, which is written before its event is published.
"""

from __future__ import annotations

import asyncio
import contextlib

from assistantd.runs.events import RunEvent, RunStream
from assistantd.store import repos
from assistantd.store.db import Database

CONTENT_INCLUDE = "step_details.tool_calls[*].file_search.results[*].content"


class IncludedStream(RunStream):
    """A run's events for a client that sent ``include[]=…file_search.results[*].content``: step events with
    file_search results carry each result's ``content`` (events are published without it, for everyone; the
    content is read back from the step, which is written before its event is published)."""

    def __init__(self, subscription: contextlib.AbstractContextManager[asyncio.Queue[RunEvent]], db: Database) -> None:
        super().__init__(subscription)
        self._db = db

    async def __anext__(self) -> RunEvent:
        return (await self._with_content([await super().__anext__()]))[0]

    async def next_batch(self) -> list[RunEvent]:
        return await self._with_content(await super().next_batch())

    async def _with_content(self, events: list[RunEvent]) -> list[RunEvent]:
        return [await self._included(e) if _has_search_results(e) else e for e in events]

    async def _included(self, event: RunEvent) -> RunEvent:
        async with self._db.read() as conn:
            step = await repos.run_steps.get(conn, str(event.data["id"]))
        if step is None:
            return event
        stored = {str(c.get("id")): c for c in step.step_details.get("tool_calls") or []}
        calls = []
        for call in event.data["step_details"]["tool_calls"]:
            full = stored.get(str(call.get("id")))
            if call.get("type") == "file_search" and full is not None:
                call = {**call, "file_search": {**call["file_search"], "results": full["file_search"]["results"]}}
            calls.append(call)
        data = {**event.data, "step_details": {**event.data["step_details"], "tool_calls": calls}}
        return RunEvent(event.event, data)


def _has_search_results(event: RunEvent) -> bool:
    if not event.event.startswith("thread.run.step.") or event.event == "thread.run.step.delta":
        return False
    details = event.data.get("step_details") or {}
    return any((c.get("file_search") or {}).get("results") for c in details.get("tool_calls") or [])
