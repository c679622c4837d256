"""Spans, recorded with the SDK's in-memory exporter on a provider the test installs: a request, the run it
starts, each model turn, the tool call between them and each upstream request, parented in that order and
carrying the run, response and thread IDs; the upstream receives the trace in ``traceparent``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from assistantd import Settings
from assistantd.observability import tracing
from tests.observability._traffic import app_and_client, fake_upstream, settings_for, traffic


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    previous = tracing.install(provider)
    try:
        yield exporter
    finally:
        tracing.install(previous)
        provider.shutdown()


def named(spans: tuple[ReadableSpan, ...], name: str, **attributes: object) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name and all((s.attributes or {}).get(k) == v for k, v in attributes.items())]


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


async def test_request_run_turn_tool_and_upstream_spans(settings: Settings, exporter: InMemorySpanExporter) -> None:
    with fake_upstream() as (upstream, url):
        async with app_and_client(settings_for(settings, url)) as (_, client):
            made = await traffic(client)
    spans = exporter.get_finished_spans()

    (run,) = named(spans, "assistantd.run", **{"assistantd.run_id": made.run_id})
    attributes = run.attributes or {}
    assert attributes["assistantd.thread_id"] == made.thread_id and attributes["assistantd.status"] == "completed"
    # Executed at once, in the task the creating request started: a child of that request's span.
    (request,) = [s for s in spans if span_id(s) == parent_of(run)]
    assert request.name == "POST /v1/threads/runs" and request.kind == SpanKind.SERVER
    assert (request.attributes or {})["http.route"] == "/v1/threads/runs"
    assert (request.attributes or {})["http.response.status_code"] == 200
    assert str((request.attributes or {})["assistantd.request_id"]).startswith("req_")
    assert run.context is not None and request.context is not None
    assert run.context.trace_id == request.context.trace_id

    turns = sorted(
        named(spans, "assistantd.model_turn", **{"assistantd.run_id": made.run_id}), key=lambda s: s.start_time or 0
    )
    assert [(t.attributes or {})["assistantd.turn"] for t in turns] == [0, 1]
    assert all(parent_of(t) == span_id(run) for t in turns)
    assert all((t.attributes or {})["assistantd.thread_id"] == made.thread_id for t in turns)
    assert list((turns[0].attributes or {})["assistantd.turn.tool_calls"]) == ["file_search"]
    assert (turns[1].attributes or {})["gen_ai.usage.output_tokens"] == 3

    (tool,) = named(spans, "assistantd.tool_call", **{"assistantd.run_id": made.run_id})
    assert (tool.attributes or {})["gen_ai.tool.name"] == "file_search"
    assert (tool.attributes or {})["assistantd.thread_id"] == made.thread_id
    assert parent_of(tool) == span_id(run)
    assert turns[0].end_time is not None and tool.start_time is not None and turns[0].end_time <= tool.start_time

    for turn in turns:
        (call,) = [s for s in spans if s.name == "POST /chat/completions" and parent_of(s) == span_id(turn)]
        assert call.kind == SpanKind.CLIENT
        assert (call.attributes or {})["http.response.status_code"] == 200
        assert (call.attributes or {})["assistantd.upstream"] == url
        assert (call.attributes or {})["server.address"] == "127.0.0.1"
    traceparents = [h.get("traceparent", "") for h in upstream.headers]
    assert any(f"-{run.context.trace_id:032x}-" in tp for tp in traceparents)

    (failed,) = named(spans, "assistantd.run", **{"assistantd.run_id": made.failed_run_id})
    assert failed.status.status_code == StatusCode.ERROR
    (broken,) = [
        s
        for s in spans
        if s.name == "POST /chat/completions" and (s.attributes or {}).get("http.response.status_code") == 500
    ]
    assert (broken.attributes or {})["error.type"] == "server_error"
    assert broken.status.status_code == StatusCode.ERROR

    (response,) = named(spans, "assistantd.response", **{"assistantd.response_id": made.response_id})
    assert (response.attributes or {})["assistantd.status"] == "completed"
    (rturn,) = named(spans, "assistantd.model_turn", **{"assistantd.response_id": made.response_id})
    assert parent_of(rturn) == span_id(response)


async def test_no_provider_records_nothing(settings: Settings) -> None:
    assert tracing.enabled() is False
    with tracing.tracer().start_as_current_span("x") as span:
        assert not span.is_recording()
