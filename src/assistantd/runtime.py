"""``Runtime``: everything a process of assistantd holds (storage, upstreams, engine, workers, services),
built for its role and started and stopped in order.

Roles (``Role``):

* ``all``: ``assistantd serve`` alone, the whole server in one process (SQLite or PostgreSQL);
* ``api``: an API process of a PostgreSQL deployment (``assistantd serve --api-only``, any number, behind
  a load balancer): it stores runs, responses and files and queues their work, streams events that
  workers write, and executes nothing itself;
* ``worker``: ``assistantd worker`` (any number): executes runs and responses, ingests vector store
  files, expires what is due; no HTTP.

On PostgreSQL every role uses ``PostgresEventLog``, so a stream in any process sees events written by
any other; on SQLite (one process) events stay in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import aiohttp
import httpx

from assistantd import startup
from assistantd.api.deps import Services
from assistantd.backends.base import ModelBackend
from assistantd.backends.registry import BackendRegistry
from assistantd.containers.service import Containers
from assistantd.conversations.service import Conversations
from assistantd.mcp.spec import McpLimits
from assistantd.observability.metrics import Samples
from assistantd.observability.process import Observing
from assistantd.organization.service import Organization
from assistantd.responses.service import Responses
from assistantd.responses.session import LiveEvents, ResponseRun
from assistantd.retrieval.rewrite import QueryRewriter
from assistantd.retrieval.search import Retrieval, build_retrieval
from assistantd.runs import tokens
from assistantd.runs.engine import RunEngine
from assistantd.runs.events import InMemoryEventLog
from assistantd.runs.pg_events import PostgresEventLog
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
from assistantd.store import jobs, signals
from assistantd.store import vector_stores as vs
from assistantd.store.blobs import LocalBlobStore
from assistantd.store.db import Database
from assistantd.store.private import private_dir
from assistantd.tools.base import Tool
from assistantd.tools.code_interpreter import CodeInterpreter
from assistantd.tools.file_search import FileSearchTool
from assistantd.tools.kernel_hosts import KernelHosts
from assistantd.tools.registry import ToolRegistry

log = logging.getLogger("assistantd")

Role = Literal["all", "api", "worker"]


@dataclass
class Runtime:
    settings: Settings
    role: Role
    db: Database
    http: httpx.AsyncClient
    streams: aiohttp.ClientSession
    events: InMemoryEventLog | PostgresEventLog
    backends: BackendRegistry
    retrieval: Retrieval
    code_interpreter: CodeInterpreter
    containers: Containers
    engine: RunEngine
    workers: WorkerPool
    services: Services
    responses: Responses
    conversations: Conversations
    organization: Organization
    observing: Observing
    probes: asyncio.Task[None] | None = None

    @property
    def executes(self) -> bool:
        return self.role != "api"

    @classmethod
    async def open(
        cls,
        settings: Settings,
        role: Role = "all",
        *,
        model_backend: ModelBackend | None = None,
        extra_tools: Sequence[Tool] = (),
    ) -> Runtime:
        """Build and start a process's parts. ``model_backend`` replaces the configured upstreams for every
        model (tests, demos); ``extra_tools`` adds or replaces server-side tools (plugins, tests)."""
        private_dir(settings.data_dir, what="data dir")
        observing = Observing.open(settings, role)
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
        events: InMemoryEventLog | PostgresEventLog = InMemoryEventLog() if db.is_sqlite else PostgresEventLog(db)
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
        concurrency = 0 if role == "api" else settings.run_workers
        workers = WorkerPool(db, engine, concurrency, lease_seconds=settings.lease_seconds)
        live = LiveEvents()
        mcp_limits = McpLimits.from_settings(settings)
        engine.sessions["response"] = lambda run: ResponseRun(db, events, blobs, run, live, containers, mcp_limits)
        runtime = cls(
            settings=settings,
            role=role,
            db=db,
            http=http,
            streams=streams,
            events=events,
            backends=backends,
            retrieval=retrieval,
            code_interpreter=code_interpreter,
            containers=containers,
            engine=engine,
            workers=workers,
            services=Services(
                settings=settings,
                assistants=Assistants(ctx),
                threads=Threads(ctx),
                messages=Messages(ctx),
                files=Files(ctx),
                models=Models(ctx, http),
                runs=Runs(ctx, engine, events, workers, backends),
                vector_stores=VectorStores(ctx, retrieval, QueryRewriter(backends, settings.query_rewrite_model)),
                vector_store_files=VectorStoreFiles(ctx, retrieval),
            ),
            responses=Responses(ctx, engine, events, workers, backends, live, containers),
            conversations=Conversations(ctx),
            organization=Organization(db, settings),
            observing=observing,
        )
        if not db.is_sqlite and role != "api" and code_interpreter.pool is not None:
            pool = code_interpreter.pool
            code_interpreter.hosts = KernelHosts(db, workers.owner, settings.lease_seconds, pool.live_keys)
            containers.runner.hosts = code_interpreter.hosts  # one pool, one record of its sessions
        await runtime._start(probe=model_backend is None)
        return runtime

    async def _start(self, *, probe: bool) -> None:
        if isinstance(self.events, PostgresEventLog):
            if self.executes:
                self.events.on(signals.JOBS, lambda _: self.workers.notify())
                self.events.on(signals.CANCELS, self.engine.request_cancel)
                self.events.on(signals.INGEST, lambda _: self.retrieval.worker.notify())
                self.workers.sweeps.append(self.events.sweep)
            await self.events.start()
        await self.containers.start()
        await self.retrieval.start(ingest=self.executes)
        if self.code_interpreter.hosts is not None:
            await self.code_interpreter.hosts.start()
        await self.workers.start()
        if probe:
            self.probes = asyncio.create_task(startup.probe_upstreams(self.settings, self.http))

    async def close(self) -> None:
        if self.probes is not None:
            self.probes.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.probes
        await self.workers.stop()
        if self.code_interpreter.hosts is not None:
            await self.code_interpreter.hosts.stop()
        await self.retrieval.stop()
        await self.containers.close()
        await self.code_interpreter.close()
        if isinstance(self.events, PostgresEventLog):
            await self.events.close()
        await self.http.aclose()
        await self.streams.close()
        await self.db.dispose()
        self.observing.close()

    async def samples(self) -> Samples:
        """What ``/metrics`` reads when scraped: the shared queues' depths (from the database), this
        process's pools and sandbox sessions."""
        async with self.db.read() as conn:
            waiting, leased = await jobs.depth(conn, time.time())
            ingesting = await vs.ingesting(conn)
        pool = self.code_interpreter.pool
        return Samples(
            runs_waiting=waiting,
            runs_leased=leased,
            ingestion_waiting=ingesting,
            pools=self.db.pool_use(),
            sandbox_leased=0 if pool is None else len(pool.live_keys()),
            sandbox_spare=0 if pool is None else pool.spares,
        )

    async def exposition(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return self.observing.metrics.expose(await self.samples())
