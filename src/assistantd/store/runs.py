"""Run queries that are more than a lookup by ID."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from assistantd.store.tables import RunRow

ACTIVE_STATUSES = ("queued", "in_progress", "requires_action", "cancelling")


async def active_run_id(conn: AsyncConnection, thread_id: str) -> str | None:
    """The thread's non-terminal run, if any."""
    stmt = select(RunRow.id).where(RunRow.thread_id == thread_id, RunRow.status.in_(ACTIVE_STATUSES)).limit(1)
    return (await conn.execute(stmt)).scalar()
