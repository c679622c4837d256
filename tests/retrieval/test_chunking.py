"""Chunking with OpenAI's semantics, counted in cl100k tokens."""

from __future__ import annotations

import itertools

import pytest

from assistantd.retrieval.chunking import ChunkingSpec, chunk_text, spans, tokenize
from assistantd.retrieval.ingest import window_size


def test_auto_is_800_400_and_reported_as_static() -> None:
    spec = ChunkingSpec.from_json({"type": "auto"})
    assert (spec.max_tokens, spec.overlap) == (800, 400)
    assert ChunkingSpec.from_json(None) == spec
    assert spec.to_json() == {"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}}
    static = {"type": "static", "static": {"max_chunk_size_tokens": 300, "chunk_overlap_tokens": 100}}
    assert ChunkingSpec.from_json(static).to_json() == static


@pytest.mark.parametrize(
    ("n", "size", "overlap"),
    [
        (0, 800, 400),
        (1, 800, 400),
        (800, 800, 400),
        (801, 800, 400),
        (5000, 800, 400),
        (1234, 100, 0),
        (999, 4096, 2048),
    ],
)
def test_spans_cover_the_document_with_the_overlap(n: int, size: int, overlap: int) -> None:
    out = spans(n, ChunkingSpec(size, overlap))
    if n == 0:
        assert out == []
        return
    assert out[0][0] == 0 and out[-1][1] == n
    assert all(end - start <= size for start, end in out)
    for (s1, e1), (s2, _) in itertools.pairwise(out):
        assert s2 - s1 == size - overlap and e1 - s2 == overlap


def test_chunks_are_token_windows_of_the_text() -> None:
    text = " ".join(f"word{i}" for i in range(3000))
    tokens, chunks = chunk_text(text, ChunkingSpec(200, 50))
    assert len(tokens) == len(tokenize(text))
    assert all(len(tokenize(c.text)) <= 201 for c in chunks)
    assert chunks[0].text.startswith("word0") and chunks[-1].text.endswith("word2999")
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_multibyte_text_at_chunk_edges_stays_valid() -> None:
    text = "日本語のテキスト、" * 400 + "émoji 🎉 " * 300
    _, chunks = chunk_text(text, ChunkingSpec(100, 0))
    assert all("\ufffd" not in c.text for c in chunks)


def test_embedding_windows_tile_the_chunks() -> None:
    assert window_size(ChunkingSpec(800, 400), 200) == 200
    assert window_size(ChunkingSpec(300, 100), 200) == 100
    assert window_size(ChunkingSpec(801, 400), 200) == 0  # no common grid: each chunk is cut alone
