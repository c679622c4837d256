"""Neutral items → the Responses wire: output items, input items, and the ``response`` object.

What differs from the Assistants renderers (``runs/objects.py``, message ``to_wire``): text is ``output_text``
with ``annotations`` and ``logprobs: []``; file citations carry one ``index`` (the citation's end) instead of
``start_index``/``end_index`` and no ``text``; a path citation is a ``container_file_citation`` when the file
came from a container, else ``file_path``; tool calls are output items of their own, and their heavy parts
(``file_search_call.results``, ``code_interpreter_call.outputs``, ``reasoning.encrypted_content``) appear only
when ``include[]`` asks for them, as OpenAI's do.

The response object carries every field OpenAI's SDK and the Open Responses suite require (spec §5;
responses-clients.md §4), including the ones this server never varies (``presence_penalty: 0``).
The streamed form (``response.*`` events) is ``stream.py``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from assistantd import items
from assistantd.responses.protocol import (
    AnyTool,
    CreateResponse,
    ForeignInput,
    InputEntry,
    ItemReference,
    reasoning_echo,
    text_echo,
    tool_choice_echo,
    tools_echo,
)

__all__ = [
    "RequestEcho",
    "ResponseError",
    "ResponseView",
    "Usage",
    "entry_json",
    "item_json",
    "response_json",
]

Status = Literal["queued", "in_progress", "completed", "failed", "cancelled", "incomplete"]


# --- items -------------------------------------------------------------------------------------------------


def annotation_json(citation: items.Citation) -> dict[str, Any]:
    if citation.kind == "file":
        return {
            "type": "file_citation",
            "file_id": citation.file_id,
            "filename": citation.filename,
            "index": citation.end,
        }
    if citation.container_id is not None:
        return {
            "type": "container_file_citation",
            "container_id": citation.container_id,
            "file_id": citation.file_id,
            "filename": citation.filename,
            "start_index": citation.start,
            "end_index": citation.end,
        }
    return {"type": "file_path", "file_id": citation.file_id, "index": citation.end}


def output_part_json(part: items.Part) -> dict[str, Any]:
    """A content part of an assistant message (``output_text`` or ``refusal``)."""
    if isinstance(part, items.TextPart):
        annotations = [annotation_json(c) for c in part.citations]
        return {"type": "output_text", "text": part.text, "annotations": annotations, "logprobs": list(part.logprobs)}
    if isinstance(part, items.RefusalPart):
        return {"type": "refusal", "refusal": part.refusal}
    return input_part_json(part)


def input_part_json(part: items.Part) -> dict[str, Any]:
    """A content part of a user, system or developer message."""
    if isinstance(part, items.TextPart):
        return {"type": "input_text", "text": part.text}
    if isinstance(part, items.ImagePart):
        return {"type": "input_image", "detail": part.detail, "file_id": part.file_id, "image_url": part.url}
    if isinstance(part, items.FilePart):
        return {"type": "input_file", "file_id": part.file_id, "filename": part.filename or None}
    return {"type": "input_text", "text": part.refusal}


def _image_url(output: items.CodeOutput, container_id: str | None) -> str:
    """An image output's URL: the one the tool gave, else where this server serves the file."""
    if output.url is not None:
        return output.url
    if container_id is not None:
        return f"/v1/containers/{container_id}/files/{output.file_id}/content"
    return f"/v1/files/{output.file_id}/content"


def _code_outputs(item: items.CodeInterpreterCallItem) -> list[dict[str, Any]]:
    return [
        {"type": "logs", "logs": o.logs}
        if o.kind == "logs"
        else {"type": "image", "url": _image_url(o, item.container_id)}
        for o in item.outputs
    ]


def _mcp_error(error: str | None) -> dict[str, Any] | None:
    """An MCP call's error as the SDK types it: the tool's failure text as MCP ``text`` content."""
    if error is None:
        return None
    return {"type": "mcp_tool_execution_error", "content": [{"type": "text", "text": error}]}


def item_json(item: items.Item, include: Collection[str] = ()) -> dict[str, Any]:
    """One neutral item as its Responses output item / ``ItemResource`` JSON."""
    match item:
        case items.MessageItem():
            render = output_part_json if item.role == "assistant" else input_part_json
            return {
                "type": "message",
                "id": item.id,
                "role": item.role,
                "status": item.status,
                "content": [render(p) for p in item.parts],
            }
        case items.FunctionCallItem():
            return {
                "type": "function_call",
                "id": item.id,
                "call_id": item.call_id,
                "name": item.name,
                "arguments": item.arguments,
                "status": item.status,
            }
        case items.FunctionOutputItem():
            return {
                "type": "function_call_output",
                "id": item.id,
                "call_id": item.call_id,
                "output": item.output,
                "status": item.status,
            }
        case items.FileSearchCallItem():
            results = None
            if "file_search_call.results" in include:
                results = [
                    {
                        "file_id": r.file_id,
                        "filename": r.filename,
                        "score": r.score,
                        "text": r.text,
                        "attributes": r.attributes,
                    }
                    for r in item.results
                ]
            return {
                "type": "file_search_call",
                "id": item.id,
                "queries": list(item.queries),
                "status": item.status,
                "results": results,
            }
        case items.CodeInterpreterCallItem():
            return {
                "type": "code_interpreter_call",
                "id": item.id,
                "container_id": item.container_id or "",
                "code": item.code,
                "outputs": _code_outputs(item) if "code_interpreter_call.outputs" in include else None,
                "status": item.status,
            }
        case items.ReasoningItem():
            out: dict[str, Any] = {
                "type": "reasoning",
                "id": item.id,
                "summary": [{"type": "summary_text", "text": s} for s in item.summary],
                "status": item.status,
            }
            if "reasoning.encrypted_content" in include:
                out["encrypted_content"] = item.encrypted_content
            return out
        case items.McpCallItem():
            return {
                "type": "mcp_call",
                "id": item.id,
                "server_label": item.server_label,
                "name": item.name,
                "arguments": item.arguments,
                "output": item.output,
                "error": _mcp_error(item.error),
                "approval_request_id": item.approval_request_id,
                "status": item.status,
            }
        case items.McpListToolsItem():
            tools = [
                {"name": t.name, "input_schema": t.input_schema, "description": t.description, "annotations": None}
                for t in item.tools
            ]
            return {
                "type": "mcp_list_tools",
                "id": item.id,
                "server_label": item.server_label,
                "tools": tools,
                "error": item.error,
            }
        case items.McpApprovalRequestItem():
            return {
                "type": "mcp_approval_request",
                "id": item.id,
                "server_label": item.server_label,
                "name": item.name,
                "arguments": item.arguments,
            }
        case items.McpApprovalResponseItem():
            return {
                "type": "mcp_approval_response",
                "id": item.id,
                "approval_request_id": item.approval_request_id,
                "approve": item.approve,
                "reason": item.reason,
            }
        case items.CompactionItem():
            return {"type": "compaction", "id": item.id, "encrypted_content": item.encrypted_content}
    raise TypeError(f"not an item: {type(item).__name__}")


def entry_json(entry: InputEntry, include: Collection[str] = ()) -> dict[str, Any]:
    """An input entry for ``input_items`` and conversation items: a foreign item as the client sent it."""
    if isinstance(entry, ForeignInput):
        return dict(entry.raw)
    if isinstance(entry, ItemReference):
        raise TypeError("an item_reference is resolved before it is listed")
    return item_json(entry, include)


# --- the response object -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestEcho:
    """What a response echoes of its request, JSON-ready (store it with ``dataclasses.asdict``, load it back
    with ``RequestEcho(**stored)``)."""

    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | dict[str, Any] = "auto"
    parallel_tool_calls: bool = True
    text: dict[str, Any] = field(default_factory=lambda: text_echo(None))
    reasoning: dict[str, Any] = field(default_factory=lambda: reasoning_echo(None))
    truncation: str = "disabled"
    instructions: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    temperature: float = 1.0
    top_p: float = 1.0
    top_logprobs: int = 0
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    previous_response_id: str | None = None
    conversation_id: str | None = None
    prompt: dict[str, Any] | None = None
    service_tier: str = "default"
    store: bool = True
    background: bool = False
    user: str | None = None
    safety_identifier: str | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None

    @classmethod
    def of(
        cls,
        request: CreateResponse,
        tools: Sequence[AnyTool] | None = None,
        container_ids: Mapping[int, str] | None = None,
    ) -> RequestEcho:
        """The echo of ``request``; ``tools`` overrides its tools (e.g. a prompt's), ``container_ids`` maps a
        tool's index to the container its ``auto`` code_interpreter got."""
        prompt = request.prompt.model_dump(mode="json", exclude_none=True) if request.prompt is not None else None
        if prompt is not None:
            prompt.setdefault("variables", None)
            prompt.setdefault("version", None)
        return cls(
            tools=tools_echo(list(request.tools if tools is None else tools), dict(container_ids or {})),
            tool_choice=tool_choice_echo(request.tool_choice),
            parallel_tool_calls=request.parallel_tool_calls,
            text=text_echo(request.text),
            reasoning=reasoning_echo(request.reasoning),
            truncation=request.truncation,
            instructions=request.instructions,
            metadata=dict(request.metadata or {}),
            temperature=1.0 if request.temperature is None else request.temperature,
            top_p=1.0 if request.top_p is None else request.top_p,
            top_logprobs=request.top_logprobs or 0,
            max_output_tokens=request.max_output_tokens,
            max_tool_calls=request.max_tool_calls,
            previous_response_id=request.previous_response_id,
            conversation_id=request.conversation_id,
            prompt=prompt,
            store=request.store,
            background=request.background,
            user=request.user,
            safety_identifier=request.safety_identifier,
            prompt_cache_key=request.prompt_cache_key,
            prompt_cache_retention=request.prompt_cache_retention,
        )


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int
    output_tokens: int
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    def json(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": self.cached_tokens, "cache_write_tokens": 0},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
            "total_tokens": self.input_tokens + self.output_tokens,
        }


@dataclass(frozen=True, slots=True)
class ResponseError:
    """``response.error``; ``code`` from OpenAI's list (``server_error``, ``rate_limit_exceeded``, ...)."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class ResponseView:
    """One response as storage holds it: its state, its output items and the echo of its request."""

    id: str
    created_at: int
    model: str
    status: Status
    echo: RequestEcho = field(default_factory=RequestEcho)
    output: Sequence[items.Item] = ()
    usage: Usage | None = None
    error: ResponseError | None = None
    incomplete_reason: Literal["max_output_tokens", "content_filter"] | None = None
    completed_at: int | None = None


def response_json(view: ResponseView, include: Collection[str] = ()) -> dict[str, Any]:
    """The whole ``response`` object. ``include`` is the request's (or the GET's) ``include[]``."""
    echo = view.echo
    return {
        "id": view.id,
        "object": "response",
        "created_at": view.created_at,
        "status": view.status,
        "completed_at": view.completed_at,
        "background": echo.background,
        "model": view.model,
        "output": [item_json(i, include) for i in view.output],
        "tools": echo.tools,
        "tool_choice": echo.tool_choice,
        "parallel_tool_calls": echo.parallel_tool_calls,
        "temperature": echo.temperature,
        "top_p": echo.top_p,
        "top_logprobs": echo.top_logprobs,
        "presence_penalty": 0.0,
        "frequency_penalty": 0.0,
        "instructions": echo.instructions,
        "metadata": echo.metadata,
        "error": {"code": view.error.code, "message": view.error.message} if view.error is not None else None,
        "incomplete_details": {"reason": view.incomplete_reason} if view.incomplete_reason is not None else None,
        "max_output_tokens": echo.max_output_tokens,
        "max_tool_calls": echo.max_tool_calls,
        "previous_response_id": echo.previous_response_id,
        "conversation": {"id": echo.conversation_id} if echo.conversation_id is not None else None,
        "prompt": echo.prompt,
        "reasoning": echo.reasoning,
        "service_tier": echo.service_tier,
        "store": echo.store,
        "text": echo.text,
        "truncation": echo.truncation,
        "usage": view.usage.json() if view.usage is not None else None,
        "user": echo.user,
        "safety_identifier": echo.safety_identifier,
        "prompt_cache_key": echo.prompt_cache_key,
        "prompt_cache_retention": echo.prompt_cache_retention,
    }
