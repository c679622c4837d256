"""The composition root: ``create_app(settings)`` builds storage, services and routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from starlette.responses import JSONResponse

from assistantd.api import assistants, files, messages, models, openapi, runs, threads, vector_stores
from assistantd.api.deps import authenticate
from assistantd.backends.base import ModelBackend
from assistantd.console.router import router as console_router
from assistantd.containers.router import router as containers_router
from assistantd.conversations.router import router as conversations_router
from assistantd.errors import install_error_handlers
from assistantd.observability.middleware import RequestIdMiddleware, add_metrics_route
from assistantd.organization.router import router as organization_router
from assistantd.prompts.router import router as prompts_router
from assistantd.responses import router as responses_router
from assistantd.responses import socket as responses_socket
from assistantd.runtime import Role, Runtime
from assistantd.settings import Settings
from assistantd.tools.base import Tool

log = logging.getLogger("assistantd")


def create_app(
    settings: Settings | None = None,
    *,
    model_backend: ModelBackend | None = None,
    extra_tools: Sequence[Tool] = (),
    role: Role = "all",
) -> FastAPI:
    """Build the app. ``model_backend`` replaces the configured upstreams for every model (tests, demos);
    ``extra_tools`` adds or replaces server-side tools (plugins, tests); ``role`` is ``all`` (the whole
    server) or ``api`` (an API process that leaves execution to ``assistantd worker`` processes)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await Runtime.open(settings, role, model_backend=model_backend, extra_tools=extra_tools)
        app.state.runtime = runtime
        app.state.responses = runtime.responses
        app.state.conversations = runtime.conversations
        app.state.services = runtime.services
        app.state.backends = runtime.backends
        app.state.containers = runtime.containers
        app.state.organization = runtime.organization
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            await runtime.close()

    app = FastAPI(title="assistantd", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.ready = False
    app.state.sse_keepalive_seconds = settings.sse_keepalive_seconds
    install_error_handlers(app)
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(authenticate)])
    for module in (assistants, runs, threads, messages, files, models, vector_stores):
        v1.include_router(module.router)
    v1.include_router(responses_router.router)
    v1.include_router(containers_router)
    v1.include_router(prompts_router)
    v1.include_router(conversations_router)
    v1.include_router(organization_router)
    app.include_router(v1)
    app.include_router(responses_socket.router, prefix="/v1")  # authenticates inside: a WebSocket route

    @app.get("/health", include_in_schema=False)
    async def health() -> JSONResponse:
        if not app.state.ready:
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse({"status": "ok"})

    if settings.console:
        app.include_router(console_router)  # the web console at /console (console/router.py)

    openapi.install(app)
    if settings.metrics:
        add_metrics_route(app, lambda: app.state.runtime.exposition())
    app.add_middleware(RequestIdMiddleware, access_log=settings.access_log and settings.log_format == "json")
    return app
