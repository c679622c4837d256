"""Sessions per key on top of any ``Sandbox``: pre-started spares, reuse, idle reclaim, crash recovery.

A key is a thread ID (the Assistants tool) or a container ID (the Containers API, ``containers/``).

A thread's session is kept between runs so variables survive. Sessions idle longer than
``idle_seconds`` are shut down; the thread's next call gets a fresh one, and ``Lease.reset`` says why so
the tool can tell the model. A few spare sessions are kept started, so a new thread's first call does
not wait for an interpreter to boot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from assistantd.observability import metrics
from assistantd.sandbox.base import Sandbox, SandboxSession, SandboxUnavailable

log = logging.getLogger("assistantd.sandbox")

ResetReason = Literal["idle", "crashed", "moved"]
"""Why a key's earlier session is gone: reclaimed when idle, crashed, or held by another process (a worker
that stopped: its runs are taken over here)."""
_TOMBSTONE_SECONDS = 7 * 24 * 3600


@dataclass
class Lease:
    """A thread's session, held for one call."""

    key: str
    session: SandboxSession | None = None
    fresh: bool = True
    """The session was started for this call (its ``/mnt/data`` is empty)."""
    reset: ResetReason | None = None
    """Why an earlier session of this thread is gone (it was reclaimed, or it crashed)."""
    state: dict[str, Any] = field(default_factory=dict)
    """What the tool remembers about the session (files it placed), reset with the session."""
    last_used: float = field(default_factory=time.monotonic)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class SessionPool:
    def __init__(
        self, sandbox: Sandbox, *, spares: int = 2, idle_seconds: float = 1200, max_sessions: int = 64
    ) -> None:
        self.sandbox = sandbox
        self.spares_target = spares
        self.idle_seconds = idle_seconds
        self.max_sessions = max_sessions
        self._leases: dict[str, Lease] = {}
        self._spares: list[SandboxSession] = []
        self._starting = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._closed = False

    def live_keys(self) -> list[str]:
        """The keys whose session is running in this process."""
        return [key for key, lease in self._leases.items() if lease.session is not None]

    @property
    def spares(self) -> int:
        """Sessions started ahead of need, not yet any thread's."""
        return len(self._spares)

    @property
    def live(self) -> int:
        return len(self._spares) + self._starting + sum(1 for x in self._leases.values() if x.session is not None)

    async def start(self) -> None:
        self._refill()
        self._reaper = asyncio.create_task(self._reap_loop())

    async def close(self) -> None:
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        sessions = [x.session for x in self._leases.values() if x.session is not None] + self._spares
        self._spares = []
        await asyncio.gather(*(s.shutdown() for s in sessions), return_exceptions=True)
        self.sandbox.close()

    @contextlib.asynccontextmanager
    async def lease(self, key: str) -> AsyncIterator[Lease]:
        """The thread's session (started or restored when needed), exclusively for the ``async with``."""
        lease = self._leases.setdefault(key, Lease(key))
        async with lease.lock:
            if lease.session is not None and not lease.session.alive():
                await self._drop(lease, "crashed")
            if lease.session is None:
                lease.session = await self._take()
                lease.fresh = True
                lease.state = {}
                self._refill()
            lease.last_used = time.monotonic()
            try:
                yield lease
            finally:
                lease.last_used = time.monotonic()
                lease.fresh = False
                lease.reset = None
                if lease.session is not None and not lease.session.alive():
                    await self._drop(lease, "crashed")

    async def discard(self, key: str) -> None:
        """Shut down the session of ``key`` (after any call holding it) and forget the key: a container that
        expired or was deleted. A later ``lease(key)`` would start afresh, with no ``reset`` note."""
        lease = self._leases.get(key)
        if lease is None:
            return
        async with lease.lock:
            session, lease.session = lease.session, None
            if self._leases.get(key) is lease:
                del self._leases[key]
        if session is not None:
            await session.shutdown()

    async def _drop(self, lease: Lease, reason: ResetReason) -> None:
        session, lease.session = lease.session, None
        lease.reset = reason
        lease.state = {}
        if session is not None:
            await session.shutdown()

    async def _take(self) -> SandboxSession:
        while self._spares:
            session = self._spares.pop()
            if session.alive():
                return session
            await session.shutdown()
        if self.live >= self.max_sessions and not await self._evict_one():
            raise SandboxUnavailable(f"all {self.max_sessions} code interpreter sessions are busy; try again later")
        self._starting += 1
        try:
            session = await self.sandbox.start_session()
        finally:
            self._starting -= 1
        metrics.current().sandbox_session_started()
        return session

    async def _evict_one(self) -> bool:
        """Reclaim the least recently used session that is not running code."""
        idle = [x for x in self._leases.values() if x.session is not None and not x.lock.locked()]
        if not idle:
            return False
        await self._drop(min(idle, key=lambda x: x.last_used), "idle")
        return True

    def _refill(self) -> None:
        missing = self.spares_target - len(self._spares) - self._starting
        for _ in range(max(0, min(missing, self.max_sessions - self.live))):
            self._starting += 1
            task = asyncio.create_task(self._start_spare())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _start_spare(self) -> None:
        try:
            session = await self.sandbox.start_session()
        except Exception:
            log.exception("could not start a spare %s session", self.sandbox.name)
            return
        finally:
            self._starting -= 1
        metrics.current().sandbox_session_started()
        if self._closed or self.live >= self.max_sessions:  # threads took the room while it started
            await session.shutdown()
        else:
            self._spares.append(session)

    async def reap(self, now: float | None = None) -> int:
        """Shut down sessions idle for longer than ``idle_seconds``; returns how many."""
        now = time.monotonic() if now is None else now
        count = 0
        for key, lease in list(self._leases.items()):
            if lease.lock.locked():
                continue
            if lease.session is not None and now - lease.last_used > self.idle_seconds:
                await self._drop(lease, "idle")
                count += 1
            elif lease.session is None and now - lease.last_used > _TOMBSTONE_SECONDS:
                del self._leases[key]
        return count

    async def _reap_loop(self) -> None:
        interval = max(1.0, min(60.0, self.idle_seconds / 4))
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reap()
            except Exception:
                log.exception("reclaiming idle sandbox sessions failed")
