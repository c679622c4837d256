"""``GET /metrics``: scraped after real traffic through the official client, parsed with prometheus_client's
own parser; every family is there with its labels, bounded (route templates, never IDs)."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import openai
from asgi_lifespan import LifespanManager
from prometheus_client.parser import text_string_to_metric_families

from assistantd import Settings, create_app
from assistantd.backends.scripted import Hang, Say, ScriptedBackend
from assistantd.observability import metrics
from tests.conftest import POSTGRES
from tests.observability._traffic import BROKEN, app_and_client, fake_upstream, settings_for, traffic
from tests.runs._helpers import assistant, thread, wait_status

FAMILIES = {
    "assistantd_http_requests": "counter",
    "assistantd_http_request_duration_seconds": "histogram",
    "assistantd_runs": "counter",
    "assistantd_time_to_first_token_seconds": "histogram",
    "assistantd_upstream_requests": "counter",
    "assistantd_upstream_errors": "counter",
    "assistantd_upstream_request_duration_seconds": "histogram",
    "assistantd_lease_takeovers": "counter",
    "assistantd_ingestion_files": "counter",
    "assistantd_ingestion_chunks": "counter",
    "assistantd_sandbox_sessions_started": "counter",
    "assistantd_queue_depth": "gauge",
    "assistantd_db_pool_connections": "gauge",
    "assistantd_db_pool_size": "gauge",
    "assistantd_sandbox_sessions": "gauge",
}


def parse(text: str) -> tuple[dict[str, str], dict[str, list[tuple[dict[str, str], float]]]]:
    types: dict[str, str] = {}
    samples: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for s in family.samples:
            samples[s.name].append((s.labels, s.value))
    return types, samples


def value(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for got, v in samples[name] if all(got.get(k) == want for k, want in labels.items()))


async def test_metrics_after_real_traffic(settings: Settings) -> None:
    with fake_upstream() as (_, upstream_url):
        async with app_and_client(settings_for(settings, upstream_url, metrics=True)) as (app, client):
            made = await traffic(client)
            raw = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://test")
            async with raw:
                assert (await raw.get("/no/such/path")).status_code == 404
                scraped = await raw.get("/metrics")  # no key: a scraper has none
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    types, samples = parse(scraped.text)
    for name, kind in FAMILIES.items():
        assert types.get(name) == kind, (name, types.get(name))

    # HTTP requests by route template and status, with latency.
    runs_route = "/v1/threads/runs"
    assert value(samples, "assistantd_http_requests_total", method="POST", route=runs_route, status="200") == 2
    thread_route = "/v1/threads/{thread_id}"
    assert value(samples, "assistantd_http_requests_total", method="GET", route=thread_route, status="200") == 1
    assert value(samples, "assistantd_http_requests_total", route="(unmatched)", status="404") == 1
    assert value(samples, "assistantd_http_request_duration_seconds_count", method="POST", route=runs_route) == 2
    for labels, _ in samples["assistantd_http_requests_total"]:
        assert made.thread_id not in labels["route"] and made.run_id not in labels["route"], labels

    # Runs and responses by final status; time to first token of each streamed turn.
    assert value(samples, "assistantd_runs_total", kind="run", status="completed") == 1
    assert value(samples, "assistantd_runs_total", kind="run", status="failed") == 1
    assert value(samples, "assistantd_runs_total", kind="response", status="completed") == 1
    assert value(samples, "assistantd_time_to_first_token_seconds_count", kind="run") == 2  # search, answer
    assert value(samples, "assistantd_time_to_first_token_seconds_count", kind="response") == 1

    # Upstream requests, errors and latency by upstream (its base URL, without the key).
    assert value(samples, "assistantd_upstream_requests_total", upstream=upstream_url, status="200") == 3
    assert value(samples, "assistantd_upstream_requests_total", upstream=upstream_url, status="500") == 1
    assert value(samples, "assistantd_upstream_errors_total", upstream=upstream_url, reason="server_error") == 1
    assert value(samples, "assistantd_upstream_request_duration_seconds_count", upstream=upstream_url) == 4
    assert "sk-upstream" not in scraped.text and BROKEN not in scraped.text

    # Ingestion, the queues, pools and sandbox sessions.
    assert value(samples, "assistantd_ingestion_files_total", status="completed") == 1
    assert value(samples, "assistantd_ingestion_chunks_total") >= 1
    assert value(samples, "assistantd_queue_depth", queue="runs", state="waiting") == 0
    assert value(samples, "assistantd_queue_depth", queue="ingestion", state="waiting") == 0
    pools = {labels["pool"] for labels, _ in samples["assistantd_db_pool_size"]}
    assert pools == ({"main"} if POSTGRES else {"reader", "writer"})
    assert value(samples, "assistantd_db_pool_connections", state="idle") >= 1
    assert {labels["state"] for labels, _ in samples["assistantd_sandbox_sessions"]} == {"leased", "spare"}
    assert value(samples, "assistantd_lease_takeovers_total") == 0


async def test_metrics_off_is_no_route_and_no_recorder(settings: Settings) -> None:
    app = create_app(settings)
    assert "/metrics" not in {getattr(r, "path", "") for r in app.routes}
    assert metrics.current().enabled is False


async def test_a_run_taken_over_after_a_restart_is_a_lease_takeover(settings: Settings) -> None:
    """The first lifetime stops mid-turn; the next claims the run again (its lease no longer held) and
    counts the takeover, then the run's completion."""
    settings = settings.model_copy(update={"metrics": True})
    first = create_app(settings, model_backend=ScriptedBackend([Hang("half an")]))
    async with (
        LifespanManager(first, startup_timeout=30, shutdown_timeout=30) as manager,
        sdk(manager.app) as client,
    ):
        a = await assistant(client)
        t = await thread(client)
        run = await client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id)
        await wait_status(client, t.id, run.id, "in_progress")
    second = create_app(settings, model_backend=ScriptedBackend([Say("fresh")]))
    async with LifespanManager(second, startup_timeout=30, shutdown_timeout=30) as manager:
        async with sdk(manager.app) as client:
            assert (await wait_status(client, t.id, run.id)).status == "completed"
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=manager.app), base_url="http://t") as raw:
            _, samples = parse((await raw.get("/metrics")).text)
    assert value(samples, "assistantd_lease_takeovers_total") == 1
    assert value(samples, "assistantd_runs_total", kind="run", status="completed") == 1


@contextlib.asynccontextmanager
async def sdk(app: Any) -> AsyncIterator[openai.AsyncOpenAI]:
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://test")
    async with openai.AsyncOpenAI(base_url="http://test/v1", api_key="x", http_client=http, max_retries=0) as c:
        yield c
