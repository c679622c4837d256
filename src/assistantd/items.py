"""The neutral item vocabulary under both APIs: what a conversation holds and what a turn produces.

A conversation (an Assistants thread is one) is an ordered log of items: messages, function calls and
their outputs, server-side tool calls (file_search, code_interpreter, MCP) and reasoning. The engine and
the tools produce these items and the ``ItemEvent``s that build them while a turn streams; each API
renders them in its own wire shape (the Assistants adapter as thread messages, run steps and ``thread.*``
events; the Responses adapter as output items and ``response.*`` events). Nothing here knows either wire.

Indices in ``Citation`` are character offsets into the text part they annotate (Python ``str`` indices).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ItemStatus = Literal["in_progress", "completed", "incomplete", "failed"]
Role = Literal["user", "assistant", "system", "developer"]


@dataclass(frozen=True, slots=True)
class Citation:
    """A citation in a text part. ``file`` cites a retrieved file (Assistants ``file_citation``, Responses
    ``file_citation`` with ``index = end``); ``path`` points at a file a tool wrote (Assistants ``file_path``,
    Responses ``container_file_citation`` when ``container_id`` is set, else ``file_path``)."""

    kind: Literal["file", "path"]
    file_id: str
    start: int
    end: int
    marker: str = ""
    """The text the citation replaces or follows, e.g. ``【0†manual.txt】`` or ``sandbox:/mnt/data/a.png``."""
    filename: str = ""
    container_id: str | None = None


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str
    citations: tuple[Citation, ...] = ()
    logprobs: tuple[dict[str, Any], ...] = ()
    """Token log probabilities of an answer, when they were asked for and the upstream gave them."""


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image: a stored file (``file_id``) or a URL (``http(s)`` or ``data:``)."""

    file_id: str | None = None
    url: str | None = None
    detail: Literal["auto", "low", "high", "original"] = "auto"


@dataclass(frozen=True, slots=True)
class FilePart:
    """An input file given to the model by id (Responses ``input_file``)."""

    file_id: str
    filename: str = ""


@dataclass(frozen=True, slots=True)
class RefusalPart:
    refusal: str


Part = TextPart | ImagePart | FilePart | RefusalPart


@dataclass(frozen=True, slots=True)
class MessageItem:
    id: str
    role: Role
    parts: tuple[Part, ...]
    status: ItemStatus = "completed"
    type: Literal["message"] = "message"


@dataclass(frozen=True, slots=True)
class FunctionCallItem:
    """A call of a client-side function. ``call_id`` is what the output answers (the Assistants
    ``tool_call.id``)."""

    id: str
    call_id: str
    name: str
    arguments: str
    status: ItemStatus = "completed"
    type: Literal["function_call"] = "function_call"


@dataclass(frozen=True, slots=True)
class FunctionOutputItem:
    id: str
    call_id: str
    output: str
    status: ItemStatus = "completed"
    type: Literal["function_call_output"] = "function_call_output"


@dataclass(frozen=True, slots=True)
class SearchResult:
    file_id: str
    filename: str
    score: float
    text: str
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FileSearchCallItem:
    id: str
    call_id: str
    queries: tuple[str, ...]
    results: tuple[SearchResult, ...] = ()
    status: Literal["in_progress", "searching", "completed", "incomplete", "failed"] = "completed"
    type: Literal["file_search_call"] = "file_search_call"


@dataclass(frozen=True, slots=True)
class CodeOutput:
    """One output of an execution: ``logs`` text, or an ``image`` (a stored file, and its URL if any)."""

    kind: Literal["logs", "image"]
    logs: str = ""
    file_id: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class CodeInterpreterCallItem:
    id: str
    call_id: str
    code: str
    outputs: tuple[CodeOutput, ...] = ()
    container_id: str | None = None
    status: Literal["in_progress", "interpreting", "completed", "incomplete", "failed"] = "completed"
    type: Literal["code_interpreter_call"] = "code_interpreter_call"


@dataclass(frozen=True, slots=True)
class ReasoningItem:
    """Reasoning text an upstream returned (``reasoning_content``), as a summary; ``encrypted_content`` is
    carried through untouched when a client replays a foreign reasoning item."""

    id: str
    summary: tuple[str, ...] = ()
    encrypted_content: str | None = None
    status: ItemStatus = "completed"
    type: Literal["reasoning"] = "reasoning"


@dataclass(frozen=True, slots=True)
class McpCallItem:
    id: str
    server_label: str
    name: str
    arguments: str
    output: str | None = None
    error: str | None = None
    approval_request_id: str | None = None
    status: Literal["in_progress", "calling", "completed", "incomplete", "failed"] = "completed"
    type: Literal["mcp_call"] = "mcp_call"


@dataclass(frozen=True, slots=True)
class McpTool:
    name: str
    input_schema: dict[str, Any]
    description: str | None = None


@dataclass(frozen=True, slots=True)
class McpListToolsItem:
    id: str
    server_label: str
    tools: tuple[McpTool, ...]
    error: str | None = None
    status: ItemStatus = "completed"
    type: Literal["mcp_list_tools"] = "mcp_list_tools"


@dataclass(frozen=True, slots=True)
class McpApprovalRequestItem:
    id: str
    server_label: str
    name: str
    arguments: str
    status: ItemStatus = "completed"
    type: Literal["mcp_approval_request"] = "mcp_approval_request"


@dataclass(frozen=True, slots=True)
class McpApprovalResponseItem:
    id: str
    approval_request_id: str
    approve: bool
    reason: str | None = None
    status: ItemStatus = "completed"
    type: Literal["mcp_approval_response"] = "mcp_approval_response"


@dataclass(frozen=True, slots=True)
class CompactionItem:
    """What ``/v1/responses/compact`` replaced the earlier turns with: a summary the model is shown in their
    place, carried by clients as the opaque ``encrypted_content`` (``responses/compaction.py``)."""

    id: str
    summary: str
    encrypted_content: str
    type: Literal["compaction"] = "compaction"


Item = (
    MessageItem
    | FunctionCallItem
    | FunctionOutputItem
    | FileSearchCallItem
    | CodeInterpreterCallItem
    | ReasoningItem
    | McpCallItem
    | McpListToolsItem
    | McpApprovalRequestItem
    | McpApprovalResponseItem
    | CompactionItem
)


# --- events: how a turn builds its items, in order ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemAdded:
    """An output item starts (``in_progress``; a message with no parts yet, a call with empty arguments)."""

    item: Item


@dataclass(frozen=True, slots=True)
class PartAdded:
    """A content part of message ``item_id`` starts (``part`` is empty: ``TextPart("")``)."""

    item_id: str
    index: int
    part: Part


@dataclass(frozen=True, slots=True)
class TextDelta:
    item_id: str
    index: int
    """The content part's index in the message."""
    delta: str
    logprobs: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class CitationAdded:
    """A citation on part ``index`` of message ``item_id``; its text has already been streamed."""

    item_id: str
    index: int
    citation_index: int
    citation: Citation


@dataclass(frozen=True, slots=True)
class PartDone:
    item_id: str
    index: int
    part: Part


@dataclass(frozen=True, slots=True)
class ArgumentsDelta:
    """More arguments of a function call (or MCP call) ``item_id``."""

    item_id: str
    delta: str


@dataclass(frozen=True, slots=True)
class CodeDelta:
    item_id: str
    delta: str


@dataclass(frozen=True, slots=True)
class ToolPhase:
    """A server-side call moved on: ``searching`` (file_search), ``interpreting`` (code_interpreter),
    ``calling`` (MCP)."""

    item_id: str
    phase: Literal["searching", "interpreting", "calling"]


@dataclass(frozen=True, slots=True)
class ItemDone:
    """The item is final (``completed``, ``incomplete`` or ``failed``), whole."""

    item: Item


ItemEvent = (
    ItemAdded | PartAdded | TextDelta | CitationAdded | PartDone | ArgumentsDelta | CodeDelta | ToolPhase | ItemDone
)


@dataclass(frozen=True, slots=True)
class McpToolAnnotated(McpTool):
    """An ``McpTool`` with the annotations its server gave it, in MCP's names (``readOnlyHint``,
    ``destructiveHint``, ``title``...): ``read_only`` filters of ``allowed_tools`` and ``require_approval``
    need them, and the Responses ``mcp_list_tools`` item shows them as ``annotations``."""

    annotations: dict[str, Any] | None = None
