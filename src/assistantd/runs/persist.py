"""The engine's writes, each followed by the event that announces it.

Writes are few per run: ``batch()`` gathers the writes that end a turn or a run (message, step, run
state, the job) into one transaction and publishes their events after it commits, in order. The run
record is kept in memory and updated with what we write, rather than read back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from assistantd.ids import new_id
from assistantd.runs.events import RunEvent, RunEventLog
from assistantd.runs.objects import run_to_wire, step_to_wire
from assistantd.services import message_items
from assistantd.services.messages import to_wire as message_to_wire
from assistantd.store import jobs, repos
from assistantd.store.db import Conn, Database
from assistantd.store.records import MessageRecord, RunRecord, RunStepRecord


def now() -> int:
    return int(time.time())


def stamp_at(field: str, ts: int) -> dict[str, Any]:
    """``{field: ts}``: a status timestamp (``completed_at``, ``failed_at``, ...) chosen at run time."""
    return {field: ts}


class RunGone(Exception):
    """The run's row is gone (its thread was deleted while it ran): nothing is left to write to."""


async def begin(db: Database, run_id: str) -> tuple[RunRecord | None, bool]:
    """Read a claimed run and, when it should execute now, move it to ``in_progress`` in the same
    transaction, so a cancel that lands between the claim and the start is never overwritten.
    Returns the run and whether it started (a run already ``in_progress`` was being executed by a process
    that stopped: it starts again, from its last completed step)."""
    async with db.write() as conn:
        run = await repos.runs.get(conn, run_id)
        if run is None:
            return None, False
        startable = run.status in ("queued", "in_progress")
        # A queued run claimed after its expires_at (the sweep that expires it may free the very worker that
        # claims it) is never started: the caller finishes it ``expired``.
        overdue = run.status == "queued" and run.expires_at is not None and run.expires_at < now()
        if not startable or run.cancel_requested or overdue:
            return run, False
        values: dict[str, Any] = {"status": "in_progress", "started_at": run.started_at or now()}
        await repos.runs.update(conn, run_id, values)
    return dataclasses.replace(run, **values), True


async def finish_job(db: Database, run_id: str) -> None:
    """Drop a run's job: the run is terminal or waiting, nothing is left to execute."""
    async with db.write() as conn:
        await jobs.finish(conn, run_id)


class RunWriter:
    """Persists one run's progress and publishes the matching events."""

    def __init__(self, db: Database, events: RunEventLog, run: RunRecord) -> None:
        self.db = db
        self.events = events
        self.run = run
        self._staged: dict[str, Any] = {}
        self._batch: list[tuple[Callable[[Conn], Awaitable[Any]], _Event]] | None = None

    def emit(self, event: str, data: dict[str, Any]) -> None:
        self.events.publish(self.run.id, RunEvent(event, data))

    def stage(self, **values: Any) -> None:
        """Run columns to write with the next run update (e.g. usage after each turn)."""
        self._staged.update(values)
        self.run = dataclasses.replace(self.run, **values)

    @contextlib.asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """Writes inside go to the database in one transaction at the end; their events follow it."""
        if self._batch is not None:
            yield
            return
        self._batch = []
        try:
            yield
            pending, self._batch = self._batch, None
            if pending:
                async with self.db.write() as conn:
                    for write, _ in pending:
                        await write(conn)
            for _, event in pending:
                self._publish(event)
        finally:
            self._batch = None

    def _publish(self, event: _Event) -> None:
        announced = event() if callable(event) else event
        if announced is not None:
            self.emit(*announced)

    async def write(self, write: Callable[[Conn], Awaitable[Any]]) -> None:
        """Another write of the run's (in the current ``batch`` if any, else in a transaction of its own)."""
        await self._write(write, None)

    async def _write(self, write: Callable[[Conn], Awaitable[Any]], event: _Event) -> None:
        """``event`` is the event announcing the write, or a function giving it once the write is done."""
        if self._batch is not None:
            self._batch.append((write, event))
            return
        async with self.db.write() as conn:
            await write(conn)
        self._publish(event)

    async def update_run(self, event: str | None = None, *, finish_job: bool = False, **values: Any) -> RunRecord:
        """Write run columns. An ending other than ``cancelled``/``expired`` checks, in the same transaction,
        that no cancel was requested meanwhile: a cancel answered ``cancelling`` always ends ``cancelled``."""
        values = {**self._staged, **values}
        self._staged = {}
        run_id = self.run.id
        ending = values.get("status") in _OVERRIDABLE

        async def write(conn: Conn) -> None:
            if ending:
                current = await repos.runs.get(conn, run_id)
                if current is None:
                    raise RunGone(run_id)
                if current.cancel_requested:
                    values.update(_cancelled(values))
                    self.run = dataclasses.replace(self.run, **values)
            if values and not await repos.runs.update(conn, run_id, values):
                raise RunGone(run_id)
            if finish_job:
                await jobs.finish(conn, run_id)

        def announced() -> tuple[str, dict[str, Any]] | None:
            if not event:
                return None
            name = f"thread.run.{self.run.status}" if ending else event
            return name, run_to_wire(self.run)

        self.run = dataclasses.replace(self.run, **values)
        await self._write(write, announced)
        return self.run

    def new_step(self, type_: str, details: dict[str, Any]) -> RunStepRecord:
        step = RunStepRecord(
            id=new_id("step"),
            run_id=self.run.id,
            thread_id=self.run.thread_id,
            assistant_id=self.run.assistant_id,
            created_at=now(),
            type=type_,
            status="in_progress",
            step_details=details,
            last_error=None,
            expired_at=None,
            cancelled_at=None,
            failed_at=None,
            completed_at=None,
            metadata={},
            usage=None,
        )
        wire = step_to_wire(step)
        self.emit("thread.run.step.created", wire)
        self.emit("thread.run.step.in_progress", wire)
        return step

    def new_message(self) -> MessageRecord:
        message = MessageRecord(
            id=new_id("message"),
            thread_id=self.run.thread_id,
            created_at=now(),
            role="assistant",
            status="in_progress",
            content=[],
            assistant_id=self.run.assistant_id,
            run_id=self.run.id,
            attachments=[],
            metadata={},
            incomplete_details=None,
            completed_at=None,
            incomplete_at=None,
        )
        return message

    def announce_message(self, message: MessageRecord) -> None:
        wire = message_to_wire(message)
        self.emit("thread.message.created", wire)
        self.emit("thread.message.in_progress", wire)

    async def insert(self, step: RunStepRecord, message: MessageRecord | None = None) -> None:
        async def write(conn: Conn) -> None:
            if message is not None:
                await repos.messages.insert(conn, _values(message))
            await repos.run_steps.insert(conn, _values(step))

        await self._write(write, None)

    async def save_step(self, step: RunStepRecord, event: str | None) -> None:
        async def write(conn: Conn) -> None:
            await repos.run_steps.update(conn, step.id, _values(step))
            if step.type == "tool_calls" and step.status == "completed":
                calls = step.step_details.get("tool_calls") or []
                await message_items.append_calls(conn, self.run, calls, step.completed_at or now())

        await self._write(write, (event, step_to_wire(step)) if event else None)

    async def discard(self, message: MessageRecord, step: RunStepRecord | None) -> None:
        """Delete a message the run will not keep (an answer that failed the response format), with its step."""

        async def write(conn: Conn) -> None:
            await repos.messages.delete(conn, message.id)
            if step is not None:
                await repos.run_steps.delete(conn, step.id)

        await self._write(write, None)

    async def save_message(self, message: MessageRecord, event: str | None) -> None:
        async def write(conn: Conn) -> None:
            await repos.messages.update(conn, message.id, _values(message))

        await self._write(write, (event, message_to_wire(message)) if event else None)


_Event = tuple[str, dict[str, Any]] | Callable[[], tuple[str, dict[str, Any]] | None] | None

_OVERRIDABLE = frozenset({"completed", "incomplete", "failed", "requires_action"})
"""Run endings a cancel requested meanwhile turns into ``cancelled``."""


def _cancelled(values: dict[str, Any]) -> dict[str, Any]:
    ts = values.get("completed_at") or values.get("failed_at") or now()
    return {
        "status": "cancelled",
        "cancelled_at": ts,
        "completed_at": None,
        "failed_at": None,
        "last_error": None,
        "incomplete_details": None,
        "required_action": None,
        "expires_at": None,
    }


def _values(record: Any) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__slots__}
