"""The containers aggregate: tables, records and queries (migration ``0004_containers``).

A container is a row here plus, while code runs in it, a sandbox session keyed by its ID. The rows are the
truth: a container file's bytes live in the blob store under its own ID (``blob_key``), so a session that
was reclaimed or crashed is rebuilt from them. One file per path: a file written again at a path replaces
the row for that path (``ux_container_files_path``).

The tables are declared on ``tables.Base`` so they share the schema's metadata (Alembic, ``create_all``),
without touching ``tables.py``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Select, String, Table, bindparam, func, select
from sqlalchemy.orm import Mapped, mapped_column

from assistantd.store import tables as t
from assistantd.store._crud import PageParams, Repo, paginate, to_record
from assistantd.store.db import Conn


class ContainerRow(t.Base):
    __tablename__ = "containers"
    seq: Mapped[int] = mapped_column(t.Seq, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = t.project_column()
    created_at: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16))
    """``running`` or ``expired`` (written once noticed; ``ContainerRecord.expired`` also reads the clock)."""
    expires_after_minutes: Mapped[int] = mapped_column(BigInteger)
    last_active_at: Mapped[int] = mapped_column(BigInteger)
    memory_limit: Mapped[str] = mapped_column(String(8))
    network_policy: Mapped[dict[str, Any] | None] = mapped_column(t.Json)
    skills: Mapped[list[Any] | None] = mapped_column(t.Json)

    __table_args__ = (Index("ix_containers_status", "status"),)


class ContainerFileRow(t.Base):
    __tablename__ = "container_files"
    seq: Mapped[int] = mapped_column(t.Seq, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = t.project_column(index=False)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    container_id: Mapped[str] = mapped_column(String(64), ForeignKey("containers.id", ondelete="CASCADE"))
    created_at: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int] = mapped_column(BigInteger)
    path: Mapped[str] = mapped_column(String(1024))
    """``/mnt/data/<name>``, as the code sees it."""
    source: Mapped[str] = mapped_column(String(16))
    """``user`` (uploaded or copied from a File) or ``assistant`` (written by the code)."""
    blob_key: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ux_container_files_path", "container_id", "path", unique=True),)


@dataclass(frozen=True, slots=True)
class ContainerRecord:
    id: str
    created_at: int
    name: str
    status: str
    expires_after_minutes: int
    last_active_at: int
    memory_limit: str
    network_policy: dict[str, Any] | None
    skills: list[Any] | None

    def expires_at(self) -> int:
        return self.last_active_at + self.expires_after_minutes * 60

    def expired(self, at: int) -> bool:
        return self.status == "expired" or at >= self.expires_at()


@dataclass(frozen=True, slots=True)
class ContainerFileRecord:
    id: str
    container_id: str
    created_at: int
    bytes: int
    path: str
    source: str
    blob_key: str


def _table(cls: type[t.Base]) -> Table:
    table = cls.__table__
    assert isinstance(table, Table)
    return table


CONTAINERS = _table(ContainerRow)
FILES = _table(ContainerFileRow)

containers = Repo(CONTAINERS, ContainerRecord)
files = Repo(FILES, ContainerFileRecord)


async def page_containers(conn: Conn, page: PageParams, name: str | None) -> tuple[list[ContainerRecord], bool]:
    return await paginate(conn, CONTAINERS, ContainerRecord, page, {"name": name} if name is not None else None)


async def page_files(conn: Conn, container_id: str, page: PageParams) -> tuple[list[ContainerFileRecord], bool]:
    return await paginate(conn, FILES, ContainerFileRecord, page, {"container_id": container_id})


@functools.cache
def _all_files() -> Select[Any]:
    return select(FILES).where(FILES.c.container_id == bindparam("cid")).order_by(FILES.c.seq)


async def all_files(conn: Conn, container_id: str) -> list[ContainerFileRecord]:
    """Every file of the container, oldest first (what a new session is given)."""
    rows = (await conn.execute(_all_files(), {"cid": container_id})).all()
    return [to_record(ContainerFileRecord, r) for r in rows]


async def file_of(conn: Conn, container_id: str, file_id: str) -> ContainerFileRecord | None:
    record = await files.get(conn, file_id)
    return record if record is not None and record.container_id == container_id else None


@functools.cache
def _by_path() -> Select[Any]:
    c = FILES.c
    return select(FILES).where(c.container_id == bindparam("cid"), c.path == bindparam("path"))


async def file_at(conn: Conn, container_id: str, path: str) -> ContainerFileRecord | None:
    row = (await conn.execute(_by_path(), {"cid": container_id, "path": path})).first()
    return None if row is None else to_record(ContainerFileRecord, row)


@functools.cache
def _assistant_bytes() -> Select[Any]:
    c = FILES.c
    return select(func.coalesce(func.sum(c.bytes), 0)).where(
        c.container_id == bindparam("cid"), c.source == "assistant"
    )


async def assistant_bytes(conn: Conn, container_id: str) -> int:
    """What the container's code has stored so far (its output quota is counted against this)."""
    return int((await conn.execute(_assistant_bytes(), {"cid": container_id})).scalar_one())


@functools.cache
def _due() -> Select[Any]:
    c = CONTAINERS.c
    return (
        select(CONTAINERS)
        .where(c.status == "running", c.last_active_at + c.expires_after_minutes * 60 <= bindparam("at"))
        .limit(100)
    )


async def due(conn: Conn, at: int) -> list[ContainerRecord]:
    """Running containers whose idle time ran out by ``at`` (at most 100 a call)."""
    return [to_record(ContainerRecord, r) for r in (await conn.execute(_due(), {"at": at})).all()]


async def replace_at_path(conn: Conn, container_id: str, row: dict[str, Any]) -> ContainerFileRecord | None:
    """Insert ``row``, removing the container's file at the same path first; returns the one removed."""
    old = await file_at(conn, container_id, row["path"])
    if old is not None:
        await files.delete(conn, old.id)
    await files.insert(conn, row)
    return old
