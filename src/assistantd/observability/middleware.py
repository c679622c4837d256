"""The HTTP edge of observability: ``RequestIdMiddleware`` and the ``GET /metrics`` route.

The middleware is the outermost layer of the app. For each HTTP request it makes the ``x-request-id``
before the app runs, so every log line of the request (and of the runs it starts) carries it; opens the
request's span when tracing is on (continuing a caller's ``traceparent``); and when the response is fully
sent records the request in the metrics and, with ``ASSISTANTD_ACCESS_LOG`` in JSON mode, logs the request
line. The route is the matched route's template (see ``_route``), so labels
and log fields stay bounded and carry no IDs; a request that matched no route is ``(unmatched)``.

The project is read from ``scope["state"]`` (where ``api.deps.authenticate`` leaves the principal): a
context variable set inside a dependency is not visible here after the app returns.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from opentelemetry import propagate, trace
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistantd.observability import logs, metrics, tracing

access = logging.getLogger("assistantd.access")

UNMATCHED = "(unmatched)"


class RequestIdMiddleware:
    """Adds ``x-request-id`` (the SDK exposes it as ``_request_id``) and the request's ``x-ratelimit-*``;
    gives the request its log context, span and metrics."""

    def __init__(self, app: ASGIApp, *, access_log: bool = False) -> None:
        self.app = app
        self.access_log = access_log
        """Log a JSON request line (``json`` format only: in ``text``, uvicorn's access log is the line)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = _Request(scope, f"req_{secrets.token_hex(16)}")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                request.status = status = message.get("status", 200)
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request.id.encode()))
                limits = scope.get("state", {}).get("ratelimit_headers")
                if limits and status < 400:  # an error carries its own
                    headers.extend((k.encode(), v.encode()) for k, v in limits.items())
                message["headers"] = headers
            await send(message)

        token = logs.request_id.set(request.id)
        try:
            if tracing.enabled():
                await self._traced(request, receive, send_with_id)
            else:
                try:
                    await self.app(scope, receive, send_with_id)
                finally:
                    self._finished(request)
        finally:
            logs.request_id.reset(token)

    async def _traced(self, request: _Request, receive: Receive, send: Send) -> None:
        scope = request.scope
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        method = scope["method"]
        with tracing.tracer().start_as_current_span(
            method,
            context=propagate.extract(carrier),
            kind=trace.SpanKind.SERVER,
            attributes={"http.request.method": method, "assistantd.request_id": request.id},
        ) as span:
            try:
                await self.app(scope, receive, send)
            finally:
                route = _route(scope)
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", request.status)
                if (project := _project(scope)) is not None:
                    span.set_attribute("assistantd.project_id", project)
                if request.status >= 500:
                    span.set_status(trace.StatusCode.ERROR)
                self._finished(request)

    def _finished(self, request: _Request) -> None:
        """The response is sent (or the request failed): count it, and log its line (inside its span)."""
        seconds = time.perf_counter() - request.started
        method = request.scope["method"]
        route = _route(request.scope)
        metrics.current().http_request(method, route, request.status, seconds)
        if self.access_log:
            fields = {
                "method": method,
                "route": route,
                "status": request.status,
                "duration_ms": round(seconds * 1000, 3),
                "project": _project(request.scope),
            }
            access.info("%s %s %d", method, route, request.status, extra=fields)


class _Request:
    __slots__ = ("id", "scope", "started", "status")

    def __init__(self, scope: Scope, request_id: str) -> None:
        self.scope = scope
        self.id = request_id
        self.status = 500
        """The response's status once it starts; 500 when the app raised before starting one."""
        self.started = time.perf_counter()


def _route(scope: Scope) -> str:
    """The matched route's full template. FastAPI (0.16x) leaves the route as its router declared it in
    ``scope["route"]`` (``/threads/{thread_id}``, without the ``/v1`` prefix it was included with) and the
    effective one, prefix included, in ``scope["fastapi"]``; a plain Starlette route has its full path."""
    effective = scope.get("fastapi", {}).get("effective_route_context")
    path = getattr(effective, "path_format", None)
    if not isinstance(path, str):
        path = getattr(scope.get("route"), "path_format", None)
    return path if isinstance(path, str) and path else UNMATCHED


def _project(scope: Scope) -> str | None:
    principal = scope.get("state", {}).get("principal")
    project = getattr(principal, "project_id", None)
    return project if isinstance(project, str) else None


def add_metrics_route(app: FastAPI, exposition: Callable[[], Awaitable[bytes]]) -> None:
    """``GET /metrics`` in Prometheus' text format, without a key (expose it to the scraper's network only)."""

    @app.get("/metrics", include_in_schema=False)
    async def scrape() -> Response:
        return Response(await exposition(), media_type=metrics.CONTENT_TYPE)
