"""Threads: create (with messages and tool_resources), retrieve, modify, delete."""

from __future__ import annotations

from typing import Any

from assistantd.ids import new_id
from assistantd.services._context import Context, WireObject, now
from assistantd.services._refs import check_id, missing, tool_resources_json
from assistantd.services.messages import new_message_values
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


async def insert_thread(conn: Conn, req: ThreadCreate, param: str = "") -> ThreadRecord:
    """Create a thread and its initial messages in the caller's transaction (also used by create-and-run)."""
    prefix = f"{param}." if param else ""
    resources = await tool_resources_json(conn, _resources(req.tool_resources), f"{prefix}tool_resources")
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


def _resources(value: ToolResources | None) -> dict[str, Any] | None:
    return value.model_dump(exclude_none=True) if value else None


class Threads:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def create_thread(self, req: ThreadCreate) -> WireObject:
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
