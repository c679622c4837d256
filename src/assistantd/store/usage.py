"""Token usage: one row per model request (a run's or response's turn), appended when the turn ends.

Append-only, so many workers record usage with no contended row; ``GET /v1/organization/usage/completions``
aggregates it into OpenAI's buckets. Kept apart from runs, so usage outlives a deleted thread or response.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Index, String, func, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from assistantd.store import tables as t
from assistantd.store.db import Conn


class UsageRow(t.Base):
    __tablename__ = "usage"
    seq: Mapped[int] = mapped_column(t.Seq, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = t.project_column(index=False)
    created_at: Mapped[int] = mapped_column(BigInteger)
    model: Mapped[str] = mapped_column(String(256))
    input_tokens: Mapped[int] = mapped_column(BigInteger)
    output_tokens: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_usage_created", "created_at"),)


_INSERT = insert(UsageRow)


async def record(conn: Conn, created_at: int, model: str, input_tokens: int, output_tokens: int) -> None:
    """One model request's tokens, in the current project (stamped by ``store/scope.py``)."""
    values = {"created_at": created_at, "model": model, "input_tokens": input_tokens, "output_tokens": output_tokens}
    await conn.execute(_INSERT, values)


@dataclass(frozen=True, slots=True)
class UsageTotal:
    bucket: int
    project_id: str | None
    model: str | None
    input_tokens: int
    output_tokens: int
    requests: int


async def totals(
    conn: Conn,
    start: int,
    end: int,
    width: int,
    group_by: tuple[str, ...],
    project_ids: list[str] | None,
    models: list[str] | None,
) -> list[UsageTotal]:
    """Sums per bucket of ``width`` seconds from ``start`` (and per project and/or model if grouped)."""
    bucket_col = ((UsageRow.created_at - start) // width).label("bucket")  # integer division: rows are >= start
    columns: list[Any] = [bucket_col]
    keys: list[Any] = []
    for name in group_by:
        col = UsageRow.project_id if name == "project_id" else UsageRow.model
        columns.append(col)
        keys.append(col)
    stmt = select(
        *columns,
        func.sum(UsageRow.input_tokens),
        func.sum(UsageRow.output_tokens),
        func.count(),
    ).where(UsageRow.created_at >= start, UsageRow.created_at < end)
    if project_ids:
        stmt = stmt.where(UsageRow.project_id.in_(project_ids))
    if models:
        stmt = stmt.where(UsageRow.model.in_(models))
    stmt = stmt.group_by(bucket_col, *keys).order_by(bucket_col)
    out = []
    for row in (await conn.execute(stmt)).all():
        values = dict(zip(["bucket", *group_by], row[: 1 + len(group_by)], strict=True))
        inp, outp, n = row[1 + len(group_by) :]
        out.append(
            UsageTotal(
                bucket=int(values["bucket"]),
                project_id=values.get("project_id"),
                model=values.get("model"),
                input_tokens=int(inp or 0),
                output_tokens=int(outp or 0),
                requests=int(n),
            )
        )
    return out
