"""The HTTP server: uvicorn, with the two guards it lacks against clients that hold connections open.

uvicorn 0.54 has no timeout for a request whose headers never finish (its keep-alive timer is cancelled by
the first byte and never armed on a new connection), and no bound on open connections (``limit_concurrency``
answers 503 only once headers are complete, so half-open connections still hold file descriptors). 1,100
such connections exhaust a 1,024-descriptor limit and every request fails, ``/health`` included.
``GuardedHttpToolsProtocol`` adds both at the protocol level:

* a **header timeout**: a connection must deliver a request's complete headers within
  ``header_timeout_seconds`` of connecting, or of its previous response; else it gets a 408 (or, when it
  sent nothing, is just closed, like an idle keep-alive connection);
* a **connection bound**: past ``max_connections`` open connections a new one is answered 503 at once and
  closed, so descriptors stay free for the clients already served.

Both ``assistantd serve`` and the tests' loopback server (``tests/_serve.py``) build their uvicorn through
``ServerConfig`` and ``Server`` here, so the tests exercise what production runs.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
import time
from typing import Any

import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from assistantd.settings import Settings

log = logging.getLogger("assistantd")

FD_RESERVE = 128
"""Descriptors kept free of client connections: the database, the index, upstream sockets, sandboxes."""


def _canned(status: str, message: str, code: str) -> bytes:
    body = orjson.dumps({"error": {"message": message, "type": "server_error", "param": None, "code": code}})
    head = f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
    return head.encode() + b"connection: close\r\n\r\n" + body


_BUSY = _canned("503 Service Unavailable", "The server has too many open connections; retry shortly.", "overloaded")
_SLOW = _canned("408 Request Timeout", "The request headers did not arrive in time.", "request_timeout")


class ServerConfig(uvicorn.Config):
    """``uvicorn.Config`` plus the guards' two limits."""

    def __init__(self, app: Any, *, header_timeout: float, max_connections: int, **kwargs: Any) -> None:
        super().__init__(app, http=GuardedHttpToolsProtocol, **kwargs)
        self.header_timeout = header_timeout
        self.max_connections = max_connections


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header-read timeout and a bound on open connections."""

    _last_busy_log = 0.0

    def __init__(self, config: ServerConfig, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.header_timeout = config.header_timeout
        self.max_connections = config.max_connections
        self._header_timer: asyncio.TimerHandle | None = None
        self._request_started = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            now = time.monotonic()
            if now - GuardedHttpToolsProtocol._last_busy_log > 10:
                GuardedHttpToolsProtocol._last_busy_log = now
                log.warning("refusing connections: %d open (max_connections)", self.max_connections)
            transport.write(_BUSY)
            transport.close()
            return
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        self._request_started = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        self._request_started = False
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        waiting_for_headers = not self.pipeline
        super().on_response_complete()
        if waiting_for_headers and not self.transport.is_closing():
            self._arm_header_timer()

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._header_timeout_expired)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout_expired(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self._request_started:
            self.transport.write(_SLOW)
        self.transport.close()


class Server(uvicorn.Server):
    """uvicorn's server, announcing the address it actually serves once the app is ready."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        for server in getattr(self, "servers", []):
            for sock in server.sockets:
                host, port = sock.getsockname()[:2]
                shown = f"[{host}]" if ":" in host else host
                log.info("serving on http://%s:%d (API under /v1, GET /health)", shown, port)


def connection_bound(settings: Settings) -> int:
    """Raise the open-files limit to its hard maximum, and keep ``max_connections`` below it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        target = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    bound = settings.max_connections
    if soft != resource.RLIM_INFINITY and bound > soft - FD_RESERVE:
        bound = max(1, soft - FD_RESERVE)
        log.warning(
            "max_connections lowered to %d: the open-files limit is %d (raise it with ulimit -n or LimitNOFILE=)",
            bound,
            soft,
        )
    return bound


def build_config(app: Any, settings: Settings, **overrides: Any) -> ServerConfig:
    """The uvicorn configuration ``assistantd serve`` runs; tests override host, port and logging only."""
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "log_config": None,  # our logging.basicConfig formats uvicorn's records too
        "access_log": settings.access_log and settings.log_format == "text",  # json: our request line (middleware)
        "ws": "websockets-sansio",  # the Responses API's WebSocket mode (responses/socket.py)
        "lifespan": "on",
        "timeout_keep_alive": 5,
        "timeout_graceful_shutdown": 10,
        "server_header": False,
    }
    options.update(overrides)
    return ServerConfig(
        app, header_timeout=settings.header_timeout_seconds, max_connections=connection_bound(settings), **options
    )
