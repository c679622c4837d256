"""Queries of the vector-store aggregate: stores, their files (the ingestion queue) and file batches.

``file_counts`` and ``usage_bytes`` are never stored: they are counted from ``vector_store_files`` in the
same read that returns the store, so they are exact at every moment (the SDK's batch poller stops when
``in_progress`` reaches 0).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, Table, bindparam, delete, func, or_, select, update

from assistantd.store import signals
from assistantd.store import tables as t
from assistantd.store._crud import PageParams, Repo, to_record
from assistantd.store.db import Conn
from assistantd.store.records import FileBatchRecord, VectorStoreFileRecord, VectorStoreRecord


def _table(cls: type[t.Base]) -> Table:
    table = cls.__table__
    assert isinstance(table, Table)
    return table


STORES = _table(t.VectorStoreRow)
FILES = _table(t.VectorStoreFileRow)
BATCHES = _table(t.VectorStoreFileBatchRow)

stores = Repo(STORES, VectorStoreRecord)
batches = Repo(BATCHES, FileBatchRecord)

STATUSES = ("in_progress", "completed", "failed", "cancelled")
DAY = 86_400
TOUCH_EVERY_SECONDS = 60


def expiry(expires_after: dict[str, Any] | None, last_active_at: int) -> int | None:
    """``expires_at`` of a store with this ``expires_after`` (anchored at ``last_active_at``)."""
    return None if not expires_after else last_active_at + int(expires_after["days"]) * DAY


def expired(store: VectorStoreRecord, at: int) -> bool:
    return store.expires_at is not None and store.expires_at <= at


def stale(store: VectorStoreRecord, at: int) -> bool:
    """Whether ``last_active_at`` is old enough to refresh (written at most once a minute)."""
    return at - store.last_active_at >= TOUCH_EVERY_SECONDS


async def touch(conn: Conn, store: VectorStoreRecord, at: int) -> None:
    """Refresh ``last_active_at``, and with it ``expires_at``."""
    await stores.update(conn, store.id, {"last_active_at": at, "expires_at": expiry(store.expires_after, at)})


@dataclass(frozen=True, slots=True)
class Counts:
    in_progress: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    usage_bytes: int = 0

    @property
    def total(self) -> int:
        return self.in_progress + self.completed + self.failed + self.cancelled

    def wire(self) -> dict[str, int]:
        return {
            "in_progress": self.in_progress,
            "completed": self.completed,
            "failed": self.failed,
            "cancelled": self.cancelled,
            "total": self.total,
        }


def _fold(rows: Iterable[Any]) -> dict[str, Counts]:
    raw: dict[str, dict[str, int]] = {}
    for key, status, n, size in rows:
        entry = raw.setdefault(key, {"usage_bytes": 0})
        entry[status] = int(n)
        entry["usage_bytes"] += int(size or 0)
    keep = (*STATUSES, "usage_bytes")
    return {key: Counts(**{k: v for k, v in entry.items() if k in keep}) for key, entry in raw.items()}


@functools.cache
def _counts_by_store() -> Select[Any]:
    c = FILES.c
    return (
        select(c.vector_store_id, c.status, func.count(), func.sum(c.usage_bytes))
        .where(c.vector_store_id.in_(bindparam("ids", expanding=True)))
        .group_by(c.vector_store_id, c.status)
    )


@functools.cache
def _counts_by_batch() -> Select[Any]:
    c = FILES.c
    return (
        select(c.batch_id, c.status, func.count(), func.sum(c.usage_bytes))
        .where(c.batch_id == bindparam("batch"))
        .group_by(c.batch_id, c.status)
    )


async def store_counts(conn: Conn, store_ids: list[str]) -> dict[str, Counts]:
    if not store_ids:
        return {}
    rows = (await conn.execute(_counts_by_store(), {"ids": store_ids})).all()
    counted = _fold(rows)
    return {sid: counted.get(sid, Counts()) for sid in store_ids}


async def batch_counts(conn: Conn, batch_id: str) -> Counts:
    rows = (await conn.execute(_counts_by_batch(), {"batch": batch_id})).all()
    return _fold(rows).get(batch_id, Counts())


# --- store files --------------------------------------------------------------------------------------


@functools.cache
def _get_file() -> Select[Any]:
    c = FILES.c
    return select(FILES).where(c.vector_store_id == bindparam("store"), c.file_id == bindparam("file"))


async def get_file(conn: Conn, store_id: str, file_id: str) -> VectorStoreFileRecord | None:
    row = (await conn.execute(_get_file(), {"store": store_id, "file": file_id})).first()
    return None if row is None else to_record(VectorStoreFileRecord, row)


async def put_files(conn: Conn, rows: list[dict[str, Any]]) -> None:
    """Attach files (``rows`` are column values). A file already in the store is replaced and ingested again."""
    if not rows:
        return
    stmt = delete(FILES).where(FILES.c.vector_store_id == bindparam("s"), FILES.c.file_id == bindparam("f"))
    await conn.execute(stmt, [{"s": r["vector_store_id"], "f": r["file_id"]} for r in rows])
    await conn.execute(FILES.insert(), rows)
    if any(r.get("status") == "in_progress" for r in rows):
        await signals.notify(conn, signals.INGEST)


async def update_file(
    conn: Conn, store_id: str, file_id: str, values: dict[str, Any], *, seq: int | None = None
) -> bool:
    """Update one store file; with ``seq``, only that attachment while it is still ``in_progress``."""
    c = FILES.c
    stmt = update(FILES).where(c.vector_store_id == store_id, c.file_id == file_id)
    if seq is not None:
        stmt = stmt.where(c.seq == seq, c.status == "in_progress")
    result = await conn.execute(stmt.values(values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def delete_file(conn: Conn, store_id: str, file_id: str) -> bool:
    c = FILES.c
    result = await conn.execute(delete(FILES).where(c.vector_store_id == store_id, c.file_id == file_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def page_files(
    conn: Conn, store_id: str, page: PageParams, status: str | None = None, batch_id: str | None = None
) -> tuple[list[VectorStoreFileRecord], bool]:
    """A page of a store's files in attachment order; cursors are File IDs within the store."""
    c = FILES.c
    where = [c.vector_store_id == store_id]
    if status is not None:
        where.append(c.status == status)
    if batch_id is not None:
        where.append(c.batch_id == batch_id)
    desc = page.order == "desc"
    for cursor, after in ((page.after, True), (page.before, False)):
        if cursor is None:
            continue
        pivot = select(c.seq).where(c.vector_store_id == store_id, c.file_id == cursor).scalar_subquery()
        where.append(c.seq < pivot if desc == after else c.seq > pivot)
    ascending = (not desc) if page.before is None else desc
    stmt = select(FILES).where(*where).order_by(c.seq.asc() if ascending else c.seq.desc()).limit(page.limit + 1)
    rows = list((await conn.execute(stmt)).all())
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    if page.before is not None:
        rows.reverse()
    return [to_record(VectorStoreFileRecord, r) for r in rows], has_more


async def ingesting(conn: Conn) -> int:
    """Files still ``in_progress`` in every store and project (the ingestion queue's depth)."""
    return int(
        (
            await conn.execute(select(func.count()).select_from(FILES).where(FILES.c.status == "in_progress"))
        ).scalar_one()
    )


async def file_statuses(conn: Conn, store_id: str, file_ids: list[str]) -> dict[str, str]:
    """The status of each of ``file_ids`` attached to the store (absent: not attached)."""
    if not file_ids:
        return {}
    c = FILES.c
    stmt = select(c.file_id, c.status).where(
        c.vector_store_id == store_id, c.file_id.in_(bindparam("ids", expanding=True))
    )
    rows = (await conn.execute(stmt, {"ids": file_ids})).all()
    return {str(r._mapping["file_id"]): str(r._mapping["status"]) for r in rows}


async def claim_files(
    conn: Conn, owner: str, now: float, lease_seconds: float, limit: int
) -> list[VectorStoreFileRecord]:
    """Take up to ``limit`` files of the ingestion queue (``in_progress``, oldest first) that no worker
    holds, leasing them to ``owner``. Many processes claim at once on PostgreSQL: rows another transaction
    is claiming are skipped (``SKIP LOCKED``), so each file goes to one worker; SQLite has one writer."""
    c = FILES.c
    stmt = (
        select(FILES)
        .where(c.status == "in_progress", or_(c.lease_until.is_(None), c.lease_until < now))
        .order_by(c.seq)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    records = [to_record(VectorStoreFileRecord, r) for r in (await conn.execute(stmt)).all()]
    if records:
        seqs = [r.seq for r in records]
        await conn.execute(
            update(FILES).where(c.seq.in_(seqs)).values(lease_owner=owner, lease_until=now + lease_seconds)
        )
    return records


async def renew_files(conn: Conn, owner: str, seqs: list[int], until: float) -> None:
    """Extend ``owner``'s leases on the files it is still ingesting."""
    c = FILES.c
    await conn.execute(update(FILES).where(c.seq.in_(seqs), c.lease_owner == owner).values(lease_until=until))


async def release_files(conn: Conn, owner: str | None = None) -> None:
    """Make files leased by ``owner`` (clean shutdown), or by anyone (``None``: one process owns a SQLite
    database, so at its start every lease belongs to a dead process), claimable at once."""
    c = FILES.c
    held = c.lease_owner.is_not(None) if owner is None else c.lease_owner == owner
    stmt = update(FILES).where(held, c.status == "in_progress")  # who ingested a finished file stays visible
    await conn.execute(stmt.values(lease_owner=None, lease_until=None))


async def cancel_batch(conn: Conn, batch_id: str) -> None:
    """Cancel a batch and every file of it not yet ingested."""
    c = FILES.c
    await conn.execute(
        update(FILES).where(c.batch_id == batch_id, c.status == "in_progress").values(status="cancelled")
    )
    await conn.execute(update(BATCHES).where(BATCHES.c.id == batch_id).values(cancelled=True))


async def store_ids_with_file(conn: Conn, file_id: str) -> list[str]:
    stmt = select(FILES.c.vector_store_id).where(FILES.c.file_id == file_id)
    return [r[0] for r in (await conn.execute(stmt)).all()]


async def attached_pairs(conn: Conn) -> set[tuple[str, str]]:
    """Every (store, file) attachment (the index's garbage collector keeps only these)."""
    stmt = select(FILES.c.vector_store_id, FILES.c.file_id)
    rows = (await conn.execute(stmt)).all()
    return {(str(r._mapping["vector_store_id"]), str(r._mapping["file_id"])) for r in rows}
