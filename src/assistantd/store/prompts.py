"""Versions of assistants, and ``pmpt_`` stored prompts with theirs: tables, records and queries
(migration ``0006_prompts``).

An assistant is a prompt: every write of one (create, and each modify) appends a snapshot of all its fields to
``assistant_versions``, numbered 1, 2, 3, ... per assistant, so ``responses.create(prompt={"id": "asst_...",
"version": "2"})`` runs what the assistant was then, and a run records the version it used. ``prompts`` holds
the stored prompts that stand in for OpenAI's dashboard prompts; a prompt row carries only its identity and its
newest version number, and each version's content is one ``prompt_versions`` row (versions are immutable).

Version lists are paged by version number (the cursor is the number), newest first by default. Versions go
with their owner: the foreign keys cascade on delete.

The tables are declared on ``tables.Base`` so they share the schema's metadata (Alembic, ``create_all``),
without touching ``tables.py``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from assistantd.store import tables as t
from assistantd.store._crud import Repo, to_record
from assistantd.store.db import Conn
from assistantd.store.records import AssistantRecord


class AssistantVersionRow(t.Base):
    """One assistant as it was after one write: the same fields as ``assistants``, frozen."""

    __tablename__ = "assistant_versions"
    seq: Mapped[int] = mapped_column(t.Seq, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = t.project_column(index=False)
    assistant_id: Mapped[str] = mapped_column(String(64), ForeignKey("assistants.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[int] = mapped_column(BigInteger)
    """When this version was written (the assistant's own ``created_at`` for version 1)."""
    model: Mapped[str] = mapped_column(String(256))
    name: Mapped[str | None] = mapped_column(String(256))
    description: Mapped[str | None] = mapped_column(String(512))
    instructions: Mapped[str | None] = mapped_column(Text)
    tools: Mapped[list[Any]] = mapped_column(t.Json)
    tool_resources: Mapped[dict[str, Any] | None] = mapped_column(t.Json)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", t.Json)
    temperature: Mapped[float | None] = mapped_column(Float)
    top_p: Mapped[float | None] = mapped_column(Float)
    response_format: Mapped[Any | None] = mapped_column(t.Json)
    reasoning_effort: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (Index("ux_assistant_versions_version", "assistant_id", "version", unique=True),)


class PromptRow(t.Base):
    __tablename__ = "prompts"
    seq: Mapped[int] = mapped_column(t.Seq, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = t.project_column()
    created_at: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer)
    """The newest version's number (what a reference without ``version`` runs)."""


class PromptVersionRow(t.Base):
    """One version of a stored prompt, in the Responses shapes (flat function tools, ``text.format``)."""

    __tablename__ = "prompt_versions"
    seq: Mapped[int] = mapped_column(t.Seq, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = t.project_column(index=False)
    prompt_id: Mapped[str] = mapped_column(String(64), ForeignKey("prompts.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str | None] = mapped_column(String(256))
    model: Mapped[str | None] = mapped_column(String(256))
    instructions: Mapped[str | None] = mapped_column(Text)
    tools: Mapped[list[Any]] = mapped_column(t.Json)
    text: Mapped[dict[str, Any] | None] = mapped_column(t.Json)
    temperature: Mapped[float | None] = mapped_column(Float)
    top_p: Mapped[float | None] = mapped_column(Float)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", t.Json)
    variables: Mapped[dict[str, Any] | None] = mapped_column(t.Json)
    """Default values of the instructions' ``{{variables}}`` (a string or an input part each)."""

    __table_args__ = (Index("ux_prompt_versions_version", "prompt_id", "version", unique=True),)


@dataclass(frozen=True, slots=True)
class AssistantVersionRecord:
    assistant_id: str
    version: int
    created_at: int
    model: str
    name: str | None
    description: str | None
    instructions: str | None
    tools: list[Any]
    tool_resources: dict[str, Any] | None
    metadata: dict[str, Any] | None
    temperature: float | None
    top_p: float | None
    response_format: Any
    reasoning_effort: str | None


@dataclass(frozen=True, slots=True)
class PromptRecord:
    id: str
    created_at: int
    version: int


@dataclass(frozen=True, slots=True)
class PromptVersionRecord:
    prompt_id: str
    version: int
    created_at: int
    name: str | None
    model: str | None
    instructions: str | None
    tools: list[Any]
    text: dict[str, Any] | None
    temperature: float | None
    top_p: float | None
    metadata: dict[str, Any] | None
    variables: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class VersionPage:
    """A list request over one owner's versions; the cursors are version numbers."""

    limit: int = 20
    order: Literal["asc", "desc"] = "desc"
    after: int | None = None
    before: int | None = None


def _table(cls: type[t.Base]) -> Table:
    table = cls.__table__
    assert isinstance(table, Table)
    return table


ASSISTANT_VERSIONS = _table(AssistantVersionRow)
PROMPTS = _table(PromptRow)
PROMPT_VERSIONS = _table(PromptVersionRow)
ASSISTANTS = _table(t.AssistantRow)

prompts = Repo(PROMPTS, PromptRecord)
"""The prompt rows: insert, get, delete, and pages in insertion order."""


# --- versions of any owner ------------------------------------------------------------------------------


async def _latest(conn: Conn, table: Table, owner: str, owner_id: str) -> int | None:
    stmt = select(func.max(table.c.version)).where(table.c[owner] == owner_id)
    value = (await conn.execute(stmt)).scalar()
    return None if value is None else int(value)


async def _page(
    conn: Conn, table: Table, owner: str, owner_id: str, page: VersionPage, record: type[Any]
) -> tuple[list[Any], bool]:
    """One page of an owner's versions in ``page.order``, and whether more lie beyond it (as ``paginate``)."""
    version = table.c.version
    desc = page.order == "desc"
    stmt = select(table).where(table.c[owner] == owner_id)
    if page.after is not None:
        stmt = stmt.where(version < page.after if desc else version > page.after)
    if page.before is not None:
        stmt = stmt.where(version > page.before if desc else version < page.before)
    ascending = (not desc) if page.before is None else desc
    stmt = stmt.order_by(version.asc() if ascending else version.desc()).limit(page.limit + 1)
    rows = list((await conn.execute(stmt)).all())
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    if page.before is not None:
        rows.reverse()
    return [to_record(record, r) for r in rows], has_more


# --- assistant versions ---------------------------------------------------------------------------------


async def lock_assistant(conn: Conn, assistant_id: str) -> AssistantRecord | None:
    """The assistant, locked for this transaction where the database has row locks (PostgreSQL), so two
    modifies cannot both take the next version number. SQLite's single writer already serializes them."""
    stmt = select(ASSISTANTS).where(ASSISTANTS.c.id == assistant_id).with_for_update()
    row = (await conn.execute(stmt)).first()
    return None if row is None else to_record(AssistantRecord, row)


async def latest_assistant_version(conn: Conn, assistant_id: str) -> int:
    """The version a run of the assistant uses now: its newest, or 1 for an assistant never versioned."""
    return await _latest(conn, ASSISTANT_VERSIONS, "assistant_id", assistant_id) or 1


async def add_assistant_version(conn: Conn, assistant: AssistantRecord, created_at: int) -> int:
    """Append ``assistant`` as its next version and return the number. An assistant that has no version yet
    (made before versions existed and not backfilled) gets ``assistant`` as version 1."""
    version = (await _latest(conn, ASSISTANT_VERSIONS, "assistant_id", assistant.id) or 0) + 1
    values = {f.name: getattr(assistant, f.name) for f in dataclasses.fields(assistant)}
    del values["id"]
    values.update(assistant_id=assistant.id, version=version, created_at=created_at)
    await conn.execute(ASSISTANT_VERSIONS.insert(), values)
    return version


async def has_assistant_versions(conn: Conn, assistant_id: str) -> bool:
    return await _latest(conn, ASSISTANT_VERSIONS, "assistant_id", assistant_id) is not None


async def get_assistant_version(conn: Conn, assistant_id: str, version: int) -> AssistantVersionRecord | None:
    table = ASSISTANT_VERSIONS
    stmt = select(table).where(table.c.assistant_id == assistant_id, table.c.version == version)
    row = (await conn.execute(stmt)).first()
    return None if row is None else to_record(AssistantVersionRecord, row)


async def page_assistant_versions(
    conn: Conn, assistant_id: str, page: VersionPage
) -> tuple[list[AssistantVersionRecord], bool]:
    return await _page(conn, ASSISTANT_VERSIONS, "assistant_id", assistant_id, page, AssistantVersionRecord)


# --- stored prompts -------------------------------------------------------------------------------------


async def lock_prompt(conn: Conn, prompt_id: str) -> PromptRecord | None:
    """The prompt row, locked for this transaction where the database has row locks (see ``lock_assistant``)."""
    stmt = select(PROMPTS).where(PROMPTS.c.id == prompt_id).with_for_update()
    row = (await conn.execute(stmt)).first()
    return None if row is None else to_record(PromptRecord, row)


async def add_prompt_version(conn: Conn, prompt_id: str, version: int, values: dict[str, Any]) -> None:
    """Insert version ``version`` (``values``: the version's columns but its keys) and make it the newest."""
    await conn.execute(PROMPT_VERSIONS.insert(), {**values, "prompt_id": prompt_id, "version": version})
    await conn.execute(update(PROMPTS).where(PROMPTS.c.id == prompt_id).values(version=version))


async def get_prompt_version(conn: Conn, prompt_id: str, version: int) -> PromptVersionRecord | None:
    table = PROMPT_VERSIONS
    stmt = select(table).where(table.c.prompt_id == prompt_id, table.c.version == version)
    row = (await conn.execute(stmt)).first()
    return None if row is None else to_record(PromptVersionRecord, row)


async def prompt_versions_of(conn: Conn, keys: list[tuple[str, int]]) -> dict[str, PromptVersionRecord]:
    """The given (prompt, version) rows in one query, by prompt id (a list page's newest versions)."""
    if not keys:
        return {}
    table = PROMPT_VERSIONS
    stmt = select(table).where(tuple_(table.c.prompt_id, table.c.version).in_(keys))
    records = [to_record(PromptVersionRecord, r) for r in (await conn.execute(stmt)).all()]
    return {r.prompt_id: r for r in records}


async def page_prompt_versions(conn: Conn, prompt_id: str, page: VersionPage) -> tuple[list[PromptVersionRecord], bool]:
    return await _page(conn, PROMPT_VERSIONS, "prompt_id", prompt_id, page, PromptVersionRecord)
