"""Prometheus metrics: every family declared once, here, and the slot code records them through.

``Metrics`` is the seam: its methods are the events worth counting, and the base class ignores them all, so
with ``ASSISTANTD_METRICS`` off (the default) recording is one no-op call. ``PrometheusMetrics`` counts them in
its own ``CollectorRegistry`` (never prometheus_client's global one: tests build many apps in one process).

Process-local: a registry counts what its process did. Gauges that describe shared state (the run queue in
the database) are sampled when scraped, through ``Samples``, which the runtime gathers; the rest (pools,
sandbox sessions) describe the scraped process only. ``docs/observability.md`` lists every family and says
what each kind of process exposes.

Labels are bounded: HTTP requests by route template (``/v1/threads/{thread_id}/runs``), never the raw path;
upstreams by their configured base URL; statuses from fixed sets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
TOKEN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)
UPSTREAM_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


@dataclass(frozen=True, slots=True)
class PoolUse:
    """One connection pool of this process, now."""

    pool: str
    """``main`` (PostgreSQL), ``reader`` or ``writer`` (SQLite)."""
    size: int
    checked_out: int
    idle: int


@dataclass(frozen=True, slots=True)
class Samples:
    """What a scrape reads at that moment (gathered by ``Runtime.samples``)."""

    runs_waiting: int = 0
    """Jobs in the run queue no worker holds (queued, or whose lease lapsed): every process's, from the database."""
    runs_leased: int = 0
    ingestion_waiting: int = 0
    """Vector store files still ``in_progress`` (being or to be ingested): from the database."""
    pools: list[PoolUse] = field(default_factory=list)
    sandbox_leased: int = 0
    """code_interpreter sessions held by a thread or container in this process."""
    sandbox_spare: int = 0
    """Sessions started ahead of need in this process."""


class Metrics:
    """The events assistantd counts. This base ignores them (metrics off)."""

    enabled = False
    """Whether anything is counted (false: skip work done only to measure, such as timing a stream)."""

    def http_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """An HTTP request ended (its response fully sent, or the client gone)."""

    def run_finished(self, kind: str, status: str) -> None:
        """A run (``kind`` ``run``) or response (``response``) reached a terminal status in this process."""

    def first_token(self, kind: str, seconds: float) -> None:
        """A model turn's first streamed fragment arrived ``seconds`` after its request was sent."""

    def upstream_request(self, upstream: str, status: str, seconds: float) -> None:
        """One HTTP request to a model upstream ended; ``status`` is its HTTP status, or ``error``."""

    def upstream_error(self, upstream: str, reason: str) -> None:
        """An upstream request failed: ``rate_limited``, ``bad_request``, ``server_error``, ``timeout``,
        ``connection`` or ``stream`` (cut or malformed mid-stream)."""

    def lease_takeover(self) -> None:
        """A worker claimed a run again after an earlier claim ended without finishing it (its process died
        or stopped mid-run)."""

    def ingested(self, status: str, chunks: int) -> None:
        """A vector store file's ingestion ended with ``status``; ``chunks`` were indexed."""

    def sandbox_session_started(self) -> None:
        """A code_interpreter sandbox session was started (spare or on demand)."""

    def expose(self, samples: Samples) -> bytes:
        """The exposition text (nothing when metrics are off)."""
        return b""


class PrometheusMetrics(Metrics):
    enabled = True

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.http_requests = Counter(
            "assistantd_http_requests", "HTTP requests by route template, method and status.",
            ("method", "route", "status"), registry=r,
        )  # fmt: skip
        self.http_duration = Histogram(
            "assistantd_http_request_duration_seconds",
            "HTTP request latency until the response is fully sent (a stream: its whole length).",
            ("method", "route"), buckets=HTTP_BUCKETS, registry=r,
        )  # fmt: skip
        self.runs = Counter(
            "assistantd_runs", "Runs (kind=run) and responses (kind=response) that reached a terminal status.",
            ("kind", "status"), registry=r,
        )  # fmt: skip
        self.ttft = Histogram(
            "assistantd_time_to_first_token_seconds",
            "Per model turn: from sending the upstream request to its first streamed fragment.",
            ("kind",), buckets=TOKEN_BUCKETS, registry=r,
        )  # fmt: skip
        self.upstream_requests = Counter(
            "assistantd_upstream_requests", "HTTP requests to model upstreams, by upstream and HTTP status.",
            ("upstream", "status"), registry=r,
        )  # fmt: skip
        self.upstream_errors = Counter(
            "assistantd_upstream_errors", "Failed upstream requests, by upstream and reason.",
            ("upstream", "reason"), registry=r,
        )  # fmt: skip
        self.upstream_duration = Histogram(
            "assistantd_upstream_request_duration_seconds",
            "Upstream request latency, until its stream ended.",
            ("upstream",), buckets=UPSTREAM_BUCKETS, registry=r,
        )  # fmt: skip
        self.takeovers = Counter(
            "assistantd_lease_takeovers", "Runs claimed after their previous lease lapsed.", registry=r
        )
        self.ingested_files = Counter(
            "assistantd_ingestion_files", "Vector store files whose ingestion ended, by status.",
            ("status",), registry=r,
        )  # fmt: skip
        self.ingested_chunks = Counter("assistantd_ingestion_chunks", "Chunks indexed by ingestion.", registry=r)
        self.sandbox_started = Counter(
            "assistantd_sandbox_sessions_started", "code_interpreter sandbox sessions started.", registry=r
        )
        self.queue_depth = Gauge(
            "assistantd_queue_depth",
            "Work waiting in the shared queues (read from the database when scraped).",
            ("queue", "state"), registry=r,
        )  # fmt: skip
        self.pool_connections = Gauge(
            "assistantd_db_pool_connections", "This process's database connections, by pool and state.",
            ("pool", "state"), registry=r,
        )  # fmt: skip
        self.pool_size = Gauge(
            "assistantd_db_pool_size", "Connections each pool keeps (before overflow).", ("pool",), registry=r
        )
        self.sandbox_sessions = Gauge(
            "assistantd_sandbox_sessions", "This process's live code_interpreter sessions, by state.",
            ("state",), registry=r,
        )  # fmt: skip

    def http_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http_requests.labels(method, route, str(status)).inc()
        self.http_duration.labels(method, route).observe(seconds)

    def run_finished(self, kind: str, status: str) -> None:
        self.runs.labels(kind, status).inc()

    def first_token(self, kind: str, seconds: float) -> None:
        self.ttft.labels(kind).observe(seconds)

    def upstream_request(self, upstream: str, status: str, seconds: float) -> None:
        self.upstream_requests.labels(upstream, status).inc()
        self.upstream_duration.labels(upstream).observe(seconds)

    def upstream_error(self, upstream: str, reason: str) -> None:
        self.upstream_errors.labels(upstream, reason).inc()

    def lease_takeover(self) -> None:
        self.takeovers.inc()

    def ingested(self, status: str, chunks: int) -> None:
        self.ingested_files.labels(status).inc()
        if chunks:
            self.ingested_chunks.inc(chunks)

    def sandbox_session_started(self) -> None:
        self.sandbox_started.inc()

    def expose(self, samples: Samples) -> bytes:
        self.queue_depth.labels("runs", "waiting").set(samples.runs_waiting)
        self.queue_depth.labels("runs", "leased").set(samples.runs_leased)
        self.queue_depth.labels("ingestion", "waiting").set(samples.ingestion_waiting)
        for p in samples.pools:
            self.pool_size.labels(p.pool).set(p.size)
            self.pool_connections.labels(p.pool, "checked_out").set(p.checked_out)
            self.pool_connections.labels(p.pool, "idle").set(p.idle)
        self.sandbox_sessions.labels("leased").set(samples.sandbox_leased)
        self.sandbox_sessions.labels("spare").set(samples.sandbox_spare)
        return generate_latest(self.registry)


_current: Metrics = Metrics()


def current() -> Metrics:
    """The process's recorder (a no-op unless ``install``-ed)."""
    return _current


def install(metrics: Metrics) -> Metrics:
    """Make ``metrics`` the process's recorder; returns the previous one, to restore on close."""
    global _current
    previous, _current = _current, metrics
    return previous
