"""Remote MCP servers as tools of a Responses request (``{"type": "mcp", ...}``); see ``docs/mcp.md``.

- ``spec``: parse a tool entry (``parse_spec``), the operator's limits (``McpLimits``), the approval and
  allowed-tools policies (``needs_approval``, ``McpServerSpec.allows``).
- ``client``: ``list_tools`` and ``call_tool`` against the server over streamable HTTP; failures are values.
- ``functions``: the MCP tools as model functions, and back (``function_specs``).
- ``flow``: the steps the engine strings together (listings reused from the conversation, approval requests
  and responses, a call as an ``mcp_call`` item).

Nothing is kept in the process between calls: every exchange opens and closes its own connection.
"""

from assistantd.mcp.client import CallOutcome, McpError, call_tool, list_tools, new_item_id
from assistantd.mcp.flow import (
    approval_request,
    declined_output,
    known_listings,
    match_approvals,
    parse_specs,
    run_call,
)
from assistantd.mcp.functions import McpFunctions, McpTarget, function_specs
from assistantd.mcp.spec import McpLimits, McpServerSpec, ToolFilter, is_read_only, needs_approval, parse_spec

__all__ = [
    "CallOutcome",
    "McpError",
    "McpFunctions",
    "McpLimits",
    "McpServerSpec",
    "McpTarget",
    "ToolFilter",
    "approval_request",
    "call_tool",
    "declined_output",
    "function_specs",
    "is_read_only",
    "known_listings",
    "list_tools",
    "match_approvals",
    "needs_approval",
    "new_item_id",
    "parse_spec",
    "parse_specs",
    "run_call",
]
