"""The ``file_search`` tool: searches the assistant's and the thread's vector stores for the model.

The model calls ``file_search(query)``. The call waits (bounded) while the thread's store still ingests,
searches both stores with the run's ``max_num_results`` and ``ranking_options``, and records OpenAI's step
shape: ``{"ranking_options", "results": [{"file_id", "file_name", "score", "content"}]}`` (``content`` is
stored always, and shown by the API only when ``include[]`` asks). The model reads the results as numbered
excerpts with citation markers. Markers and grounded sentences of the answer become ``file_citation``
annotations while the answer streams (``_citations.Citer``, driven by ``runs/turn.py``); ``annotate`` is the
same on a whole text.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from assistantd.backends.base import FunctionSpec
from assistantd.retrieval import filters
from assistantd.retrieval.rerank import ranker_named
from assistantd.retrieval.search import Retrieval
from assistantd.runs.tokens import count_text
from assistantd.settings import Settings
from assistantd.store import repos
from assistantd.store import vector_stores as vs
from assistantd.store.db import Database
from assistantd.tools import _citations
from assistantd.tools.base import PRIVATE, Annotated, ToolContext, private

DESCRIPTION = (
    "Search the files the user uploaded (manuals, documents, notes) and return the most relevant excerpts. "
    "Use it whenever the answer may be in those files. Write the query as a short statement of what you are "
    "looking for. Base your answer on the excerpts, and cite an excerpt by writing its marker, such as "
    "【0†manual.pdf】, right after the sentence it supports."
)
PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"query": {"type": "string", "description": "What to search for."}},
    "required": ["query"],
}
DEFAULT_RANKING = {"ranker": "auto", "score_threshold": 0.0}
WAIT_POLL_SECONDS = 0.1


def defaults_for(model: str) -> tuple[int, int]:
    """OpenAI's defaults by model: (max_num_results, token budget of the results)."""
    name = model.lower()
    if name.startswith("gpt-3.5"):
        return 5, 4_000
    if name.startswith(("gpt-4", "gpt-5", "o1", "o3", "o4", "chatgpt")):
        return 20, 16_000
    return 20, 8_000  # other models: OpenAI's 20 results, a smaller budget (local models have smaller windows)


class FileSearchTool:
    """The ``Tool`` for ``{"type": "file_search"}``."""

    type = "file_search"
    name = "file_search"

    def __init__(self, retrieval: Retrieval, settings: Settings) -> None:
        self.retrieval = retrieval
        self.settings = settings

    def function(self, run_tool: dict[str, Any]) -> FunctionSpec:
        return FunctionSpec(self.name, DESCRIPTION, PARAMETERS)

    def started(self, call_id: str) -> dict[str, Any]:
        return {"type": "file_search", "file_search": {}}

    def auto_arguments(self, user_text: str) -> dict[str, Any] | None:
        """With ``file_search_every_turn``: the call to make before the model's first turn (None: none)."""
        if not self.settings.file_search_every_turn or not user_text.strip():
            return None
        return {"query": user_text}

    async def call(
        self, ctx: ToolContext, call_id: str, arguments: dict[str, Any], run_tool: dict[str, Any]
    ) -> dict[str, Any]:
        queries = _queries(arguments)
        options = run_tool.get("file_search") or {}
        ranking = {**DEFAULT_RANKING, **(options.get("ranking_options") or {})}
        limit, budget = defaults_for(ctx.run.model)
        limit = int(options.get("max_num_results") or limit)
        if "vector_store_ids" in options:  # a response names its stores on the tool
            store_ids = await self._named(ctx.db, list(options["vector_store_ids"]))
        else:
            store_ids = await self._stores(ctx.db, ctx.run.assistant_id, ctx.run.thread_id)
        where = filters.from_json(options["filters"]) if options.get("filters") else None
        results: list[dict[str, Any]] = []
        if queries and store_ids:
            hits = await self.retrieval.search(
                store_ids,
                queries,
                limit=limit,
                filter=where,
                threshold=float(ranking["score_threshold"]),
                ranker=ranker_named(str(ranking.get("ranker"))),
            )
            for hit in hits:
                size = count_text(hit.text)
                if results and size > budget:
                    break
                budget -= size
                content = [{"type": "text", "text": hit.text}]
                results.append(
                    {"file_id": hit.file_id, "file_name": hit.filename, "score": hit.score, "content": content}
                )
        return {
            "id": call_id,
            "type": "file_search",
            "file_search": {"ranking_options": ranking, "results": results},
            PRIVATE: {"arguments": json.dumps(arguments), "queries": queries},
        }

    async def _named(self, db: Database, store_ids: list[str]) -> list[str]:
        """Stores a response names, after waiting (bounded) for the first to finish ingesting."""
        if store_ids:
            await self._wait_for(db, store_ids[0])
        async with db.read() as conn:
            found = [await vs.stores.get(conn, store_id) for store_id in dict.fromkeys(store_ids)]
        return [s.id for s in found if s is not None and not vs.expired(s, int(time.time()))]

    async def _stores(self, db: Database, assistant_id: str, thread_id: str) -> list[str]:
        """The usable stores of the assistant and the thread, after waiting (bounded) for the thread's
        store to finish ingesting. Expired stores are skipped."""
        async with db.read() as conn:
            assistant = await repos.assistants.get(conn, assistant_id)
            thread = await repos.threads.get(conn, thread_id)
        owned = [_store_ids(assistant.tool_resources if assistant else None)]
        thread_ids = _store_ids(thread.tool_resources if thread else None)
        if thread_ids:
            await self._wait_for(db, thread_ids[0])
        usable = []
        async with db.read() as conn:
            for store_id in dict.fromkeys([*owned[0], *thread_ids]):
                store = await vs.stores.get(conn, store_id)
                if store is not None and not vs.expired(store, int(time.time())):
                    usable.append(store)
        due = [s for s in usable if vs.stale(s, int(time.time()))]
        if due:
            async with db.write() as conn:
                for store in due:
                    await vs.touch(conn, store, int(time.time()))
        return [s.id for s in usable]

    async def _wait_for(self, db: Database, store_id: str) -> None:
        deadline = time.monotonic() + self.settings.file_search_wait_seconds
        while time.monotonic() < deadline:
            async with db.read() as conn:
                counts = (await vs.store_counts(conn, [store_id]))[store_id]
            if not counts.in_progress:
                return
            self.retrieval.worker.notify()
            await asyncio.sleep(WAIT_POLL_SECONDS)

    def replay(self, tool_call: dict[str, Any]) -> tuple[str, str]:
        results = (tool_call.get("file_search") or {}).get("results") or []
        arguments = private(tool_call).get("arguments") or json.dumps({"query": ""})  # older steps have none
        return str(arguments), render(results)

    async def annotate(self, ctx: ToolContext, text: str, tool_calls: list[dict[str, Any]]) -> Annotated:
        """The citations of a whole text. Runs do not call it: their answers are cited as they stream."""
        new_text, annotations = _citations.annotate(text, tool_calls)
        return Annotated(annotations=annotations, text=new_text if new_text != text else None)


def _queries(arguments: dict[str, Any]) -> list[str]:
    raw = arguments.get("queries") or arguments.get("query") or []
    items = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    return [q.strip() for q in items if isinstance(q, str) and q.strip()][:5]


def _store_ids(resources: dict[str, Any] | None) -> list[str]:
    return list(((resources or {}).get("file_search") or {}).get("vector_store_ids") or [])


def render(results: list[dict[str, Any]]) -> str:
    """What the model reads: each excerpt under its citation marker."""
    if not results:
        return "No results were found in the files."
    parts = [f"Found {len(results)} excerpts. Cite one by writing its marker after the sentence it supports."]
    for i, result in enumerate(results):
        text = "\n".join(p.get("text", "") for p in result.get("content") or [])
        parts.append(f"【{i}†{result.get('file_name', '')}】\n{text}")
    return "\n\n".join(parts)
