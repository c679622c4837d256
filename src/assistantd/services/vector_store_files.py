"""Vector store files and file batches: attach, list, retrieve, update attributes, detach, content;
batches: create, retrieve, cancel, list their files.

A store file's ``id`` is its File's ID. Attaching a file that is already attached replaces the attachment
(it is ingested again with the new chunking strategy and attributes). Detaching keeps the File.
"""

from __future__ import annotations

import asyncio
from typing import Any

from assistantd.errors import InvalidRequest
from assistantd.ids import new_id
from assistantd.organization.limits import enforce_indexing
from assistantd.retrieval.chunking import ChunkingSpec
from assistantd.retrieval.extract import ExtractError, extract_text
from assistantd.retrieval.ingest import read_blob
from assistantd.retrieval.search import Retrieval
from assistantd.services._context import Context, WireObject, now
from assistantd.services._refs import check_id, missing, require_file
from assistantd.services.vector_stores import file_row, get_store
from assistantd.store import repos
from assistantd.store import vector_stores as vs
from assistantd.store._crud import PageParams
from assistantd.store.db import Conn
from assistantd.store.records import FileBatchRecord, VectorStoreFileRecord
from assistantd.wire.common import dump, list_page
from assistantd.wire.vector_stores import FileBatchCreate, VectorStoreFileCreate, VectorStoreFileModify

FILTERS = ("in_progress", "completed", "failed", "cancelled")


def file_to_wire(f: VectorStoreFileRecord) -> WireObject:
    """``openai.types.vector_stores.VectorStoreFile``."""
    return {
        "id": f.file_id,
        "object": "vector_store.file",
        "usage_bytes": f.usage_bytes,
        "created_at": f.created_at,
        "vector_store_id": f.vector_store_id,
        "status": f.status,
        "last_error": f.last_error,
        "chunking_strategy": f.chunking_strategy,
        "attributes": f.attributes or {},
    }


def batch_to_wire(b: FileBatchRecord, counts: vs.Counts) -> WireObject:
    """``openai.types.vector_stores.VectorStoreFileBatch``."""
    if b.cancelled:
        status = "cancelled"
    elif counts.in_progress:
        status = "in_progress"
    elif counts.total and counts.failed == counts.total:
        status = "failed"
    else:
        status = "completed"
    return {
        "id": b.id,
        "object": "vector_store.files_batch",
        "created_at": b.created_at,
        "vector_store_id": b.vector_store_id,
        "status": status,
        "file_counts": counts.wire(),
    }


def _check_filter(value: str | None) -> None:
    if value is not None and value not in FILTERS:
        supported = ", ".join(f"'{f}'" for f in FILTERS)
        raise InvalidRequest(f"Invalid value: '{value}'. Supported values are: {supported}.", param="filter")


class VectorStoreFiles:
    def __init__(self, ctx: Context, retrieval: Retrieval) -> None:
        self.ctx = ctx
        self.retrieval = retrieval

    async def _file(self, conn: Conn, store_id: str, file_id: str) -> VectorStoreFileRecord:
        await get_store(conn, store_id)
        check_id("file", file_id, "file_id")
        record = await vs.get_file(conn, store_id, file_id)
        if record is None:
            raise missing("file", file_id)
        return record

    async def create_vector_store_file(self, store_id: str, req: VectorStoreFileCreate) -> WireObject:
        await enforce_indexing(self.ctx.db, self.ctx.settings, [req.file_id])
        async with self.ctx.db.write() as conn:
            store = await get_store(conn, store_id)
            await require_file(conn, req.file_id, "file_id")
            spec = ChunkingSpec.from_json(dump(req.chunking_strategy) if req.chunking_strategy else None)
            await vs.put_files(conn, [file_row(store_id, req.file_id, spec, req.attributes, None, now())])
            if vs.stale(store, now()):
                await vs.touch(conn, store, now())
            record = await self._file(conn, store_id, req.file_id)
        self.retrieval.worker.notify()
        return file_to_wire(record)

    async def list_vector_store_files(self, store_id: str, page: PageParams, status: str | None) -> WireObject:
        _check_filter(status)
        async with self.ctx.db.read() as conn:
            await get_store(conn, store_id)
            records, has_more = await vs.page_files(conn, store_id, page, status)
        return list_page([file_to_wire(r) for r in records], has_more)

    async def retrieve_vector_store_file(self, store_id: str, file_id: str) -> WireObject:
        async with self.ctx.db.read() as conn:
            return file_to_wire(await self._file(conn, store_id, file_id))

    async def update_vector_store_file(self, store_id: str, file_id: str, req: VectorStoreFileModify) -> WireObject:
        attributes = req.attributes or {}
        async with self.ctx.db.write() as conn:
            await self._file(conn, store_id, file_id)
            await vs.update_file(conn, store_id, file_id, {"attributes": attributes})
            record = await self._file(conn, store_id, file_id)
        await self.retrieval.index.set_attributes(store_id, file_id, attributes)
        return file_to_wire(record)

    async def delete_vector_store_file(self, store_id: str, file_id: str) -> WireObject:
        async with self.ctx.db.write() as conn:
            await self._file(conn, store_id, file_id)
            await vs.delete_file(conn, store_id, file_id)
        await self.retrieval.index.delete(store_id, file_id)
        return {"id": file_id, "object": "vector_store.file.deleted", "deleted": True}

    async def vector_store_file_content(self, store_id: str, file_id: str) -> WireObject:
        """The file's parsed text (extracted again from the File's bytes: the index keeps only chunks)."""
        async with self.ctx.db.read() as conn:
            await self._file(conn, store_id, file_id)
            file = await repos.files.get(conn, file_id)
        data: list[dict[str, Any]] = []
        if file is not None:
            raw = await read_blob(self.ctx.blobs, file.blob_key)
            try:
                text = await asyncio.to_thread(extract_text, raw, file.filename)
                data.append({"type": "text", "text": text})
            except ExtractError:
                pass
        return {"object": "vector_store.file_content.page", "data": data, "has_more": False, "next_page": None}

    # --- batches --------------------------------------------------------------------------------------

    async def _batch(self, conn: Conn, store_id: str, batch_id: str) -> FileBatchRecord:
        await get_store(conn, store_id)
        check_id("file_batch", batch_id, "batch_id")
        batch = await vs.batches.get(conn, batch_id)
        if batch is None or batch.vector_store_id != store_id:
            raise missing("file_batch", batch_id)
        return batch

    async def _batch_wire(self, conn: Conn, batch: FileBatchRecord) -> WireObject:
        return batch_to_wire(batch, await vs.batch_counts(conn, batch.id))

    async def create_file_batch(self, store_id: str, req: FileBatchCreate) -> WireObject:
        if (req.file_ids is None) == (req.files is None):
            raise InvalidRequest("Exactly one of 'file_ids' or 'files' must be provided.", param="file_ids")
        batch_id = new_id("file_batch")
        ts = now()
        default = ChunkingSpec.from_json(dump(req.chunking_strategy) if req.chunking_strategy else None)
        rows: dict[str, dict[str, Any]] = {}
        asked = req.file_ids if req.file_ids is not None else [item.file_id for item in req.files or []]
        await enforce_indexing(self.ctx.db, self.ctx.settings, list(dict.fromkeys(asked)))
        async with self.ctx.db.write() as conn:
            store = await get_store(conn, store_id)
            if req.file_ids is not None:
                for i, file_id in enumerate(req.file_ids):
                    await require_file(conn, file_id, f"file_ids[{i}]")
                    rows[file_id] = file_row(store_id, file_id, default, req.attributes, batch_id, ts)
            for i, item in enumerate(req.files or []):
                await require_file(conn, item.file_id, f"files[{i}].file_id")
                spec = ChunkingSpec.from_json(dump(item.chunking_strategy) if item.chunking_strategy else None)
                rows[item.file_id] = file_row(store_id, item.file_id, spec, item.attributes, batch_id, ts)
            batch = FileBatchRecord(batch_id, store_id, ts, False)
            await vs.batches.insert(
                conn, {"id": batch_id, "vector_store_id": store_id, "created_at": ts, "cancelled": False}
            )
            await vs.put_files(conn, list(rows.values()))
            if vs.stale(store, now()):
                await vs.touch(conn, store, now())
            out = await self._batch_wire(conn, batch)
        self.retrieval.worker.notify()
        return out

    async def retrieve_file_batch(self, store_id: str, batch_id: str) -> WireObject:
        async with self.ctx.db.read() as conn:
            return await self._batch_wire(conn, await self._batch(conn, store_id, batch_id))

    async def cancel_file_batch(self, store_id: str, batch_id: str) -> WireObject:
        async with self.ctx.db.write() as conn:
            batch = await self._batch(conn, store_id, batch_id)
            counts = await vs.batch_counts(conn, batch_id)
            if counts.in_progress:
                await vs.cancel_batch(conn, batch_id)
                batch = await self._batch(conn, store_id, batch_id)
            return await self._batch_wire(conn, batch)

    async def list_file_batch_files(
        self, store_id: str, batch_id: str, page: PageParams, status: str | None
    ) -> WireObject:
        _check_filter(status)
        async with self.ctx.db.read() as conn:
            await self._batch(conn, store_id, batch_id)
            records, has_more = await vs.page_files(conn, store_id, page, status, batch_id)
        return list_page([file_to_wire(r) for r in records], has_more)
