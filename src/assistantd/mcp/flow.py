"""The steps of an MCP turn the Responses engine strings together, as plain functions over neutral items.

A response with ``mcp`` tools: ``parse_specs`` once; ``known_listings`` reuses an ``mcp_list_tools`` item the
conversation already holds for a server (as OpenAI does: a chain lists each server once), and the engine
``list_tools`` the rest; ``functions.function_specs`` offers the tools. When the model calls one:
``needs_approval`` → ``approval_request`` (the response ends there) or ``run_call``. A later request's
``mcp_approval_response`` items are matched to their requests by ``match_approvals`` (an unknown id is a
400 naming it); an approved one is ``run_call``-ed with its ``approval_request_id``, a declined one shows the
model ``declined_output``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from assistantd.errors import InvalidRequest
from assistantd.items import (
    Item,
    McpApprovalRequestItem,
    McpApprovalResponseItem,
    McpCallItem,
    McpListToolsItem,
)
from assistantd.mcp.client import call_tool, new_item_id
from assistantd.mcp.spec import McpLimits, McpServerSpec, is_read_only, parse_spec


def parse_specs(tools: Sequence[Mapping[str, Any]], limits: McpLimits) -> dict[str, McpServerSpec]:
    """Every ``mcp`` entry of a request's ``tools``, by ``server_label`` (a label used twice is a 400)."""
    specs: dict[str, McpServerSpec] = {}
    for index, entry in enumerate(tools):
        if entry.get("type") != "mcp":
            continue
        spec = parse_spec(entry, param=f"tools[{index}]", limits=limits)
        if spec.server_label in specs:
            raise InvalidRequest(
                f"Duplicate server_label '{spec.server_label}': each mcp tool needs its own label.",
                param=f"tools[{index}].server_label",
            )
        specs[spec.server_label] = spec
    return specs


def known_listings(specs: Mapping[str, McpServerSpec], context: Iterable[Item]) -> dict[str, McpListToolsItem]:
    """The latest successful ``mcp_list_tools`` item of the conversation for each spec's label, filtered by the
    spec's current ``allowed_tools``. Labels missing from the result still need ``list_tools``."""
    found: dict[str, McpListToolsItem] = {}
    for item in context:
        if isinstance(item, McpListToolsItem) and item.error is None and item.server_label in specs:
            found[item.server_label] = item
    for label, item in found.items():
        spec = specs[label]
        kept = tuple(t for t in item.tools if spec.allows(t.name, is_read_only(t)))
        if len(kept) != len(item.tools):
            found[label] = McpListToolsItem(item.id, label, kept, item.error, item.status)
    return found


def approval_request(spec: McpServerSpec, name: str, arguments: str) -> McpApprovalRequestItem:
    return McpApprovalRequestItem(new_item_id("mcpr_"), spec.server_label, name, arguments)


async def run_call(
    spec: McpServerSpec,
    name: str,
    arguments: str,
    limits: McpLimits,
    *,
    approval_request_id: str | None = None,
    item_id: str | None = None,
) -> McpCallItem:
    """Call the tool; the ``mcp_call`` item, ``completed`` with its output or ``failed`` with its error. The
    structured error (``CallOutcome.error``) is lost here: use ``call_tool`` to keep it."""
    outcome = await call_tool(spec, name, arguments, limits)
    return McpCallItem(
        id=item_id or new_item_id("mcp_"),
        server_label=spec.server_label,
        name=name,
        arguments=arguments,
        output=outcome.output,
        error=str(outcome.error) if outcome.error is not None else None,
        approval_request_id=approval_request_id,
        status="failed" if outcome.error is not None else "completed",
    )


def match_approvals(
    context: Iterable[Item], responses: Sequence[tuple[int, McpApprovalResponseItem]]
) -> list[tuple[McpApprovalRequestItem, McpApprovalResponseItem]]:
    """Pair each ``(input index, mcp_approval_response)`` with the ``mcp_approval_request`` it answers. An id
    that matches no request of the conversation is a 400 naming ``input[i].approval_request_id``; a request
    answered twice keeps its first answer, and one whose call already ran (an ``mcp_call`` carries its id) is
    left out, so replaying a conversation never runs a call again."""
    items = list(context)
    requests = {item.id: item for item in items if isinstance(item, McpApprovalRequestItem)}
    pairs: list[tuple[McpApprovalRequestItem, McpApprovalResponseItem]] = []
    answered = {i.approval_request_id for i in items if isinstance(i, McpCallItem) and i.approval_request_id}
    for index, response in responses:
        request = requests.get(response.approval_request_id)
        if request is None:
            raise InvalidRequest(
                f"No MCP approval request found with id '{response.approval_request_id}'.",
                param=f"input[{index}].approval_request_id",
            )
        if request.id not in answered:
            answered.add(request.id)
            pairs.append((request, response))
    return pairs


def declined_output(response: McpApprovalResponseItem) -> str:
    """What the model sees in place of the output of a call the user declined."""
    reason = f" Reason: {response.reason}" if response.reason else ""
    return f"The user declined this call of the tool; it was not run.{reason}"
