"""Talking to a remote MCP server over streamable HTTP, with the official ``mcp`` SDK.

``list_tools`` and ``call_tool`` each open one connection (an ``httpx2`` client carrying the spec's headers,
the SDK's ``streamable_http_client`` transport and its ``Client`` session), do their exchange and close it:
nothing is kept between calls, in the process or elsewhere, so a worker restart or a second worker changes
nothing. One exchange has one deadline (``McpLimits.timeout_seconds``), connecting included.

Nothing here raises for a server's failure: a refused connection, an HTTP error status, a JSON-RPC error,
a timeout, a malformed answer or a tool that reports ``isError`` all come back as an ``McpError`` (and its
one-line ``str``), which the engine shows to the model and the client while the response goes on. Only
cancellation propagates. Error kinds follow OpenAI's ``MCPToolCallError`` union::

    McpError
    ├── http_error                 code = the HTTP status; 502 when unreachable, 504 on the deadline
    ├── mcp_protocol_error         code = the JSON-RPC error code (e.g. -32601, -32602)
    └── mcp_tool_execution_error   content = the tool's content blocks (it answered ``isError: true``)

Redirects are followed by the SDK only within the server's origin, so a server cannot bounce the request
to a host ``mcp_allowed_hosts`` would refuse. Proxy variables of the environment are not used.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import anyio
import httpx2
import mcp_types
from mcp import Client
from mcp.client.streamable_http import DEFAULT_MAX_SSE_EVENT_SIZE, streamable_http_client
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from assistantd.items import McpListToolsItem, McpTool, McpToolAnnotated
from assistantd.mcp.spec import McpLimits, McpServerSpec

log = logging.getLogger("assistantd.mcp")

MAX_LIST_PAGES = 20
"""Pages of ``tools/list`` followed before the listing stops (a server whose cursor never ends)."""
MAX_TOOLS = 512
"""Tools kept from one server's listing."""


@dataclass(frozen=True, slots=True)
class McpError:
    kind: Literal["http_error", "mcp_protocol_error", "mcp_tool_execution_error"]
    message: str
    code: int | None = None
    content: list[dict[str, Any]] | None = None

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, Any]:
        """OpenAI's ``MCPToolCallError`` shape (``openai.types.responses.McpToolCallError``)."""
        if self.kind == "mcp_tool_execution_error":
            return {"type": self.kind, "content": self.content or [{"type": "text", "text": self.message}]}
        return {"type": self.kind, "code": self.code or 0, "message": self.message}


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What one tool call gave: ``output`` (text, bounded) or ``error``; iterable as ``(output, error_text)``."""

    output: str | None
    error: McpError | None = None

    def __iter__(self) -> Iterator[str | None]:
        yield self.output
        yield str(self.error) if self.error is not None else None


def new_item_id(prefix: Literal["mcpl_", "mcp_", "mcpr_"]) -> str:
    """An id for an MCP item, with OpenAI's prefixes: ``mcpl_`` list, ``mcp_`` call, ``mcpr_`` approval."""
    return prefix + secrets.token_hex(24)


async def list_tools(spec: McpServerSpec, limits: McpLimits, *, item_id: str | None = None) -> McpListToolsItem:
    """The server's tools that ``spec.allowed_tools`` lets through, as an ``mcp_list_tools`` item; a failure is
    the item's ``error`` (with no tools, status ``failed``)."""
    item_id = item_id or new_item_id("mcpl_")
    tools: list[McpTool] = []
    try:
        async with _session(spec, limits) as client:
            cursor: str | None = None
            for _ in range(MAX_LIST_PAGES):
                page = await client.list_tools(cursor=cursor)
                tools.extend(_tool(t) for t in page.tools if spec.allows(t.name, _read_only(t)))
                cursor = page.next_cursor
                if cursor is None or len(tools) >= MAX_TOOLS:
                    break
    except _Failed as failed:
        return McpListToolsItem(item_id, spec.server_label, (), error=str(failed.error), status="failed")
    return McpListToolsItem(item_id, spec.server_label, tuple(tools[:MAX_TOOLS]))


async def call_tool(spec: McpServerSpec, name: str, arguments_json: str, limits: McpLimits) -> CallOutcome:
    """Call tool ``name`` with ``arguments_json`` (the model's JSON object text). Text content is joined with
    newlines; structured content, when there is no text, is its JSON; other blocks are named in brackets.
    The output keeps its first ``limits.max_output_chars`` characters, with a note of how many were cut."""
    try:
        arguments = json.loads(arguments_json) if arguments_json.strip() else {}
    except json.JSONDecodeError as exc:
        return CallOutcome(None, McpError("mcp_protocol_error", f"arguments are not valid JSON: {exc}", -32602))
    if not isinstance(arguments, dict):
        return CallOutcome(None, McpError("mcp_protocol_error", "arguments must be a JSON object", -32602))
    if not spec.allows(name):
        return CallOutcome(None, McpError("mcp_protocol_error", f"tool '{name}' is not in allowed_tools", -32602))
    try:
        async with _session(spec, limits) as client:
            result = await client.call_tool(name, arguments)
    except _Failed as failed:
        return CallOutcome(None, failed.error)
    text = _bounded(_output_text(result), limits.max_output_chars)
    if result.is_error:
        content = [b.model_dump(mode="json", by_alias=True, exclude_none=True) for b in result.content]
        return CallOutcome(None, McpError("mcp_tool_execution_error", text or "the tool failed", content=content))
    return CallOutcome(text)


class _Failed(Exception):
    def __init__(self, error: McpError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass
class _HttpStatus:
    """The error status of the latest POST, if it failed: the SDK turns one into a generic JSON-RPC error,
    this keeps the status. A later success clears it (a legacy server answers the SDK's ``server/discover``
    probe with a 4xx before the ``initialize`` fallback succeeds)."""

    status: int | None = None
    reason: str = ""

    async def __call__(self, response: httpx2.Response) -> None:
        if response.request.method == "POST":
            failed = response.status_code >= 400
            self.status = response.status_code if failed else None
            self.reason = response.reason_phrase if failed else ""


@asynccontextmanager
async def _session(spec: McpServerSpec, limits: McpLimits) -> AsyncIterator[Client]:
    """A connected ``Client`` for the body of the ``async with``, under one deadline; every failure, at
    connect or inside the body, leaves as ``_Failed``."""
    status = _HttpStatus()
    where = _where(spec.server_url)
    try:
        with anyio.fail_after(limits.timeout_seconds):
            async with (
                httpx2.AsyncClient(
                    headers=dict(spec.headers),
                    timeout=httpx2.Timeout(limits.timeout_seconds),
                    follow_redirects=False,
                    trust_env=False,
                    event_hooks={"response": [status]},
                ) as http,
                Client(
                    streamable_http_client(
                        spec.server_url,
                        http_client=http,
                        max_sse_event_size=max(DEFAULT_MAX_SSE_EVENT_SIZE, 8 * limits.max_output_chars),
                    ),
                    cache=None,
                    read_timeout_seconds=limits.timeout_seconds,
                    client_info=mcp_types.Implementation(name="assistantd", version="1"),
                ) as client,
            ):
                yield client
    except _Failed:
        raise
    except TimeoutError as exc:
        message = f"MCP server {where} did not answer within {limits.timeout_seconds:g} s"
        raise _Failed(McpError("http_error", message, 504)) from exc
    except Exception as exc:  # the seam: whatever the SDK, httpx2 or the server did becomes an McpError
        error = _describe(exc, status, where)
        log.info("MCP server %s (%s): %s", spec.server_label, where, error.message)
        raise _Failed(error) from exc


def _describe(exc: BaseException, status: _HttpStatus, where: str) -> McpError:
    if status.status is not None:
        return McpError(
            "http_error", f"MCP server {where} answered HTTP {status.status} {status.reason}".strip(), status.status
        )
    leaf = _leaf(exc)
    if isinstance(leaf, _Failed):
        return leaf.error
    if isinstance(leaf, TimeoutError | httpx2.TimeoutException):
        return McpError("http_error", f"MCP server {where} did not answer in time", 504)
    if isinstance(leaf, httpx2.TransportError):
        return McpError("http_error", f"could not reach MCP server {where}: {leaf}", 502)
    if isinstance(leaf, MCPError):
        return McpError("mcp_protocol_error", f"MCP server {where}: {leaf.message}", leaf.code)
    if isinstance(leaf, ValidationError):
        return McpError("mcp_protocol_error", f"MCP server {where} sent a malformed answer", -32603)
    return McpError("mcp_protocol_error", f"MCP server {where}: {type(leaf).__name__}: {leaf}", -32603)


def _leaf(exc: BaseException) -> BaseException:
    """The first non-group exception of (nested) task-group errors, which is what actually went wrong."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _where(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rpartition("@")[2] or url


def _read_only(tool: mcp_types.Tool) -> bool:
    return bool(tool.annotations and tool.annotations.read_only_hint)


def _tool(tool: mcp_types.Tool) -> McpToolAnnotated:
    annotations = (
        tool.annotations.model_dump(mode="json", by_alias=True, exclude_none=True) if tool.annotations else None
    )
    return McpToolAnnotated(tool.name, dict(tool.input_schema), tool.description, annotations or None)


def _output_text(result: mcp_types.CallToolResult) -> str:
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, mcp_types.TextContent):
            parts.append(block.text)
        elif isinstance(block, mcp_types.EmbeddedResource):
            resource = block.resource
            text = getattr(resource, "text", None)
            parts.append(text if isinstance(text, str) else f"[resource {resource.uri} ({resource.mime_type})]")
        elif isinstance(block, mcp_types.ResourceLink):
            parts.append(f"[resource link {block.uri}]")
        else:
            parts.append(f"[{block.type} content ({getattr(block, 'mime_type', '')})]")
    has_text = any(isinstance(b, mcp_types.TextContent) for b in result.content)
    if not has_text and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts)


def _bounded(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n[output truncated: {limit} of {len(text)} characters shown]"
