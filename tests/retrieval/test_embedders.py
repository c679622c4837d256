"""The embedders: the local model on ONNX Runtime, the upstream client, the hashing one, and the cache."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import httpx
import numpy as np
import pytest

from assistantd import Settings
from assistantd.retrieval.chunking import ChunkingSpec, chunk_text
from assistantd.retrieval.embedders import (
    CachedEmbedder,
    EmbeddingError,
    HashingEmbedder,
    LocalEmbedder,
    UpstreamEmbedder,
    Vectors,
    make_embedder,
)
from assistantd.retrieval.ingest import embed_chunks
from assistantd.retrieval.sqlite_index import SqliteIndex


class Counting:
    """An embedder that counts the texts it is asked to embed (wraps a real one)."""

    def __init__(self) -> None:
        self.inner = HashingEmbedder(32)
        self.name, self.dimensions, self.window_tokens = "counting", 32, 100_000
        self.seen: list[str] = []

    async def embed(self, texts: Sequence[str]) -> Vectors:
        self.seen.extend(texts)
        return await self.inner.embed(texts)


async def test_local_model_embeds_meaning() -> None:
    model = LocalEmbedder()
    query, answer, other = await model.embed(
        [
            "How long is the warranty on the X200?",
            "The X200 comes with a three-year limited warranty covering parts and labour.",
            "Python lists are mutable sequences.",
        ]
    )
    assert np.allclose([np.linalg.norm(v) for v in (query, answer, other)], 1.0, atol=1e-5)
    assert float(query @ answer) > 0.6 > float(query @ other)
    # Batching and padding change a text's vector only by the int8 activation quantisation, which is per
    # batch (the float32 graph matched sentence-transformers at cosine 0.99999 on every test sentence).
    alone = (await model.embed(["How long is the warranty on the X200?"]))[0]
    assert float(alone @ query) > 0.99


async def test_long_chunks_are_the_mean_of_their_windows() -> None:
    text = " ".join(f"word{i}" for i in range(4000))
    tokens, chunks = chunk_text(text, ChunkingSpec())
    counting = Counting()
    counting.window_tokens = 200
    embedded = await embed_chunks(counting, tokens, chunks, ChunkingSpec())
    assert embedded.vectors.shape == (len(chunks), 32)
    assert len(counting.seen) == -(-len(tokens) // 200)  # each 200-token window once, though chunks overlap
    assert embedded.windows is not None and embedded.spans is not None
    assert embedded.spans[1] == (2, 6)  # the second chunk starts at token 400: windows 2 to 5
    for vector, (first, end) in zip(embedded.vectors, embedded.spans, strict=True):
        mean = embedded.windows[first:end].sum(axis=0)
        assert np.allclose(vector, mean / np.linalg.norm(mean), atol=1e-6)


async def test_cache_embeds_identical_content_once(tmp_path: Path) -> None:
    index = SqliteIndex(tmp_path / "index.db")
    counting = Counting()
    cached = CachedEmbedder(counting, index)
    first = await cached.embed(["a b", "c d", "a b"])
    assert counting.seen == ["a b", "c d"]
    again = await cached.embed(["c d", "e f"])
    assert counting.seen == ["a b", "c d", "e f"]
    assert np.allclose(first[1], again[0])
    index.close()


async def test_upstream_embedder() -> None:
    requests: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        requests.append(body)
        assert request.headers["authorization"] == "Bearer k"
        data = [
            {"index": i, "embedding": [float(len(t)), 1.0, 0.0]} for i, t in reversed(list(enumerate(body["input"])))
        ]
        return httpx.Response(200, json={"data": data})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        embedder = UpstreamEmbedder(http, "http://upstream/v1", "k", "text-embedding-3-small", batch_size=2)
        vectors = await embedder.embed(["a", "bbb", "cc"])
    assert [r["model"] for r in requests] == ["text-embedding-3-small"] * 2 and len(requests[0]["input"]) == 2  # type: ignore[arg-type]
    assert vectors.shape == (3, 3) and embedder.dimensions == 3
    assert np.allclose(vectors[1], np.array([3.0, 1.0, 0.0]) / np.sqrt(10))


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, {"error": "boom"}), (200, {"data": "nope"}), (200, {"data": [{"index": 0, "embedding": [1]}]})],
)
async def test_upstream_failures_are_embedding_errors(status: int, body: object) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(status, json=body))) as http:
        embedder = UpstreamEmbedder(http, "http://upstream/v1", "", "m", batch_size=8)
        with pytest.raises(EmbeddingError):
            await embedder.embed(["a", "b"])


async def test_make_embedder(tmp_path: Path) -> None:
    async with httpx.AsyncClient() as http:
        assert make_embedder(Settings(data_dir=tmp_path, embeddings="none"), http) is None
        assert isinstance(make_embedder(Settings(data_dir=tmp_path, embeddings="hashing"), http), HashingEmbedder)
        assert isinstance(make_embedder(Settings(data_dir=tmp_path), http), LocalEmbedder)
        upstream = make_embedder(
            Settings(data_dir=tmp_path, embeddings="upstream", upstream_base_url="http://u/v1/"), http
        )
        assert isinstance(upstream, UpstreamEmbedder) and upstream.url == "http://u/v1/embeddings"
        with pytest.raises(ValueError, match="EMBEDDING_BASE_URL"):
            make_embedder(Settings(data_dir=tmp_path, embeddings="upstream", upstream_base_url=""), http)


async def test_upstream_embedder_requests_are_counted_and_traced() -> None:
    """An embeddings upstream is an upstream like a model's: its requests, errors and latency are counted by
    its name (no credentials), and each request is a client span that sends ``traceparent``."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from prometheus_client import generate_latest

    from assistantd.observability import metrics, tracing

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 2:
            return httpx.Response(429, json={"error": "slow down"})
        return httpx.Response(200, json={"data": [{"index": 0, "embedding": [1.0, 0.0]}]})

    recorder = metrics.PrometheusMetrics()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    previous_metrics, previous_provider = metrics.install(recorder), tracing.install(provider)
    try:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            embedder = UpstreamEmbedder(http, "http://user:pw@upstream:9000/v1", "k", "m", batch_size=1)
            await embedder.embed(["a"])
            with pytest.raises(EmbeddingError):
                await embedder.embed(["b"])
    finally:
        metrics.install(previous_metrics)
        tracing.install(previous_provider)
    text = generate_latest(recorder.registry).decode()
    assert 'assistantd_upstream_requests_total{status="200",upstream="http://upstream:9000/v1"} 1.0' in text
    assert 'assistantd_upstream_requests_total{status="429",upstream="http://upstream:9000/v1"} 1.0' in text
    assert 'assistantd_upstream_errors_total{reason="rate_limited",upstream="http://upstream:9000/v1"} 1.0' in text
    assert "pw" not in text
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["POST /embeddings"] * 2
    assert all("traceparent" in r.headers for r in seen)
    assert spans[1].attributes is not None and spans[1].attributes["error.type"] == "rate_limited"
