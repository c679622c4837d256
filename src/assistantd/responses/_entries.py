"""Parsed ``input`` items (``_input.py``) → neutral ``items.py`` items, and markers for what is not one.

An ``item_reference`` stays an ``ItemReference`` for the service to resolve against the chain or the
conversation; an item type no tool here makes stays a ``ForeignInput`` (stored and listed, never sent to the
model). Client ids are kept; items without one get a fresh id with OpenAI's prefix.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from assistantd import items
from assistantd.responses import _compacted as compaction
from assistantd.responses._input import (
    CodeInterpreterCall,
    CodeLogs,
    Compaction,
    FileSearchCall,
    Foreign,
    FunctionCall,
    FunctionCallOutput,
    InputFile,
    InputImage,
    InputText,
    ItemReferenceInput,
    McpApprovalRequest,
    McpApprovalResponse,
    McpCall,
    McpListTools,
    Message,
    OutputText,
    Reasoning,
    Refusal,
)

# --- conversion into neutral items ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemReference:
    """An ``item_reference`` input: the service resolves ``id`` to a stored item of the chain or conversation."""

    id: str


@dataclass(frozen=True, slots=True)
class ForeignInput:
    """A foreign item kept verbatim (``raw`` is the client's JSON): stored and listed, never sent to the model."""

    type: str
    raw: dict[str, Any]


InputEntry = items.Item | ItemReference | ForeignInput

ID_PREFIXES: dict[str, str] = {
    "message": "msg_",
    "function_call": "fc_",
    "function_call_output": "fco_",
    "reasoning": "rs_",
    "mcp_approval_response": "mcpr_",
    "foreign": "item_",
}
"""Prefixes of ids this server gives input items that came without one (OpenAI's where it has them)."""


def new_item_id(prefix: str) -> str:
    """A prefix and 48 hex characters, as OpenAI's Responses ids look (``msg_67cc…``)."""
    return prefix + secrets.token_hex(24)


def _part(content: InputText | InputImage | InputFile | OutputText | Refusal) -> items.Part:
    if isinstance(content, InputText | OutputText):
        return items.TextPart(content.text)
    if isinstance(content, InputImage):
        return items.ImagePart(file_id=content.file_id, url=content.image_url, detail=content.detail)
    if isinstance(content, InputFile):
        assert content.file_id is not None  # the validator requires it
        return items.FilePart(content.file_id, content.filename or "")
    return items.RefusalPart(content.refusal)


def _tool_output(output: str | list[InputText | InputImage | InputFile]) -> str:
    """A tool's output as text: content lists keep their text parts (images and files are not carried)."""
    if isinstance(output, str):
        return output
    return "\n".join(p.text for p in output if isinstance(p, InputText))


def _status(status: str | None) -> items.ItemStatus:
    return "incomplete" if status == "incomplete" else "completed"


def to_entry(item: BaseModel, new_id: Callable[[str], str] = new_item_id) -> InputEntry:
    """One parsed input item → its neutral item (or reference / foreign marker). Client ids are kept; items
    without one get ``new_id(prefix)``."""
    match item:
        case Message():
            parts = (
                (items.TextPart(item.content),) if isinstance(item.content, str) else tuple(map(_part, item.content))
            )
            return items.MessageItem(item.id or new_id("msg_"), item.role, parts, _status(item.status))
        case FunctionCall():
            return items.FunctionCallItem(
                item.id or new_id("fc_"), item.call_id, item.name, item.arguments, _status(item.status)
            )
        case FunctionCallOutput():
            return items.FunctionOutputItem(item.id or new_id("fco_"), item.call_id, _tool_output(item.output))
        case ItemReferenceInput():
            return ItemReference(item.id)
        case Reasoning():
            summary = tuple(s.text for s in item.summary)
            return items.ReasoningItem(item.id or new_id("rs_"), summary, item.encrypted_content, _status(item.status))
        case FileSearchCall():
            results = tuple(
                items.SearchResult(r.file_id, r.filename, r.score, r.text, dict(r.attributes or {}))
                for r in item.results or ()
            )
            return items.FileSearchCallItem(item.id, item.id, tuple(item.queries), results, item.status)
        case CodeInterpreterCall():
            outputs = tuple(
                items.CodeOutput("logs", logs=o.logs)
                if isinstance(o, CodeLogs)
                else items.CodeOutput("image", url=o.url)
                for o in item.outputs or ()
            )
            return items.CodeInterpreterCallItem(
                item.id, item.id, item.code or "", outputs, item.container_id, item.status
            )
        case McpListTools():
            tools = tuple(items.McpTool(t.name, dict(t.input_schema), t.description) for t in item.tools)
            return items.McpListToolsItem(item.id, item.server_label, tools, item.error)
        case McpCall():
            return items.McpCallItem(
                item.id,
                item.server_label,
                item.name,
                item.arguments,
                item.output,
                item.error,
                item.approval_request_id,
                item.status,
            )
        case McpApprovalRequest():
            return items.McpApprovalRequestItem(item.id, item.server_label, item.name, item.arguments)
        case McpApprovalResponse():
            return items.McpApprovalResponseItem(
                item.id or new_id("mcpr_"), item.approval_request_id, item.approve, item.reason
            )
        case Compaction():
            text = compaction.summary_of(item.encrypted_content)
            if text is None:  # another server's compaction: kept, not readable here
                return ForeignInput(item.type, item.model_dump(mode="json", exclude_unset=True))
            return items.CompactionItem(item.id or new_id("cmp_"), text, item.encrypted_content)
        case Foreign():
            return ForeignInput(item.type, item.model_dump(mode="json", exclude_unset=True))
    raise TypeError(f"not an input item: {type(item).__name__}")


def to_entries(value: str | list[Any], new_id: Callable[[str], str] = new_item_id) -> list[InputEntry]:
    """A request's ``input`` → neutral entries, in order; a string is one user message."""
    if isinstance(value, str):
        return [items.MessageItem(new_id("msg_"), "user", (items.TextPart(value),))]
    return [to_entry(item, new_id) for item in value]
