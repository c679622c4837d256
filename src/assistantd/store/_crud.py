"""Dialect-neutral building blocks shared by the per-resource query modules."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import (
    ColumnElement,
    Delete,
    Insert,
    Select,
    Table,
    Text,
    Update,
    bindparam,
    cast,
    delete,
    insert,
    select,
    update,
)

from assistantd.store.db import Conn

R = TypeVar("R")
Rec = TypeVar("Rec")


@dataclass(frozen=True, slots=True)
class PageParams:
    """A list request: OpenAI's cursor pagination."""

    limit: int = 20
    order: Literal["asc", "desc"] = "desc"
    after: str | None = None
    before: str | None = None


def to_record(cls: type[R], row: Any) -> R:
    """A result row (keyed by column name) → a record dataclass with the same field names."""
    positions = _plan(cls, tuple(row._fields))  # type: ignore[arg-type]
    return cls(*[row[i] for i in positions])


@functools.cache
def _plan(cls: type, fields: tuple[str, ...]) -> tuple[int, ...]:
    """Where each of the record's fields sits in rows of this shape (computed once per shape)."""
    index = {name: i for i, name in enumerate(fields)}
    return tuple(index[f.name] for f in dataclasses.fields(cls))


# Statements are built once per shape and executed with bound parameters: SQLAlchemy then reuses the
# compiled form instead of coercing every value and hashing a new cache key per call (4-5x cheaper).


@functools.cache
def _insert(table: Table) -> Insert:
    return insert(table)


@functools.cache
def _select_by_id(table: Table) -> Select[Any]:
    return select(table).where(table.c.id == bindparam("_id"))


@functools.cache
def _update_by_id(table: Table, keys: tuple[str, ...]) -> Update:
    return update(table).where(table.c.id == bindparam("_id")).values({k: bindparam(k) for k in keys})


@functools.cache
def _delete_by_id(table: Table) -> Delete:
    return delete(table).where(table.c.id == bindparam("_id"))


@functools.cache
def _page_stmt(table: Table, equal: tuple[str, ...], desc: bool, after: bool, before: bool) -> Select[Any]:
    seq = table.c.seq
    conditions: list[ColumnElement[bool]] = [table.c[k] == bindparam(f"_eq_{k}") for k in equal]
    if after:
        cursor = select(table.c.seq).where(table.c.id == bindparam("_after")).scalar_subquery()
        conditions.append(seq < cursor if desc else seq > cursor)
    if before:
        cursor = select(table.c.seq).where(table.c.id == bindparam("_before")).scalar_subquery()
        conditions.append(seq > cursor if desc else seq < cursor)
    ascending = (not desc) if not before else desc
    return select(table).where(*conditions).order_by(seq.asc() if ascending else seq.desc()).limit(bindparam("_lim"))


async def insert_row(conn: Conn, table: Table, values: dict[str, Any]) -> None:
    await conn.execute(_insert(table), values)


async def get_by_id(conn: Conn, table: Table, cls: type[R], object_id: str) -> R | None:
    row = (await conn.execute(_select_by_id(table), {"_id": object_id})).first()
    return None if row is None else to_record(cls, row)


async def update_by_id(conn: Conn, table: Table, object_id: str, values: dict[str, Any]) -> bool:
    if not values:
        return (await conn.execute(_select_by_id(table), {"_id": object_id})).first() is not None
    stmt = _update_by_id(table, tuple(sorted(values)))
    result = await conn.execute(stmt, {**values, "_id": object_id})
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def delete_by_id(conn: Conn, table: Table, object_id: str) -> bool:
    result = await conn.execute(_delete_by_id(table), {"_id": object_id})
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def paginate(
    conn: Conn,
    table: Table,
    cls: type[R],
    page: PageParams,
    equal: Mapping[str, Any] | None = None,
) -> tuple[list[R], bool]:
    """One page in ``page.order`` by insertion sequence, and whether more lie beyond it.

    ``after`` continues past the cursor in the list's order; ``before`` returns the page just in front
    of it (still in the list's order). An unknown cursor gives an empty page.
    """
    equal = equal or {}
    keys = tuple(sorted(equal))
    stmt = _page_stmt(table, keys, page.order == "desc", page.after is not None, page.before is not None)
    params: dict[str, Any] = {f"_eq_{k}": equal[k] for k in keys}
    params["_lim"] = page.limit + 1
    if page.after is not None:
        params["_after"] = page.after
    if page.before is not None:
        params["_before"] = page.before
    rows = list((await conn.execute(stmt, params)).all())
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    if page.before is not None:
        rows.reverse()
    return [to_record(cls, r) for r in rows], has_more


class Repo(Generic[Rec]):
    """Typed access to one table: insert, get, update, delete and list pages of records."""

    def __init__(self, table: Table, record: type[Rec]) -> None:
        self.table = table
        self.record = record

    async def insert(self, conn: Conn, values: dict[str, Any]) -> None:
        await insert_row(conn, self.table, values)

    async def get(self, conn: Conn, object_id: str) -> Rec | None:
        return await get_by_id(conn, self.table, self.record, object_id)

    async def lock(self, conn: Conn, object_id: str) -> None:
        """Hold the row until the write transaction ends, so a read-check-write on it (one active run per
        thread, tool outputs applied once) cannot interleave with another process's. PostgreSQL takes a
        row lock (``FOR UPDATE``); on SQLite the single writer already serializes write transactions."""
        if conn.dialect.name == "postgresql":
            await conn.execute(select(self.table.c.id).where(self.table.c.id == object_id).with_for_update())

    async def update(self, conn: Conn, object_id: str, values: dict[str, Any]) -> bool:
        return await update_by_id(conn, self.table, object_id, values)

    async def delete(self, conn: Conn, object_id: str) -> bool:
        return await delete_by_id(conn, self.table, object_id)

    async def page(
        self, conn: Conn, page: PageParams, equal: Mapping[str, Any] | None = None
    ) -> tuple[list[Rec], bool]:
        """A page of rows whose columns equal ``equal``'s values."""
        return await paginate(conn, self.table, self.record, page, equal)

    async def referencing(self, conn: Conn, column: str, needle: str) -> list[Rec]:
        """Rows whose JSON ``column`` mentions ``needle`` (a cheap pre-filter; callers check exactly)."""
        col = self.table.c[column]
        stmt = select(self.table).where(col.is_not(None), cast(col, Text).contains(needle))
        return [to_record(self.record, r) for r in (await conn.execute(stmt)).all()]
