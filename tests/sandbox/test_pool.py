"""``SessionPool`` over a real bubblewrap sandbox: one session per thread, spares, idle reclaim, crash recovery."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from assistantd.sandbox import BwrapSandbox, SessionPool
from tests.runs._helpers import eventually

pytestmark = pytest.mark.anyio


@pytest.fixture
async def pool(bwrap: BwrapSandbox) -> AsyncIterator[SessionPool]:
    p = SessionPool(bwrap, spares=1, idle_seconds=600, max_sessions=3)
    await p.start()
    yield p
    await p.close()


async def spare_ready(pool: SessionPool) -> bool | None:
    return True if pool._spares else None


async def test_a_thread_keeps_its_session_and_threads_do_not_share(pool: SessionPool) -> None:
    async with pool.lease("thread_a") as a:
        assert a.fresh and a.reset is None and a.session is not None
        await a.session.execute("x = 'a'", 10)
        first = a.session.id
    async with pool.lease("thread_a") as a:
        assert not a.fresh and a.session is not None and a.session.id == first
        assert (await a.session.execute("print(x)", 10)).stdout == "a\n"
    async with pool.lease("thread_b") as b:
        assert b.session is not None and b.session.id != first
        assert "NameError" in ((await b.session.execute("print(x)", 10)).error or "")


async def test_spare_sessions_are_prestarted(pool: SessionPool) -> None:
    await eventually(lambda: spare_ready(pool), timeout=30, what="a spare session")
    spare = pool._spares[0]
    started = time.monotonic()
    async with pool.lease("thread_new") as lease:
        assert lease.session is spare
    assert time.monotonic() - started < 0.5
    await eventually(lambda: spare_ready(pool), timeout=30, what="the pool to refill")


async def test_idle_sessions_are_reclaimed_and_the_thread_is_told(pool: SessionPool) -> None:
    async with pool.lease("thread_a") as lease:
        assert lease.session is not None
        old = lease.session
        await old.execute("x = 1", 10)
    assert await pool.reap(now=time.monotonic() + 601) == 1
    assert not old.alive()
    async with pool.lease("thread_a") as lease:
        assert lease.fresh and lease.reset == "idle"
        assert lease.session is not None and lease.session is not old
    async with pool.lease("thread_a") as lease:
        assert not lease.fresh and lease.reset is None


async def test_a_crashed_session_is_replaced(pool: SessionPool) -> None:
    async with pool.lease("thread_a") as lease:
        assert lease.session is not None
        result = await lease.session.execute("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", 10)
        assert result.status == "crashed" and "killed" in (result.detail or "")
    async with pool.lease("thread_a") as lease:
        assert lease.fresh and lease.reset == "crashed" and lease.session is not None
        assert (await lease.session.execute("print('fine')", 10)).stdout == "fine\n"


async def test_the_least_recently_used_idle_session_makes_room(pool: SessionPool) -> None:
    for key in ("t1", "t2", "t3", "t4"):
        async with pool.lease(key) as lease:
            assert lease.session is not None
    assert pool.live <= pool.max_sessions
    async with pool.lease("t1") as lease:
        assert lease.fresh and lease.reset == "idle"  # t1 was evicted for a newer thread
