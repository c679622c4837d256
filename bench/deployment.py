"""PostgreSQL with many processes against SQLite with one, side by side in one run, same fake upstream.

    .venv/bin/python bench/deployment.py            # about 10 minutes on 2 cores
    .venv/bin/python bench/deployment.py --quick    # shorter loops, a 20,000-chunk store

Two topologies, each started from scratch with real ``assistantd`` subprocesses on loopback:

* ``sqlite``: one ``assistantd serve`` (the embedded default);
* ``postgres``: ``assistantd serve --api-only --workers 2`` (two API processes on one port) and two
  ``assistantd worker`` processes, on the embedded PostgreSQL 18 + pgvector of the tests
  (``tests/_postgres.py``), as ``deploy/compose.yaml`` runs them.

Scenarios, each on both topologies in turn:

* completed runs/s, ``create_and_poll`` pattern, 32 clients, instant upstream (``bench/runs.py``);
* added time to first token of streamed runs (first ``thread.message.delta``) and of streamed responses
  (first ``response.output_text.delta``), over the same completion streamed straight from the fake, p50/p99
  at 1, 16 and 64 concurrent streams (closed loops; upstream: first token after 200 ms, then one per 20 ms);
* ingestion chunks/s of CPython standard-library source with an instant upstream embedder
  (``fake_embeddings.py``), to a store of 100,000 chunks (20,000 with ``--quick``);
* ``vector_stores.search`` p50/p99 on that store at 1 and 16 clients (``ranker: none``: the index's
  cost, not the reranker's, which is the same on both).

Server CPU per request is summed over every process of the topology. Results: stdout and
``bench/results/deployment-<UTC timestamp>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
import file_search  # noqa: E402

import runs  # noqa: E402

STREAMS = (1, 16, 64)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def env_for(data_dir: str, upstream: str, embedder: str, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANTD_", "OPENAI_"))}
    env.update(
        ASSISTANTD_DATA_DIR=data_dir,
        ASSISTANTD_API_KEYS="bench",
        ASSISTANTD_UPSTREAM_BASE_URL=upstream,
        ASSISTANTD_EMBEDDINGS="upstream",
        ASSISTANTD_EMBEDDING_BASE_URL=embedder,
        ASSISTANTD_EMBEDDING_BATCH_SIZE="256",
        ASSISTANTD_LOG_LEVEL="warning",
        ASSISTANTD_RUN_WORKERS="64",
        ASSISTANTD_INGEST_WORKERS="2",
        ASSISTANTD_CODE_INTERPRETER_SPARE_SESSIONS="0",
    )
    if database_url:
        env["ASSISTANTD_DATABASE_URL"] = database_url
    return env


@contextlib.contextmanager
def started(cmd: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def descendants(pid: int) -> list[int]:
    """``pid`` and its children (``serve --workers N`` forks them)."""
    out = [pid]
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        out += descendants(int(child))
    return out


class Topology:
    def __init__(self, name: str, base: str, pids: list[int]) -> None:
        self.name = name
        self.base = base
        self.roots = pids

    def cpu(self) -> float:
        total = 0.0
        for root in self.roots:
            for pid in descendants(root):
                with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                    total += runs.cpu_seconds(pid)
        return total


@contextlib.asynccontextmanager
async def topology(name: str, upstream: str, embedder: str, pg: Any) -> AsyncIterator[Topology]:
    assistantd = [sys.executable, "-m", "assistantd"]
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        port = runs.free_port()
        serve = [*assistantd, "serve", "--host", "127.0.0.1", "--port", str(port)]
        if name == "sqlite":
            env = env_for(f"{tmp}/data", upstream, embedder, None)
            procs = [stack.enter_context(started(serve, env))]
        else:
            env = env_for(f"{tmp}/data", upstream, embedder, pg.new_database())
            procs = [stack.enter_context(started([*serve, "--api-only", "--workers", "2"], env))]
            procs += [stack.enter_context(started([*assistantd, "worker"], env)) for _ in range(2)]
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as s:
            await runs.wait_health(s, base)
        if name != "sqlite":
            await asyncio.sleep(3)  # the workers are up (they log, but bench runs them quietly)
        yield Topology(name, base, [p.pid for p in procs])


async def ttft_response(session: aiohttp.ClientSession, base: str) -> float:
    t0 = time.perf_counter()
    first = None
    body = {"model": "fake-model", "input": "hi", "stream": True, "store": False}
    async with session.post(f"{base}/v1/responses", headers=runs.HEADERS, json=body) as r:
        async for line in r.content:
            if first is None and line.startswith(b"event: response.output_text.delta"):
                first = time.perf_counter() - t0
    assert first is not None, "no output_text delta"
    return first


async def ttft_responses(base: str, upstream: str, concurrency: int, seconds: float) -> dict[str, Any]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        direct: list[float] = []
        via: list[float] = []
        for _ in range(2):
            direct += await runs.closed_loop(concurrency, seconds, lambda i: runs.ttft_direct(session, upstream))
            via += await runs.closed_loop(concurrency, seconds, lambda i: ttft_response(session, base))
    return {
        "concurrency": concurrency,
        "samples": len(via),
        "added_p50_ms": round(1000 * (statistics.median(via) - statistics.median(direct)), 2),
        "added_p99_ms": round(1000 * (runs.pct(via, 99) - runs.pct(direct, 99)), 2),
    }


async def ingestion(t: Topology, chunks: int) -> tuple[str, dict[str, Any]]:
    docs = next(file_search.code([chunks]))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
        store = (await file_search.call(session, "POST", f"{t.base}/v1/vector_stores", {"name": "code"}))["id"]
        cpu0 = t.cpu()
        began = time.perf_counter()
        ids = await file_search.upload_all(session, t.base, [(d.name, d.data) for d in docs])
        await file_search.attach(session, t.base, store, ids)
        counts = await file_search.settled(session, t.base, store)
        seconds = time.perf_counter() - began
    total = sum(d.chunks for d in docs)
    return store, {
        "files": len(docs),
        "chunks": total,
        "completed": counts["completed"],
        "failed": counts["failed"],
        "seconds": round(seconds, 1),
        "chunks_per_s": round(total / seconds, 1),
        "server_cpu_s": round(t.cpu() - cpu0, 1),
    }


async def search(t: Topology, store: str, clients: int, requests: int) -> dict[str, Any]:
    qs = [q["question"] for q in file_search.questions()]
    url = f"{t.base}/v1/vector_stores/{store}/search"
    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
        for q in qs[:20]:  # warm
            await file_search.call(session, "POST", url, {"query": q, "ranking_options": {"ranker": "none"}})
        counter = iter(range(requests))
        cpu0 = t.cpu()

        async def client(k: int) -> None:
            for n in counter:
                body = {
                    "query": qs[(n * 7 + k) % len(qs)],
                    "max_num_results": 10,
                    "ranking_options": {"ranker": "none"},
                }
                began = time.perf_counter()
                await file_search.call(session, "POST", url, body)
                latencies.append(time.perf_counter() - began)

        began = time.perf_counter()
        await asyncio.gather(*(client(k) for k in range(clients)))
        wall = time.perf_counter() - began
    return {
        "clients": clients,
        "requests": len(latencies),
        "p50_ms": round(1000 * runs.pct(latencies, 50), 2),
        "p99_ms": round(1000 * runs.pct(latencies, 99), 2),
        "rps": round(len(latencies) / wall, 1),
        "server_cpu_ms_per_request": round(1000 * (t.cpu() - cpu0) / len(latencies), 2),
    }


async def measure(name: str, upstream: str, embedder: str, pg: Any, quick: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    seconds = 6.0 if quick else 12.0
    async with topology(name, upstream, embedder, pg) as t:
        log(f"{name}: create_and_poll, 32 clients, instant upstream")
        cpu0 = t.cpu()
        out["create_and_poll"] = await runs.poll_scenario(t.base, 32, seconds, model="fake-instant")
        done = out["create_and_poll"]["completed"]
        out["create_and_poll"]["server_cpu_ms_per_run"] = round(1000 * (t.cpu() - cpu0) / max(done, 1), 2)
        log(f"  {out['create_and_poll']}")
        out["ttft_runs"] = []
        out["ttft_responses"] = []
        for n in STREAMS:
            log(f"{name}: time to first token, {n} streams")
            out["ttft_runs"].append(await runs.ttft_scenario(t.base, upstream, n, seconds, rounds=1))
            out["ttft_responses"].append(await ttft_responses(t.base, upstream, n, seconds / 2))
            log(f"  runs {out['ttft_runs'][-1]} responses {out['ttft_responses'][-1]}")
        chunks = 20_000 if quick else 100_000
        log(f"{name}: ingestion to {chunks} chunks, instant embedder")
        store, out["ingestion"] = await ingestion(t, chunks)
        log(f"  {out['ingestion']}")
        out["search"] = []
        for clients in (1, 16):
            out["search"].append(await search(t, store, clients, 200 if quick else 600))
            log(f"  search {out['search'][-1]}")
    return out


async def measure_all(pg: Any, quick: bool) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with runs.start_fake("realistic") as fake, file_search.start_embedder() as emb:
        upstream = f"http://127.0.0.1:{runs.fake_port(fake)}/v1"
        embedder = file_search.embedder_url(emb)
        for name in ("sqlite", "postgres"):
            results[name] = await measure(name, upstream, embedder, pg, quick)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    from tests._postgres import EmbeddedPostgres

    pg = EmbeddedPostgres()  # before the event loop: it migrates its template with asyncio.run
    try:
        results = asyncio.run(measure_all(pg, args.quick))
    finally:
        pg.stop()
    print(json.dumps(results, indent=2))
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    path = out / f"deployment-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps(results, indent=2))
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
