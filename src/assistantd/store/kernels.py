"""The ``kernel_hosts`` table: which process holds each thread's code_interpreter session (PostgreSQL only;
one process owns a SQLite database, and every session with it)."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert

from assistantd.store.db import Conn
from assistantd.store.tables import KernelHostRow


async def arrive(conn: Conn, key: str, owner: str, until: float) -> str | None:
    """Make ``owner`` the host of ``key``'s session; returns the previous host, if another."""
    before = (await conn.execute(select(KernelHostRow.owner).where(KernelHostRow.key == key))).scalar()
    stmt = insert(KernelHostRow).values(key=key, owner=owner, until=until)
    await conn.execute(
        stmt.on_conflict_do_update(index_elements=[KernelHostRow.key], set_={"owner": owner, "until": until})
    )
    return before if before != owner else None


async def renew(conn: Conn, owner: str, keys: list[str], until: float) -> None:
    """Renew ``owner``'s hold on ``keys``, and let go of every other key it held (sessions it ended)."""
    mine = KernelHostRow.owner == owner
    if keys:
        await conn.execute(update(KernelHostRow).where(mine, KernelHostRow.key.in_(keys)).values(until=until))
        await conn.execute(delete(KernelHostRow).where(mine, KernelHostRow.key.not_in(keys)))
    else:
        await conn.execute(delete(KernelHostRow).where(mine))
