"""``Retrieval``: the index, the embedder and the worker, as the vector-store API and the file_search tool
share them, and ``Searcher``, the one search routine both use (several queries, several stores, one ranked
list, reranked unless ``ranker`` is ``none``)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
import numpy as np
import numpy.typing as npt

from assistantd.retrieval.embedders import CachedEmbedder, Embedder, EmbeddingError, LocalEmbedder, make_embedder
from assistantd.retrieval.filters import Filter
from assistantd.retrieval.index import Hit, Mode, SearchIndex, SearchQuery
from assistantd.retrieval.pg_index import PostgresIndex
from assistantd.retrieval.rerank import Ranker, candidates, rerank
from assistantd.retrieval.sqlite_index import SqliteIndex
from assistantd.retrieval.worker import IngestWorker
from assistantd.settings import Settings
from assistantd.store import vector_stores
from assistantd.store.blobs import BlobStore
from assistantd.store.db import Database

QUERY_CACHE = 1024
log = logging.getLogger("assistantd.retrieval")


@dataclass
class Searcher:
    """The ranking half of retrieval, with no database: several queries over several stores, fused and
    reranked into one list. Process-local: the cache of query vectors."""

    index: SearchIndex
    embedder: Embedder | None
    """Embeds queries (not cached on disk: queries are many and small); None: keyword search only."""
    _queries: OrderedDict[str, npt.NDArray[np.float32]] = field(default_factory=OrderedDict)

    async def query_vectors(self, queries: Sequence[str]) -> list[npt.NDArray[np.float32]] | None:
        if self.embedder is None:
            return None
        missing = [q for q in dict.fromkeys(queries) if q not in self._queries]
        if missing:
            for query, vector in zip(missing, await self.embedder.embed(missing), strict=True):
                self._queries[query] = vector
                if len(self._queries) > QUERY_CACHE:
                    self._queries.popitem(last=False)
        return [self._queries[q] for q in queries]

    async def ranked(
        self,
        store_ids: Sequence[str],
        queries: Sequence[str],
        *,
        limit: int,
        filter: Filter | None = None,
        threshold: float = 0.0,
        mode: Mode = "hybrid",
        ranker: Ranker = Ranker.AUTO,
    ) -> list[Hit]:
        """The best chunks over every store and query, best first (a chunk found twice keeps its best
        score), at or above ``threshold``; more than ``limit`` may come back (callers cut after their own
        checks)."""
        vectors = None
        if mode != "keyword":
            try:
                vectors = await self.query_vectors(queries)
            except EmbeddingError as exc:  # the embeddings upstream is down: still answer, from keywords
                log.warning("query embedding failed, searching by keywords only: %s", exc)
        pool = candidates(limit, ranker)
        best: dict[tuple[str, str, int], Hit] = {}
        for store_id in store_ids:
            for i, text in enumerate(queries):
                vector = None if vectors is None else vectors[i]
                query = SearchQuery(text, vector, pool, filter, mode)
                hits = await self.index.search(store_id, query)
                if ranker is Ranker.AUTO:
                    hits = await rerank(self.index, store_id, query, hits)
                for hit in hits:
                    key = (store_id, hit.file_id, hit.chunk_index)
                    if key not in best or best[key].score < hit.score:
                        best[key] = dataclasses.replace(hit, store_id=store_id)
        return [h for h in sorted(best.values(), key=lambda h: -h.score) if h.score >= threshold]


@dataclass
class Retrieval:
    index: SearchIndex
    embedder: Embedder | None
    """Embeds documents (through the embedding cache); None: keyword search only."""
    worker: IngestWorker
    db: Database
    """The main database: a hit counts only while its file is attached and ``completed`` there."""
    searcher: Searcher

    async def start(self, *, ingest: bool = True) -> None:
        """Open the index and, with ``ingest``, start ingesting (an API process leaves that to workers)."""
        opening = getattr(self.index, "open", None)  # PostgreSQL: its schema, and a clear error without pgvector
        if opening is not None:
            await opening()
        if ingest:
            await self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()
        close = getattr(self.index, "close", None)
        if close is not None:
            await asyncio.to_thread(close)

    async def search(
        self,
        store_ids: Sequence[str],
        queries: Sequence[str],
        *,
        limit: int,
        filter: Filter | None = None,
        threshold: float = 0.0,
        mode: Mode = "hybrid",
        ranker: Ranker = Ranker.AUTO,
    ) -> list[Hit]:
        """``Searcher.ranked``, keeping only chunks of files attached and completed, cut to ``limit``."""
        ranked = await self.searcher.ranked(
            store_ids, queries, limit=limit, filter=filter, threshold=threshold, mode=mode, ranker=ranker
        )
        return (await self._attached(ranked))[:limit]

    async def _attached(self, hits: list[Hit]) -> list[Hit]:
        """Only chunks of files still attached and ``completed`` (the index may briefly hold chunks of a
        file detached or re-attached meanwhile); chunks of files no longer attached at all are dropped."""
        by_store: dict[str, set[str]] = {}
        for hit in hits:
            by_store.setdefault(hit.store_id, set()).add(hit.file_id)
        statuses: dict[str, dict[str, str]] = {}
        async with self.db.read() as conn:
            for store_id, file_ids in by_store.items():
                statuses[store_id] = await vector_stores.file_statuses(conn, store_id, sorted(file_ids))
        for store_id, file_ids in by_store.items():
            for gone in file_ids - statuses[store_id].keys():
                await self.index.delete(store_id, gone)
        return [h for h in hits if statuses[h.store_id].get(h.file_id) == "completed"]


def build_retrieval(settings: Settings, db: Database, blobs: BlobStore, http: httpx.AsyncClient) -> Retrieval:
    """The index beside the database (``SqliteIndex`` in ``<data_dir>/index.db`` for SQLite, ``PostgresIndex``
    in the database itself for PostgreSQL; each holds the embedding cache too) and the configured embedder."""
    index: SqliteIndex | PostgresIndex = (
        SqliteIndex(settings.data_dir / "index.db") if db.is_sqlite else PostgresIndex(db)
    )
    raw = make_embedder(settings, http)
    documents = LocalEmbedder(background=True) if isinstance(raw, LocalEmbedder) else raw
    embedder = None if documents is None else CachedEmbedder(documents, index)
    worker = IngestWorker(db, blobs, index, embedder, settings.ingest_workers, lease_seconds=settings.lease_seconds)
    return Retrieval(index=index, embedder=embedder, worker=worker, db=db, searcher=Searcher(index, raw))
