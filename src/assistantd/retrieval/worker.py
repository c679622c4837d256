"""The ingestion worker: advances vector-store files from ``in_progress`` to ``completed`` or ``failed``.

The queue is the ``vector_store_files`` table itself (status ``in_progress``, oldest first), so files
attached before a restart are ingested after it. ``notify()`` wakes the worker at once; it also polls,
because attachments made inside other services' transactions (message attachments, tool_resources
helpers) do not call it. A file's status is written only if its attachment is still the one that was
ingested (same ``seq``, still ``in_progress``); otherwise (detached, cancelled or re-attached meanwhile)
the chunks it wrote are removed again.

Files are claimed with a lease (``lease_owner``/``lease_until``), renewed while they are ingested, so
several processes on one PostgreSQL database share the queue and each file is ingested once; a file whose
worker died is claimed again when its lease lapses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time

from assistantd.observability import metrics
from assistantd.retrieval.chunking import ChunkingSpec
from assistantd.retrieval.embedders import Embedder, EmbeddingError
from assistantd.retrieval.extract import HEAD_BYTES, ExtractError, check_blob
from assistantd.retrieval.index import SearchIndex
from assistantd.retrieval.ingest import ingest, read_blob
from assistantd.store import repos
from assistantd.store import vector_stores as vs
from assistantd.store.blobs import BlobStore
from assistantd.store.db import Database
from assistantd.store.records import VectorStoreFileRecord

log = logging.getLogger("assistantd.ingest")

POLL_SECONDS = 0.5
LEASE_SECONDS = 30.0
"""How long a claim holds without renewal: a dead worker's files are taken over after this."""
RENEW_SECONDS = 5.0
GC_SECONDS = 60.0
"""How often chunks of detached files are dropped (a File deleted through /v1/files detaches it from its
stores by cascade, without telling the index)."""


class IngestWorker:
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        index: SearchIndex,
        embedder: Embedder | None,
        concurrency: int,
        *,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.db = db
        self.lease_seconds = lease_seconds
        self.blobs = blobs
        self.index = index
        self.embedder = embedder
        self.concurrency = max(1, concurrency)
        self._wake = asyncio.Event()
        self._active: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._seqs: dict[tuple[str, str], int] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._renew_task: asyncio.Task[None] | None = None
        self.owner = f"i_{secrets.token_hex(6)}"

    def notify(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        if self.db.is_sqlite:
            async with self.db.write() as conn:
                await vs.release_files(conn)  # one process owns a SQLite database: the leases are a dead one's
        await self.collect_garbage()
        self._loop_task = asyncio.create_task(self._run(), name="ingest-worker")
        self._renew_task = asyncio.create_task(self._renew(), name="ingest-leases")

    async def stop(self) -> None:
        tasks = [t for t in (self._loop_task, self._renew_task, *self._active.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._active.clear()
        self._seqs.clear()
        with contextlib.suppress(Exception):  # another process takes the files over at once
            async with self.db.write() as conn:
                await vs.release_files(conn, self.owner)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(min(RENEW_SECONDS, self.lease_seconds / 6))
            seqs = list(self._seqs.values())
            if not seqs:
                continue
            try:
                async with self.db.write() as conn:
                    await vs.renew_files(conn, self.owner, seqs, time.time() + self.lease_seconds)
            except Exception:
                log.exception("renewing ingestion leases failed")

    async def collect_garbage(self) -> None:
        """Drop indexed chunks of files no longer attached (deleted while the server was down, or with
        their File, which removes the attachment by cascade)."""
        async with self.db.read() as conn:
            attached = await vs.attached_pairs(conn)
        for store_id, file_id in await self.index.indexed() - attached:
            await self.index.delete(store_id, file_id)

    async def _run(self) -> None:
        collected = time.monotonic()
        while True:
            try:
                await self._fill()
                if time.monotonic() - collected > GC_SECONDS:
                    collected = time.monotonic()
                    await self.collect_garbage()
            except Exception:
                log.exception("ingestion queue scan failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
            self._wake.clear()

    async def _fill(self) -> None:
        free = self.concurrency - len(self._active)
        if free <= 0:
            return
        async with self.db.write() as conn:
            claimed = await vs.claim_files(conn, self.owner, time.time(), self.lease_seconds, free)
        for record in claimed:
            key = (record.vector_store_id, record.file_id)
            if key in self._active:
                # Re-attached while its previous attachment is still being ingested here: that task drops
                # its chunks when it sees the newer seq; take this one on the next scan.
                async with self.db.write() as conn:
                    await vs.renew_files(conn, self.owner, [record.seq], 0.0)
                continue
            self._seqs[key] = record.seq
            self._active[key] = asyncio.create_task(self._guarded(key, record))

    async def _guarded(self, key: tuple[str, str], record: VectorStoreFileRecord) -> None:
        try:
            await self._process(record)
        except Exception:
            log.exception("ingesting %s into %s crashed", record.file_id, record.vector_store_id)
            await self._finish(
                record, "failed", {"code": "server_error", "message": "The server failed to ingest the file."}
            )
        finally:
            self._active.pop(key, None)
            self._seqs.pop(key, None)
            self._wake.set()

    async def _process(self, record: VectorStoreFileRecord) -> None:
        async with self.db.read() as conn:
            file = await repos.files.get(conn, record.file_id)
        if file is None:
            await self._finish(record, "failed", {"code": "invalid_file", "message": "The file was deleted."})
            return
        try:
            # Refused from its size and first bytes, a huge file is never read whole.
            head = await self._head(file.blob_key, file.bytes)
            await asyncio.to_thread(check_blob, file.bytes, head, file.filename)
            data = await read_blob(self.blobs, file.blob_key)
            result = await ingest(
                data,
                filename=file.filename,
                store_id=record.vector_store_id,
                file_id=record.file_id,
                attributes=record.attributes or {},
                spec=ChunkingSpec.from_json(record.chunking_strategy),
                index=self.index,
                embedder=self.embedder,
            )
        except ExtractError as exc:
            await self._finish(record, "failed", {"code": exc.code, "message": str(exc)})
            return
        except EmbeddingError as exc:
            log.warning("embedding %s failed: %s", record.file_id, exc)
            await self._finish(record, "failed", {"code": "server_error", "message": str(exc)})
            return
        except FileNotFoundError:
            await self._finish(record, "failed", {"code": "invalid_file", "message": "The file's bytes are missing."})
            return
        await self._finish(record, "completed", None, result.usage_bytes, chunks=result.chunks)

    async def _head(self, key: str, size: int) -> bytes:
        """The first ``HEAD_BYTES`` of a blob bigger than that (b"" for a smaller one: it is read whole)."""
        if size <= HEAD_BYTES:
            return b""
        head = bytearray()
        stream = self.blobs.open(key)
        try:
            async for chunk in stream:
                head += chunk
                if len(head) >= HEAD_BYTES:
                    break
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
        return bytes(head[:HEAD_BYTES])

    async def _finish(
        self,
        record: VectorStoreFileRecord,
        status: str,
        error: dict[str, str] | None,
        usage_bytes: int = 0,
        *,
        chunks: int = 0,
    ) -> None:
        metrics.current().ingested(status, chunks)
        values = {"status": status, "last_error": error, "usage_bytes": usage_bytes}
        async with self.db.write() as conn:
            mine = await vs.update_file(conn, record.vector_store_id, record.file_id, values, seq=record.seq)
        if not mine or status != "completed":
            # Detached, cancelled or re-attached while we worked (or failed): leave no chunks behind. A
            # newer attachment of the same file waits for this task, then indexes it again.
            await self.index.delete(record.vector_store_id, record.file_id)
