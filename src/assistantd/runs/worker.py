"""In-process workers that execute queued runs from the persistent queue.

Each worker claims a job with a lease, executes the run, and the engine deletes the job when the run
stops (terminal or ``requires_action``). A heartbeat renews the leases of running jobs and notices
cancellations requested through the database. If the process dies, its leases lapse and another process
(or this one, restarted) claims the runs again: a run that never started is executed, one that was in
progress resumes from its last completed step (``RunSession.resume``; see ``RunEngine.execute``). A
sweeper expires runs still queued, in progress or in ``requires_action`` at their ``expires_at``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from assistantd.observability import metrics
from assistantd.runs.engine import RunEngine
from assistantd.store import jobs, scope
from assistantd.store import runs as run_queries
from assistantd.store.db import Conn, Database

log = logging.getLogger("assistantd.worker")
T = TypeVar("T")

LEASE_SECONDS = 20.0
HEARTBEAT_SECONDS = 2.0
IDLE_POLL_SECONDS = 1.0
SWEEP_SECONDS = 60.0


class WorkerPool:
    """``concurrency`` 0: an API process, which queues runs for the workers of other processes and executes
    none itself (except closing a cancelled one no worker holds)."""

    def __init__(
        self, db: Database, engine: RunEngine, concurrency: int, *, lease_seconds: float = LEASE_SECONDS
    ) -> None:
        self.db = db
        self.engine = engine
        self.concurrency = max(0, concurrency)
        self.lease_seconds = lease_seconds
        self.heartbeat_seconds = min(HEARTBEAT_SECONDS, lease_seconds / 10)
        self.sweeps: list[Callable[[], Awaitable[None]]] = []
        """Periodic clean-ups run with the heartbeat (e.g. old run events)."""
        self.owner = f"w_{os.getpid()}_{secrets.token_hex(4)}"
        """Names the process in ``jobs.lease_owner`` (its pid, for an operator)."""
        self._wake = asyncio.Event()
        self._running: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._executing: set[asyncio.Task[None]] = set()
        self._busy = 0
        """Executions running or reserved; at most ``concurrency``."""
        self._freed = asyncio.Event()
        self._stopping = False

    def notify(self) -> None:
        """A job was enqueued: wake an idle worker now rather than at its next poll."""
        self._wake.set()

    async def start(self) -> None:
        if self.concurrency == 0:
            return
        if self.db.is_sqlite:
            # One process owns a SQLite database: every lease left behind belongs to a dead process.
            async with self.db.write() as conn:
                await jobs.expire_all_leases(conn)
        self._tasks = [asyncio.create_task(self._dispatch()), asyncio.create_task(self._heartbeat())]

    async def stop(self) -> None:
        """Stop claiming, then cancel every execution. Cancelled again while any is left: a cancel can be
        lost to a racing timeout (CPython 3.11's ``wait_for``), and nothing may start once stopping."""
        self._stopping = True
        self._freed.set()
        for _ in range(10):
            pending = [t for t in (*self._tasks, *self._executing) if not t.done()]
            if not pending:
                break
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._tasks = []
        with contextlib.suppress(Exception):
            async with self.db.write() as conn:
                await jobs.release_owner(conn, self.owner)

    async def claim(self, conn: Conn, run_id: str) -> bool:
        """Take ``run_id``'s job for the caller if no worker holds it (then run it with ``execute_claimed``)."""
        return await jobs.claim(conn, self.owner, time.time(), self.lease_seconds, run_id=run_id) is not None

    async def execute_claimed(self, run_id: str) -> None:
        await self._execute(run_id, 0)

    async def submit(
        self, run_id: str, write: Callable[[Conn], Awaitable[T]], announce: Callable[[T], None] | None = None
    ) -> T:
        """Store a run (``write`` inserts it and its job) and, when a slot is free, claim it in the same
        transaction and start it here at once; else a worker claims it from the queue. ``announce`` runs
        after the commit and before the start (to publish the creation events first)."""
        reserved = self.reserve()
        claimed = False
        try:
            async with self.db.write() as conn:
                result = await write(conn)
                claimed = reserved and await self.claim(conn, run_id)
        except BaseException:
            if reserved:
                self.unreserve()
            raise
        if announce is not None:
            announce(result)
        if claimed:
            self.start_reserved(run_id)
            # Let the run take its first steps (on to its upstream request) before this request goes on to
            # answer: the model's first token is what the caller waits for.
            await asyncio.sleep(0)
        else:
            if reserved:
                self.unreserve()
            self.notify()
        return result

    def reserve(self) -> bool:
        """Hold an execution slot for a run the caller is about to create (the direct path: the process that
        creates a run claims it in the same transaction and starts it at once, with no dispatcher round
        trip). Pair with ``start_reserved`` or ``unreserve``."""
        if self._busy >= self.concurrency:
            return False
        self._busy += 1
        return True

    def unreserve(self) -> None:
        self._release_slot()

    def start_reserved(self, run_id: str) -> None:
        self._start(run_id, 0)

    def _start(self, run_id: str, attempts: int) -> None:
        if self._stopping:
            self._release_slot()  # its lease lapses; the next start claims it again
            return
        task = asyncio.create_task(self._execute(run_id, attempts))
        self._executing.add(task)
        task.add_done_callback(self._executing.discard)
        task.add_done_callback(lambda _: self._release_slot())

    def _release_slot(self) -> None:
        self._busy -= 1
        self._freed.set()

    async def _dispatch(self) -> None:
        """One claimer hands queued jobs to up to ``concurrency`` executions (no herd of claimers)."""
        while not self._stopping:
            if self._busy >= self.concurrency:
                self._freed.clear()
                await self._freed.wait()
                continue
            self._busy += 1
            claim = None
            try:
                self._wake.clear()
                async with self.db.write() as conn:
                    claim = await jobs.claim(conn, self.owner, time.time(), self.lease_seconds)
            except Exception:
                log.exception("claiming a job failed")
            if claim is None:
                self._release_slot()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(IDLE_POLL_SECONDS):
                        await self._wake.wait()
                continue
            if claim.attempts > 0:
                metrics.current().lease_takeover()  # its last claimer's lease lapsed
            self._start(claim.run_id, claim.attempts)

    async def _execute(self, run_id: str, attempts: int) -> None:
        self._running.add(run_id)
        try:
            # This task acts for the run's project: what it reads and writes (files, vector stores, the
            # objects it makes) is confined to it, as the request that made the run was. Started by that
            # request (``submit``'s direct path), the task has inherited its project already.
            if scope.current_project.get() is None:
                async with self.db.read() as conn:
                    project = await run_queries.project_of(conn, run_id)
                if project is not None:
                    scope.current_project.set(project)
            await self.engine.execute(run_id, attempts=attempts)
        except Exception:
            log.exception("run %s failed in the worker", run_id)
        finally:
            self._running.discard(run_id)

    async def _heartbeat(self) -> None:
        swept = time.monotonic()
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            if time.monotonic() - swept > SWEEP_SECONDS:
                swept = time.monotonic()
                for sweep in self.sweeps:
                    try:
                        await sweep()
                    except Exception:
                        log.exception("a periodic clean-up failed")
            try:
                running = list(self._running)
                async with self.db.write() as conn:
                    await jobs.renew(conn, self.owner, running, time.time() + self.lease_seconds)
                    expired = await run_queries.expired_runs(conn, int(time.time()))
                async with self.db.read() as conn:
                    cancelling = await run_queries.cancel_requested(conn, running)
                for run_id in cancelling:
                    self.engine.request_cancel(run_id)
                for run_id in expired:
                    await self.engine.expire(run_id)
            except Exception:
                log.exception("worker heartbeat failed")
