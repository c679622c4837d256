"""OpenTelemetry traces: the tracer slot, and the OTLP/HTTP exporter ``ASSISTANTD_OTLP_ENDPOINT`` configures.

Spans (names and attributes are listed in ``docs/observability.md``): ``{METHOD} {route}`` per HTTP request
(``middleware.py``), ``assistantd.run`` / ``assistantd.response`` per execution of a run or response,
``assistantd.model_turn`` per model turn (``runs/engine.py``), ``assistantd.tool_call`` per server-side tool
call, and ``POST /chat/completions`` per upstream request (``backends/openai_compat.py``).

The slot holds OpenTelemetry's ``NoOpTracer`` unless a provider is installed, so with tracing off a span is a
shared non-recording object and ``enabled()`` lets hot paths skip building attributes. We keep our own slot
rather than OpenTelemetry's global provider: that one can be set only once per process, and tests install a
provider with an in-memory exporter per test (``install(provider)``, then restore what it returned).

Process-local: each process exports its own spans. A run executed in the process that created it (the
direct path) is a child of the creating request's span, since its task inherits the request's context; a
run claimed from the queue by another process starts a trace of its own.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

NAME = "assistantd"

_tracer: trace.Tracer = trace.NoOpTracer()
_enabled = False
_provider: trace.TracerProvider | None = None


def tracer() -> trace.Tracer:
    return _tracer


def enabled() -> bool:
    """Whether spans are recorded (false: every span is a no-op; skip work done only for them)."""
    return _enabled


def install(provider: trace.TracerProvider | None) -> trace.TracerProvider | None:
    """Record spans with ``provider`` (None: stop recording). Returns the provider installed before."""
    global _tracer, _enabled, _provider
    previous = _provider
    _provider = provider
    _tracer = trace.NoOpTracer() if provider is None else provider.get_tracer(NAME)
    _enabled = provider is not None
    return previous


def otlp_provider(endpoint: str, *, role: str) -> TracerProvider:
    """A provider batching spans to ``endpoint`` over OTLP/HTTP (protobuf). A base URL gets OTLP's
    ``/v1/traces`` path, as ``OTEL_EXPORTER_OTLP_ENDPOINT`` does."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    url = endpoint if endpoint.rstrip("/").endswith("/v1/traces") else endpoint.rstrip("/") + "/v1/traces"
    provider = TracerProvider(resource=Resource.create({"service.name": NAME, "assistantd.role": role}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
    return provider


def trace_ids() -> tuple[str, str] | None:
    """The current span's trace and span ids as hex, if a span is being recorded."""
    if not _enabled:
        return None
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


def tool_call(
    run_kind: str, run_id: str, thread_id: str | None, name: str, call_id: str
) -> AbstractContextManager[trace.Span]:
    """The span of one server-side tool call of a run or response (a context manager; current inside)."""
    if not _enabled:
        return _tracer.start_as_current_span("assistantd.tool_call")
    attributes = {f"assistantd.{run_kind}_id": run_id, "gen_ai.tool.name": name, "gen_ai.tool.call.id": call_id}
    if thread_id:
        attributes["assistantd.thread_id"] = thread_id
    return _tracer.start_as_current_span("assistantd.tool_call", attributes=attributes)
