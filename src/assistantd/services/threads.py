"""Threads: create (with messages and tool_resources), retrieve, modify, delete."""

from __future__ import annotations

from typing import Any

from assistantd.errors import InvalidRequest
from assistantd.ids import new_id
from assistantd.organization.limits import enforce_indexing
from assistantd.services._context import Context, WireObject, now
from assistantd.services._refs import check_id, indexed_file_ids, missing, tool_resources_json
from assistantd.services.messages import MAX_CODE_INTERPRETER_FILES, new_message_values
from assistantd.store import repos
from assistantd.store.db import Conn
from assistantd.store.records import ThreadRecord
from assistantd.wire.common import ToolResources, deleted
from assistantd.wire.threads import ThreadCreate, ThreadModify


def to_wire(t: ThreadRecord) -> WireObject:
    """``openai.types.beta.Thread``."""
    return {
        "id": t.id,
        "object": "thread",
        "created_at": t.created_at,
        "tool_resources": t.tool_resources or {},
        "metadata": t.metadata or {},
    }


async def insert_thread(
    conn: Conn, req: ThreadCreate, param: str = "", *, run_resources: ToolResources | None = None
) -> ThreadRecord:
    """Create a thread and its initial messages in the caller's transaction (also used by create-and-run,
    whose top-level ``run_resources`` join the thread's own). The messages' attachments add to them."""
    prefix = f"{param}." if param else ""
    resources = await tool_resources_json(conn, _resources(req.tool_resources), f"{prefix}tool_resources")
    if run_resources is not None:
        resources = merge_resources(resources, await tool_resources_json(conn, _resources(run_resources)))
    thread = ThreadRecord(id=new_id("thread"), created_at=now(), tool_resources=resources, metadata=req.metadata or {})
    rows = []
    for i, message in enumerate(req.messages or []):
        values, changed = await new_message_values(conn, thread, message, f"{prefix}messages[{i}]")
        rows.append(values)
        if changed is not None:
            thread = ThreadRecord(thread.id, thread.created_at, changed, thread.metadata)
    await repos.threads.insert(
        conn,
        {
            "id": thread.id,
            "created_at": thread.created_at,
            "tool_resources": thread.tool_resources,
            "metadata": thread.metadata,
        },
    )
    for values in rows:
        await repos.messages.insert(conn, values)
    return thread


def merge_resources(first: dict[str, Any], second: dict[str, Any], param: str = "tool_resources") -> dict[str, Any]:
    """Both sets of (validated) tool_resources: the files of both, and the one vector store a thread may
    have (two different ones are a 400)."""
    files = [
        *(first.get("code_interpreter") or {}).get("file_ids", []),
        *(second.get("code_interpreter") or {}).get("file_ids", []),
    ]
    stores = [
        *(first.get("file_search") or {}).get("vector_store_ids", []),
        *(second.get("file_search") or {}).get("vector_store_ids", []),
    ]
    files, stores = list(dict.fromkeys(files)), list(dict.fromkeys(stores))
    if len(files) > MAX_CODE_INTERPRETER_FILES:
        raise InvalidRequest(
            f"A thread can have at most {MAX_CODE_INTERPRETER_FILES} code_interpreter files; these tool_resources "
            f"would make {len(files)}.",
            param=f"{param}.code_interpreter.file_ids",
        )
    if len(stores) > 1:
        raise InvalidRequest(
            f"A thread can have at most 1 vector store; the thread's and the run's tool_resources name {len(stores)}.",
            param=f"{param}.file_search.vector_store_ids",
        )
    out: dict[str, Any] = {}
    if "code_interpreter" in first or "code_interpreter" in second:
        out["code_interpreter"] = {"file_ids": files}
    if "file_search" in first or "file_search" in second:
        out["file_search"] = {"vector_store_ids": stores}
    return out


def _resources(value: ToolResources | None) -> dict[str, Any] | None:
    return value.model_dump(exclude_none=True) if value else None


class Threads:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def create_thread(self, req: ThreadCreate) -> WireObject:
        files = indexed_file_ids(req.tool_resources, req.messages or [])
        await enforce_indexing(self.ctx.db, self.ctx.settings, files)
        async with self.ctx.db.write() as conn:
            thread = await insert_thread(conn, req)
        return to_wire(thread)

    async def get_record(self, conn: Conn, thread_id: str) -> ThreadRecord:
        check_id("thread", thread_id, "thread_id")
        thread = await repos.threads.get(conn, thread_id)
        if thread is None:
            raise missing("thread", thread_id)
        return thread

    async def retrieve_thread(self, thread_id: str) -> WireObject:
        async with self.ctx.db.read() as conn:
            return to_wire(await self.get_record(conn, thread_id))

    async def modify_thread(self, thread_id: str, req: ThreadModify) -> WireObject:
        await enforce_indexing(self.ctx.db, self.ctx.settings, indexed_file_ids(req.tool_resources))
        async with self.ctx.db.write() as conn:
            thread = await self.get_record(conn, thread_id)
            values: dict[str, Any] = {}
            if "metadata" in req.model_fields_set:
                values["metadata"] = req.metadata or {}
            if "tool_resources" in req.model_fields_set:
                values["tool_resources"] = await tool_resources_json(conn, _resources(req.tool_resources))
            if values:
                await repos.threads.update(conn, thread_id, values)
                thread = await self.get_record(conn, thread_id)
        return to_wire(thread)

    async def delete_thread(self, thread_id: str) -> WireObject:
        check_id("thread", thread_id, "thread_id")
        async with self.ctx.db.write() as conn:
            # Messages, runs and run steps go with it (ON DELETE CASCADE).
            if not await repos.threads.delete(conn, thread_id):
                raise missing("thread", thread_id)
        return deleted(thread_id, "thread.deleted")
