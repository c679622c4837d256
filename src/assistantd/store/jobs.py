"""The persistent run queue (the ``RunQueue`` seam's SQL implementation, for SQLite and PostgreSQL).

A job is a run some worker must advance. Workers claim jobs with a lease they renew while working; a
lease that lapses (the worker died) makes the job claimable again, and the claimer learns it is a
recovery from ``attempts``. On PostgreSQL the claim uses ``FOR UPDATE SKIP LOCKED`` so many worker
processes can share the table; on SQLite the single writer makes the claim atomic anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, or_, select, update

from assistantd.store.db import Conn
from assistantd.store.tables import JobRow


@dataclass(frozen=True, slots=True)
class Claim:
    run_id: str
    attempts: int
    """How many times the job was claimed before this claim (0: first run)."""


async def enqueue(conn: Conn, run_id: str, now: float) -> None:
    existing = (await conn.execute(select(JobRow.seq).where(JobRow.run_id == run_id))).first()
    if existing is None:
        await conn.execute(insert(JobRow).values(run_id=run_id, available_at=now, attempts=0))
    else:
        await conn.execute(
            update(JobRow)
            .where(JobRow.run_id == run_id)
            .values(available_at=now, lease_owner=None, lease_until=None, attempts=0)
        )


async def claim(conn: Conn, owner: str, now: float, lease_seconds: float, run_id: str | None = None) -> Claim | None:
    """Lease the oldest available job (or ``run_id``'s), if any."""
    stmt = (
        select(JobRow.run_id, JobRow.attempts)
        .where(JobRow.available_at <= now, or_(JobRow.lease_until.is_(None), JobRow.lease_until < now))
        .order_by(JobRow.seq)
        .limit(1)
    )
    if run_id is not None:
        stmt = stmt.where(JobRow.run_id == run_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    row = (await conn.execute(stmt)).first()
    if row is None:
        return None
    await conn.execute(
        update(JobRow)
        .where(JobRow.run_id == row.run_id)
        .values(lease_owner=owner, lease_until=now + lease_seconds, attempts=row.attempts + 1)
    )
    return Claim(run_id=row.run_id, attempts=row.attempts)


async def renew(conn: Conn, owner: str, run_ids: list[str], until: float) -> None:
    if run_ids:
        await conn.execute(
            update(JobRow).where(JobRow.run_id.in_(run_ids), JobRow.lease_owner == owner).values(lease_until=until)
        )


async def finish(conn: Conn, run_id: str) -> None:
    await conn.execute(delete(JobRow).where(JobRow.run_id == run_id))


async def release_owner(conn: Conn, owner: str) -> None:
    """Make every job leased by ``owner`` claimable at once (clean shutdown)."""
    await conn.execute(update(JobRow).where(JobRow.lease_owner == owner).values(lease_owner=None, lease_until=None))


async def next_available_at(conn: Conn) -> float | None:
    """When the next job becomes claimable: the earliest of availability and lease expiry."""
    rows = (await conn.execute(select(JobRow.available_at, JobRow.lease_until))).all()
    times = [max(r.available_at, r.lease_until or 0.0) for r in rows]
    return min(times) if times else None


async def expire_all_leases(conn: Conn) -> None:
    await conn.execute(update(JobRow).where(JobRow.lease_owner.is_not(None)).values(lease_until=0.0))
