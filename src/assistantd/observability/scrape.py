"""A worker process's own ``GET /metrics``: ``assistantd worker`` serves no HTTP API, yet it is where runs,
model turns, tool calls and ingestion happen, so their metrics must be scrapeable there (aiohttp, already a
dependency, on one port per worker slot: ``worker_metrics_port``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from assistantd.observability.metrics import CONTENT_TYPE


async def serve_metrics(exposition: Callable[[], Awaitable[bytes]], host: str, port: int) -> web.AppRunner:
    """Serve ``exposition()`` at ``GET /metrics`` on ``host:port`` until the returned runner is cleaned up."""

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=await exposition(), headers={"Content-Type": CONTENT_TYPE})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
