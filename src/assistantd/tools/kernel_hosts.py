"""``KernelHosts``: which process holds each thread's code_interpreter session, kept in the database so that a
thread's next run goes to the worker whose session has its variables.

A worker records itself as a thread's host when it starts a session for it, renews the record while the
session lives (every tenth of the lease), and drops it when the session ends or the worker stops. The job
queue leaves a run of a hosted thread to its host while the record is fresh (``store/jobs.py``). When the
host dies, its records lapse with its leases: another worker takes the run and starts a new session, with
the thread's files put back in ``/mnt/data``, and the model is told the earlier session is gone
(``ResetReason`` ``moved``). PostgreSQL deployments only: on SQLite one process holds every session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from assistantd.store import kernels
from assistantd.store.db import Database

log = logging.getLogger("assistantd.tools")


class KernelHosts:
    def __init__(self, db: Database, owner: str, lease_seconds: float, live_keys: Callable[[], list[str]]) -> None:
        self.db = db
        self.owner = owner
        self.lease_seconds = lease_seconds
        self._live_keys = live_keys
        self._task: asyncio.Task[None] | None = None

    async def arrive(self, key: str) -> bool:
        """Record this process as the host of ``key``'s new session; True when another process held it."""
        async with self.db.write() as conn:
            before = await kernels.arrive(conn, key, self.owner, time.time() + self.lease_seconds)
        return before is not None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._renew_forever())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):  # another worker may take these threads at once
            async with self.db.write() as conn:
                await kernels.renew(conn, self.owner, [], 0.0)

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(min(2.0, self.lease_seconds / 10))
            try:
                async with self.db.write() as conn:
                    await kernels.renew(conn, self.owner, self._live_keys(), time.time() + self.lease_seconds)
            except Exception:
                log.exception("renewing the code_interpreter session records failed")
