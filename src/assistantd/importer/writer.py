"""Writing one checked object through the store, in its own transaction, keeping its ID and timestamps.

An object whose ID exists already is skipped, never overwritten (``Skip``, status ``present``), so an
import can be run again. Everything an object holds is written in one transaction: a thread and its
messages together, a vector store and its attachments together; a ``Skip`` raised inside rolls it back
whole. References to files or vector stores the database does not hold are dropped, each with a note
(the server keeps every reference pointing at an existing object: deleting a File detaches it too).

A vector store's files are attached ``in_progress``, as the vector-store service attaches them: the
server's ingestion worker (it polls its queue, so a running server takes them at once; a stopped one on
its next start) extracts, chunks and embeds them again from the imported bytes.
"""

from __future__ import annotations

import base64
import binascii
import io
from pathlib import Path
from typing import Any, BinaryIO, Literal

from assistantd.importer.shapes import (
    AssistantLine,
    FileLine,
    MessageLine,
    ThreadLine,
    ToolResources,
    VectorStoreFileLine,
    VectorStoreLine,
)
from assistantd.retrieval.chunking import ChunkingSpec
from assistantd.services.vector_stores import file_row
from assistantd.store import conversation_items, repos, scope
from assistantd.store import vector_stores as vs
from assistantd.store._crud import Repo
from assistantd.store.blobs import BlobStore
from assistantd.store.db import Conn, Database
from assistantd.wire.common import dump


class Skip(Exception):
    """This object is not imported; raised inside its transaction, so nothing of it is written."""

    def __init__(self, status: Literal["present", "invalid"], reason: str = "") -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Writer:
    def __init__(self, db: Database, blobs: BlobStore, files_dir: Path) -> None:
        self.db = db
        self.blobs = blobs
        self.files_dir = files_dir

    # --- files ----------------------------------------------------------------------------------------

    async def file(self, f: FileLine) -> list[str]:
        async with self.db.read() as conn:
            with scope.seeing_every_project():  # IDs are unique across projects
                taken = await repos.files.get(conn, f.id) is not None
            if taken:
                raise Skip("present")
        source, size = self._bytes(f)
        if size != f.bytes:
            source.close()
            raise Skip("invalid", f"its bytes hold {size} bytes, but the file object says {f.bytes}")
        with source:
            await self.blobs.put(f.id, source)
        values: dict[str, Any] = {
            "id": f.id,
            "created_at": f.created_at,
            "bytes": f.bytes,
            "filename": f.filename,
            "purpose": f.purpose,
            "status": f.status,
            "status_details": f.status_details,
            "expires_at": f.expires_at,
            "blob_key": f.id,
        }
        try:
            async with self.db.write() as conn:
                await repos.files.insert(conn, values)
        except BaseException:
            await self.blobs.delete(f.id)
            raise
        return []

    def _bytes(self, f: FileLine) -> tuple[BinaryIO, int]:
        """The file's bytes (from ``content_b64``, else ``files/<id>``) and their size."""
        if f.content_b64 is not None:
            try:
                raw = base64.b64decode(f.content_b64, validate=True)
            except binascii.Error as exc:
                raise Skip("invalid", f"content_b64 is not base64 ({exc})") from None
            return io.BytesIO(raw), len(raw)
        path = self.files_dir / f.id
        try:
            fh = path.open("rb")
        except OSError as exc:
            why = "missing" if isinstance(exc, FileNotFoundError) else f"unreadable ({exc.strerror or exc})"
            raise Skip("invalid", f"its bytes are {why}: no {self.files_dir.name}/{f.id} and no content_b64") from None
        return fh, path.stat().st_size

    # --- vector stores --------------------------------------------------------------------------------

    async def vector_store(self, s: VectorStoreLine) -> list[str]:
        notes: list[str] = []
        attachments = {a.id: a for a in s.files or []}
        for file_id in s.file_ids or []:
            attachments.setdefault(file_id, VectorStoreFileLine(id=file_id))
        last_active = s.last_active_at if s.last_active_at is not None else s.created_at
        expires_after = s.expires_after.model_dump() if s.expires_after else None
        async with self.db.write() as conn:
            with scope.seeing_every_project():
                taken = await vs.stores.get(conn, s.id) is not None
            if taken:
                raise Skip("present")
            rows = []
            for a in attachments.values():
                if await repos.files.get(conn, a.id) is None:
                    notes.append(f"file {a.id} not attached: the database has no such file")
                    continue
                strategy = a.chunking_strategy.model_dump(exclude_none=True) if a.chunking_strategy else None
                created = a.created_at if a.created_at is not None else s.created_at
                rows.append(file_row(s.id, a.id, ChunkingSpec.from_json(strategy), a.attributes, None, created))
            await vs.stores.insert(
                conn,
                {
                    "id": s.id,
                    "created_at": s.created_at,
                    "name": s.name or "",
                    "description": s.description,
                    "metadata": s.metadata or {},
                    "expires_after": expires_after,
                    "expires_at": s.expires_at if s.expires_at is not None else vs.expiry(expires_after, last_active),
                    "last_active_at": last_active,
                },
            )
            await vs.put_files(conn, rows)
        return notes

    # --- assistants -----------------------------------------------------------------------------------

    async def assistant(self, a: AssistantLine) -> list[str]:
        notes: list[str] = []
        async with self.db.write() as conn:
            with scope.seeing_every_project():
                taken = await repos.assistants.get(conn, a.id) is not None
            if taken:
                raise Skip("present")
            fmt = a.response_format
            await repos.assistants.insert(
                conn,
                {
                    "id": a.id,
                    "created_at": a.created_at,
                    "model": a.model,
                    "name": a.name,
                    "description": a.description,
                    "instructions": a.instructions,
                    "tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in a.tools],
                    "tool_resources": await _resources(conn, a.tool_resources, notes),
                    "metadata": a.metadata or {},
                    "temperature": a.temperature,
                    "top_p": a.top_p,
                    "response_format": fmt if isinstance(fmt, str) or fmt is None else dump(fmt),
                    "reasoning_effort": a.reasoning_effort,
                },
            )
        return notes

    # --- threads and their messages -------------------------------------------------------------------

    async def thread(self, t: ThreadLine, messages: list[MessageLine]) -> list[str]:
        """The thread and ``messages`` (oldest first: they are listed in insertion order)."""
        notes: list[str] = []
        async with self.db.write() as conn:
            # The table itself, not ``repos.threads.get``: a thread deleted through the Conversations API is
            # hidden from both APIs but still holds its ID.
            with scope.seeing_every_project():
                existing = await Repo.get(repos.threads, conn, t.id)
            if existing is not None:
                raise Skip("present", "deleted through the Conversations API" if existing.deleted_at else "")
            with scope.seeing_every_project():
                taken = await conversation_items.existing_ids(conn, [m.id for m in messages])
            if taken:
                message_id, other = next(iter(taken.items()))
                raise Skip("invalid", f"its message {message_id} already exists, in thread {other}")
            await repos.threads.insert(
                conn,
                {
                    "id": t.id,
                    "created_at": t.created_at,
                    "tool_resources": await _resources(conn, t.tool_resources, notes),
                    "metadata": t.metadata or {},
                },
            )
            await conversation_items.append(conn, [await _message_values(conn, t.id, m, notes) for m in messages])
        return notes


async def _message_values(conn: Conn, thread_id: str, m: MessageLine, notes: list[str]) -> dict[str, Any]:
    attachments: list[dict[str, Any]] = []
    for a in m.attachments or []:
        if a.file_id is None or await repos.files.get(conn, a.file_id) is None:
            notes.append(f"message {m.id}: attachment of file {a.file_id} dropped: the database has no such file")
            continue
        attachments.append({"file_id": a.file_id, "tools": [tool.model_dump() for tool in a.tools or []]})
    return {
        "id": m.id,
        "thread_id": thread_id,
        "created_at": m.created_at,
        "role": m.role,
        "status": m.status,
        "content": [part.model_dump(mode="json", exclude_none=True) for part in m.content],
        "assistant_id": m.assistant_id,
        "run_id": m.run_id,
        "attachments": attachments,
        "metadata": m.metadata or {},
        "incomplete_details": m.incomplete_details.model_dump() if m.incomplete_details else None,
        "completed_at": m.completed_at,
        "incomplete_at": m.incomplete_at,
        "type": "message",
        "data": None,
    }


async def _resources(conn: Conn, resources: ToolResources | None, notes: list[str]) -> dict[str, Any]:
    """The stored ``tool_resources``: only files and vector stores the database holds."""
    out: dict[str, Any] = {}
    if resources is None:
        return out
    if resources.code_interpreter is not None:
        files = []
        for file_id in dict.fromkeys(resources.code_interpreter.file_ids or []):
            if await repos.files.get(conn, file_id) is None:
                notes.append(f"tool_resources.code_interpreter: file {file_id} dropped: the database has no such file")
            else:
                files.append(file_id)
        out["code_interpreter"] = {"file_ids": files}
    if resources.file_search is not None:
        stores = []
        for store_id in dict.fromkeys(resources.file_search.vector_store_ids or []):
            if await vs.stores.get(conn, store_id) is None:
                notes.append(f"tool_resources.file_search: vector store {store_id} dropped: the database has none such")
            else:
                stores.append(store_id)
        out["file_search"] = {"vector_store_ids": stores}
    return out
