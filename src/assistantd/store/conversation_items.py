"""A conversation's item log: the ``messages`` rows of one thread, every type, in insertion order.

Thread messages are the ``message`` rows of this log (``repos.messages`` pages them with ``type`` fixed);
the Conversations API reads and writes every row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Text, bindparam, cast, insert, select, update

from assistantd.store._crud import to_record
from assistantd.store.db import Conn
from assistantd.store.records import MessageRecord
from assistantd.store.tables import MessageRow

_LOG = select(MessageRow).where(MessageRow.thread_id == bindparam("thread_id")).order_by(MessageRow.seq)
_CALLS = (
    select(MessageRow.type, MessageRow.data)
    .where(
        MessageRow.thread_id == bindparam("thread_id"),
        MessageRow.type.in_(("function_call", "function_call_output")),
    )
    .order_by(MessageRow.seq)
)
_TOKENS = update(MessageRow).where(MessageRow.id == bindparam("_id")).values(tokens=bindparam("tokens"))


async def log(conn: Conn, thread_id: str) -> list[tuple[MessageRecord, int | None]]:
    """Every row of the thread, oldest first, with its cached token count."""
    rows = (await conn.execute(_LOG, {"thread_id": thread_id})).all()
    return [(to_record(MessageRecord, r), r.tokens) for r in rows]


async def append(conn: Conn, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(MessageRow), list(rows))


async def existing_ids(conn: Conn, ids: Iterable[str]) -> dict[str, str]:
    """Of ``ids``, those some row already has, with the thread that holds it (item ids are unique)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    stmt = select(MessageRow.id, MessageRow.thread_id).where(MessageRow.id.in_(wanted))
    return {r.id: r.thread_id for r in (await conn.execute(stmt)).all()}


async def dangling_calls(conn: Conn, thread_id: str) -> list[str]:
    """The ``call_id``s of the thread's function calls that no output answers, oldest first."""
    open_calls: dict[str, None] = {}
    for row in (await conn.execute(_CALLS, {"thread_id": thread_id})).all():
        call_id = str((row.data or {}).get("call_id"))
        if row.type == "function_call":
            open_calls[call_id] = None
        else:
            open_calls.pop(call_id, None)
    return list(open_calls)


async def save_tokens(conn: Conn, counts: Sequence[tuple[str, int]]) -> None:
    """Cache items' token counts with them (counted once, by the first turn that reads them)."""
    if counts:
        await conn.execute(_TOKENS, [{"_id": item_id, "tokens": n} for item_id, n in counts])


async def threads_mentioning(conn: Conn, needle: str, limit: int) -> set[str]:
    """IDs of up to ``limit`` threads one of whose messages' content holds ``needle`` (case-insensitively,
    matched literally: ``%`` and ``_`` are not wildcards). The console's thread search."""
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = await conn.execute(
        select(MessageRow.thread_id)
        .distinct()
        .where(cast(MessageRow.content, Text).ilike(f"%{escaped}%", escape="\\"))
        .limit(limit)
    )
    return {str(r[0]) for r in rows.all()}
