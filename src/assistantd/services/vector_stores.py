"""Vector stores: create (with files), list, retrieve, modify, delete, search.

A store's ``status`` and ``file_counts`` are computed from its files on every read (``store/vector_stores.py``).
Expiry (``expires_after``, anchored at ``last_active_at``) makes a store ``expired``: it can still be read,
listed and deleted, but not searched or used by runs. Searches and runs refresh ``last_active_at``
(written at most once a minute).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from assistantd.errors import InvalidRequest
from assistantd.ids import new_id
from assistantd.organization.limits import enforce_indexing
from assistantd.retrieval import filters
from assistantd.retrieval.chunking import ChunkingSpec
from assistantd.retrieval.rerank import ranker_named
from assistantd.retrieval.rewrite import QueryRewriter
from assistantd.retrieval.search import Retrieval
from assistantd.services._context import Context, WireObject, now
from assistantd.services._refs import check_id, missing, require_files
from assistantd.store import vector_stores as vs
from assistantd.store._crud import PageParams
from assistantd.store.db import Conn
from assistantd.store.records import VectorStoreRecord
from assistantd.wire.common import deleted, dump, list_page
from assistantd.wire.vector_stores import VectorStoreCreate, VectorStoreModify, VectorStoreSearch

THREAD_STORE_EXPIRY = {"anchor": "last_active_at", "days": 7}
"""Stores created for a thread by message attachments expire 7 days after their last use, as OpenAI's."""


def status_of(store: VectorStoreRecord, counts: vs.Counts) -> str:
    if vs.expired(store, now()):
        return "expired"
    return "in_progress" if counts.in_progress else "completed"


def to_wire(store: VectorStoreRecord, counts: vs.Counts) -> WireObject:
    """``openai.types.VectorStore``."""
    out: WireObject = {
        "id": store.id,
        "object": "vector_store",
        "created_at": store.created_at,
        "name": store.name,
        "usage_bytes": counts.usage_bytes,
        "file_counts": counts.wire(),
        "status": status_of(store, counts),
        "expires_at": store.expires_at,
        "last_active_at": store.last_active_at,
        "metadata": store.metadata or {},
    }
    if store.expires_after is not None:  # optional and not nullable in OpenAI's schema
        out["expires_after"] = store.expires_after
    return out


def file_row(
    store_id: str, file_id: str, spec: ChunkingSpec, attributes: dict[str, Any] | None, batch_id: str | None, ts: int
) -> dict[str, Any]:
    """Column values of a new attachment (``in_progress``: the ingestion worker takes it from there)."""
    return {
        "vector_store_id": store_id,
        "file_id": file_id,
        "created_at": ts,
        "status": "in_progress",
        "last_error": None,
        "usage_bytes": 0,
        "chunking_strategy": spec.to_json(),
        "attributes": attributes,
        "batch_id": batch_id,
    }


async def insert_store(
    conn: Conn,
    *,
    name: str = "",
    description: str | None = None,
    file_ids: list[str] | None = None,
    chunking: dict[str, Any] | None = None,
    expires_after: dict[str, Any] | None = None,
    metadata: dict[str, str] | None = None,
    param: str = "",
) -> VectorStoreRecord:
    """Create a store and attach files in the caller's transaction (also the tool_resources helper and
    message attachments). Files must exist: 400 naming ``<param>file_ids[i]``."""
    ids = list(dict.fromkeys(file_ids or []))
    await require_files(conn, ids, f"{param}file_ids")
    ts = now()
    store = VectorStoreRecord(
        id=new_id("vector_store"),
        created_at=ts,
        name=name,
        description=description,
        metadata=metadata or {},
        expires_after=expires_after,
        expires_at=vs.expiry(expires_after, ts),
        last_active_at=ts,
    )
    await vs.stores.insert(conn, dataclasses.asdict(store))
    spec = ChunkingSpec.from_json(chunking)
    await vs.put_files(conn, [file_row(store.id, f, spec, None, None, ts) for f in ids])
    return store


async def get_store(conn: Conn, store_id: str, param: str = "vector_store_id") -> VectorStoreRecord:
    check_id("vector_store", store_id, param)
    store = await vs.stores.get(conn, store_id)
    if store is None:
        raise missing("vector_store", store_id)
    return store


async def usable_store(conn: Conn, store_id: str) -> VectorStoreRecord:
    """A store that may be searched: it exists and has not expired (400 otherwise)."""
    store = await get_store(conn, store_id)
    if vs.expired(store, now()):
        raise InvalidRequest(f"Vector store '{store_id}' has expired.", param="vector_store_id", code="expired")
    return store


class VectorStores:
    def __init__(self, ctx: Context, retrieval: Retrieval, rewriter: QueryRewriter | None = None) -> None:
        self.ctx = ctx
        self.retrieval = retrieval
        self.rewriter = rewriter or QueryRewriter(None, "")

    async def _wire(self, conn: Conn, store: VectorStoreRecord) -> WireObject:
        counts = await vs.store_counts(conn, [store.id])
        return to_wire(store, counts[store.id])

    async def create_vector_store(self, req: VectorStoreCreate) -> WireObject:
        await enforce_indexing(self.ctx.db, self.ctx.settings, list(dict.fromkeys(req.file_ids or [])))
        async with self.ctx.db.write() as conn:
            store = await insert_store(
                conn,
                name=req.name or "",
                description=req.description,
                file_ids=req.file_ids,
                chunking=dump(req.chunking_strategy) if req.chunking_strategy else None,
                expires_after=dump(req.expires_after) if req.expires_after else None,
                metadata=req.metadata,
            )
            out = await self._wire(conn, store)
        self.retrieval.worker.notify()
        return out

    async def list_vector_stores(self, page: PageParams) -> WireObject:
        async with self.ctx.db.read() as conn:
            records, has_more = await vs.stores.page(conn, page)
            counts = await vs.store_counts(conn, [r.id for r in records])
        return list_page([to_wire(r, counts[r.id]) for r in records], has_more)

    async def retrieve_vector_store(self, store_id: str) -> WireObject:
        async with self.ctx.db.read() as conn:
            return await self._wire(conn, await get_store(conn, store_id))

    async def modify_vector_store(self, store_id: str, req: VectorStoreModify) -> WireObject:
        async with self.ctx.db.write() as conn:
            store = await get_store(conn, store_id)
            values: dict[str, Any] = {}
            if "name" in req.model_fields_set:
                values["name"] = req.name or ""
            if "metadata" in req.model_fields_set:
                values["metadata"] = req.metadata or {}
            if "expires_after" in req.model_fields_set:
                after = dump(req.expires_after) if req.expires_after else None
                values["expires_after"] = after
                values["expires_at"] = vs.expiry(after, store.last_active_at)
            if values:
                await vs.stores.update(conn, store_id, values)
                store = await get_store(conn, store_id)
            return await self._wire(conn, store)

    async def delete_vector_store(self, store_id: str) -> WireObject:
        async with self.ctx.db.write() as conn:
            await get_store(conn, store_id)
            await vs.stores.delete(conn, store_id)  # its files and batches go with it (ON DELETE CASCADE)
        await self.retrieval.index.delete(store_id)
        return deleted(store_id, "vector_store.deleted")

    async def search_vector_store(self, store_id: str, req: VectorStoreSearch) -> WireObject:
        async with self.ctx.db.read() as conn:
            store = await usable_store(conn, store_id)
        queries = [req.query] if isinstance(req.query, str) else list(req.query)
        if req.rewrite_query:
            queries = await self.rewriter.rewrite(queries)
        ranking = req.ranking_options
        hits = await self.retrieval.search(
            [store_id],
            queries,
            limit=req.max_num_results,
            filter=filters.from_json(dump(req.filters)) if req.filters else None,
            threshold=ranking.score_threshold if ranking else 0.0,
            ranker=ranker_named(ranking.ranker if ranking else None),
        )
        if vs.stale(store, now()):
            async with self.ctx.db.write() as conn:
                await vs.touch(conn, store, now())
        data = [
            {
                "file_id": h.file_id,
                "filename": h.filename,
                "score": h.score,
                "attributes": h.attributes,
                "content": [{"type": "text", "text": h.text}],
            }
            for h in hits
        ]
        return {
            "object": "vector_store.search_results.page",
            "search_query": queries,
            "data": data,
            "has_more": False,
            "next_page": None,
        }
