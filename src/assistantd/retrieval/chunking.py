"""Chunking with OpenAI's semantics: windows of ``max_tokens`` cl100k tokens overlapping by ``overlap``.

``auto`` is 800 tokens with 400 overlap; a static strategy allows 100–4096 tokens and an overlap of at
most half. Tokens are counted with the same offline tokenizer the runs use (``runs/tokens.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assistantd.runs.tokens import encoding

AUTO_MAX_TOKENS = 800
AUTO_OVERLAP = 400


@dataclass(frozen=True, slots=True)
class ChunkingSpec:
    max_tokens: int = AUTO_MAX_TOKENS
    overlap: int = AUTO_OVERLAP

    @property
    def stride(self) -> int:
        return self.max_tokens - self.overlap

    @classmethod
    def from_json(cls, strategy: dict[str, Any] | None) -> ChunkingSpec:
        """A request's ``chunking_strategy`` (or its stored static form) → the spec; None/auto → 800/400."""
        if not strategy or strategy.get("type") != "static":
            return cls()
        static = strategy["static"]
        return cls(int(static["max_chunk_size_tokens"]), int(static["chunk_overlap_tokens"]))

    def to_json(self) -> dict[str, Any]:
        """How a vector-store file reports it: always the concrete static values, never ``auto``."""
        return {
            "type": "static",
            "static": {"max_chunk_size_tokens": self.max_tokens, "chunk_overlap_tokens": self.overlap},
        }


@dataclass(frozen=True, slots=True)
class Chunk:
    index: int
    text: str
    start: int
    """First token of the chunk in the document."""
    end: int
    """One past its last token."""


def spans(n_tokens: int, spec: ChunkingSpec) -> list[tuple[int, int]]:
    """Token spans ``[start, end)`` covering ``n_tokens``; the last chunk ends at the document's end."""
    out: list[tuple[int, int]] = []
    start = 0
    while start < n_tokens:
        end = min(start + spec.max_tokens, n_tokens)
        out.append((start, end))
        if end == n_tokens:
            break
        start += spec.stride
    return out


def decode(tokens: list[int]) -> str:
    """Token ids → text; a character cut in two at a chunk's edge is dropped rather than garbled."""
    return encoding().decode_bytes(tokens).decode("utf-8", errors="ignore")


def tokenize(text: str) -> list[int]:
    return encoding().encode(text, disallowed_special=())


def chunk_text(text: str, spec: ChunkingSpec) -> tuple[list[int], list[Chunk]]:
    """The document's tokens and its chunks (empty when the text has no tokens)."""
    tokens = tokenize(text)
    chunks: list[Chunk] = []
    for start, end in spans(len(tokens), spec):
        piece = decode(tokens[start:end]).strip()
        if piece:
            chunks.append(Chunk(len(chunks), piece, start, end))
    return tokens, chunks
