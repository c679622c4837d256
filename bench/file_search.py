"""Benchmark file_search: ingestion throughput, responsiveness during ingestion, search latency, quality.

    .venv/bin/python bench/file_search.py               # everything (about 12 minutes on 2 busy cores)
    .venv/bin/python bench/file_search.py --quick       # smaller corpora, fewer requests (about 3 minutes)
    .venv/bin/python bench/file_search.py --only ingestion,responsiveness

Every figure is measured against real ``assistantd serve`` subprocesses on free loopback ports (stopped by
PID), side by side in one run:

* **ingestion**: chunks/s and MB/s from the first upload (``POST /v1/files``, 8 at a time) to searchable
  (every file of the store ``completed``; attached in batches of 100), and the server's peak RSS (``VmHWM``)
  after it: with the local embedder (``ASSISTANTD_EMBEDDINGS=local``, the default) on ~10,000 chunks of
  prose, with an instant upstream embedder (``fake_embeddings.py``, hashed vectors on loopback) on the same
  files, and with the instant embedder on 10,000 and then 100,000 chunks of CPython standard-library source.
  The API does not report chunk counts: the benchmark counts them itself on the bytes it uploads, the way
  the server does (``extract_text``, then ``chunk_text``: cl100k tokens, 800/400).
  The prose is the evaluation sets' documents (``data/eval-*/docs``) and ``data/python-reference.txt``,
  repeated; the server caches embeddings by content hash, so every copy is made different (each paragraph,
  and every ~150 characters inside one, carries its copy number) and the share of distinct embedding
  windows (the local embedder's ``window_tokens`` on the ingestion grid) is reported (1.0: nothing is
  served from the cache).
* **responsiveness**: p50/p99 of ``GET /v1/threads/{id}/messages`` (a thread of 20 messages) from one
  closed-loop client on an idle local-embedder server, then on the same server while it ingests a large
  batch of prose (from the attach until the last file completes), then idle again; the p99 ratio to the
  two idle phases pooled (target: within 2x of idle).
* **search**: ``vector_stores.search`` p50/p99, requests/s and server CPU per request with 1 and 16 clients
  in closed loops (the SDK's request, ``max_num_results`` 10, the 62 questions of
  ``python-reference-questions.jsonl`` in turn) on the 100,000-chunk code store of the ingestion part, with
  ``ranking_options: {"ranker": "none"}`` and with the default (no ``ranking_options``: ``auto``, the
  reranker), in alternating rounds; the reranker's added p50 with one client (target: at most 30 ms).
  An upstream embedder embeds each chunk whole, so there the reranker reads one window per chunk; with
  ``ingestion`` also chosen, the same runs (half the requests) follow on the local-embedder prose store,
  whose chunks have 100-token windows (the reranker's real work).
* **quality**: recall@5/10, nDCG@10 and MRR@10 per search mode, from ``retrieval_quality.py`` (in-process,
  local embedder): the ``python-reference`` set with ``--quick``, every set otherwise.

Results go to stdout (tables at the end) and ``bench/results/file_search-<UTC timestamp>.json`` (rewritten
after each part).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import retrieval_quality

from runs import HEADERS, cpu_seconds, free_port, pct, process, wait_health

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data"
DOC = DATA / "python-reference.txt"
QUESTIONS = DATA / "python-reference-questions.jsonl"
PARTS = ("ingestion", "responsiveness", "search", "quality")


def questions() -> list[dict[str, str]]:
    return [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


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


async def upload_all(session: aiohttp.ClientSession, base: str, files: list[tuple[str, bytes]]) -> list[str]:
    sem = asyncio.Semaphore(8)

    async def one(name: str, content: bytes) -> str:
        async with sem:
            return await upload(session, base, name, content)

    return list(await asyncio.gather(*(one(n, c) for n, c in files)))


async def attach(session: aiohttp.ClientSession, base: str, store: str, ids: list[str]) -> None:
    for i in range(0, len(ids), 100):
        await call(session, "POST", f"{base}/v1/vector_stores/{store}/file_batches", {"file_ids": ids[i : i + 100]})


async def settled(session: aiohttp.ClientSession, base: str, store: str, interval: float = 0.2) -> dict[str, int]:
    """Polls the store until none of its files is in progress; returns its ``file_counts``."""
    while True:
        counts: dict[str, int] = (await call(session, "GET", f"{base}/v1/vector_stores/{store}"))["file_counts"]
        if counts["in_progress"] == 0:
            if counts["failed"]:
                print(f"  ({counts['failed']} files failed)", file=sys.stderr)
            return counts
        await asyncio.sleep(interval)


async def ingest_files(session: aiohttp.ClientSession, base: str, store: str, files: list[tuple[str, bytes]]) -> float:
    """Upload, attach as batches of 100, wait until nothing is in progress; returns the seconds taken."""
    started = time.perf_counter()
    ids = await upload_all(session, base, files)
    await attach(session, base, store, ids)
    await settled(session, base, store)
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

    async def store(self, name: str) -> str:
        return str((await call(self.session, "POST", f"{self.base}/v1/vector_stores", {"name": name}))["id"])


def start_embedder() -> contextlib.AbstractContextManager[subprocess.Popen[str]]:
    return process([sys.executable, str(ROOT / "fake_embeddings.py")])


def embedder_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    port = int(proc.stdout.readline().split()[1])
    return f"http://127.0.0.1:{port}/v1"


def index_chunks(server: Server) -> int | None:
    """Chunks in the server's index (every store): a cross-check of the benchmark's own count."""
    try:
        with contextlib.closing(sqlite3.connect(Path(server.tmp.name) / "index.db")) as db:
            return int(db.execute("SELECT count(*) FROM chunks").fetchone()[0])
    except sqlite3.Error:
        return None


# --- corpora ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Doc:
    name: str
    data: bytes
    chunks: int
    """Chunks of the file as the server cuts them (extract_text, then chunk_text at 800/400)."""
    windows: frozenset[bytes] = frozenset()
    """Hashes of its embedding windows (prose only: the local embedder's cache keys)."""


def count(name: str, data: bytes, *, windows: bool = False) -> Doc | None:
    """The file's chunks; None when the server would reject it (no text, unreadable)."""
    from assistantd.retrieval.chunking import ChunkingSpec, chunk_text, decode
    from assistantd.retrieval.embedders import LocalEmbedder
    from assistantd.retrieval.extract import extract_text
    from assistantd.retrieval.ingest import window_size

    try:
        text = extract_text(data, name)
    except Exception:
        return None
    spec = ChunkingSpec()
    tokens, chunks = chunk_text(text, spec)
    if not chunks:
        return None
    keys: frozenset[bytes] = frozenset()
    if windows:
        size = window_size(spec, LocalEmbedder.window_tokens) or LocalEmbedder.window_tokens
        keys = frozenset(
            hashlib.blake2b(decode(tokens[i : i + size]).encode(), digest_size=12).digest()
            for i in range(0, len(tokens), size)
        )
    return Doc(name, data, len(chunks), keys)


@functools.cache
def prose_sources() -> list[tuple[str, str]]:
    """(stem, extracted text) of every evaluation document and the Python reference."""
    from assistantd.retrieval.extract import extract_text

    paths = sorted(p for folder in sorted(DATA.glob("*/docs")) for p in folder.iterdir() if p.is_file())
    return [(p.stem, extract_text(p.read_bytes(), p.name)) for p in [*paths, DOC]]


def marked(paragraph: str, tag: str, inner: str, every: int = 150) -> str:
    """``tag`` before the paragraph, ``inner`` at the next space after each ``every`` characters of it (an
    embedding window of 100 tokens is about 400 characters: each holds a few)."""
    parts, start = [], 0
    while len(paragraph) - start > every:
        cut = paragraph.find(" ", start + every)
        if cut < 0:
            break
        parts.append(paragraph[start:cut])
        start = cut
    parts.append(paragraph[start:])
    return f"{tag} " + f" {inner}".join(parts)


def variant(text: str, copy: int) -> str:
    return "\n\n".join(marked(p, f"[{copy}.{k}]", f"[{copy}]") for k, p in enumerate(text.split("\n\n")))


def prose(chunks: int, first_copy: int) -> list[Doc]:
    """Copies of the prose sources, each different, until they hold ``chunks`` chunks."""
    out: list[Doc] = []
    total, copy = 0, first_copy
    while total < chunks:
        for stem, text in prose_sources():
            name = f"{stem}-copy{copy}.txt"
            doc = count(name, variant(text, copy).encode(), windows=True)
            if doc is None:
                continue
            out.append(doc)
            total += doc.chunks
            if total >= chunks:
                break
        copy += 1
    return out


def stdlib_files() -> list[Path]:
    roots = sorted(Path.home().glob(".pyenv/versions/*/lib/python*")) or [Path(os.__file__).parent]
    files: list[Path] = []
    for root in roots:
        files.extend(p for p in root.rglob("*.py") if "site-packages" not in p.parts and p.stat().st_size > 2000)
    return files


def code(steps: list[int]) -> Iterator[list[Doc]]:
    """Standard-library source files, in steps that bring the total to each of ``steps`` chunks."""
    pool = iter(stdlib_files())
    total = 0
    for target in steps:
        batch: list[Doc] = []
        while total < target:
            path = next(pool, None)
            if path is None:
                raise RuntimeError(f"not enough source files on this machine for {target} chunks")
            doc = count(f"{len(batch)}-{total}-{path.name}", path.read_bytes())
            if doc is not None:
                batch.append(doc)
                total += doc.chunks
        yield batch


def corpus_figures(docs: list[Doc]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "files": len(docs),
        "mb": round(sum(len(d.data) for d in docs) / 1e6, 2),
        "chunks": sum(d.chunks for d in docs),
    }
    if any(d.windows for d in docs):
        all_windows = sum(len(d.windows) for d in docs)
        from assistantd.retrieval.embedders import LocalEmbedder

        out["window_tokens"] = LocalEmbedder.window_tokens
        out["distinct_window_share"] = round(len(frozenset().union(*(d.windows for d in docs))) / all_windows, 4)
    return out


# --- ingestion -------------------------------------------------------------------------------------------


async def ingest_row(server: Server, store: str, docs: list[Doc], label: str) -> dict[str, Any]:
    log(f"ingesting {label}: {len(docs)} files, {sum(d.chunks for d in docs)} chunks")
    started = time.perf_counter()
    ids = await upload_all(server.session, server.base, [(d.name, d.data) for d in docs])
    await attach(server.session, server.base, store, ids)
    counts = await settled(server.session, server.base, store)
    seconds = time.perf_counter() - started
    row = corpus_figures(docs)
    if counts["failed"]:
        # this batch's failed files: their chunks are not counted (the rates are of what became searchable)
        failed = await failed_files(server, store)
        lost = [(d, failed[i]) for d, i in zip(docs, ids, strict=True) if i in failed]
        row["chunks"] -= sum(d.chunks for d, _ in lost)
        row["failed_files"] = {d.name: error for d, error in lost}
    row.update(
        seconds=round(seconds, 2),
        chunks_per_s=round(row["chunks"] / seconds, 1),
        mb_per_s=round(row["mb"] / seconds, 3),
        completed=counts["completed"],
        failed=counts["failed"],
        chunks_in_index=index_chunks(server),
        memory_mb=memory_mb(server.proc.pid),
    )
    log(f"  {json.dumps(row)}")
    return row


async def failed_files(server: Server, store: str) -> dict[str, str]:
    """The store's failed files: id → ``last_error`` (``vector_stores.files.list(filter="failed")``)."""
    out: dict[str, str] = {}
    after = ""
    while True:
        url = f"{server.base}/v1/vector_stores/{store}/files?filter=failed&limit=100" + (
            f"&after={after}" if after else ""
        )
        page = await call(server.session, "GET", url)
        for f in page["data"]:
            error = f.get("last_error") or {}
            out[f["id"]] = f"{error.get('code')}: {error.get('message')}"
        if not page.get("has_more") or not page["data"]:
            return out
        after = page["data"][-1]["id"]


async def ingestion_local(docs: list[Doc], search_requests: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The prose through a local-embedder server; then, if ``search_requests``, searches of that store
    (its chunks have 100-token windows: the reranker's real work, which an instant-embedder store, one
    window per chunk, does not show)."""
    async with Server("local") as server:
        store = await server.store("local")
        row = await ingest_row(server, store, docs, "prose, local embedder")
        searched: dict[str, Any] = {}
        if search_requests:
            log(f"search at {row['chunks']} chunks, local embedder")
            searched = {"chunks": row["chunks"], **await search_runs(server, store, search_requests)}
            searched["memory_mb"] = memory_mb(server.proc.pid)
        return row, searched


async def ingestion_instant_prose(docs: list[Doc], upstream: str) -> dict[str, Any]:
    async with Server("upstream", upstream) as server:
        return await ingest_row(server, await server.store("instant"), docs, "prose, instant embedder")


# --- responsiveness --------------------------------------------------------------------------------------


async def seeded_thread(server: Server, messages: int = 20) -> str:
    thread = (await call(server.session, "POST", f"{server.base}/v1/threads", {}))["id"]
    for i in range(messages):
        body = {"role": "user" if i % 2 == 0 else "assistant", "content": f"Message {i}: " + "lorem ipsum " * 20}
        await call(server.session, "POST", f"{server.base}/v1/threads/{thread}/messages", body)
    listed = await call(server.session, "GET", f"{server.base}/v1/threads/{thread}/messages")
    assert len(listed["data"]) == messages, listed
    return str(thread)


async def list_loop(
    server: Server, thread: str, *, requests: int = 0, until: asyncio.Event | None = None
) -> list[float]:
    """One closed-loop client listing the thread's messages: ``requests`` times, or until ``until`` is set."""
    url = f"{server.base}/v1/threads/{thread}/messages"
    latencies: list[float] = []
    while (until is not None and not until.is_set()) or len(latencies) < requests:
        started = time.perf_counter()
        async with server.session.get(url, headers=HEADERS) as r:
            await r.read()
            assert r.status == 200, r.status
        latencies.append(time.perf_counter() - started)
    return latencies


def latency_figures(latencies: list[float], seconds: float, cpu: float) -> dict[str, Any]:
    return {
        "requests": len(latencies),
        "p50_ms": round(pct(latencies, 50) * 1000, 2),
        "p99_ms": round(pct(latencies, 99) * 1000, 2),
        "rps": round(len(latencies) / seconds, 1),
        "server_cpu_cores": round(cpu / seconds, 2),
    }


async def timed_loop(server: Server, thread: str, requests: int) -> tuple[dict[str, Any], list[float]]:
    cpu0, started = cpu_seconds(server.proc.pid), time.perf_counter()
    latencies = await list_loop(server, thread, requests=requests)
    figures = latency_figures(latencies, time.perf_counter() - started, cpu_seconds(server.proc.pid) - cpu0)
    return figures, latencies


async def responsiveness(docs: list[Doc], requests: int) -> dict[str, Any]:
    async with Server("local") as server:
        thread = await seeded_thread(server)
        # warm-up: the local model loads on the first document; the client's connection opens
        warm = await server.store("warm-up")
        await ingest_files(
            server.session, server.base, warm, [("warm-up.txt", variant(DOC.read_text()[:4000], 0).encode())]
        )
        await list_loop(server, thread, requests=50)
        log("responsiveness: idle")
        idle, idle_latencies = await timed_loop(server, thread, requests)
        log(f"  {json.dumps(idle)}")
        store = await server.store("ingesting")
        ids = await upload_all(server.session, server.base, [(d.name, d.data) for d in docs])
        log(f"responsiveness: during ingestion of {len(docs)} files, {sum(d.chunks for d in docs)} chunks")
        done = asyncio.Event()

        async def watch() -> dict[str, int]:
            try:
                return await settled(server.session, server.base, store, interval=0.5)
            finally:
                done.set()

        cpu0, started = cpu_seconds(server.proc.pid), time.perf_counter()
        await attach(server.session, server.base, store, ids)
        latencies, counts = await asyncio.gather(list_loop(server, thread, until=done), watch())
        seconds = time.perf_counter() - started
        loaded = latency_figures(latencies, seconds, cpu_seconds(server.proc.pid) - cpu0)
        chunks = sum(d.chunks for d in docs)
        loaded["ingestion"] = {
            **corpus_figures(docs),
            "seconds": round(seconds, 2),
            "chunks_per_s": round(chunks / seconds, 1),
            "completed": counts["completed"],
            "failed": counts["failed"],
        }
        log(f"  {json.dumps(loaded)}")
        idle_after, after_latencies = await timed_loop(server, thread, requests)
        # the baseline: both idle phases together (a busy shared machine moves one phase's p99 alone)
        baseline = idle_latencies + after_latencies
        idle_p50, idle_p99 = pct(baseline, 50) * 1000, pct(baseline, 99) * 1000
        return {
            "thread_messages": 20,
            "idle": idle,
            "during_ingestion": loaded,
            "idle_after": idle_after,
            "idle_both": {"requests": len(baseline), "p50_ms": round(idle_p50, 2), "p99_ms": round(idle_p99, 2)},
            "p50_ratio": round(loaded["p50_ms"] / idle_p50, 2),
            "p99_ratio": round(loaded["p99_ms"] / idle_p99, 2),
            "memory_mb": memory_mb(server.proc.pid),
        }


# --- search ----------------------------------------------------------------------------------------------


RANKERS: dict[str, dict[str, Any]] = {"none": {"ranking_options": {"ranker": "none"}}, "auto (default)": {}}


async def load(server: Server, store: str, clients: int, requests: int, extra: dict[str, Any]) -> dict[str, Any]:
    qs = [q["question"] for q in questions()]
    url = f"{server.base}/v1/vector_stores/{store}/search"
    latencies: list[float] = []
    counter = iter(range(requests))
    cpu0 = cpu_seconds(server.proc.pid)

    async def client(k: int) -> None:
        for n in counter:
            body = {"query": qs[(n * 7 + k) % len(qs)], "max_num_results": 10, **extra}
            started = time.perf_counter()
            data = await call(server.session, "POST", url, body)
            latencies.append(time.perf_counter() - started)
            assert data["object"] == "vector_store.search_results.page"

    started = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    return {
        "latencies": latencies,
        "wall": time.perf_counter() - started,
        "cpu": cpu_seconds(server.proc.pid) - cpu0,
    }


async def search_runs(server: Server, store: str, requests: int, rounds: int = 4) -> dict[str, Any]:
    """Each ranker at 1 and 16 clients, in alternating rounds (none, auto, none, auto, ...)."""
    for extra in RANKERS.values():  # warm: loads the store's vectors, caches document frequencies
        await load(server, store, 1, 50, extra)
    out: dict[str, Any] = {}
    for clients, total in ((1, requests // 2), (16, requests)):
        acc: dict[str, dict[str, Any]] = {r: {"latencies": [], "wall": 0.0, "cpu": 0.0} for r in RANKERS}
        for _ in range(rounds):
            for ranker, extra in RANKERS.items():
                part = await load(server, store, clients, max(1, total // rounds), extra)
                acc[ranker]["latencies"] += part["latencies"]
                acc[ranker]["wall"] += part["wall"]
                acc[ranker]["cpu"] += part["cpu"]
        for ranker, a in acc.items():
            n = len(a["latencies"])
            out[f"{ranker}, {clients} client{'s' if clients > 1 else ''}"] = {
                "ranker": ranker,
                "clients": clients,
                "requests": n,
                "p50_ms": round(pct(a["latencies"], 50) * 1000, 2),
                "p99_ms": round(pct(a["latencies"], 99) * 1000, 2),
                "rps": round(n / a["wall"], 1),
                "server_cpu_ms_per_request": round(a["cpu"] / n * 1000, 2),
            }
            log(f"  {json.dumps(out[f'{ranker}, {clients} client' + ('s' if clients > 1 else '')])}")
    one = [row for row in out.values() if row["clients"] == 1]
    out["reranker_added_p50_ms_1_client"] = round(one[1]["p50_ms"] - one[0]["p50_ms"], 2)
    out["reranker_added_p99_ms_1_client"] = round(one[1]["p99_ms"] - one[0]["p99_ms"], 2)
    return out


async def code_store(
    upstream: str, steps: list[int], ingest: bool, search: bool, requests: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The instant-embedder store of standard-library source, grown through ``steps``; searched at the last."""
    ingestion: dict[str, Any] = {}
    searched: dict[str, Any] = {}
    batches = list(code(steps))
    async with Server("upstream", upstream) as server:
        store = await server.store("code")
        rows = []
        for target, docs in zip(steps, batches, strict=True):
            rows.append(await ingest_row(server, store, docs, f"code, instant embedder, to {target} chunks"))
            # this store from empty to ``target``: every step so far (file counts are the store's)
            total: dict[str, Any] = {
                "files": sum(r["files"] for r in rows),
                "mb": round(sum(r["mb"] for r in rows), 2),
                "chunks": sum(r["chunks"] for r in rows),
                "seconds": round(sum(r["seconds"] for r in rows), 2),
            }
            errors = {k: v for r in rows for k, v in r.get("failed_files", {}).items()}
            if errors:
                total["failed_files"] = errors
            total.update(
                completed=rows[-1]["completed"],
                failed=rows[-1]["failed"],
                chunks_per_s=round(total["chunks"] / total["seconds"], 1),
                mb_per_s=round(total["mb"] / total["seconds"], 3),
                chunks_in_index=rows[-1]["chunks_in_index"],
                memory_mb=rows[-1]["memory_mb"],
                steps=len(rows),
            )
            ingestion[str(target)] = total
        if search:
            log(f"search at {steps[-1]} chunks")
            searched = {"chunks": ingestion[str(steps[-1])]["chunks"], **await search_runs(server, store, requests)}
            searched["memory_mb"] = memory_mb(server.proc.pid)
    return (ingestion if ingest else {}), searched


# --- report ----------------------------------------------------------------------------------------------


def tables(results: dict[str, Any]) -> str:
    lines: list[str] = []
    ing = results.get("ingestion")
    if ing:
        lines += [
            "Ingestion, upload to searchable (chunks counted by this benchmark on the uploaded bytes: extract_text +",
            "chunk_text, cl100k tokens, 800/400; the API does not report them). Peak RSS = server VmHWM after it.",
            "",
            "| embedder | corpus | files | MB | chunks | seconds | chunks/s | MB/s | peak RSS MB |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        rows = [("local", "prose", ing.get("local")), ("instant upstream", "same prose", ing.get("instant_prose"))]
        rows += [("instant upstream", "stdlib code", row) for row in ing.get("instant_code", {}).values()]
        for embedder, corpus, row in rows:
            if row:
                lines.append(
                    f"| {embedder} | {corpus} | {row['files']} | {row['mb']} | {row['chunks']} | {row['seconds']} | "
                    f"{row['chunks_per_s']} | {row['mb_per_s']} | {row['memory_mb']['VmHWM']} |"
                )
        failed = [f"{corpus} {row['chunks']}: {row['failed']}" for _, corpus, row in rows if row and row["failed"]]
        if failed:
            lines.append(f"\nFiles that failed (their chunks not counted; last_error in the JSON): {'; '.join(failed)}")
        if "local" in ing:
            lines.append(
                f"\nDistinct {ing['local'].get('window_tokens')}-token embedding windows in the local corpus: "
                f"{ing['local'].get('distinct_window_share')} "
                f"(1.0: no embedding served from the cache)."
            )
        if "share_outside_embedder" in ing:
            lines.append(
                f"Same prose, instant ÷ local time (share outside the embedder): {ing['share_outside_embedder']}"
            )
        lines.append("")
    resp = results.get("responsiveness")
    if resp:
        lines += [
            "GET /v1/threads/{id}/messages (20 messages), one closed-loop client, local-embedder server:",
            "",
            "| phase | requests | p50 ms | p99 ms | req/s | server CPU cores |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for label, key in (("idle", "idle"), ("during ingestion", "during_ingestion"), ("idle after", "idle_after")):
            r = resp[key]
            lines.append(
                f"| {label} | {r['requests']} | {r['p50_ms']} | {r['p99_ms']} | {r['rps']} | {r['server_cpu_cores']} |"
            )
        ing_r = resp["during_ingestion"]["ingestion"]
        lines += [
            "",
            f"Ingestion meanwhile: {ing_r['chunks']} chunks in {ing_r['seconds']} s "
            f"({ing_r['chunks_per_s']} chunks/s).",
            f"p99 during ingestion ÷ idle (both idle phases pooled: p99 {resp['idle_both']['p99_ms']} ms): "
            f"{resp['p99_ratio']} (target ≤ 2); p50: {resp['p50_ratio']}",
            "",
        ]
    for key, embedder in (
        ("search", "instant upstream embedder, stdlib code"),
        ("search_local", "local embedder, prose"),
    ):
        lines += search_table(results.get(key), embedder)
    if results.get("quality"):
        lines += ["Retrieval quality (retrieval_quality.py, in-process, local embedder):", ""]
        lines += [retrieval_quality.table({"in_process": results["quality"]}), ""]
    return "\n".join(lines)


def search_table(search: dict[str, Any] | None, embedder: str) -> list[str]:
    lines: list[str] = []
    if search:
        lines += [
            f"vector_stores.search, {search['chunks']} chunks ({embedder}), max_num_results 10:",
            "",
            "| ranker | clients | requests | p50 ms | p99 ms | req/s | server CPU ms/request |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for row in search.values():
            if isinstance(row, dict) and "ranker" in row:
                lines.append(
                    f"| {row['ranker']} | {row['clients']} | {row['requests']} | {row['p50_ms']} | {row['p99_ms']} | "
                    f"{row['rps']} | {row['server_cpu_ms_per_request']} |"
                )
        lines += [
            "",
            f"Reranker's added p50 at 1 client: {search['reranker_added_p50_ms_1_client']} ms (target ≤ 30); "
            f"p99: {search['reranker_added_p99_ms_1_client']} ms. "
            f"Server memory: {search['memory_mb']['VmRSS']} MB resident, {search['memory_mb']['VmHWM']} MB peak.",
            "",
        ]
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller corpora, fewer requests")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts: {', '.join(PARTS)}")
    args = parser.parse_args()
    parts = {p for p in args.only.split(",") if p}
    if parts - set(PARTS):
        parser.error(f"unknown part(s): {', '.join(sorted(parts - set(PARTS)))}")
    quick = bool(args.quick)
    local_chunks = 2_000 if quick else 10_000
    busy_chunks = 800 if quick else 3_000
    code_steps = [2_000, 10_000] if quick else [10_000, 100_000]
    idle_requests = 2_000 if quick else 5_000
    search_requests = 400 if quick else 2_000

    results: dict[str, Any] = {"quick": quick, "parts": sorted(parts)}
    out = ROOT / "results" / f"file_search-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.parent.mkdir(exist_ok=True)

    def save() -> None:
        out.write_text(json.dumps(results, indent=1))

    started = time.perf_counter()
    if "ingestion" in parts:
        log("building the prose corpus")
        docs = prose(local_chunks, first_copy=1)
        ing: dict[str, Any] = {}
        results["ingestion"] = ing
        ing["local"], searched_local = await ingestion_local(docs, search_requests // 2 if "search" in parts else 0)
        if searched_local:
            results["search_local"] = searched_local
        save()
        with start_embedder() as fake:
            ing["instant_prose"] = await ingestion_instant_prose(docs, embedder_url(fake))
        ing["share_outside_embedder"] = round(ing["instant_prose"]["seconds"] / ing["local"]["seconds"], 3)
        save()
    if "responsiveness" in parts:
        docs = prose(busy_chunks, first_copy=1_001)
        results["responsiveness"] = await responsiveness(docs, idle_requests)
        save()
    if parts & {"ingestion", "search"}:
        with start_embedder() as fake:
            code_ingestion, searched = await code_store(
                embedder_url(fake), code_steps, "ingestion" in parts, "search" in parts, search_requests
            )
        if code_ingestion:
            results["ingestion"]["instant_code"] = code_ingestion
        if searched:
            results["search"] = searched
        save()
    if "quality" in parts:
        names = ["python-reference"] if quick else retrieval_quality.available_sets()
        results["quality"] = await retrieval_quality.in_process(names, None)
    results["seconds"] = round(time.perf_counter() - started, 1)
    save()
    print(tables(results))
    print(f"written to {out}")


if __name__ == "__main__":
    asyncio.run(main())
