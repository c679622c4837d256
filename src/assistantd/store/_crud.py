"""Dialect-neutral building blocks shared by the per-resource query modules."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import ColumnElement, Table, Text, cast, delete, insert, select, update

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
    mapping = row._mapping
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in mapping.items() if k in names})


async def insert_row(conn: Conn, table: Table, values: dict[str, Any]) -> None:
    await conn.execute(insert(table).values(**values))


async def get_by_id(conn: Conn, table: Table, cls: type[R], object_id: str) -> R | None:
    row = (await conn.execute(select(table).where(table.c.id == object_id))).first()
    return None if row is None else to_record(cls, row)


async def update_by_id(conn: Conn, table: Table, object_id: str, values: dict[str, Any]) -> bool:
    result = await conn.execute(update(table).where(table.c.id == object_id).values(**values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def delete_by_id(conn: Conn, table: Table, object_id: str) -> bool:
    result = await conn.execute(delete(table).where(table.c.id == object_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def paginate(
    conn: Conn,
    table: Table,
    cls: type[R],
    page: PageParams,
    where: Sequence[ColumnElement[bool]] = (),
) -> tuple[list[R], bool]:
    """One page in ``page.order`` by insertion sequence, and whether more lie beyond it.

    ``after`` continues past the cursor in the list's order; ``before`` returns the page just in front
    of it (still in the list's order). An unknown cursor gives an empty page.
    """
    seq = table.c.seq
    conditions = list(where)
    desc = page.order == "desc"
    forward = page.before is None
    if page.after is not None:
        cursor = select(table.c.seq).where(table.c.id == page.after).scalar_subquery()
        conditions.append(seq < cursor if desc else seq > cursor)
    if page.before is not None:
        cursor = select(table.c.seq).where(table.c.id == page.before).scalar_subquery()
        conditions.append(seq > cursor if desc else seq < cursor)
    ascending = (not desc) if forward else desc
    stmt = select(table).where(*conditions).order_by(seq.asc() if ascending else seq.desc()).limit(page.limit + 1)
    rows = list((await conn.execute(stmt)).all())
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    if not forward:
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

    async def update(self, conn: Conn, object_id: str, values: dict[str, Any]) -> bool:
        return await update_by_id(conn, self.table, object_id, values)

    async def delete(self, conn: Conn, object_id: str) -> bool:
        return await delete_by_id(conn, self.table, object_id)

    async def page(
        self, conn: Conn, page: PageParams, equal: Mapping[str, Any] | None = None
    ) -> tuple[list[Rec], bool]:
        """A page of rows whose columns equal ``equal``'s values."""
        where = [self.table.c[k] == v for k, v in (equal or {}).items()]
        return await paginate(conn, self.table, self.record, page, where)

    async def referencing(self, conn: Conn, column: str, needle: str) -> list[Rec]:
        """Rows whose JSON ``column`` mentions ``needle`` (a cheap pre-filter; callers check exactly)."""
        col = self.table.c[column]
        stmt = select(self.table).where(col.is_not(None), cast(col, Text).contains(needle))
        return [to_record(self.record, r) for r in (await conn.execute(stmt)).all()]
