"""The composition root: ``create_app(settings)`` builds storage, services and routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import aiohttp
import httpx
from fastapi import APIRouter, Depends, FastAPI
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistantd import startup
from assistantd.api import assistants, files, messages, models, runs, threads, vector_stores
from assistantd.api.deps import Services, authenticate
from assistantd.backends.base import ModelBackend
from assistantd.backends.registry import BackendRegistry
from assistantd.containers.router import router as containers_router
from assistantd.containers.service import Containers
from assistantd.conversations.router import router as conversations_router
from assistantd.conversations.service import Conversations
from assistantd.errors import install_error_handlers
from assistantd.mcp.spec import McpLimits
from assistantd.prompts.router import router as prompts_router
from assistantd.responses import router as responses_router
from assistantd.responses import socket as responses_socket
from assistantd.responses.service import Responses
from assistantd.responses.session import LiveEvents, ResponseRun
from assistantd.retrieval.rewrite import QueryRewriter
from assistantd.retrieval.search import build_retrieval
from assistantd.runs import tokens
from assistantd.runs.engine import RunEngine
from assistantd.runs.events import InMemoryEventLog
from assistantd.runs.worker import WorkerPool
from assistantd.services._context import Context
from assistantd.services.assistants import Assistants
from assistantd.services.files import Files
from assistantd.services.messages import Messages
from assistantd.services.models import Models
from assistantd.services.runs import Runs
from assistantd.services.threads import Threads
from assistantd.services.vector_store_files import VectorStoreFiles
from assistantd.services.vector_stores import VectorStores
from assistantd.settings import Settings
from assistantd.store.blobs import LocalBlobStore
from assistantd.store.db import Database
from assistantd.store.private import private_dir
from assistantd.tools.base import Tool
from assistantd.tools.code_interpreter import CodeInterpreter
from assistantd.tools.file_search import FileSearchTool
from assistantd.tools.registry import ToolRegistry

log = logging.getLogger("assistantd")


class RequestIdMiddleware:
    """Adds ``x-request-id`` (the SDK exposes it as ``_request_id``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", f"req_{secrets.token_hex(16)}".encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


def create_app(
    settings: Settings | None = None,
    *,
    model_backend: ModelBackend | None = None,
    extra_tools: Sequence[Tool] = (),
) -> FastAPI:
    """Build the app. ``model_backend`` replaces the configured upstreams for every model (tests, demos);
    ``extra_tools`` adds or replaces server-side tools (plugins, tests)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        private_dir(settings.data_dir, what="data dir")
        db = Database(
            settings.effective_database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            pool_timeout=settings.database_pool_timeout,
        )
        await db.migrate()
        await asyncio.to_thread(tokens.warm)
        http = httpx.AsyncClient(limits=httpx.Limits(max_connections=1000, max_keepalive_connections=200))
        blobs = LocalBlobStore(settings.data_dir / "files")
        ctx = Context(db=db, blobs=blobs, settings=settings)
        # Model streams go through aiohttp (cheaper per chunk); small JSON calls (models) through httpx.
        streams = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300))
        backends = BackendRegistry(settings, streams, model_backend)
        events = InMemoryEventLog()
        retrieval = build_retrieval(settings, db, blobs, http)
        startup.log_settings(
            settings,
            embedder=None if retrieval.embedder is None else retrieval.embedder.name,
            custom_backend=model_backend is not None,
        )
        tools = ToolRegistry()
        # Built-in server-side tools are registered here, before any extras that may replace them.
        tools.add(FileSearchTool(retrieval, settings))
        code_interpreter = await CodeInterpreter.open(settings)
        tools.add(code_interpreter)
        containers = Containers(ctx, code_interpreter.pool, unavailable=code_interpreter.unavailable)
        for tool in extra_tools:
            tools.add(tool)
        engine = RunEngine(db, events, backends, blobs, tools, turn_timeout=settings.upstream_turn_timeout_seconds)
        workers = WorkerPool(db, engine, settings.run_workers)
        live = LiveEvents()
        mcp_limits = McpLimits.from_settings(settings)
        engine.sessions["response"] = lambda run: ResponseRun(db, events, blobs, run, live, containers, mcp_limits)
        app.state.responses = Responses(ctx, engine, events, workers, backends, live, containers)
        app.state.conversations = Conversations(ctx)
        app.state.services = Services(
            settings=settings,
            assistants=Assistants(ctx),
            threads=Threads(ctx),
            messages=Messages(ctx),
            files=Files(ctx),
            models=Models(ctx, http),
            runs=Runs(ctx, engine, events, workers, backends),
            vector_stores=VectorStores(ctx, retrieval, QueryRewriter(backends, settings.query_rewrite_model)),
            vector_store_files=VectorStoreFiles(ctx, retrieval),
        )
        app.state.backends = backends
        app.state.containers = containers
        await containers.start()
        await retrieval.start()
        await workers.start()
        app.state.ready = True
        probes = asyncio.create_task(startup.probe_upstreams(settings, http)) if model_backend is None else None
        try:
            yield
        finally:
            app.state.ready = False
            if probes is not None:
                probes.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await probes
            await workers.stop()
            await retrieval.stop()
            await containers.close()
            await code_interpreter.close()
            await http.aclose()
            await streams.close()
            await db.dispose()

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
    app.include_router(v1)
    app.include_router(responses_socket.router, prefix="/v1")  # authenticates inside: a WebSocket route

    @app.get("/health", include_in_schema=False)
    async def health() -> JSONResponse:
        if not app.state.ready:
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse({"status": "ok"})

    app.add_middleware(RequestIdMiddleware)
    return app
