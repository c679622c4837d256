"""Neutral items as chat-completions messages: what the upstream reads of a conversation's log (both APIs).

Reasoning and records the upstream cannot read are left out; consecutive function calls become one
assistant message; an ``input_file`` is given as its extracted text (as a vector store's files are read).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from typing import Any

from assistantd import items
from assistantd.backends.base import ChatMessage, ToolCall
from assistantd.retrieval.extract import ExtractError, extract_text
from assistantd.store.blobs import BlobStore


async def chat_messages(context: list[items.Item], blobs: BlobStore) -> list[ChatMessage]:
    """Neutral context items → chat-completions messages (reasoning and tool records the upstream cannot
    read are left out; consecutive function calls become one assistant message)."""
    out: list[ChatMessage] = []
    for item in context:
        if isinstance(item, items.MessageItem):
            out.append(ChatMessage(_role(item.role), await _content(item, blobs)))
        elif isinstance(item, items.FunctionCallItem):
            call = ToolCall(item.call_id, item.name, item.arguments)
            last = out[-1] if out else None
            if last is not None and last.role == "assistant" and last.tool_calls and not last.content:
                out[-1] = dataclasses.replace(last, tool_calls=(*last.tool_calls, call))
            else:
                out.append(ChatMessage("assistant", None, (call,)))
        elif isinstance(item, items.FunctionOutputItem):
            out.append(ChatMessage("tool", item.output, tool_call_id=item.call_id))
        elif isinstance(item, items.CompactionItem):
            out.append(ChatMessage("user", f"{COMPACTED_PREFIX}\n{item.summary}"))
        elif isinstance(item, items.McpCallItem):
            output = item.output if item.error is None else f"Error: {item.error}"
            out.append(ChatMessage("assistant", None, (ToolCall(item.id, item.name, item.arguments),)))
            out.append(ChatMessage("tool", output or "", tool_call_id=item.id))
    return out


async def data_url(blobs: BlobStore, file_id: str) -> str | None:
    chunks = []
    try:
        async for chunk in blobs.open(file_id):
            chunks.append(chunk)
    except FileNotFoundError:
        return None
    data = b"".join(chunks)
    mime = "image/png"
    if data[:3] == b"\xff\xd8\xff":
        mime = "image/jpeg"
    elif data[:4] == b"GIF8":
        mime = "image/gif"
    elif data[8:12] == b"WEBP":
        mime = "image/webp"
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


COMPACTED_PREFIX = "[A summary of the earlier conversation, which was compacted]"


def _role(role: str) -> Any:
    return "system" if role in ("system", "developer") else role


async def _content(item: items.MessageItem, blobs: BlobStore) -> str | list[dict[str, Any]]:
    texts = [p.text for p in item.parts if isinstance(p, items.TextPart)]
    others = [p for p in item.parts if not isinstance(p, items.TextPart)]
    if not others or item.role == "assistant":
        return "".join(texts) if item.role == "assistant" else "\n".join(texts)
    parts: list[dict[str, Any]] = []
    for p in item.parts:
        if isinstance(p, items.TextPart):
            parts.append({"type": "text", "text": p.text})
        elif isinstance(p, items.ImagePart):
            url = p.url or (await data_url(blobs, p.file_id) if p.file_id else None)
            if url:
                image: dict[str, Any] = {"url": url}
                if p.detail in ("low", "high", "auto"):
                    image["detail"] = p.detail
                parts.append({"type": "image_url", "image_url": image})
        elif isinstance(p, items.RefusalPart):
            parts.append({"type": "text", "text": p.refusal})
        elif isinstance(p, items.FilePart):
            parts.append({"type": "text", "text": await _file_text(p, blobs)})
    return parts


MAX_FILE_CHARS = 200_000
"""Most characters of one ``input_file`` shown to the model (its head; the rest is cut with a note)."""


async def _file_text(part: items.FilePart, blobs: BlobStore) -> str:
    """An ``input_file`` as text the model reads: extracted like a vector store's files (pdf, docx, html...),
    off the event loop."""
    chunks: list[bytes] = []
    try:
        async for chunk in blobs.open(part.file_id):
            chunks.append(chunk)
    except FileNotFoundError:
        return f"[file {part.file_id} is no longer available]"
    name = part.filename or part.file_id
    try:
        text = await asyncio.to_thread(extract_text, b"".join(chunks), name)
    except ExtractError as exc:
        return f"[file {name} could not be read: {exc}]"
    if len(text) > MAX_FILE_CHARS:
        text = text[:MAX_FILE_CHARS] + f"\n[... {len(text) - MAX_FILE_CHARS} more characters not shown]"
    return f"[file {name}]\n{text}"


def without_orphans(messages: list[ChatMessage]) -> list[ChatMessage]:
    """After truncation, a ``tool`` message whose call was dropped would be refused upstream: drop it too."""
    calls = {c.id for m in messages for c in m.tool_calls}
    return [m for m in messages if m.role != "tool" or m.tool_call_id in calls]
