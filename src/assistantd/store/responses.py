"""Responses' items and stream events: queries, and the JSON form neutral items are stored in.

A response is a run record of kind ``response``; its input and output items are rows of
``response_items`` in order, each holding a neutral item (``assistantd.items``) as JSON, or a foreign item
a client sent (kept as it was sent, never shown to the model). The context of a response is its
ancestors' items along ``previous_response_id``, oldest first, then its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, insert, select

from assistantd import items
from assistantd.store.db import Conn
from assistantd.store.tables import ResponseEventRow, ResponseItemRow, RunEventRow, RunRow

_TYPES: dict[str, type[Any]] = {
    "message": items.MessageItem,
    "function_call": items.FunctionCallItem,
    "function_call_output": items.FunctionOutputItem,
    "file_search_call": items.FileSearchCallItem,
    "code_interpreter_call": items.CodeInterpreterCallItem,
    "reasoning": items.ReasoningItem,
    "mcp_call": items.McpCallItem,
    "mcp_list_tools": items.McpListToolsItem,
    "mcp_approval_request": items.McpApprovalRequestItem,
    "mcp_approval_response": items.McpApprovalResponseItem,
    "compaction": items.CompactionItem,
}
_PARTS: dict[str, type[Any]] = {
    "text": items.TextPart,
    "image": items.ImagePart,
    "file": items.FilePart,
    "refusal": items.RefusalPart,
}
_PART_NAMES = {cls: name for name, cls in _PARTS.items()}
FOREIGN = "foreign"
"""``data["kind"]`` of an item a client sent that no tool here makes: ``{"kind": "foreign", "raw": {...}}``."""


def item_data(item: items.Item) -> dict[str, Any]:
    """A neutral item as JSON (``dataclasses.asdict``, with each content part tagged by its kind)."""
    data = dataclasses.asdict(item)
    if isinstance(item, items.MessageItem):
        data["parts"] = [{"kind": _PART_NAMES[type(p)], **dataclasses.asdict(p)} for p in item.parts]
    return data


def item_of(data: dict[str, Any]) -> items.Item:
    """The inverse of ``item_data``."""
    kind = data["type"]
    fields = {k: v for k, v in data.items() if k != "type"}
    if kind == "message":
        fields["parts"] = tuple(_part(p) for p in fields["parts"])
    elif kind == "file_search_call":
        fields["queries"] = tuple(fields["queries"])
        fields["results"] = tuple(items.SearchResult(**r) for r in fields["results"])
    elif kind == "code_interpreter_call":
        fields["outputs"] = tuple(items.CodeOutput(**o) for o in fields["outputs"])
    elif kind == "reasoning":
        fields["summary"] = tuple(fields["summary"])
    elif kind == "mcp_list_tools":
        fields["tools"] = tuple(
            items.McpToolAnnotated(**t) if "annotations" in t else items.McpTool(**t) for t in fields["tools"]
        )
    item: items.Item = _TYPES[kind](**fields)
    return item


def _part(data: dict[str, Any]) -> items.Part:
    fields = {k: v for k, v in data.items() if k != "kind"}
    if data["kind"] == "text":
        fields["citations"] = tuple(items.Citation(**c) for c in fields.get("citations") or ())
        fields["logprobs"] = tuple(fields.get("logprobs") or ())
    part: items.Part = _PARTS[data["kind"]](**fields)
    return part


@dataclasses.dataclass(frozen=True, slots=True)
class StoredItem:
    id: str
    role: str
    """``input`` or ``output``."""
    type: str
    data: dict[str, Any]
    tokens: int | None = None
    """Its prompt tokens as counted once before (conversation items keep theirs), or None."""
    parsed: items.Item | None = dataclasses.field(default=None, compare=False, repr=False)
    """The neutral item when whoever made this already had it (so reading a long log parses each row once)."""

    @property
    def item(self) -> items.Item | None:
        """The neutral item, or None for a foreign one."""
        if self.parsed is not None:
            return self.parsed
        return None if self.data.get("kind") == FOREIGN else item_of(self.data)


_ITEMS = (
    select(ResponseItemRow.id, ResponseItemRow.role, ResponseItemRow.type, ResponseItemRow.data)
    .where(ResponseItemRow.response_id == bindparam("response_id"))
    .order_by(ResponseItemRow.seq)
)
_PARENT = select(RunRow.options).where(RunRow.id == bindparam("id"), RunRow.kind == "response")


async def add_items(conn: Conn, response_id: str, role: str, stored: Sequence[StoredItem], now: int) -> None:
    if not stored:
        return
    await conn.execute(
        insert(ResponseItemRow),
        [
            {"id": s.id, "response_id": response_id, "role": role, "type": s.type, "data": s.data, "created_at": now}
            for s in stored
        ],
    )


async def items_of(conn: Conn, response_id: str) -> list[StoredItem]:
    rows = (await conn.execute(_ITEMS, {"response_id": response_id})).all()
    return [StoredItem(r.id, r.role, r.type, r.data) for r in rows]


async def chain(conn: Conn, response_id: str) -> list[str]:
    """``response_id`` and its ancestors along ``previous_response_id``, oldest first."""
    ids: list[str] = []
    current: str | None = response_id
    while current is not None and current not in ids:
        options = (await conn.execute(_PARENT, {"id": current})).scalar()
        if options is None and current != response_id:
            break  # a deleted ancestor ends the chain
        ids.append(current)
        current = (options or {}).get("previous_response_id")
    return ids[::-1]


async def context_items(conn: Conn, response_id: str) -> list[StoredItem]:
    """Every item the response's model sees: its ancestors' inputs and outputs, then its own."""
    out: list[StoredItem] = []
    for rid in await chain(conn, response_id):
        out.extend(await items_of(conn, rid))
    return out


async def add_events(conn: Conn, response_id: str, events: Sequence[dict[str, Any]]) -> None:
    if events:
        await conn.execute(
            insert(ResponseEventRow),
            [{"response_id": response_id, "sequence_number": e["sequence_number"], "data": e} for e in events],
        )


async def events_of(conn: Conn, response_id: str, after: int = -1) -> list[dict[str, Any]]:
    stmt = (
        select(ResponseEventRow.data)
        .where(ResponseEventRow.response_id == response_id, ResponseEventRow.sequence_number > after)
        .order_by(ResponseEventRow.sequence_number)
    )
    return [row.data for row in (await conn.execute(stmt)).all()]


async def last_sequence_number(conn: Conn, response_id: str) -> int | None:
    """The ``sequence_number`` of the last event a response sent (stored for a background one, or followed
    from another process), if any: a resumed response numbers its events on from it."""
    kept = (
        select(ResponseEventRow.sequence_number)
        .where(ResponseEventRow.response_id == response_id)
        .order_by(ResponseEventRow.sequence_number.desc())
        .limit(1)
    )
    # The last few events written (the very last may be one without a number, such as a stream's end).
    sent = select(RunEventRow.data).where(RunEventRow.run_id == response_id).order_by(RunEventRow.seq.desc()).limit(5)
    found = [n for n in [(await conn.execute(kept)).scalar()] if n is not None]
    found += [d["sequence_number"] for d in (await conn.execute(sent)).scalars() if "sequence_number" in d]
    return max(found, default=None)


async def delete_response(conn: Conn, response_id: str) -> None:
    await conn.execute(delete(ResponseEventRow).where(ResponseEventRow.response_id == response_id))
    await conn.execute(delete(ResponseItemRow).where(ResponseItemRow.response_id == response_id))
    await conn.execute(delete(RunRow).where(RunRow.id == response_id))
