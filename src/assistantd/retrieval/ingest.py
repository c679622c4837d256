"""One file into one store: extract, chunk, embed, index.

Embedding long chunks: an embedder represents at most ``window_tokens`` tokens (all-MiniLM-L6-v2 reads
256 word pieces; an 800-token chunk would lose two thirds of its text). Chunks longer than that are
embedded as the normalised mean of windows of the document laid on a fixed grid, so that overlapping
chunks share windows: with 800/400 chunking and 200-token windows every window is embedded once, not
twice, and each chunk is the mean of exactly four.
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
    vectors = None
    if embedder is not None and chunks:
        vectors = await embed_chunks(embedder, tokens, chunks, spec)
    texts = [c.text for c in chunks]
    await index.put_file(store_id, IndexedFile(file_id, filename, attributes, texts, vectors))
    size = sum(len(t.encode()) for t in texts) + (0 if vectors is None else int(vectors.nbytes))
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


async def embed_chunks(
    embedder: Embedder, tokens: list[int], chunks: list[Chunk], spec: ChunkingSpec
) -> npt.NDArray[np.float32]:
    limit = embedder.window_tokens
    if spec.max_tokens <= limit:
        return await embedder.embed([c.text for c in chunks])
    size = window_size(spec, limit)
    if size:
        return await _grid(embedder, tokens, chunks, size)
    pieces: list[tuple[int, str]] = []
    for i, chunk in enumerate(chunks):
        for start in range(chunk.start, chunk.end, limit):
            pieces.append((i, decode(tokens[start : min(start + limit, chunk.end)])))
    vectors = await embedder.embed([text for _, text in pieces])
    out = np.zeros((len(chunks), vectors.shape[1]), np.float32)
    for (i, _), vector in zip(pieces, vectors, strict=True):
        out[i] += vector
    return normalize(out)


async def _grid(embedder: Embedder, tokens: list[int], chunks: list[Chunk], size: int) -> npt.NDArray[np.float32]:
    windows = math.ceil(len(tokens) / size)
    texts = [decode(tokens[w * size : (w + 1) * size]) for w in range(windows)]
    vectors = await embedder.embed(texts)
    out = np.zeros((len(chunks), vectors.shape[1]), np.float32)
    for i, chunk in enumerate(chunks):
        out[i] = vectors[chunk.start // size : math.ceil(chunk.end / size)].sum(axis=0)
    return normalize(out)
