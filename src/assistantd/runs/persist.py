"""The engine's writes: each a short transaction, each followed by the event that announces it."""

from __future__ import annotations

import time
from typing import Any

from assistantd.ids import new_id
from assistantd.runs.events import RunEvent, RunEventLog
from assistantd.runs.objects import run_to_wire, step_to_wire
from assistantd.services.messages import to_wire as message_to_wire
from assistantd.store import jobs, repos
from assistantd.store.db import Database
from assistantd.store.records import MessageRecord, RunRecord, RunStepRecord


def now() -> int:
    return int(time.time())


class RunGone(Exception):
    """The run's row is gone (its thread was deleted while it ran): nothing is left to write to."""


class RunWriter:
    """Persists one run's progress and publishes the matching events."""

    def __init__(self, db: Database, events: RunEventLog, run: RunRecord) -> None:
        self.db = db
        self.events = events
        self.run = run

    def emit(self, event: str, data: dict[str, Any]) -> None:
        self.events.publish(self.run.id, RunEvent(event, data))

    async def update_run(self, event: str | None = None, *, finish_job: bool = False, **values: Any) -> RunRecord:
        async with self.db.write() as conn:
            await repos.runs.update(conn, self.run.id, values)
            if finish_job:
                await jobs.finish(conn, self.run.id)
            run = await repos.runs.get(conn, self.run.id)
        if run is None:
            raise RunGone(self.run.id)
        self.run = run
        if event:
            self.emit(event, run_to_wire(run))
        return run

    async def start(self) -> bool:
        """``queued`` → ``in_progress``, unless a cancel was requested first (checked in the same transaction,
        so a cancel that lands between the claim and the start is never overwritten)."""
        async with self.db.write() as conn:
            run = await repos.runs.get(conn, self.run.id)
            if run is None:
                raise RunGone(self.run.id)
            if run.cancel_requested:
                self.run = run
                return False
            await repos.runs.update(conn, run.id, {"status": "in_progress", "started_at": run.started_at or now()})
            run = await repos.runs.get(conn, run.id)
        assert run is not None
        self.run = run
        self.emit("thread.run.in_progress", run_to_wire(run))
        return True

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
        async with self.db.write() as conn:
            if message is not None:
                await repos.messages.insert(conn, _values(message))
            await repos.run_steps.insert(conn, _values(step))

    async def save_step(self, step: RunStepRecord, event: str | None) -> None:
        async with self.db.write() as conn:
            await repos.run_steps.update(conn, step.id, _values(step))
        if event:
            self.emit(event, step_to_wire(step))

    async def save_message(self, message: MessageRecord, event: str | None) -> None:
        async with self.db.write() as conn:
            await repos.messages.update(conn, message.id, _values(message))
        if event:
            self.emit(event, message_to_wire(message))


def _values(record: Any) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__slots__}
