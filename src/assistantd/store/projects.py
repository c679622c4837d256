"""Projects, their service accounts and API keys: tables and queries (the admin API's store).

A key is kept only as its SHA-256 digest (keys are 256 random bits, so a fast digest is enough: there is
nothing to brute-force) and a redacted form for lists; the value is shown once, when it is made. Deleting a
key revokes it: the row stays (``revoked_at``), so an old key is refused as unknown, never re-admitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy import BigInteger, ForeignKey, Index, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from assistantd.store import tables as t
from assistantd.store._crud import PageParams, Repo, to_record
from assistantd.store.db import Conn


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


R = TypeVar("R", bound=_HasId)


class ProjectRow(t.Base):
    __tablename__ = "projects"
    seq: Mapped[int] = mapped_column(t.Seq, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[int] = mapped_column(BigInteger)
    archived_at: Mapped[int | None] = mapped_column(BigInteger)


class ServiceAccountRow(t.Base):
    __tablename__ = "service_accounts"
    seq: Mapped[int] = mapped_column(t.Seq, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = mapped_column(String(64), ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[int] = mapped_column(BigInteger)
    deleted_at: Mapped[int | None] = mapped_column(BigInteger)


class ApiKeyRow(t.Base):
    __tablename__ = "api_keys"
    seq: Mapped[int] = mapped_column(t.Seq, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = mapped_column(String(64), ForeignKey("projects.id"))
    service_account_id: Mapped[str] = mapped_column(String(64), ForeignKey("service_accounts.id"))
    name: Mapped[str] = mapped_column(String(256))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    redacted_value: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[int] = mapped_column(BigInteger)
    last_used_at: Mapped[int | None] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_api_keys_project", "project_id", "seq"),)


@dataclass(frozen=True, slots=True)
class ProjectRecord:
    id: str
    name: str
    created_at: int
    archived_at: int | None


@dataclass(frozen=True, slots=True)
class ServiceAccountRecord:
    id: str
    project_id: str
    name: str
    role: str
    created_at: int
    deleted_at: int | None


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: str
    project_id: str
    service_account_id: str
    name: str
    redacted_value: str
    created_at: int
    last_used_at: int | None
    revoked_at: int | None


@dataclass(frozen=True, slots=True)
class KeyOwner:
    """What a presented key resolves to."""

    key_id: str
    project_id: str
    archived: bool
    last_used_at: int | None


projects = Repo(ProjectRow.__table__, ProjectRecord)  # type: ignore[arg-type]
service_accounts = Repo(ServiceAccountRow.__table__, ServiceAccountRecord)  # type: ignore[arg-type]
api_keys = Repo(ApiKeyRow.__table__, ApiKeyRecord)  # type: ignore[arg-type]


def _paged(found: list[R], page: PageParams) -> tuple[list[R], bool]:
    """``page`` of rows already in the list's order (these lists are short: one read, paged here)."""
    if page.after is not None:
        ids = [r.id for r in found]
        found = found[ids.index(page.after) + 1 :] if page.after in ids else []
    return found[: page.limit], len(found) > page.limit


async def page_projects(conn: Conn, page: PageParams, include_archived: bool) -> tuple[list[ProjectRecord], bool]:
    order = ProjectRow.seq.desc() if page.order == "desc" else ProjectRow.seq.asc()
    stmt = select(ProjectRow).order_by(order)
    if not include_archived:
        stmt = stmt.where(ProjectRow.archived_at.is_(None))
    return _paged([to_record(ProjectRecord, r) for r in (await conn.execute(stmt)).all()], page)


async def page_accounts(conn: Conn, page: PageParams, project_id: str) -> tuple[list[ServiceAccountRecord], bool]:
    order = ServiceAccountRow.seq.desc() if page.order == "desc" else ServiceAccountRow.seq.asc()
    stmt = select(ServiceAccountRow).where(
        ServiceAccountRow.project_id == project_id, ServiceAccountRow.deleted_at.is_(None)
    )
    rows = (await conn.execute(stmt.order_by(order))).all()
    return _paged([to_record(ServiceAccountRecord, r) for r in rows], page)


async def page_keys(conn: Conn, page: PageParams, project_id: str) -> tuple[list[ApiKeyRecord], bool]:
    order = ApiKeyRow.seq.desc() if page.order == "desc" else ApiKeyRow.seq.asc()
    stmt = select(ApiKeyRow).where(ApiKeyRow.project_id == project_id, ApiKeyRow.revoked_at.is_(None))
    rows = (await conn.execute(stmt.order_by(order))).all()
    return _paged([to_record(ApiKeyRecord, r) for r in rows], page)


async def by_name(conn: Conn, name: str) -> ProjectRecord | None:
    stmt = select(ProjectRow).where(ProjectRow.name == name, ProjectRow.archived_at.is_(None)).order_by(ProjectRow.seq)
    row = (await conn.execute(stmt)).first()
    return None if row is None else to_record(ProjectRecord, row)


async def owner_of(conn: Conn, digest: str) -> KeyOwner | None:
    """The live key with this digest and its project, or None."""
    stmt = (
        select(ApiKeyRow.id, ApiKeyRow.project_id, ProjectRow.archived_at, ApiKeyRow.last_used_at)
        .join(ProjectRow, ProjectRow.id == ApiKeyRow.project_id)
        .where(ApiKeyRow.digest == digest, ApiKeyRow.revoked_at.is_(None))
    )
    row = (await conn.execute(stmt)).first()
    if row is None:
        return None
    key_id, project_id, archived_at, last_used_at = tuple(row)
    return KeyOwner(key_id=key_id, project_id=project_id, archived=archived_at is not None, last_used_at=last_used_at)


async def touch(conn: Conn, key_id: str, now: int) -> None:
    await conn.execute(update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(last_used_at=now))


async def revoke_account_keys(conn: Conn, service_account_id: str, now: int) -> None:
    await conn.execute(
        update(ApiKeyRow)
        .where(ApiKeyRow.service_account_id == service_account_id, ApiKeyRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )
