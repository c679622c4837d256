"""Messages: create, list (with the run_id filter), retrieve, modify, delete."""

from __future__ import annotations

from typing import Any

from assistantd.errors import InvalidRequest
from assistantd.ids import new_id
from assistantd.organization.limits import enforce_indexing
from assistantd.retrieval.chunking import ChunkingSpec
from assistantd.services._context import Context, WireObject, now
from assistantd.services._refs import check_id, indexed_file_ids, missing, require_file
from assistantd.services.runs_guard import ensure_no_active_run
from assistantd.store import repos, vector_stores
from assistantd.store._crud import PageParams
from assistantd.store.db import Conn
from assistantd.store.records import MessageRecord, ThreadRecord
from assistantd.wire.common import deleted, dump, list_page
from assistantd.wire.messages import MessageCreate, MessageModify

MAX_CODE_INTERPRETER_FILES = 20


def to_wire(m: MessageRecord) -> WireObject:
    """``openai.types.beta.threads.Message``."""
    return {
        "id": m.id,
        "object": "thread.message",
        "created_at": m.created_at,
        "thread_id": m.thread_id,
        "status": m.status,
        "incomplete_details": m.incomplete_details,
        "completed_at": m.completed_at,
        "incomplete_at": m.incomplete_at,
        "role": m.role,
        "content": m.content,
        "assistant_id": m.assistant_id,
        "run_id": m.run_id,
        "attachments": m.attachments or [],
        "metadata": m.metadata or {},
    }


def text_part(value: str) -> dict[str, Any]:
    return {"type": "text", "text": {"value": value, "annotations": []}}


async def _content_json(conn: Conn, req: MessageCreate, param: str) -> list[Any]:
    if isinstance(req.content, str):
        return [text_part(req.content)]
    out: list[Any] = []
    for i, part in enumerate(req.content):
        if part.type == "text":
            out.append(text_part(part.text))
        elif part.type == "image_file":
            await require_file(conn, part.image_file.file_id, f"{param}[{i}].image_file.file_id")
            out.append(dump(part))
        else:
            out.append(dump(part))
    return out


async def new_message_values(
    conn: Conn,
    thread: ThreadRecord,
    req: MessageCreate,
    param: str = "",
    *,
    created_at: int | None = None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Validate one CreateMessageRequest; returns the row values and the thread's updated tool_resources
    (``None`` when the attachments leave them unchanged)."""
    prefix = f"{param}." if param else ""
    content = await _content_json(conn, req, f"{prefix}content")
    attachments: list[Any] = []
    resources = dict(thread.tool_resources or {})
    ci_files = list((resources.get("code_interpreter") or {}).get("file_ids") or [])
    changed = False
    for i, att in enumerate(req.attachments or []):
        await require_file(conn, att.file_id, f"{prefix}attachments[{i}].file_id")
        tools = [t.model_dump() for t in att.tools or []]
        attachments.append({"file_id": att.file_id, "tools": tools})
        if any(t["type"] == "code_interpreter" for t in tools) and att.file_id not in ci_files:
            ci_files.append(att.file_id)
            changed = True
        if any(t["type"] == "file_search" for t in tools):
            changed = await attach_to_thread_store(conn, resources, att.file_id) or changed
    if len(ci_files) > MAX_CODE_INTERPRETER_FILES:
        raise InvalidRequest(
            f"A thread can have at most {MAX_CODE_INTERPRETER_FILES} code_interpreter files; these "
            f"attachments would make {len(ci_files)}.",
            param=f"{prefix}attachments",
        )
    if changed:
        resources["code_interpreter"] = {"file_ids": ci_files}
    ts = now() if created_at is None else created_at
    values = {
        "id": new_id("message"),
        "thread_id": thread.id,
        "created_at": ts,
        "role": req.role,
        "status": "completed",
        "content": content,
        "assistant_id": None,
        "run_id": None,
        "attachments": attachments,
        "metadata": req.metadata or {},
        "incomplete_details": None,
        "completed_at": ts,
        "incomplete_at": None,
    }
    return values, (resources if changed else None)


async def attach_to_thread_store(conn: Conn, resources: dict[str, Any], file_id: str) -> bool:
    """Add a ``file_search`` attachment to the thread's vector store, creating the store (expiring 7 days
    after its last use) when the thread has none. Updates ``resources``; True when it changed."""
    from assistantd.services.vector_stores import THREAD_STORE_EXPIRY, file_row, insert_store

    ids = list((resources.get("file_search") or {}).get("vector_store_ids") or [])
    store = await vector_stores.stores.get(conn, ids[0]) if ids else None
    changed = False
    if store is None:
        store = await insert_store(conn, expires_after=dict(THREAD_STORE_EXPIRY))
        resources["file_search"] = {"vector_store_ids": [store.id]}
        changed = True
    if await vector_stores.get_file(conn, store.id, file_id) is None:
        await vector_stores.put_files(conn, [file_row(store.id, file_id, ChunkingSpec(), None, None, now())])
    return changed


class Messages:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def _thread(self, conn: Conn, thread_id: str) -> ThreadRecord:
        thread = await repos.threads.get(conn, thread_id)
        if thread is None:
            raise missing("thread", thread_id)
        return thread

    async def create_message(self, thread_id: str, req: MessageCreate) -> WireObject:
        check_id("thread", thread_id, "thread_id")
        await enforce_indexing(self.ctx.db, self.ctx.settings, indexed_file_ids(messages=[req]))
        async with self.ctx.db.write() as conn:
            thread = await self._thread(conn, thread_id)
            await ensure_no_active_run(conn, thread_id, for_message=True)
            values, resources = await new_message_values(conn, thread, req)
            await repos.messages.insert(conn, values)
            if resources is not None:
                await repos.threads.update(conn, thread_id, {"tool_resources": resources})
        return to_wire(MessageRecord(**values))

    async def list_messages(self, thread_id: str, page: PageParams, run_id: str | None) -> WireObject:
        check_id("thread", thread_id, "thread_id")
        where: dict[str, str] = {"thread_id": thread_id, "type": "message"}
        if run_id is not None:
            where["run_id"] = run_id
        async with self.ctx.db.read() as conn:
            records, has_more = await repos.messages.page(conn, page, where)
            if not records:
                await self._thread(conn, thread_id)
        return list_page([to_wire(r) for r in records], has_more)

    async def _get(self, conn: Conn, thread_id: str, message_id: str) -> MessageRecord:
        check_id("thread", thread_id, "thread_id")
        check_id("message", message_id, "message_id")
        record = await repos.messages.get(conn, message_id)
        if record is None or record.thread_id != thread_id or record.type != "message":
            await self._thread(conn, thread_id)
            raise missing("message", message_id)
        return record

    async def retrieve_message(self, thread_id: str, message_id: str) -> WireObject:
        async with self.ctx.db.read() as conn:
            return to_wire(await self._get(conn, thread_id, message_id))

    async def modify_message(self, thread_id: str, message_id: str, req: MessageModify) -> WireObject:
        async with self.ctx.db.write() as conn:
            record = await self._get(conn, thread_id, message_id)
            if "metadata" in req.model_fields_set:
                await repos.messages.update(conn, message_id, {"metadata": req.metadata or {}})
                record = await self._get(conn, thread_id, message_id)
        return to_wire(record)

    async def delete_message(self, thread_id: str, message_id: str) -> WireObject:
        async with self.ctx.db.write() as conn:
            await self._get(conn, thread_id, message_id)
            await repos.messages.delete(conn, message_id)
        return deleted(message_id, "thread.message.deleted")
