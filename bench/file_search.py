"""Benchmark file_search: retrieval quality, ingestion throughput, search latency at 10k and 100k chunks.

    .venv/bin/python bench/file_search.py               # everything (about 15 minutes on 2 busy cores)
    .venv/bin/python bench/file_search.py --quick       # smaller corpora, fewer requests
    .venv/bin/python bench/file_search.py --only quality,search

* **quality**: recall@10 and nDCG@10 of keyword-only, vector-only and hybrid search over
  ``bench/data/python-reference.txt`` (the Python language reference, from CPython's ``pydoc_data``,
  duplicate paragraphs removed) with the 62 labelled questions of ``python-reference-questions.jsonl``:
  each names one exact passage (its answer location); a result is relevant when it contains that
  passage. Default chunking (800/400) and the local embedder, in-process.
* **ingestion**: MB/s of text from upload to searchable through a real ``assistantd serve``: with the
  local embedder, and with an instant upstream embedder (a loopback server returning hashed vectors), and
  the share of the local run's time spent outside the embedder (instant time ÷ local time).
* **search**: ``vector_stores.search`` p50/p99 and requests/s with 1 and 16 concurrent clients (closed
  loops, the SDK's request shape) at 10,000 and 100,000 chunks in one store, and the server's memory.
  The corpus is CPython's standard library source (``.py`` files of the pyenv interpreters found on the
  machine), 800/400 chunking, instant upstream embedder (384 dimensions).

Servers run as subprocesses on free loopback ports and are stopped by PID. Results go to stdout and
``bench/results/file_search-<UTC timestamp>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from runs import HEADERS, cpu_seconds, free_port, pct, process, wait_health

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data"
DOC = DATA / "python-reference.txt"
QUESTIONS = DATA / "python-reference-questions.jsonl"


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def questions() -> list[dict[str, str]]:
    return [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]


# --- quality ---------------------------------------------------------------------------------------------


async def quality() -> dict[str, Any]:
    from assistantd.retrieval.chunking import ChunkingSpec
    from assistantd.retrieval.embedders import CachedEmbedder, LocalEmbedder
    from assistantd.retrieval.index import SearchQuery
    from assistantd.retrieval.ingest import ingest
    from assistantd.retrieval.sqlite_index import SqliteIndex

    with tempfile.TemporaryDirectory() as tmp:
        index = SqliteIndex(Path(tmp) / "index.db")
        raw = LocalEmbedder()
        started = time.perf_counter()
        result = await ingest(
            DOC.read_bytes(),
            filename=DOC.name,
            store_id="vs_eval",
            file_id="file-eval",
            attributes={},
            spec=ChunkingSpec(),
            index=index,
            embedder=CachedEmbedder(raw, index),
        )
        ingest_seconds = time.perf_counter() - started
        qs = questions()
        vectors = await raw.embed([q["question"] for q in qs])
        out: dict[str, Any] = {
            "chunks": result.chunks,
            "questions": len(qs),
            "ingest_seconds": round(ingest_seconds, 1),
        }
        for mode in ("keyword", "vector", "hybrid"):
            recall, ndcg = [], []
            for q, vector in zip(qs, vectors, strict=True):
                hits = await index.search("vs_eval", SearchQuery(q["question"], vector, 10, mode=mode))  # type: ignore[arg-type]
                answer = norm(q["answer"])
                rank = next((i for i, h in enumerate(hits) if answer in norm(h.text)), None)
                recall.append(rank is not None)
                ndcg.append(0.0 if rank is None else 1 / math.log2(rank + 2))
            out[mode] = {"recall@10": round(statistics.mean(recall), 3), "ndcg@10": round(statistics.mean(ndcg), 3)}
        index.close()
    return out


# --- servers ---------------------------------------------------------------------------------------------


def serve_env(data_dir: str, embeddings: str, upstream: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANTD_")}
    env.update(
        ASSISTANTD_DATA_DIR=data_dir,
        ASSISTANTD_API_KEYS="bench",
        ASSISTANTD_EMBEDDINGS=embeddings,
        ASSISTANTD_LOG_LEVEL="warning",
        ASSISTANTD_INGEST_WORKERS="2",
    )
    if upstream:
        env["ASSISTANTD_EMBEDDING_BASE_URL"] = upstream
        env["ASSISTANTD_EMBEDDING_BATCH_SIZE"] = "256"
    return env


def serve_cmd(port: int) -> list[str]:
    return [sys.executable, "-m", "assistantd", "serve", "--host", "127.0.0.1", "--port", str(port)]


def memory_mb(pid: int) -> dict[str, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {k: round(int(fields[k].split()[0]) / 1024, 1) for k in ("VmRSS", "VmHWM")}


async def upload(session: aiohttp.ClientSession, base: str, name: str, content: bytes) -> str:
    form = aiohttp.FormData()
    form.add_field("purpose", "assistants")
    form.add_field("file", content, filename=name)
    headers = {"Authorization": HEADERS["Authorization"]}
    async with session.post(f"{base}/v1/files", data=form, headers=headers) as r:
        body = await r.json()
        assert r.status == 200, body
        return str(body["id"])


async def call(session: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> dict[str, Any]:
    async with session.request(method, url, json=body, headers=HEADERS) as r:
        data: dict[str, Any] = await r.json()
        if r.status != 200:
            raise RuntimeError(f"{method} {url} -> {r.status} {data}")
        return data


async def ingest_files(session: aiohttp.ClientSession, base: str, store: str, files: list[tuple[str, bytes]]) -> float:
    """Upload, attach as batches of 100, wait until nothing is in progress; returns the seconds taken."""
    started = time.perf_counter()
    sem = asyncio.Semaphore(8)

    async def one(name: str, content: bytes) -> str:
        async with sem:
            return await upload(session, base, name, content)

    ids = await asyncio.gather(*(one(n, c) for n, c in files))
    for i in range(0, len(ids), 100):
        await call(session, "POST", f"{base}/v1/vector_stores/{store}/file_batches", {"file_ids": ids[i : i + 100]})
    while True:
        counts = (await call(session, "GET", f"{base}/v1/vector_stores/{store}"))["file_counts"]
        if counts["in_progress"] == 0:
            break
        await asyncio.sleep(0.2)
    if counts["failed"]:
        print(f"  ({counts['failed']} files failed)", file=sys.stderr)
    return time.perf_counter() - started


class Server:
    def __init__(self, embeddings: str, upstream: str = "") -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.cm = process(serve_cmd(self.port), serve_env(self.tmp.name, embeddings, upstream))

    async def __aenter__(self) -> Server:
        self.proc = self.cm.__enter__()
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))
        await wait_health(self.session, self.base)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()
        self.cm.__exit__(None, None, None)
        self.tmp.cleanup()


def start_embedder() -> Any:
    return process([sys.executable, str(ROOT / "fake_embeddings.py")])


def embedder_url(proc: Any) -> str:
    port = int(proc.stdout.readline().split()[1])
    return f"http://127.0.0.1:{port}/v1"


# --- ingestion -------------------------------------------------------------------------------------------


def reference_files(total_bytes: int) -> list[tuple[str, bytes]]:
    text = DOC.read_text()
    sections = [s for s in re.split(r"\n(?==== )", text) if s.strip()]
    out, size = [], 0
    while size < total_bytes:
        for i, section in enumerate(sections):
            body = section.encode()
            out.append((f"ref-{len(out)}-{i}.txt", body + f"\n(copy {len(out)})".encode()))
            size += len(body)
            if size >= total_bytes:
                break
    return out


async def ingestion(quick: bool) -> dict[str, Any]:
    results: dict[str, Any] = {}
    local = reference_files(60_000 if quick else 250_000)
    instant = reference_files(2_000_000 if quick else 20_000_000)
    with start_embedder() as fake:
        upstream = embedder_url(fake)
        for label, files, embeddings, url in (
            ("local", local, "local", ""),
            ("instant_upstream", instant, "upstream", upstream),
            ("instant_upstream_same_as_local", local, "upstream", upstream),
        ):
            async with Server(embeddings, url) as server:
                store = (await call(server.session, "POST", f"{server.base}/v1/vector_stores", {"name": label}))["id"]
                seconds = await ingest_files(server.session, server.base, store, files)
                mb = sum(len(c) for _, c in files) / 1e6
                results[label] = {
                    "mb": round(mb, 2),
                    "files": len(files),
                    "seconds": round(seconds, 2),
                    "mb_per_s": round(mb / seconds, 3),
                }
    same = results["instant_upstream_same_as_local"]["seconds"]
    results["share_outside_embedder"] = round(same / results["local"]["seconds"], 3)
    return results


# --- search ----------------------------------------------------------------------------------------------


def stdlib_files() -> list[Path]:
    roots = sorted(Path.home().glob(".pyenv/versions/*/lib/python*")) or [Path(os.__file__).parent]
    files = []
    for root in roots:
        files.extend(p for p in root.rglob("*.py") if "site-packages" not in p.parts and p.stat().st_size > 2000)
    return files


async def grow_to(server: Server, store: str, chunks: int, pool: list[Path], used: int) -> int:
    """Add stdlib files until the store holds at least ``chunks`` chunks; returns how many files are used."""
    while True:
        current = await store_chunks(server)
        if current >= chunks:
            return used
        # ~1 chunk per 1.6 KB of source at 800/400 (400 new tokens per chunk, ~4 bytes a token)
        need = max(10, int((chunks - current) * 1600 / 30_000))
        batch = pool[used : used + need]
        if not batch:
            raise RuntimeError("not enough source files on this machine for the corpus")
        await ingest_files(
            server.session,
            server.base,
            store,
            [(f"{i}-{p.name}", p.read_bytes()) for i, p in enumerate(batch, start=used)],
        )
        used += len(batch)


async def store_chunks(server: Server) -> int:
    import sqlite3

    with sqlite3.connect(Path(server.tmp.name) / "index.db") as db:
        return int(db.execute("SELECT count(*) FROM chunks").fetchone()[0])


async def load(server: Server, store: str, clients: int, requests: int) -> dict[str, Any]:
    qs = [q["question"] for q in questions()]
    url = f"{server.base}/v1/vector_stores/{store}/search"
    latencies: list[float] = []
    counter = iter(range(requests))
    cpu0 = cpu_seconds(server.proc.pid)

    async def client(k: int) -> None:
        for n in counter:
            body = {"query": qs[(n * 7 + k) % len(qs)], "max_num_results": 10}
            started = time.perf_counter()
            data = await call(server.session, "POST", url, body)
            latencies.append(time.perf_counter() - started)
            assert data["object"] == "vector_store.search_results.page"

    started = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    wall = time.perf_counter() - started
    return {
        "clients": clients,
        "requests": len(latencies),
        "p50_ms": round(pct(latencies, 50) * 1000, 2),
        "p99_ms": round(pct(latencies, 99) * 1000, 2),
        "rps": round(len(latencies) / wall, 1),
        "server_cpu_ms_per_request": round((cpu_seconds(server.proc.pid) - cpu0) / len(latencies) * 1000, 2),
    }


async def search(quick: bool) -> dict[str, Any]:
    sizes = [2_000, 10_000] if quick else [10_000, 100_000]
    requests = 300 if quick else 2_000
    pool = stdlib_files()
    out: dict[str, Any] = {"corpus_files_available": len(pool)}
    with start_embedder() as fake:
        async with Server("upstream", embedder_url(fake)) as server:
            store = (await call(server.session, "POST", f"{server.base}/v1/vector_stores", {"name": "corpus"}))["id"]
            used = 0
            for size in sizes:
                started = time.perf_counter()
                used = await grow_to(server, store, size, pool, used)
                grown = time.perf_counter() - started
                await load(server, store, 1, 50)  # warm: loads the store's vectors, caches document frequencies
                row: dict[str, Any] = {
                    "chunks": await store_chunks(server),
                    "files": used,
                    "ingest_seconds": round(grown, 1),
                }
                row["one_client"] = await load(server, store, 1, requests // 2)
                row["sixteen_clients"] = await load(server, store, 16, requests)
                row["memory_mb"] = memory_mb(server.proc.pid)
                out[str(size)] = row
                print(json.dumps(row), file=sys.stderr)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="quality,ingestion,search")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    results: dict[str, Any] = {"quick": args.quick}
    if "quality" in parts:
        results["quality"] = await quality()
        print(json.dumps({"quality": results["quality"]}, indent=1))
    if "ingestion" in parts:
        results["ingestion"] = await ingestion(args.quick)
        print(json.dumps({"ingestion": results["ingestion"]}, indent=1))
    if "search" in parts:
        results["search"] = await search(args.quick)
        print(json.dumps({"search": results["search"]}, indent=1))
    out = ROOT / "results" / f"file_search-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(f"written to {out}")


if __name__ == "__main__":
    asyncio.run(main())
