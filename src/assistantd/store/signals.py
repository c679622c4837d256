"""Wake-ups between the processes of a PostgreSQL deployment, sent with the transaction that causes them.

``NOTIFY`` is transactional: a worker woken by ``JOBS`` finds the job it was told about, committed. On
SQLite (one process) nothing is sent; the process wakes itself (``WorkerPool.notify``). The listening
side is ``runs/pg_events.PostgresEventLog``.
"""

from __future__ import annotations

from sqlalchemy import text

from assistantd.store.db import Conn

EVENTS = "assistantd_events"
"""A run's events, written to ``run_events``."""
JOBS = "assistantd_jobs"
"""A run or response was queued."""
CANCELS = "assistantd_cancel"
"""A cancel (or a deletion) of the run in the payload was requested."""
INGEST = "assistantd_ingest"
"""A vector store file waits for ingestion."""
CHANNELS = (EVENTS, JOBS, CANCELS, INGEST)

_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


async def notify(conn: Conn, channel: str, payload: str = "") -> None:
    """Send ``NOTIFY channel`` when ``conn``'s transaction commits."""
    if conn.dialect.name == "postgresql":
        await conn.execute(_NOTIFY, {"channel": channel, "payload": payload})
