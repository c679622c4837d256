"""Run queries that are more than a lookup by ID."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from assistantd.store._crud import to_record
from assistantd.store.db import Conn
from assistantd.store.records import MessageRecord, RunStepRecord
from assistantd.store.scope import seeing_every_project
from assistantd.store.tables import MessageRow, RunEventRow, RunRow, RunStepRow

ACTIVE_STATUSES = ("queued", "in_progress", "requires_action", "cancelling")

# Hot statements are built once, with bound parameters (see store/_crud.py).
_ACTIVE = (
    select(RunRow.id).where(RunRow.thread_id == bindparam("thread_id"), RunRow.status.in_(ACTIVE_STATUSES)).limit(1)
)
_PROJECT = select(RunRow.project_id).where(RunRow.id == bindparam("run_id"))
_STEPS = select(RunStepRow).where(RunStepRow.run_id == bindparam("run_id")).order_by(RunStepRow.seq)
_THREAD_TOOL_STEPS = (
    select(RunStepRow)
    .where(RunStepRow.thread_id == bindparam("thread_id"), RunStepRow.type == "tool_calls")
    .order_by(RunStepRow.seq)
)
_THREAD = select(MessageRow).where(MessageRow.thread_id == bindparam("thread_id")).order_by(MessageRow.seq)


async def project_of(conn: Conn, run_id: str) -> str | None:
    """The project a run or response belongs to (read unscoped by the worker about to execute it)."""
    with seeing_every_project():
        return (await conn.execute(_PROJECT, {"run_id": run_id})).scalar()


async def active_run_id(conn: Conn, thread_id: str) -> str | None:
    """The thread's non-terminal run, if any."""
    return (await conn.execute(_ACTIVE, {"thread_id": thread_id})).scalar()


async def expired_runs(conn: Conn, now: int) -> list[str]:
    """Runs still queued, executing or waiting for tool outputs past their ``expires_at``."""
    stmt = select(RunRow.id).where(
        RunRow.status.in_(("queued", "in_progress", "requires_action")), RunRow.expires_at < now
    )
    return list((await conn.execute(stmt)).scalars())


async def steps_of_run(conn: Conn, run_id: str) -> list[RunStepRecord]:
    return [to_record(RunStepRecord, r) for r in (await conn.execute(_STEPS, {"run_id": run_id})).all()]


async def tool_steps_of_thread(conn: Conn, thread_id: str) -> list[RunStepRecord]:
    """Every ``tool_calls`` step of the thread's runs, oldest first."""
    rows = (await conn.execute(_THREAD_TOOL_STEPS, {"thread_id": thread_id})).all()
    return [to_record(RunStepRecord, r) for r in rows]


async def thread_messages(conn: Conn, thread_id: str) -> list[MessageRecord]:
    """The whole thread in order, oldest first (the model's context)."""
    rows = (await conn.execute(_THREAD, {"thread_id": thread_id})).all()
    return [to_record(MessageRecord, r) for r in rows]


async def cancel_requested(conn: Conn, run_ids: list[str]) -> list[str]:
    """Of ``run_ids``, those to stop: a cancel was requested, or the run is gone (deleted with its thread)."""
    if not run_ids:
        return []
    stmt = select(RunRow.id, RunRow.cancel_requested).where(RunRow.id.in_(run_ids))
    wanted = {row.id: bool(row.cancel_requested) for row in (await conn.execute(stmt)).all()}
    return [run_id for run_id in run_ids if wanted.get(run_id, True)]


async def open_messages(conn: Conn, run_id: str) -> list[MessageRecord]:
    """The run's messages still ``in_progress``."""
    stmt = (
        select(MessageRow)
        .where(MessageRow.run_id == run_id, MessageRow.status == "in_progress")
        .order_by(MessageRow.seq)
    )
    return [to_record(MessageRecord, r) for r in (await conn.execute(stmt)).all()]


async def streamed_text(conn: Conn, run_id: str, message_id: str) -> str:
    """The text of ``message_id`` as its ``thread.message.delta`` events streamed it (kept in ``run_events``
    on PostgreSQL): what clients saw of a message whose process stopped before writing it."""
    stmt = (
        select(RunEventRow.data)
        .where(RunEventRow.run_id == run_id, RunEventRow.event == "thread.message.delta")
        .order_by(RunEventRow.seq)
    )
    text = []
    for data in (await conn.execute(stmt)).scalars():
        if data.get("id") != message_id:
            continue
        for part in data.get("delta", {}).get("content") or []:
            if part.get("index") == 0 and part.get("type") == "text":
                text.append(part.get("text", {}).get("value") or "")
    return "".join(text)
