"""Benchmark the Responses API on a real ``assistantd serve`` against a fake upstream on loopback, beside the
same scenarios for a streamed Assistants run, in one run (the machine is noisy; compare ratios).

    .venv/bin/python bench/responses.py            # all scenarios
    .venv/bin/python bench/responses.py --quick    # fewer samples

* added time to first token of a streamed ``POST /v1/responses`` (to its first ``response.output_text.delta``)
  against the same completion streamed directly from the upstream, p50/p99 at 1, 16 and 64 concurrent streams
  (closed loop), with the realistic upstream (first token after 200 ms, then one every 20 ms); the streamed
  Assistants run measured the same way, alternating with it;
* non-streamed responses completed per second at 32 clients with an instant upstream (``create`` returns
  when the response is done);
* server CPU per streamed token, for responses and for runs.

Servers are started as subprocesses on free ports and stopped by PID at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from runs import (
    HEADERS,
    ROOT,
    closed_loop,
    cpu_seconds,
    fake_port,
    free_port,
    pct,
    post,
    process,
    serve_cmd,
    serve_env,
    start_fake,
    ttft_assistantd,
    ttft_direct,
    wait_health,
)

BODY = {"model": "fake-model", "instructions": "Be brief.", "input": "hi", "stream": True}


async def ttft_response(session: aiohttp.ClientSession, base: str) -> float:
    """Stream one response, to the end; the time to its first ``response.output_text.delta``."""
    t0 = time.perf_counter()
    first = None
    async with session.post(f"{base}/v1/responses", headers=HEADERS, json=BODY) as r:
        async for line in r.content:
            if first is None and line.startswith(b"event: response.output_text.delta"):
                first = time.perf_counter() - t0
    assert first is not None, "no output_text delta"
    return first


def _summary(direct: list[float], via: list[float]) -> dict[str, Any]:
    return {
        "samples": len(via),
        "added_p50_ms": round(1000 * (statistics.median(via) - statistics.median(direct)), 2),
        "added_p99_ms": round(1000 * (pct(via, 99) - pct(direct, 99)), 2),
    }


async def ttft(base: str, upstream: str, concurrency: int, seconds: float) -> dict[str, Any]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        asst = await post(session, f"{base}/v1/assistants", {"model": "fake-model", "instructions": "Be brief."})
        threads = await asyncio.gather(
            *(
                post(session, f"{base}/v1/threads", {"messages": [{"role": "user", "content": "hi"}]})
                for _ in range(concurrency)
            )
        )
        direct: list[float] = []
        responses: list[float] = []
        runs: list[float] = []
        for _ in range(2):  # alternate the paths so none always meets a quieter machine
            direct += await closed_loop(concurrency, seconds, lambda i: ttft_direct(session, upstream))
            responses += await closed_loop(concurrency, seconds, lambda i: ttft_response(session, base))
            runs += await closed_loop(
                concurrency, seconds, lambda i: ttft_assistantd(session, base, threads[i]["id"], asst["id"])
            )
    return {"concurrency": concurrency, "responses": _summary(direct, responses), "runs": _summary(direct, runs)}


async def cpu_per_token(base: str, pid: int, streams: int) -> dict[str, Any]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        asst = await post(session, f"{base}/v1/assistants", {"model": "fake-model"})
        threads = await asyncio.gather(
            *(
                post(session, f"{base}/v1/threads", {"messages": [{"role": "user", "content": "hi"}]})
                for _ in range(streams)
            )
        )

        async def count(url: str, body: dict[str, Any], marker: bytes) -> int:
            n = 0
            async with session.post(url, headers=HEADERS, json=body) as r:
                async for line in r.content:
                    n += line.startswith(marker)
            return n

        out: dict[str, Any] = {}
        for name, calls in (
            (
                "responses",
                [count(f"{base}/v1/responses", BODY, b"event: response.output_text.delta") for _ in range(streams)],
            ),
            (
                "runs",
                [
                    count(
                        f"{base}/v1/threads/{t['id']}/runs",
                        {"assistant_id": asst["id"], "stream": True},
                        b"event: thread.message.delta",
                    )
                    for t in threads
                ],
            ),
        ):
            c0 = cpu_seconds(pid)
            tokens = sum(await asyncio.gather(*calls))
            used = cpu_seconds(pid) - c0
            out[name] = {"tokens": tokens, "server_cpu_us_per_token": round(1e6 * used / max(tokens, 1), 1)}
    return out


async def throughput(base: str, clients: int, seconds: float) -> dict[str, Any]:
    """Non-streamed responses completed per second by ``clients`` clients, each one after another."""
    body = {"model": "fake-model", "input": "hi"}
    latencies: list[float] = []
    failed = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()

        async def client() -> None:
            nonlocal failed
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                async with session.post(f"{base}/v1/responses", headers=HEADERS, json=body) as r:
                    data = await r.json()
                if r.status != 200 or data.get("status") != "completed":
                    failed += 1
                    continue
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "clients": clients,
        "completed": len(latencies),
        "failed": failed,
        "responses_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(1000 * pct(latencies, 50), 1),
        "p99_ms": round(1000 * pct(latencies, 99), 1),
    }


async def run_all(quick: bool) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, start_fake("realistic") as fake:
        upstream = f"http://127.0.0.1:{fake_port(fake)}/v1"
        port = free_port()
        with process(serve_cmd(port), serve_env(upstream, f"{tmp}/a")) as server:
            base = f"http://127.0.0.1:{port}"
            async with aiohttp.ClientSession() as s:
                await wait_health(s, base)
            seconds = 9.0 if quick else 20.0
            results["ttft_realistic"] = [await ttft(base, upstream, c, seconds) for c in (1, 16, 64)]
            results["cpu_per_token"] = await cpu_per_token(base, server.pid, 16)
    with tempfile.TemporaryDirectory() as tmp, start_fake("instant") as fake:
        upstream = f"http://127.0.0.1:{fake_port(fake)}/v1"
        port = free_port()
        with process(serve_cmd(port), serve_env(upstream, f"{tmp}/b")):
            base = f"http://127.0.0.1:{port}"
            async with aiohttp.ClientSession() as s:
                await wait_health(s, base)
            results["non_streamed_32_clients"] = await throughput(base, 32, 5 if quick else 15)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(run_all(args.quick))
    print(json.dumps(results, indent=2))
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    (out / f"responses-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
