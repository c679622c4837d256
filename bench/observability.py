"""What metrics and tracing cost: completed runs/s with both on against both off, side by side in one run.

    .venv/bin/python bench/observability.py            # 10 rounds of 5 s per server; ~3 minutes
    .venv/bin/python bench/observability.py --quick    # 4 rounds of 4 s; ~1.5 minutes

Three real ``assistantd serve`` subprocesses on free loopback ports, each with its own SQLite data dir, all
against one instant fake upstream (``fake_upstream.py``): ``off`` (the defaults: no metrics, no tracing),
``metrics`` (``ASSISTANTD_METRICS=true`` alone) and ``on`` (metrics, and ``ASSISTANTD_OTLP_ENDPOINT``
pointing at a loopback OTLP/HTTP sink in this process, which decodes what it receives and counts the
spans). Rounds alternate the order of the servers (off, metrics, on, then on, metrics, off, ...), so none
always meets a quieter machine; each round is the ``create_and_poll`` pattern of ``runs.py`` (32 clients,
create a run then poll it at ``openai-poll-after-ms``) for the given seconds, on one server while the others
idle. Reported per server: runs/s and server CPU per completed run (``/proc/<pid>/stat``), per round and as
medians; and the ratios to ``off`` as the median (and range) of each round's ratio, the rounds being short and
many because the machine's load drifts. A final scrape of the ``on`` server checks that it counted the runs, and
the sink that spans arrived. Results go to ``bench/results/observability-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from runs import (
    ROOT,
    cpu_seconds,
    fake_port,
    free_port,
    poll_scenario,
    process,
    serve_cmd,
    serve_env,
    start_fake,
    wait_health,
)

CLIENTS = 32
CONFIGS = ("off", "metrics", "on")
"""``off``: the defaults; ``metrics``: ``ASSISTANTD_METRICS=true`` alone; ``on``: metrics and tracing."""


class Sink:
    """A loopback OTLP/HTTP receiver: ``POST /v1/traces``, decoded, spans counted."""

    def __init__(self) -> None:
        self.spans = 0
        self.requests = 0
        self.names: dict[str, int] = {}

    async def export(self, request: web.Request) -> web.Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.read())
        self.requests += 1
        for resource in message.resource_spans:
            for scoped in resource.scope_spans:
                for span in scoped.spans:
                    self.spans += 1
                    self.names[span.name] = self.names.get(span.name, 0) + 1
        return web.Response(body=b"", content_type="application/x-protobuf")


async def scrape(base: str) -> dict[str, float]:
    """The ``on`` server's run and request counters (its metrics prove it measured what it served)."""
    from prometheus_client.parser import text_string_to_metric_families

    async with aiohttp.ClientSession() as s, s.get(f"{base}/metrics") as r:
        text = await r.text()
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "assistantd_runs_total":
                key = f"runs_{sample.labels['status']}"
                found[key] = found.get(key, 0) + sample.value
            elif sample.name == "assistantd_http_requests_total":
                found["http_requests"] = found.get("http_requests", 0) + sample.value
            elif sample.name == "assistantd_time_to_first_token_seconds_count":
                found["first_tokens"] = found.get("first_tokens", 0) + sample.value
    return found


async def round_of(base: str, pid: int, seconds: float) -> dict[str, Any]:
    c0 = cpu_seconds(pid)
    result = await poll_scenario(base, CLIENTS, seconds, model="fake-instant")
    used = cpu_seconds(pid) - c0
    result["server_cpu_ms_per_run"] = round(1000 * used / max(result["completed"], 1), 3)
    return result


async def run_all(quick: bool) -> dict[str, Any]:
    rounds, seconds = (4, 4.0) if quick else (10, 5.0)
    sink = Sink()
    sink_app = web.Application()
    sink_app.router.add_post("/v1/traces", sink.export)
    runner = web.AppRunner(sink_app, access_log=None)
    await runner.setup()
    sink_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", sink_port).start()
    per: dict[str, list[dict[str, Any]]] = {name: [] for name in CONFIGS}
    try:
        with tempfile.TemporaryDirectory() as tmp, start_fake("instant") as fake:
            upstream = f"http://127.0.0.1:{fake_port(fake)}/v1"
            extra = {
                "off": {},
                "metrics": {"ASSISTANTD_METRICS": "true"},
                "on": {"ASSISTANTD_METRICS": "true", "ASSISTANTD_OTLP_ENDPOINT": f"http://127.0.0.1:{sink_port}"},
            }
            with contextlib.ExitStack() as stack:
                servers: dict[str, tuple[str, int]] = {}
                # One after the other: two servers starting at once contend for the sandbox's uid ranges.
                for name in CONFIGS:
                    port = free_port()
                    env = {**serve_env(upstream, f"{tmp}/{name}"), **extra[name]}
                    proc = stack.enter_context(process(serve_cmd(port), env))
                    servers[name] = (f"http://127.0.0.1:{port}", proc.pid)
                    async with aiohttp.ClientSession() as s:
                        await wait_health(s, servers[name][0])
                for base, pid in servers.values():  # warm-up: connections, caches, first runs
                    await round_of(base, pid, 2.0)
                for i in range(rounds):
                    order = CONFIGS if i % 2 == 0 else CONFIGS[::-1]
                    for name in order:
                        base, pid = servers[name]
                        per[name].append(await round_of(base, pid, seconds))
                        print(f"round {i + 1} {name}: {per[name][-1]['runs_per_second']} runs/s", flush=True)
                counted = await scrape(servers["on"][0])
                await asyncio.sleep(6)  # the batch span processor exports every 5 s
    finally:
        await runner.cleanup()

    def median(name: str, key: str) -> float:
        return float(statistics.median(r[key] for r in per[name]))

    summary = {
        name: {
            "runs_per_second_median": median(name, "runs_per_second"),
            "server_cpu_ms_per_run_median": median(name, "server_cpu_ms_per_run"),
            "run_p50_ms_median": median(name, "run_p50_ms"),
            "failed": sum(r["failed"] for r in per[name]),
        }
        for name in CONFIGS
    }
    completed_on = sum(r["completed"] for r in per["on"])
    return {
        "clients": CLIENTS,
        "rounds": rounds,
        "seconds_per_round": seconds,
        "rounds_detail": per,
        "summary": summary,
        "ratios": {
            f"{name}/off": {key: paired(per, name, key) for key in ("runs_per_second", "server_cpu_ms_per_run")}
            for name in CONFIGS[1:]
        },
        "on_server_counted": counted,
        "on_server_completed_in_measured_rounds": completed_on,
        "sink": {"export_requests": sink.requests, "spans": sink.spans, "by_name": sink.names},
    }


def paired(per: dict[str, list[dict[str, Any]]], name: str, key: str) -> dict[str, float]:
    """``key`` of ``name`` over ``off`` in the same round (measured back to back, so a change in the
    machine's load between rounds cancels out): median, lowest and highest of the rounds."""
    ratios = sorted(r[key] / o[key] for r, o in zip(per[name], per["off"], strict=True))
    return {"median": round(statistics.median(ratios), 3), "min": round(ratios[0], 3), "max": round(ratios[-1], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4 rounds of 4 s instead of 10 of 5 s")
    args = parser.parse_args()
    results = asyncio.run(run_all(args.quick))
    s = results["summary"]
    print(f"\n{'':8}{'runs/s':>10}{'CPU ms/run':>12}{'run p50 ms':>12}")
    for name in CONFIGS:
        print(
            f"{name:8}{s[name]['runs_per_second_median']:>10.1f}{s[name]['server_cpu_ms_per_run_median']:>12.2f}"
            f"{s[name]['run_p50_ms_median']:>12.1f}"
        )
    for pair, by_key in results["ratios"].items():
        runs, cpu = by_key["runs_per_second"], by_key["server_cpu_ms_per_run"]
        print(
            f"{pair}: runs/s x{runs['median']} ({runs['min']}-{runs['max']}), "
            f"CPU per run x{cpu['median']} ({cpu['min']}-{cpu['max']}), median of the rounds' ratios"
        )
    print(f"spans received {results['sink']['spans']}; the on server counted {results['on_server_counted']}")
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    path = out / f"observability-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
