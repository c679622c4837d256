"""The ``SearchIndex`` seam: hybrid keyword + vector search over the chunks of vector stores.

Contract (``tests/contracts/test_search_index.py`` holds every implementation to it):

* ``put_file`` replaces a file's chunks in a store (vectors may be None: keyword search only);
* ``search`` ranks chunks of one store by a score in [0, 1] that combines BM25 and cosine similarity
  (``fusion.py``), keeps only files whose attributes pass the filter, and returns at most ``limit`` hits;
* ``delete`` drops a file's chunks, or a whole store's; ``indexed`` lists what is held.

``SqliteIndex`` (FTS5 + in-memory vectors) is the embedded implementation; a PostgreSQL one
(tsvector + pgvector) fits the same five methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from assistantd.retrieval.filters import Filter

Mode = Literal["hybrid", "keyword", "vector"]
Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class IndexedFile:
    file_id: str
    filename: str
    attributes: dict[str, Any]
    texts: list[str]
    vectors: npt.NDArray[np.float32] | None
    """One unit row per text, or None when embeddings are off."""
    windows: npt.NDArray[np.float32] | None = None
    """The vectors of the windows the chunk vectors were made from (see ``ingest.py``), for reranking;
    None when each chunk was embedded whole."""
    spans: list[tuple[int, int]] | None = None
    """Per text, its windows ``[first, end)`` in ``windows``."""


@dataclass(frozen=True, slots=True)
class SearchQuery:
    text: str
    vector: npt.NDArray[np.float32] | None
    limit: int = 10
    filter: Filter | None = None
    mode: Mode = "hybrid"
    candidates: int = 0
    """How many hits each side (keyword, vector) proposes before fusion; 0: a default from ``limit``."""


@dataclass(frozen=True, slots=True)
class Hit:
    file_id: str
    filename: str
    attributes: dict[str, Any]
    text: str
    score: float
    chunk_index: int
    keyword: float = 0.0
    """The BM25 part of the score, normalised to [0, 1)."""
    vector: float = 0.0
    """The cosine part of the score, clipped to [0, 1]."""
    store_id: str = ""


class SearchIndex(Protocol):
    async def put_file(self, store_id: str, file: IndexedFile) -> None:
        """Index a file's chunks in the store, replacing any it had."""
        ...

    async def set_attributes(self, store_id: str, file_id: str, attributes: dict[str, Any]) -> None:
        """Change the attributes filters see for a file."""
        ...

    async def delete(self, store_id: str, file_id: str | None = None) -> None:
        """Drop one file's chunks, or (``file_id=None``) the whole store's."""
        ...

    async def search(self, store_id: str, query: SearchQuery) -> list[Hit]:
        """The best chunks of the store for the query, best first."""
        ...

    async def windows(self, store_id: str, chunks: list[tuple[str, int]]) -> dict[tuple[str, int], Vectors]:
        """The window vectors of these chunks (by file and chunk index); chunks embedded whole (or
        indexed before windows were kept) are absent."""
        ...

    async def indexed(self) -> set[tuple[str, str]]:
        """Every (store, file) the index holds chunks for (the garbage collector compares it)."""
        ...
