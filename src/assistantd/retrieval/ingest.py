"""One file into one store: extract, chunk, embed, index.

Embedding long chunks: an embedder represents at most ``window_tokens`` tokens (all-MiniLM-L6-v2 reads
256 word pieces; an 800-token chunk would lose two thirds of its text). Chunks longer than that are
embedded as the normalised mean of windows of the document laid on a fixed grid, so that overlapping
chunks share windows: with 800/400 chunking and 100-token windows every window is embedded once, not
twice, and each chunk is the mean of exactly eight. The windows' own vectors are kept too: the reranker
(``rerank.py``) scores a chunk by its best window, the passage that matches the question.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from assistantd.retrieval.chunking import Chunk, ChunkingSpec, chunk_text, decode
from assistantd.retrieval.embedders import Embedder, normalize
from assistantd.retrieval.extract import extract_text
from assistantd.retrieval.index import IndexedFile, SearchIndex
from assistantd.store.blobs import BlobStore


async def read_blob(blobs: BlobStore, key: str) -> bytes:
    """A file's bytes, whole (from disk in a thread when the store has a path; the stream closed always)."""
    path = blobs.local_path(key)
    if path is not None:
        return await asyncio.to_thread(path.read_bytes)
    stream = blobs.open(key)
    try:
        return b"".join([chunk async for chunk in stream])
    finally:
        await stream.aclose()  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Ingested:
    chunks: int
    usage_bytes: int
    """Bytes the file takes in the store: its chunks' text plus their vectors."""


async def ingest(
    data: bytes,
    *,
    filename: str,
    store_id: str,
    file_id: str,
    attributes: dict[str, Any],
    spec: ChunkingSpec,
    index: SearchIndex,
    embedder: Embedder | None,
) -> Ingested:
    """Index the file's chunks (replacing earlier ones). Raises ``ExtractError`` for unreadable files."""
    text = await asyncio.to_thread(extract_text, data, filename)
    tokens, chunks = await asyncio.to_thread(chunk_text, text, spec)
    embedded = None
    if embedder is not None and chunks:
        embedded = await embed_chunks(embedder, tokens, chunks, spec)
    texts = [c.text for c in chunks]
    if embedded is None:
        file = IndexedFile(file_id, filename, attributes, texts, None)
    else:
        file = IndexedFile(file_id, filename, attributes, texts, embedded.vectors, embedded.windows, embedded.spans)
    await index.put_file(store_id, file)
    size = sum(len(t.encode()) for t in texts)
    if embedded is not None:
        size += int(embedded.vectors.nbytes) + (0 if embedded.windows is None else int(embedded.windows.nbytes) // 2)
    return Ingested(len(chunks), size)


def window_size(spec: ChunkingSpec, limit: int) -> int:
    """The largest window ≤ ``limit`` that tiles every chunk exactly (it divides the chunk size and the
    stride); 0 when none is worth it (then chunks are cut into their own windows)."""
    step = math.gcd(spec.max_tokens, spec.stride)
    best = 0
    for size in range(1, step + 1):
        if step % size == 0 and size <= limit:
            best = size
    return best if best >= limit // 4 else 0


@dataclass(frozen=True)
class Embedded:
    vectors: npt.NDArray[np.float32]
    """One unit row per chunk."""
    windows: npt.NDArray[np.float32] | None = None
    """The windows' vectors (None: each chunk was embedded whole)."""
    spans: list[tuple[int, int]] | None = None
    """Per chunk, its windows ``[first, end)``."""


async def embed_chunks(embedder: Embedder, tokens: list[int], chunks: list[Chunk], spec: ChunkingSpec) -> Embedded:
    limit = embedder.window_tokens
    if spec.max_tokens <= limit:
        return Embedded(await embedder.embed([c.text for c in chunks]))
    size = window_size(spec, limit)
    if size:
        count = math.ceil(len(tokens) / size)
        texts = [decode(tokens[w * size : (w + 1) * size]) for w in range(count)]
        spans = [(chunk.start // size, math.ceil(chunk.end / size)) for chunk in chunks]
    else:
        texts, spans = [], []
        for chunk in chunks:
            first = len(texts)
            for start in range(chunk.start, chunk.end, limit):
                texts.append(decode(tokens[start : min(start + limit, chunk.end)]))
            spans.append((first, len(texts)))
    windows = await embedder.embed(texts)
    vectors = np.stack([windows[a:b].sum(axis=0) for a, b in spans]).astype(np.float32)
    return Embedded(normalize(vectors), windows, spans)
