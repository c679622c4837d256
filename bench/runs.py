"""Benchmark runs on a real ``assistantd serve`` against a fake upstream on loopback.

    .venv/bin/python bench/runs.py                 # all scenarios
    .venv/bin/python bench/runs.py --quick         # fewer samples

Measured side by side in one run (the machine is noisy; compare ratios, not absolute times):

* added time to first token: a streamed run through assistantd (time to the first
  ``thread.message.delta``) against the same completion streamed directly from the fake upstream
  (time to the first content chunk), p50/p99, at 1, 16 and 64 concurrent streams, with a realistic
  upstream (first token after 200 ms, then one every 20 ms, 200 tokens). "N concurrent streams" is a
  closed loop: N clients each streaming one request after another, so N streams are always in flight;
  the same N started in one instant (a burst) is reported beside it;
* completed runs/s with the ``create_and_poll`` pattern (create, then poll at ``openai-poll-after-ms``)
  at 32 concurrent clients, with an instant upstream;
* server CPU per streamed token (realistic upstream).

Servers are started as subprocesses on free ports and stopped by PID at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
HEADERS = {"Authorization": "Bearer bench", "OpenAI-Beta": "assistants=v2", "Content-Type": "application/json"}
POLL_HEADERS = {**HEADERS, "X-Stainless-Poll-Helper": "true"}  # what the SDK's poll helpers send


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@contextlib.contextmanager
def process(cmd: list[str], env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def start_fake(mode: str) -> contextlib.AbstractContextManager[subprocess.Popen[str]]:
    return process([sys.executable, str(ROOT / "fake_upstream.py"), "--mode", mode])


def fake_port(proc: subprocess.Popen[str]) -> int:
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    return int(line[1])


async def wait_health(session: aiohttp.ClientSession, base: str) -> None:
    for _ in range(300):
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(f"{base}/health") as r:
                if r.status == 200:
                    return
        await asyncio.sleep(0.05)
    raise RuntimeError("server did not become healthy")


def pct(data: list[float], q: float) -> float:
    if not data:
        return float("nan")
    s = sorted(data)
    return s[max(0, min(len(s) - 1, round(q / 100 * len(s) + 0.5) - 1))]


async def post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> dict[str, Any]:
    async with session.post(url, json=body, headers=HEADERS) as r:
        data: dict[str, Any] = await r.json()
        if r.status != 200:
            raise RuntimeError(f"{url}: {r.status} {data}")
        return data


async def ttft_direct(session: aiohttp.ClientSession, upstream: str) -> float:
    """Stream one completion straight from the upstream, to the end; the time to its first content chunk."""
    body = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    t0 = time.perf_counter()
    first = None
    async with session.post(f"{upstream}/chat/completions", json=body) as r:
        async for line in r.content:
            if first is None and line.startswith(b"data: {") and b'"content"' in line:
                first = time.perf_counter() - t0
    assert first is not None
    return first


async def ttft_assistantd(session: aiohttp.ClientSession, base: str, thread_id: str, assistant_id: str) -> float:
    """Stream one run through assistantd, to the end; the time to its first ``thread.message.delta``."""
    t0 = time.perf_counter()
    first = None
    async with session.post(
        f"{base}/v1/threads/{thread_id}/runs", headers=HEADERS, json={"assistant_id": assistant_id, "stream": True}
    ) as r:
        event = b""
        async for line in r.content:
            if line.startswith(b"event: "):
                event = line[7:].strip()
            elif first is None and event == b"thread.message.delta":
                first = time.perf_counter() - t0
    assert first is not None, "no message delta"
    return first


async def closed_loop(n: int, seconds: float, one: Any) -> list[float]:
    """``n`` clients each streaming one request after another for ``seconds``: ``n`` streams in flight at
    every moment, their starts spread out as they would be in a steady service."""
    samples: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client(i: int) -> None:
        await asyncio.sleep(i * 0.2 / max(n, 1))  # stagger the first starts over one time-to-first-token
        while time.perf_counter() < deadline:
            samples.append(await one(i))

    await asyncio.gather(*(client(i) for i in range(n)))
    return samples


async def ttft_scenario(base: str, upstream: str, concurrency: int, seconds: float, rounds: int = 2) -> dict[str, Any]:
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn) as session:
        asst = await post(session, f"{base}/v1/assistants", {"model": "fake-model", "instructions": "Be brief."})
        threads = await asyncio.gather(
            *(
                post(session, f"{base}/v1/threads", {"messages": [{"role": "user", "content": "hi"}]})
                for _ in range(concurrency)
            )
        )
        direct: list[float] = []
        via: list[float] = []
        for _ in range(rounds):  # alternate the two paths so neither always meets a quieter machine
            direct += await closed_loop(concurrency, seconds, lambda i: ttft_direct(session, upstream))
            via += await closed_loop(
                concurrency, seconds, lambda i: ttft_assistantd(session, base, threads[i]["id"], asst["id"])
            )
    return {
        "concurrency": concurrency,
        "samples_direct": len(direct),
        "samples_assistantd": len(via),
        "direct_p50_ms": round(1000 * statistics.median(direct), 2),
        "assistantd_p50_ms": round(1000 * statistics.median(via), 2),
        "added_p50_ms": round(1000 * (statistics.median(via) - statistics.median(direct)), 2),
        "added_p99_ms": round(1000 * (pct(via, 99) - pct(direct, 99)), 2),
    }


async def burst_scenario(base: str, upstream: str, concurrency: int) -> dict[str, Any]:
    """All ``concurrency`` streams started in the same instant (a worst case, reported beside)."""
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn) as session:
        asst = await post(session, f"{base}/v1/assistants", {"model": "fake-model"})
        threads = await asyncio.gather(
            *(
                post(session, f"{base}/v1/threads", {"messages": [{"role": "user", "content": "hi"}]})
                for _ in range(concurrency)
            )
        )
        direct = await asyncio.gather(*(ttft_direct(session, upstream) for _ in range(concurrency)))
        via = await asyncio.gather(*(ttft_assistantd(session, base, t["id"], asst["id"]) for t in threads))
    return {
        "concurrency": concurrency,
        "added_p50_ms": round(1000 * (statistics.median(via) - statistics.median(direct)), 2),
        "added_p99_ms": round(1000 * (pct(via, 99) - pct(direct, 99)), 2),
    }


async def poll_scenario(base: str, clients: int, seconds: float, model: str = "fake-model") -> dict[str, Any]:
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn) as session:
        asst = await post(session, f"{base}/v1/assistants", {"model": model})
        threads = await asyncio.gather(
            *(
                post(session, f"{base}/v1/threads", {"messages": [{"role": "user", "content": "hi"}]})
                for _ in range(clients)
            )
        )
        done = 0
        failed = 0
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds

        async def client(thread_id: str) -> None:
            nonlocal done, failed
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                async with session.post(
                    f"{base}/v1/threads/{thread_id}/runs", headers=HEADERS, json={"assistant_id": asst["id"]}
                ) as r:
                    run = await r.json()
                    wait = int(r.headers.get("openai-poll-after-ms", "1000")) / 1000
                # The SDK's poll(): retrieve at once, then sleep the hinted interval between retrievals.
                while run["status"] in ("queued", "in_progress", "cancelling"):
                    url = f"{base}/v1/threads/{thread_id}/runs/{run['id']}"
                    async with session.get(url, headers=POLL_HEADERS) as r:
                        run = await r.json()
                        wait = int(r.headers.get("openai-poll-after-ms", "1000")) / 1000
                    if run["status"] in ("queued", "in_progress", "cancelling"):
                        await asyncio.sleep(wait)
                if run["status"] == "completed":
                    done += 1
                    latencies.append(time.perf_counter() - t0)
                else:
                    failed += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(client(t["id"]) for t in threads))
        elapsed = time.perf_counter() - t0
    return {
        "clients": clients,
        "completed": done,
        "failed": failed,
        "seconds": round(elapsed, 2),
        "runs_per_second": round(done / elapsed, 1),
        "run_p50_ms": round(1000 * pct(latencies, 50), 1),
        "run_p99_ms": round(1000 * pct(latencies, 99), 1),
    }


async def cpu_per_token(base: str, pid: int, streams: int) -> dict[str, Any]:
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn) as session:
        asst = await post(session, f"{base}/v1/assistants", {"model": "fake-model"})
        threads = await asyncio.gather(
            *(
                post(session, f"{base}/v1/threads", {"messages": [{"role": "user", "content": "hi"}]})
                for _ in range(streams)
            )
        )
        tokens = 0

        async def one(thread_id: str) -> None:
            nonlocal tokens
            async with session.post(
                f"{base}/v1/threads/{thread_id}/runs",
                headers=HEADERS,
                json={"assistant_id": asst["id"], "stream": True},
            ) as r:
                async for line in r.content:
                    if line.startswith(b"event: thread.message.delta"):
                        tokens += 1

        c0 = cpu_seconds(pid)
        await asyncio.gather(*(one(t["id"]) for t in threads))
        used = cpu_seconds(pid) - c0
    return {
        "streams": streams,
        "tokens": tokens,
        "server_cpu_seconds": round(used, 3),
        "server_cpu_us_per_token": round(1e6 * used / max(tokens, 1), 1),
    }


def serve_env(upstream: str, data_dir: str) -> dict[str, str]:
    return {
        **os.environ,
        "ASSISTANTD_UPSTREAM_BASE_URL": upstream,
        "ASSISTANTD_DATA_DIR": data_dir,
        "ASSISTANTD_LOG_LEVEL": "warning",
        "ASSISTANTD_RUN_WORKERS": "64",
    }


def serve_cmd(port: int) -> list[str]:
    return [sys.executable, "-m", "assistantd", "serve", "--host", "127.0.0.1", "--port", str(port)]


async def run_all(quick: bool) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, start_fake("realistic") as fake:
        upstream = f"http://127.0.0.1:{fake_port(fake)}/v1"
        port = free_port()
        with process(serve_cmd(port), serve_env(upstream, f"{tmp}/a")) as server:
            base = f"http://127.0.0.1:{port}"
            async with aiohttp.ClientSession() as s:
                await wait_health(s, base)
            seconds = 9.0 if quick else 20.0  # each realistic stream lasts 4.2 s
            results["ttft_realistic"] = [await ttft_scenario(base, upstream, c, seconds) for c in (1, 16, 64)]
            results["ttft_realistic_burst"] = [await burst_scenario(base, upstream, c) for c in (16, 64)]
            results["cpu_per_token"] = await cpu_per_token(base, server.pid, 16)
    with tempfile.TemporaryDirectory() as tmp, start_fake("instant") as fake:
        upstream = f"http://127.0.0.1:{fake_port(fake)}/v1"
        port = free_port()
        with process(serve_cmd(port), serve_env(upstream, f"{tmp}/b")):
            base = f"http://127.0.0.1:{port}"
            async with aiohttp.ClientSession() as s:
                await wait_health(s, base)
            results["ttft_instant"] = [await ttft_scenario(base, upstream, 1, 2.0 if quick else 5.0)]
            results["create_and_poll"] = await poll_scenario(base, 32, 5 if quick else 15)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(run_all(args.quick))
    print(json.dumps(results, indent=2))
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    (out / f"runs-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
