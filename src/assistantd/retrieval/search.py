"""``Retrieval``: the index, the embedder and the worker, as the vector-store API and the file_search tool
share them, and the one search routine both use (several queries, several stores, one ranked list)."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
import numpy as np
import numpy.typing as npt

from assistantd.retrieval.embedders import CachedEmbedder, Embedder, make_embedder
from assistantd.retrieval.filters import Filter
from assistantd.retrieval.index import Hit, Mode, SearchIndex, SearchQuery
from assistantd.retrieval.sqlite_index import SqliteIndex
from assistantd.retrieval.worker import IngestWorker
from assistantd.settings import Settings
from assistantd.store.blobs import BlobStore
from assistantd.store.db import Database

QUERY_CACHE = 1024


@dataclass
class Retrieval:
    index: SearchIndex
    embedder: Embedder | None
    """Embeds documents (through the embedding cache); None: keyword search only."""
    worker: IngestWorker
    query_embedder: Embedder | None = None
    """Embeds queries (not cached on disk: queries are many and small); defaults to ``embedder``."""
    _queries: OrderedDict[str, npt.NDArray[np.float32]] = field(default_factory=OrderedDict)

    async def start(self) -> None:
        await self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()
        close = getattr(self.index, "close", None)
        if close is not None:
            close()

    async def _query_vectors(self, queries: Sequence[str]) -> list[npt.NDArray[np.float32]] | None:
        embedder = self.query_embedder or self.embedder
        if embedder is None:
            return None
        missing = [q for q in dict.fromkeys(queries) if q not in self._queries]
        if missing:
            for query, vector in zip(missing, await embedder.embed(missing), strict=True):
                self._queries[query] = vector
                if len(self._queries) > QUERY_CACHE:
                    self._queries.popitem(last=False)
        return [self._queries[q] for q in queries]

    async def search(
        self,
        store_ids: Sequence[str],
        queries: Sequence[str],
        *,
        limit: int,
        filter: Filter | None = None,
        threshold: float = 0.0,
        mode: Mode = "hybrid",
    ) -> list[Hit]:
        """The best chunks over every store and query (a chunk found twice keeps its best score)."""
        vectors = await self._query_vectors(queries) if mode != "keyword" else None
        best: dict[tuple[str, str, int], Hit] = {}
        for store_id in store_ids:
            for i, text in enumerate(queries):
                query = SearchQuery(text, None if vectors is None else vectors[i], limit, filter, mode)
                for hit in await self.index.search(store_id, query):
                    key = (store_id, hit.file_id, hit.chunk_index)
                    if key not in best or best[key].score < hit.score:
                        best[key] = dataclasses.replace(hit, store_id=store_id)
        ranked = sorted(best.values(), key=lambda h: -h.score)
        return [h for h in ranked if h.score >= threshold][:limit]


def build_retrieval(settings: Settings, db: Database, blobs: BlobStore, http: httpx.AsyncClient) -> Retrieval:
    """The embedded setup: ``SqliteIndex`` in ``<data_dir>/index.db`` (with the embedding cache) and the
    configured embedder."""
    index = SqliteIndex(settings.data_dir / "index.db")
    raw = make_embedder(settings, http)
    embedder = None if raw is None else CachedEmbedder(raw, index)
    worker = IngestWorker(db, blobs, index, embedder, settings.ingest_workers)
    return Retrieval(index=index, embedder=embedder, worker=worker, query_embedder=raw)
