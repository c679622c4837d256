"""``rewrite_query`` of ``vector_stores.search``: the question turned into a search query.

OpenAI rewrites with a language model. So do we when ``query_rewrite_model`` names a model an upstream
serves (routed as runs' models are): one short, non-streamed-to-the-client turn per query, bounded by
``TIMEOUT_SECONDS``. Without one, or when that turn fails or answers nothing usable, the query is reduced
to its keywords (``fusion.rewrite``), which needs no model. ``search_query`` in the response echoes what
was searched either way.
"""

from __future__ import annotations

import asyncio
import logging

from assistantd.backends.base import ChatMessage, TextDelta, TurnRequest, UpstreamError
from assistantd.backends.registry import BackendRegistry
from assistantd.retrieval import fusion

TIMEOUT_SECONDS = 15.0
MAX_CHARS = 300
INSTRUCTIONS = (
    "You turn a user's question into one search query for a keyword and semantic search over documents. "
    "Keep the names, terms and numbers that matter, drop filler words, add a close synonym when it helps. "
    "Answer with the query alone: no quotes, no explanation."
)
log = logging.getLogger("assistantd.retrieval")


class QueryRewriter:
    def __init__(self, backends: BackendRegistry | None, model: str) -> None:
        self.backends = backends
        self.model = model

    async def rewrite(self, queries: list[str]) -> list[str]:
        return list(await asyncio.gather(*(self._one(q) for q in queries)))

    async def _one(self, query: str) -> str:
        route = self.backends.resolve(self.model) if self.backends is not None and self.model else None
        if route is None:
            return fusion.rewrite(query)
        request = TurnRequest(
            model=self.model,
            messages=[ChatMessage("system", INSTRUCTIONS), ChatMessage("user", query)],
            temperature=0.0,
            max_tokens=64,
        )
        parts: list[str] = []
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                async for event in route.backend.stream(request):
                    if isinstance(event, TextDelta):
                        parts.append(event.text)
        except (UpstreamError, TimeoutError) as exc:
            log.warning("rewrite_query: the model failed (%s); searching its keywords instead", exc)
            return fusion.rewrite(query)
        text = " ".join("".join(parts).split()).strip("\"'` ")
        return text[:MAX_CHARS] if text else fusion.rewrite(query)
