"""The persistent run queue (the ``RunQueue`` seam's SQL implementation, for SQLite and PostgreSQL).

A job is a run some worker must advance. Workers claim jobs with a lease they renew while working; a
lease that lapses (the worker died) makes the job claimable again, and the claimer learns it is a
recovery from ``attempts``. On PostgreSQL the claim uses ``FOR UPDATE SKIP LOCKED`` so many worker
processes can share the table, and skips runs of a thread whose code_interpreter session another live
process holds (``kernel_hosts``), which that process claims; on SQLite the single writer makes the claim
atomic anyway.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, case, delete, exists, func, insert, or_, select, update

from assistantd.store import signals
from assistantd.store.db import Conn
from assistantd.store.tables import JobRow, KernelHostRow, RunRow


@dataclass(frozen=True, slots=True)
class Claim:
    run_id: str
    attempts: int
    """How many times the job was claimed before this claim (0: first run)."""


# Hot statements are built once, with bound parameters (see store/_crud.py).
_FIND = select(JobRow.seq).where(JobRow.run_id == bindparam("_run_id"))
_INSERT = insert(JobRow)
_REQUEUE = (
    update(JobRow)
    .where(JobRow.run_id == bindparam("_run_id"))
    .values(available_at=bindparam("_now"), lease_owner=None, lease_until=None, attempts=0)
)
_LEASE = (
    update(JobRow)
    .where(JobRow.run_id == bindparam("_run_id"))
    .values(lease_owner=bindparam("_owner"), lease_until=bindparam("_until"), attempts=bindparam("_attempts"))
)
_FINISH = delete(JobRow).where(JobRow.run_id == bindparam("_run_id"))


@functools.cache
def _available(one_run: bool, postgres: bool) -> Select[str, int]:
    now: BindParameter[float] = bindparam("_now")
    stmt = (
        select(JobRow.run_id, JobRow.attempts)
        .where(JobRow.available_at <= now, or_(JobRow.lease_until.is_(None), JobRow.lease_until < now))
        .order_by(JobRow.seq)
        .limit(1)
    )
    if one_run:
        stmt = stmt.where(JobRow.run_id == bindparam("_run_id"))
    if postgres:
        # A thread whose code_interpreter session another live process holds is left to that process.
        thread = select(RunRow.thread_id).where(RunRow.id == JobRow.run_id).correlate(JobRow).scalar_subquery()
        hosted = (
            select(1)
            .where(
                or_(KernelHostRow.key == thread, KernelHostRow.key == JobRow.affinity),
                KernelHostRow.owner != bindparam("_owner"),
                KernelHostRow.until > now,
            )
            .correlate(JobRow)
        )
        stmt = stmt.where(~exists(hosted)).with_for_update(of=JobRow, skip_locked=True)
    return stmt


async def enqueue(conn: Conn, run_id: str, now: float, affinity: str | None = None) -> None:
    """Queue ``run_id`` (again). ``affinity``: the container whose code_interpreter session it will use."""
    if (await conn.execute(_FIND, {"_run_id": run_id})).first() is None:
        await conn.execute(_INSERT, {"run_id": run_id, "available_at": now, "attempts": 0, "affinity": affinity})
    else:
        await conn.execute(_REQUEUE, {"_run_id": run_id, "_now": now})
    await signals.notify(conn, signals.JOBS)


async def request_cancel(conn: Conn, run_id: str) -> None:
    """Tell the process executing ``run_id`` (whichever it is) to stop it, once this transaction commits;
    the run's ``cancel_requested`` is the durable request, this the prompt one."""
    await signals.notify(conn, signals.CANCELS, run_id)


async def claim(conn: Conn, owner: str, now: float, lease_seconds: float, run_id: str | None = None) -> Claim | None:
    """Lease the oldest available job (or ``run_id``'s), if any."""
    postgres = conn.dialect.name == "postgresql"
    stmt = _available(run_id is not None, postgres)
    params: dict[str, Any] = {"_now": now} if run_id is None else {"_now": now, "_run_id": run_id}
    if postgres:
        params["_owner"] = owner
    row = (await conn.execute(stmt, params)).first()
    if row is None:
        return None
    lease = {"_run_id": row.run_id, "_owner": owner, "_until": now + lease_seconds, "_attempts": row.attempts + 1}
    await conn.execute(_LEASE, lease)
    return Claim(run_id=row.run_id, attempts=row.attempts)


async def renew(conn: Conn, owner: str, run_ids: list[str], until: float) -> None:
    if run_ids:
        await conn.execute(
            update(JobRow).where(JobRow.run_id.in_(run_ids), JobRow.lease_owner == owner).values(lease_until=until)
        )


async def finish(conn: Conn, run_id: str) -> None:
    await conn.execute(_FINISH, {"_run_id": run_id})


async def release_owner(conn: Conn, owner: str) -> None:
    """Make every job leased by ``owner`` claimable at once (clean shutdown)."""
    await conn.execute(update(JobRow).where(JobRow.lease_owner == owner).values(lease_owner=None, lease_until=None))


async def expire_all_leases(conn: Conn) -> None:
    await conn.execute(update(JobRow).where(JobRow.lease_owner.is_not(None)).values(lease_until=0.0))


async def depth(conn: Conn, now: float) -> tuple[int, int]:
    """Jobs no worker holds (queued, or whose lease lapsed) and jobs leased now, across every process (the
    ``assistantd_queue_depth`` gauge)."""
    leased = case((JobRow.lease_until >= now, 1), else_=0)
    stmt = select(func.count().label("total"), func.coalesce(func.sum(leased), 0).label("held")).select_from(JobRow)
    row = (await conn.execute(stmt)).one()._mapping
    total, held = int(row["total"]), int(row["held"])
    return total - held, held
