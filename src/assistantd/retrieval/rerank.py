"""Reranking: a second, finer look at the best candidates of the hybrid search (``ranking_options.ranker``).

The first stage scores a chunk by its whole-chunk vector (the mean of its windows) and BM25. An 800-token
chunk is many passages, and a question matches one of them: the mean dilutes it. The reranker reads the
window vectors of the top ``POOL`` candidates (100-token windows, kept at ingestion) and scores each chunk
by its best window as well::

    score = 0.35 · cos(query, chunk) + 0.45 · max over windows cos(query, window) + 0.2 · keyword

each part in [0, 1] (cosines clipped at 0; ``keyword`` is the normalised BM25 of ``fusion.py``), so the
score is in [0, 1] and comparable across queries and stores as the fused one is. The weights were chosen
on ``bench/retrieval_quality.py``'s sets. Chunks embedded whole (an upstream embedder with a long window)
have one window, the chunk itself. A store without vectors is not reranked.

``none`` keeps the fused order; ``auto`` and every dated ranker name OpenAI documents run this ranker.
"""

from __future__ import annotations

import dataclasses
import enum

import numpy as np

from assistantd.retrieval.index import Hit, SearchIndex, SearchQuery

POOL = 30
"""Candidates the reranker reorders (at least ``limit``)."""
WEIGHTS = (0.35, 0.45, 0.2)
"""(whole chunk, best window, keyword)."""


class Ranker(enum.Enum):
    NONE = "none"
    AUTO = "auto"


def ranker_named(name: str | None) -> Ranker:
    """A request's ``ranker`` (already validated against OpenAI's names) → the ranker that runs."""
    return Ranker.NONE if name == "none" else Ranker.AUTO


def candidates(limit: int, ranker: Ranker) -> int:
    return limit if ranker is Ranker.NONE else max(limit, POOL)


async def rerank(index: SearchIndex, store_id: str, query: SearchQuery, hits: list[Hit]) -> list[Hit]:
    if query.vector is None or query.mode == "keyword" or not hits:
        return hits
    windows = await index.windows(store_id, [(h.file_id, h.chunk_index) for h in hits])
    whole, best, keyword = WEIGHTS
    out = []
    for hit in hits:
        found = windows.get((hit.file_id, hit.chunk_index))
        peak = hit.vector if found is None or not len(found) else float(np.max(found @ query.vector))
        peak = min(max(peak, 0.0), 1.0)
        if query.mode == "vector":
            score = (whole * hit.vector + best * peak) / (whole + best)
        else:
            score = whole * hit.vector + best * peak + keyword * hit.keyword
        out.append(dataclasses.replace(hit, score=round(score, 6)))
    out.sort(key=lambda h: -h.score)
    return out
