"""``assistantd worker``: a process that executes runs and responses, ingests files and expires what is due,
with no HTTP (``Runtime`` in the ``worker`` role), until ``SIGTERM`` or ``SIGINT``.

On a stop signal it stops claiming, interrupts what it executes and releases its leases, so another worker
takes the work over at once rather than after the lease lapses.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from assistantd.runtime import Runtime
from assistantd.settings import Settings
from assistantd.store.db import DatabaseUnreachable

log = logging.getLogger("assistantd")


def work(settings: Settings) -> int:
    try:
        asyncio.run(_work(settings))
    except DatabaseUnreachable as exc:
        log.error("%s", exc)
        return 1
    return 0


async def _work(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runtime = await Runtime.open(settings, "worker")
    log.info("worker ready: up to %d runs at once", runtime.workers.concurrency)
    try:
        await stop.wait()
    finally:
        log.info("worker stopping")
        await runtime.close()
