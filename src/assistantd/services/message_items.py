"""The Assistants view of a conversation's item log, both ways.

A thread is a conversation: its rows (``messages``) are one ordered log of items. A thread message is a
``message`` row whose ``content`` is in the Assistants shape; a response's message also keeps its neutral
item in ``data`` so the Responses view loses nothing (``input_file`` parts, ``developer`` roles). Tool calls
are rows of their own type holding the neutral item. This module converts between the two shapes:
Assistants content parts and annotations ↔ neutral parts and citations (``file_citation`` with
``start_index``/``end_index``/``text`` ↔ ``index``; ``file_path`` ↔ ``container_file_citation``), and an
Assistants run's tool calls → neutral call items.
"""

from __future__ import annotations

from typing import Any

from assistantd import items
from assistantd.ids import new_id
from assistantd.store import conversation_items as log
from assistantd.store import responses as codec
from assistantd.store.db import Conn
from assistantd.store.records import MessageRecord, RunRecord
from assistantd.tools.base import private

# --- Assistants content → neutral -----------------------------------------------------------------------


def _citation(annotation: dict[str, Any]) -> items.Citation | None:
    kind = annotation.get("type")
    if kind not in ("file_citation", "file_path"):
        return None
    inner = annotation.get(kind) or {}
    return items.Citation(
        kind="file" if kind == "file_citation" else "path",
        file_id=str(inner.get("file_id") or ""),
        start=int(annotation.get("start_index") or 0),
        end=int(annotation.get("end_index") or 0),
        marker=str(annotation.get("text") or ""),
    )


def _part(part: dict[str, Any]) -> items.Part | None:
    kind = part.get("type")
    if kind == "text":
        text = part.get("text") or {}
        cites = tuple(c for a in text.get("annotations") or [] if (c := _citation(a)) is not None)
        return items.TextPart(str(text.get("value") or ""), cites)
    if kind == "image_file":
        image = part.get("image_file") or {}
        return items.ImagePart(file_id=image.get("file_id"), detail=image.get("detail") or "auto")
    if kind == "image_url":
        image = part.get("image_url") or {}
        return items.ImagePart(url=image.get("url"), detail=image.get("detail") or "auto")
    if kind == "refusal":
        return items.RefusalPart(str(part.get("refusal") or ""))
    return None


def message_item(record: MessageRecord) -> items.MessageItem:
    """A thread message as a neutral message item (its own neutral form when a response made it)."""
    if record.data is not None and record.data.get("type") == "message":
        item = codec.item_of(record.data)
        assert isinstance(item, items.MessageItem)
        kept: items.ItemStatus = "incomplete" if record.status == "incomplete" else item.status
        return items.MessageItem(record.id, item.role, item.parts, kept)
    parts = tuple(p for raw in record.content if (p := _part(raw)) is not None)
    role: items.Role = "assistant" if record.role == "assistant" else "user"
    status: items.ItemStatus = "completed"
    if record.status in ("in_progress", "incomplete"):
        status = record.status  # type: ignore[assignment]
    return items.MessageItem(record.id, role, parts, status)


def log_item(record: MessageRecord, tokens: int | None = None) -> codec.StoredItem:
    """Any row of the log as a stored item (a foreign item keeps its ``{"kind": "foreign"}`` data)."""
    if record.type == "message":
        item = message_item(record)
        return codec.StoredItem(record.id, "input", "message", codec.item_data(item), tokens, item)
    data = dict(record.data or {})
    parsed = None if data.get("kind") == codec.FOREIGN else codec.item_of(data)
    return codec.StoredItem(record.id, "input", record.type, data, tokens, parsed)


# --- neutral → Assistants content -------------------------------------------------------------------------


def _annotation(c: items.Citation) -> dict[str, Any]:
    kind = "file_citation" if c.kind == "file" else "file_path"
    return {
        "type": kind,
        "text": c.marker,
        "start_index": c.start,
        "end_index": c.end,
        kind: {"file_id": c.file_id},
    }


def _content(item: items.MessageItem) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A neutral message's Assistants content parts, and its files as attachments."""
    content: list[dict[str, Any]] = []
    attachments: list[dict[str, Any]] = []
    for p in item.parts:
        if isinstance(p, items.TextPart):
            annotations = [_annotation(c) for c in p.citations]
            content.append({"type": "text", "text": {"value": p.text, "annotations": annotations}})
        elif isinstance(p, items.ImagePart):
            detail = p.detail if p.detail in ("auto", "low", "high") else "auto"
            if p.file_id is not None:
                content.append({"type": "image_file", "image_file": {"file_id": p.file_id, "detail": detail}})
            elif p.url is not None:
                content.append({"type": "image_url", "image_url": {"url": p.url, "detail": detail}})
        elif isinstance(p, items.RefusalPart):
            content.append({"type": "refusal", "refusal": p.refusal})
        elif isinstance(p, items.FilePart):
            attachments.append({"file_id": p.file_id, "tools": []})
    return content, attachments


def row_values(
    thread_id: str,
    stored: codec.StoredItem,
    ts: int,
    *,
    run_id: str | None = None,
    assistant_id: str | None = None,
    tokens: int | None = None,
) -> dict[str, Any]:
    """The ``messages`` row of one item appended to the log."""
    item = stored.item
    values: dict[str, Any] = {
        "id": stored.id,
        "thread_id": thread_id,
        "created_at": ts,
        "status": "completed",
        "content": [],
        "assistant_id": assistant_id,
        "run_id": run_id,
        "attachments": [],
        "metadata": {},
        "incomplete_details": None,
        "completed_at": ts,
        "incomplete_at": None,
        "type": stored.type,
        "data": stored.data,
        "tokens": tokens,
        "role": "",
    }
    if isinstance(item, items.MessageItem):
        content, attachments = _content(item)
        values.update(role=item.role, content=content, attachments=attachments)
        if item.status == "incomplete":
            values.update(status="incomplete", completed_at=None, incomplete_at=ts)
    elif item is not None and getattr(item, "status", "completed") != "completed":
        values["status"] = str(getattr(item, "status", "completed"))
    return values


# --- an Assistants run's tool calls → neutral items ------------------------------------------------------


def call_items(tool_call: dict[str, Any]) -> list[items.Item]:
    """The items one completed Assistants tool call stands for (a function call is its call and output)."""
    call_id = str(tool_call.get("id") or new_id("call"))
    kind = tool_call.get("type")
    if kind == "function":
        fn = tool_call.get("function") or {}
        return [
            items.FunctionCallItem(
                "fc_" + call_id.removeprefix("call_"), call_id, str(fn.get("name")), str(fn.get("arguments"))
            ),
            items.FunctionOutputItem("fco_" + call_id.removeprefix("call_"), call_id, str(fn.get("output") or "")),
        ]
    if kind == "file_search":
        results = (tool_call.get("file_search") or {}).get("results") or []
        found = tuple(
            items.SearchResult(
                file_id=str(r.get("file_id")),
                filename=str(r.get("file_name") or ""),
                score=float(r.get("score") or 0.0),
                text="".join(str(c.get("text") or "") for c in r.get("content") or []),
            )
            for r in results
        )
        queries = tuple(str(q) for q in private(tool_call).get("queries") or [])
        return [items.FileSearchCallItem("fs_" + call_id.removeprefix("call_"), call_id, queries, found)]
    if kind == "code_interpreter":
        ci = tool_call.get("code_interpreter") or {}
        outputs = []
        for o in ci.get("outputs") or []:
            if o.get("type") == "logs":
                outputs.append(items.CodeOutput("logs", logs=str(o.get("logs") or "")))
            elif o.get("type") == "image":
                outputs.append(items.CodeOutput("image", file_id=(o.get("image") or {}).get("file_id")))
        return [
            items.CodeInterpreterCallItem(
                "ci_" + call_id.removeprefix("call_"), call_id, str(ci.get("input") or ""), tuple(outputs)
            )
        ]
    return []


def stored(item: items.Item) -> codec.StoredItem:
    return codec.StoredItem(item.id, "input", item.type, codec.item_data(item))


async def append_calls(conn: Conn, run: RunRecord, tool_calls: list[dict[str, Any]], ts: int) -> None:
    """Add a run's completed tool calls to its thread's log (a function call with its output), in the
    transaction that completes their step: the log shows them in order between the run's messages."""
    if not run.thread_id:
        return
    made = [stored(i) for call in tool_calls for i in call_items(call)]
    taken = await log.existing_ids(conn, [s.id for s in made])
    fresh = [s for s in made if s.id not in taken]
    rows = [row_values(run.thread_id, s, ts, run_id=run.id, assistant_id=run.assistant_id) for s in fresh]
    await log.append(conn, rows)
