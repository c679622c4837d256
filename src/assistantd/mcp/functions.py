"""MCP tools offered to the model as functions, and the way back from a function name to the MCP tool.

Chat-completions upstreams take function names of ``^[A-Za-z0-9_-]{1,64}$``; MCP allows more (dots,
slashes, 128 characters), and two servers, or a server and the client's own functions, may use one name.
So each MCP tool gets:

- its own name, when that is a valid function name and no earlier function has it;
- else ``<server_label>__<name>`` with every other character made ``_``, cut to 64 characters;
- else that with ``_2``, ``_3``... appended.

``reserved`` is every name taken before the MCP tools: the request's client ``function`` tools and the
server tools (``file_search``...). The client's functions always keep their names, so a model call of such a
name is never routed to an MCP server. The result depends only on its inputs, in order, so the same request
(or a later one in its chain with the same tools) gives the model the same names on every turn.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from assistantd.backends.base import FunctionSpec
from assistantd.items import McpListToolsItem, McpTool

MAX_NAME = 64
_VALID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_INVALID_CHARS = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True, slots=True)
class McpTarget:
    server_label: str
    tool: McpTool


@dataclass(frozen=True, slots=True)
class McpFunctions:
    specs: list[FunctionSpec] = field(default_factory=list)
    """What to add to the turn's ``tools``, in the listings' order."""
    targets: dict[str, McpTarget] = field(default_factory=dict)
    """Function name the model calls → the MCP server (by label) and tool to call."""

    def resolve(self, function_name: str) -> McpTarget | None:
        return self.targets.get(function_name)


def function_specs(listings: Sequence[McpListToolsItem], *, reserved: Collection[str] = ()) -> McpFunctions:
    """The functions for the tools of ``listings`` (one ``mcp_list_tools`` item per server; failed listings
    have no tools and add nothing)."""
    taken = set(reserved)
    specs: list[FunctionSpec] = []
    targets: dict[str, McpTarget] = {}
    for listing in listings:
        for tool in listing.tools:
            name = _name(listing.server_label, tool.name, taken)
            taken.add(name)
            specs.append(FunctionSpec(name=name, description=tool.description, parameters=_parameters(tool)))
            targets[name] = McpTarget(listing.server_label, tool)
    return McpFunctions(specs, targets)


def _name(label: str, tool_name: str, taken: set[str]) -> str:
    if _VALID.match(tool_name) and tool_name not in taken:
        return tool_name
    base = _INVALID_CHARS.sub("_", f"{label}__{tool_name}")[:MAX_NAME]
    name, n = base, 1
    while name in taken:
        n += 1
        suffix = f"_{n}"
        name = base[: MAX_NAME - len(suffix)] + suffix
    return name


def _parameters(tool: McpTool) -> dict[str, object]:
    """The tool's input schema; an empty one becomes an object schema (upstreams reject ``{}`` or none)."""
    schema = dict(tool.input_schema)
    if not schema:
        return {"type": "object", "properties": {}}
    return schema
