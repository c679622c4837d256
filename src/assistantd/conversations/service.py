"""Conversations: create, retrieve, update, delete, list (our extension); items create, list, retrieve,
delete. A conversation is a thread (one row, one id): ``conv_`` and ``thread_`` ids name the same kind of
object, whichever API made it, and its items are the thread's log (``store/conversation_items.py``).

Deleting a conversation keeps its items, as OpenAI does, but neither API finds it again; deleting a thread
through the Assistants API removes it with its messages and runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from assistantd.errors import InvalidRequest, NotFound
from assistantd.ids import new_id
from assistantd.responses import protocol as rp
from assistantd.responses._entries import ItemReference
from assistantd.responses.render import item_json
from assistantd.responses.service import named_files, stored_entries, stored_json
from assistantd.services._context import Context, WireObject, now
from assistantd.services.message_items import log_item, message_item, row_values
from assistantd.store import conversation_items as log
from assistantd.store import repos
from assistantd.store import responses as codec
from assistantd.store._crud import PageParams
from assistantd.store.db import Conn
from assistantd.store.records import MessageRecord, ThreadRecord
from assistantd.wire.common import list_page

from .lookup import get_conversation
from .protocol import ConversationCreate, ConversationUpdate, ItemsCreate


def conversation_json(t: ThreadRecord) -> WireObject:
    """``openai.types.conversations.Conversation``."""
    return {"id": t.id, "object": "conversation", "created_at": t.created_at, "metadata": t.metadata or {}}


async def new_rows(
    conn: Conn, conversation_id: str, entries: Sequence[codec.StoredItem], ts: int, param: str = "items"
) -> list[dict[str, Any]]:
    """Rows for items a client adds: ids must be new (within the request, the conversation and the server)."""
    seen: set[str] = set()
    for i, s in enumerate(entries):
        if s.id in seen:
            raise InvalidRequest(f"Duplicate item id '{s.id}' in '{param}'.", param=f"{param}[{i}].id")
        seen.add(s.id)
    taken = await log.existing_ids(conn, seen)
    for i, s in enumerate(entries):
        if s.id in taken:
            where = "this conversation" if taken[s.id] == conversation_id else "another conversation"
            raise InvalidRequest(
                f"An item with id '{s.id}' already exists in {where}; item ids are unique.",
                param=f"{param}[{i}].id",
            )
    return [row_values(conversation_id, s, ts) for s in entries]


def _matches(t: ThreadRecord, metadata: Mapping[str, str]) -> bool:
    return all((t.metadata or {}).get(k) == v for k, v in metadata.items())


def _item_json(record: MessageRecord, include: Sequence[str]) -> dict[str, Any]:
    if record.type == "message":
        return item_json(message_item(record), include)
    return stored_json(log_item(record), include)


class Conversations:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def _entries(self, conn: Conn, raw: list[Any] | None, param: str = "items") -> list[codec.StoredItem]:
        if not raw:
            return []
        entries = rp.to_entries(raw)
        for i, entry in enumerate(entries):
            if isinstance(entry, ItemReference):
                raise InvalidRequest(
                    "An 'item_reference' cannot be added to a conversation: add the item itself.",
                    param=f"{param}[{i}]",
                )
        return stored_entries(await named_files(conn, entries), [])

    # --- conversations -------------------------------------------------------------------------------

    async def create(self, req: ConversationCreate) -> WireObject:
        ts = now()
        thread = ThreadRecord(new_id("conversation"), ts, {}, req.metadata or {})
        async with self.ctx.db.write() as conn:
            entries = await self._entries(conn, req.items)
            rows = await new_rows(conn, thread.id, entries, ts)
            await repos.threads.insert(
                conn,
                {"id": thread.id, "created_at": ts, "tool_resources": {}, "metadata": thread.metadata},
            )
            await log.append(conn, rows)
        return conversation_json(thread)

    async def retrieve(self, conversation_id: str) -> WireObject:
        async with self.ctx.db.read() as conn:
            return conversation_json(await get_conversation(conn, conversation_id))

    async def update(self, conversation_id: str, req: ConversationUpdate) -> WireObject:
        async with self.ctx.db.write() as conn:
            thread = await get_conversation(conn, conversation_id)
            await repos.threads.update(conn, conversation_id, {"metadata": req.metadata or {}})
        return conversation_json(dataclasses.replace(thread, metadata=req.metadata or {}))

    async def delete(self, conversation_id: str) -> WireObject:
        async with self.ctx.db.write() as conn:
            await get_conversation(conn, conversation_id)
            await repos.threads.update(conn, conversation_id, {"deleted_at": now()})
        return {"id": conversation_id, "object": "conversation.deleted", "deleted": True}

    async def list(self, page: PageParams, metadata: Mapping[str, str]) -> WireObject:
        """Our extension (OpenAI cannot list conversations): newest first, filtered by exact metadata values.
        Threads made through the Assistants API are conversations too and are listed."""
        out: list[ThreadRecord] = []
        has_more = False
        cursor = page if page.before is not None else dataclasses.replace(page, limit=max(page.limit, 100))
        async with self.ctx.db.read() as conn:
            while True:
                batch, more = await repos.threads.page(conn, cursor)
                kept = [t for t in batch if t.deleted_at is None and _matches(t, metadata)]
                out.extend(kept)
                if len(out) > page.limit:
                    out, has_more = out[: page.limit], True
                    break
                if page.before is not None or not more or not batch:
                    has_more = has_more or (page.before is not None and more)
                    break
                cursor = dataclasses.replace(cursor, after=batch[-1].id)
        data = [conversation_json(t) for t in out]
        return list_page(data, has_more)

    # --- items ---------------------------------------------------------------------------------------

    async def create_items(self, conversation_id: str, req: ItemsCreate, include: Sequence[str]) -> WireObject:
        ts = now()
        async with self.ctx.db.write() as conn:
            await get_conversation(conn, conversation_id)
            entries = await self._entries(conn, req.items)
            rows = await new_rows(conn, conversation_id, entries, ts)
            await log.append(conn, rows)
        data = [stored_json(s, include) for s in entries]
        return list_page(data, False)

    async def list_items(self, conversation_id: str, page: PageParams, include: Sequence[str]) -> WireObject:
        async with self.ctx.db.read() as conn:
            await get_conversation(conn, conversation_id)
            records, has_more = await repos.messages.page(conn, page, {"thread_id": conversation_id})
        data = [_item_json(r, include) for r in records]
        return list_page(data, has_more)

    async def _item(self, conn: Conn, conversation_id: str, item_id: str) -> MessageRecord:
        await get_conversation(conn, conversation_id)
        record = await repos.messages.get(conn, item_id)
        if record is None or record.thread_id != conversation_id:
            raise NotFound(f"Item with id '{item_id}' not found.", param="item_id")
        return record

    async def retrieve_item(self, conversation_id: str, item_id: str, include: Sequence[str]) -> WireObject:
        async with self.ctx.db.read() as conn:
            return _item_json(await self._item(conn, conversation_id, item_id), include)

    async def delete_item(self, conversation_id: str, item_id: str) -> WireObject:
        async with self.ctx.db.write() as conn:
            await self._item(conn, conversation_id, item_id)
            await repos.messages.delete(conn, item_id)
            thread = await get_conversation(conn, conversation_id)
        return conversation_json(thread)
