"""Remote MCP servers as tools of a Responses request (``{"type": "mcp", ...}``); see ``docs/mcp.md``.

- ``spec``: parse a tool entry (``parse_spec``), the operator's limits (``McpLimits``), the approval and
  allowed-tools policies (``needs_approval``, ``McpServerSpec.allows``).
- ``client``: ``list_tools`` and ``call_tool`` against the server over streamable HTTP; failures are values.
- ``functions``: the MCP tools as model functions, and back (``function_specs``).

Nothing is kept in the process between calls: every exchange opens and closes its own connection.
"""

from assistantd.mcp.client import CallOutcome, McpError, call_tool, list_tools, new_item_id
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
    "call_tool",
    "function_specs",
    "is_read_only",
    "list_tools",
    "needs_approval",
    "new_item_id",
    "parse_spec",
]
