"""``PostgresEventLog``: the ``RunEventLog`` of a PostgreSQL deployment, where the process that streams a run
to its client is often not the one executing it.

Every event is delivered at once to this process's own subscribers (as ``InMemoryEventLog`` does), and
written to ``run_events`` by one flusher task, which takes everything published since its previous write
and writes it in one transaction (so a burst of token deltas costs one commit, and a lone event waits for
one round trip at most). In the same transaction it sends ``NOTIFY assistantd_events`` per run with the
events themselves when they fit in a notification (8000 bytes), or else with their ``seq`` range, which
the listener then reads. PostgreSQL delivers notifications in commit order, and one process executes a
run at a time (its job lease), so each listener sees a run's events in order, exactly once; a listener
skips what its own process sent, which its subscribers already have.

One connection per process ``LISTEN``s (outside the pool, in autocommit; a transaction-pooling PgBouncer
cannot carry it: see docs/postgresql.md). It also carries the wake-ups of ``store/signals.py`` (a run was
queued: an idle worker claims it now rather than at its next poll; a cancel was requested: the executing
worker stops the run now rather than at its next heartbeat; a file waits for ingestion). When the
connection drops, every stream this process serves ends (``:end``: the client sees the stream close and
can poll or stream again) and the listener reconnects; streams opened meanwhile are caught up from
``run_events`` once it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import orjson
import psycopg
from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.engine import make_url

from assistantd.runs.events import STREAM_END, RunEvent
from assistantd.store.db import Database
from assistantd.store.signals import CHANNELS, EVENTS, notify
from assistantd.store.tables import RunEventRow

log = logging.getLogger("assistantd.events")

PAYLOAD_LIMIT = 7900
"""PostgreSQL refuses a notification payload of 8000 bytes or more."""
RECONNECT_SECONDS = 0.5
OUTBOX_LIMIT = 100_000
"""Events kept for writing while the database is unreachable; older ones are dropped past this (the streams
that would read them have ended with the connection anyway)."""
KEEP_SECONDS = 600.0
"""Events are kept this long (a stream resumed later reads the stored run or response instead)."""

_INSERT = insert(RunEventRow).returning(RunEventRow.seq, sort_by_parameter_order=True)
_COLUMNS = (RunEventRow.seq, RunEventRow.event, RunEventRow.data)
_RANGE = (
    select(*_COLUMNS)
    .where(
        RunEventRow.run_id == bindparam("_run_id"),
        RunEventRow.seq >= bindparam("_first"),
        RunEventRow.seq <= bindparam("_last"),
    )
    .order_by(RunEventRow.seq)
)
_SINCE = (
    select(*_COLUMNS)
    .where(
        RunEventRow.run_id == bindparam("_run_id"),
        RunEventRow.seq > bindparam("_after"),
        RunEventRow.origin != bindparam("_origin"),
    )
    .order_by(RunEventRow.seq)
)
_NEWEST = select(func.max(RunEventRow.seq))


def libpq_url(url: str) -> str:
    """The database URL as libpq reads it (no SQLAlchemy driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresEventLog:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.origin = secrets.token_hex(6)
        self._subs: dict[str, list[asyncio.Queue[RunEvent]]] = defaultdict(list)
        self._outbox: list[tuple[str, RunEvent]] = []
        self._pending = asyncio.Event()
        self._listeners: dict[str, list[Callable[[str], None]]] = defaultdict(list)
        self._tasks: list[asyncio.Task[None]] = []
        self._listening = asyncio.Event()
        self._closing = False
        self._high: dict[str, int] = {}
        """The last event delivered from another process, per followed run."""
        self._seen = 0
        """The newest ``seq`` any notification carried: where to catch up from after a reconnection."""

    # --- the RunEventLog protocol ---------------------------------------------------------------------

    def publish(self, run_id: str, event: RunEvent) -> None:
        self._deliver(run_id, event)
        self._outbox.append((run_id, event))
        self._pending.set()

    @contextlib.contextmanager
    def subscribe(self, run_id: str) -> Any:
        queue: asyncio.Queue[RunEvent] = asyncio.Queue()
        self._subs[run_id].append(queue)
        try:
            yield queue
        finally:
            subs = self._subs.get(run_id)
            if subs is not None:
                subs.remove(queue)
                if not subs:
                    del self._subs[run_id]
                    self._high.pop(run_id, None)

    def subscribers(self, run_id: str | None = None) -> int:
        if run_id is None:
            return sum(len(subs) for subs in self._subs.values())
        return len(self._subs.get(run_id, ()))

    # --- wake-ups ------------------------------------------------------------------------------------

    def on(self, channel: str, callback: Callable[[str], None]) -> None:
        """Call ``callback(payload)`` on each notification of ``channel`` (a wake-up of ``store/signals.py``)."""
        self._listeners[channel].append(callback)

    # --- life ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._flush_forever()), asyncio.create_task(self._listen_forever())]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await self._listening.wait()  # streams opened from now on miss nothing from other processes

    async def close(self) -> None:
        """Write what is still unwritten, then stop listening."""
        self._closing = True
        with contextlib.suppress(Exception):
            await self._flush()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    async def sweep(self) -> None:
        """Remove events older than ``KEEP_SECONDS``."""
        async with self.db.write() as conn:
            await conn.execute(delete(RunEventRow).where(RunEventRow.created_at < time.time() - KEEP_SECONDS))

    # --- writing -------------------------------------------------------------------------------------

    async def _flush_forever(self) -> None:
        while True:
            await self._pending.wait()
            try:
                await self._flush()
            except Exception:
                log.exception("writing run events failed; retrying")
                await asyncio.sleep(RECONNECT_SECONDS)

    async def _flush(self) -> None:
        self._pending.clear()
        batch, self._outbox = self._outbox, []
        if not batch:
            return
        ts = time.time()
        rows = [
            {"run_id": run_id, "event": e.event, "data": e.data, "origin": self.origin, "created_at": ts}
            for run_id, e in batch
        ]
        try:
            async with self.db.write() as conn:
                seqs = [row.seq for row in await conn.execute(_INSERT, rows)]
                for payload in self._payloads(batch, seqs):
                    await notify(conn, EVENTS, payload)
        except BaseException:
            self._outbox[:0] = batch  # written with the next batch, in order
            if len(self._outbox) > OUTBOX_LIMIT:
                log.warning("dropping %d unwritten run events", len(self._outbox) - OUTBOX_LIMIT)
                del self._outbox[: len(self._outbox) - OUTBOX_LIMIT]
            self._pending.set()
            raise

    def _payloads(self, batch: list[tuple[str, RunEvent]], seqs: list[int]) -> list[str]:
        """One notification per run (in the order of its first event) holding its events as
        ``[seq, event, data]``, or, when they do not fit, several: what fits, and ``seq`` ranges to read."""
        by_run: dict[str, list[tuple[int, RunEvent]]] = {}
        for (run_id, event), seq in zip(batch, seqs, strict=True):
            by_run.setdefault(run_id, []).append((seq, event))
        room = PAYLOAD_LIMIT - 200
        payloads: list[str] = []
        for run_id, events in by_run.items():
            head = {"o": self.origin, "r": run_id}
            carried: list[Any] = []
            size = 0
            for seq, event in events:
                encoded = orjson.dumps([seq, event.event, event.data])
                if size + len(encoded) > room and carried:
                    payloads.append(orjson.dumps({**head, "e": carried}).decode())
                    carried, size = [], 0
                if len(encoded) > room:
                    payloads.append(orjson.dumps({**head, "s": [seq, seq]}).decode())
                    continue
                carried.append(orjson.Fragment(encoded))
                size += len(encoded) + 1
            if carried:
                payloads.append(orjson.dumps({**head, "e": carried}).decode())
        return payloads

    # --- listening -----------------------------------------------------------------------------------

    async def _listen_forever(self) -> None:
        url = libpq_url(self.db.url)
        reconnecting = False
        while not self._closing:
            try:
                conn = await _connect(url)
            except Exception as exc:
                log.warning("cannot listen for run events: %s; retrying", str(exc).strip().splitlines()[0])
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            try:
                async with conn:
                    for channel in CHANNELS:
                        await conn.execute(f"LISTEN {channel}")
                    if reconnecting:
                        await self._catch_up()
                        log.info("listening for run events again")
                    else:
                        async with self.db.read() as read:
                            self._seen = (await read.execute(_NEWEST)).scalar() or 0
                    self._listening.set()
                    async for note in conn.notifies():
                        await self._on_notify(note.channel, note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                log.warning("lost the run event connection (%s); ending this process's streams", reason)
            self._listening.clear()
            self._end_all()
            reconnecting = True
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _on_notify(self, channel: str, payload: str) -> None:
        if channel != EVENTS:
            for callback in self._listeners.get(channel, ()):
                try:
                    callback(payload)
                except Exception:
                    log.exception("a %s wake-up failed", channel)
            return
        note = orjson.loads(payload)
        carried: list[Any] = note.get("e") or []
        self._seen = max(self._seen, carried[-1][0] if carried else note["s"][1])
        run_id = note["r"]
        if note["o"] == self.origin or run_id not in self._subs:
            return
        if not carried:
            first, last = note["s"]
            async with self.db.read() as conn:
                rows = (await conn.execute(_RANGE, {"_run_id": run_id, "_first": first, "_last": last})).all()
            carried = [(row.seq, row.event, row.data) for row in rows]
        for seq, name, data in carried:
            self._follow(run_id, seq, RunEvent(name, data))

    async def _catch_up(self) -> None:
        """After a reconnection: what other processes wrote meanwhile for the runs followed here (streams
        opened while the connection was down)."""
        async with self.db.read() as conn:
            for run_id in list(self._subs):
                after = self._high.get(run_id, self._seen)
                params = {"_run_id": run_id, "_after": after, "_origin": self.origin}
                for row in (await conn.execute(_SINCE, params)).all():
                    self._follow(run_id, row.seq, RunEvent(row.event, row.data))

    def _follow(self, run_id: str, seq: int, event: RunEvent) -> None:
        """Deliver an event of another process once (a catch-up and a notification may both carry it)."""
        if seq <= self._high.get(run_id, 0):
            return
        self._high[run_id] = seq
        self._deliver(run_id, event)

    def _deliver(self, run_id: str, event: RunEvent) -> None:
        for queue in self._subs.get(run_id, ()):
            queue.put_nowait(event)

    def _end_all(self) -> None:
        for run_id in list(self._subs):
            self._deliver(run_id, RunEvent(STREAM_END, {}))


async def _connect(url: str) -> psycopg.AsyncConnection[Any]:
    """A LISTEN connection that cannot leak: when the listener is cancelled (the process closing) while
    connecting, the connection that then arrives is closed rather than left for the garbage collector."""
    connecting = asyncio.ensure_future(psycopg.AsyncConnection.connect(url, autocommit=True))
    try:
        return await asyncio.shield(connecting)
    except asyncio.CancelledError:
        connecting.add_done_callback(_discard)
        raise


def _discard(connecting: asyncio.Future[psycopg.AsyncConnection[Any]]) -> None:
    if not connecting.cancelled() and connecting.exception() is None:
        connecting.result().pgconn.finish()
