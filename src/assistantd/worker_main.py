"""``assistantd worker``: a process that executes runs and responses, ingests files and expires what is due,
with no HTTP (``Runtime`` in the ``worker`` role), until ``SIGTERM`` or ``SIGINT``.

On a stop signal it stops claiming, interrupts what it executes and releases its leases, so another worker
takes the work over at once rather than after the lease lapses.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from assistantd.observability.scrape import serve_metrics
from assistantd.runtime import Runtime
from assistantd.settings import Settings
from assistantd.store.db import DatabaseUnreachable

log = logging.getLogger("assistantd")


def work(settings: Settings, slot: int = 0) -> int:
    try:
        asyncio.run(_work(settings, slot))
    except DatabaseUnreachable as exc:
        log.error("%s", exc)
        return 1
    return 0


async def _work(settings: Settings, slot: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runtime = await Runtime.open(settings, "worker")
    log.info("worker ready: up to %d runs at once", runtime.workers.concurrency)
    scrape = None
    try:
        if settings.metrics and settings.worker_metrics_port:
            port = settings.worker_metrics_port + slot
            scrape = await serve_metrics(runtime.exposition, settings.host, port)
            log.info("worker metrics on http://%s:%d/metrics", settings.host, port)
        await stop.wait()
    finally:
        log.info("worker stopping")
        if scrape is not None:
            await scrape.cleanup()
        await runtime.close()
