"""An ``mcp`` tool entry of a request, parsed once into an ``McpServerSpec``, and the policies it carries.

The entry is OpenAI's ``MCPTool``: ``server_label``, ``server_url``, ``authorization``, ``headers``,
``server_description``, ``allowed_tools`` (a list of names, or a filter ``{tool_names, read_only}``) and
``require_approval`` (``"always"``, ``"never"`` or ``{always: filter, never: filter}``; OpenAI's default, and
ours, is ``"always"``). ``connector_id`` and ``tunnel_id`` name OpenAI-hosted connectors and tunnels this
server cannot reach: asking for one is a 400, as is a ``server_url`` that is not ``http(s)`` or whose host the
operator's ``mcp_allowed_hosts`` does not list.

Filters follow the MCP spec's tool annotations: ``read_only: true`` matches a tool whose ``readOnlyHint`` is
true, ``read_only: false`` one whose hint is not; a filter with both keys needs both; an empty filter matches
every tool.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from assistantd.errors import InvalidRequest
from assistantd.items import McpTool, McpToolAnnotated
from assistantd.settings import Settings

DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_MAX_OUTPUT_CHARS = 100_000


@dataclass(frozen=True, slots=True)
class McpLimits:
    """What the operator allows: the settings ``mcp_timeout_seconds``, ``mcp_max_output_chars`` and
    ``mcp_allowed_hosts`` (comma-separated host patterns; empty allows any host)."""

    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS
    allowed_hosts: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> McpLimits:
        hosts = tuple(h.strip().lower() for h in settings.mcp_allowed_hosts.split(",") if h.strip())
        return cls(settings.mcp_timeout_seconds, settings.mcp_max_output_chars, hosts)


@dataclass(frozen=True, slots=True)
class ToolFilter:
    """OpenAI's ``MCPToolFilter``. ``None`` fields do not constrain."""

    tool_names: frozenset[str] | None = None
    read_only: bool | None = None

    def matches(self, name: str, read_only: bool | None) -> bool:
        """``read_only=None`` (not known, e.g. before listing) leaves the ``read_only`` criterion out."""
        if self.tool_names is not None and name not in self.tool_names:
            return False
        return self.read_only is None or read_only is None or self.read_only == read_only


@dataclass(frozen=True, slots=True)
class McpServerSpec:
    server_label: str
    server_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    """Sent on every request to the server; ``authorization`` became ``Authorization: Bearer <token>``."""
    allowed_tools: ToolFilter | None = None
    """Which of the server's tools are offered (``None``: all). A list of names is ``ToolFilter(tool_names)``."""
    require_approval: Literal["always", "never"] | None = "always"
    """A single policy, or ``None`` when ``approval_always`` / ``approval_never`` decide per tool."""
    approval_always: ToolFilter | None = None
    approval_never: ToolFilter | None = None
    server_description: str | None = None

    def allows(self, name: str, read_only: bool | None = None) -> bool:
        """Whether the tool may be offered and called (``read_only`` as its ``readOnlyHint`` says)."""
        return self.allowed_tools is None or self.allowed_tools.matches(name, read_only)


def is_read_only(tool: McpTool) -> bool:
    """The tool's ``readOnlyHint`` (a hint from the server; it decides filters, never security)."""
    return isinstance(tool, McpToolAnnotated) and (tool.annotations or {}).get("readOnlyHint") is True


def needs_approval(spec: McpServerSpec, tool: str | McpTool) -> bool:
    """Whether a call of ``tool`` must wait for an ``mcp_approval_response``. A tool an ``always`` filter
    matches needs approval; else one a ``never`` filter matches does not; any other tool needs it (OpenAI's
    default). Given only a name, the tool counts as not read-only."""
    if spec.require_approval is not None:
        return spec.require_approval == "always"
    name = tool if isinstance(tool, str) else tool.name
    read_only = False if isinstance(tool, str) else is_read_only(tool)
    if spec.approval_always is not None and spec.approval_always.matches(name, read_only):
        return True
    return not (spec.approval_never is not None and spec.approval_never.matches(name, read_only))


def parse_spec(entry: Mapping[str, Any], *, param: str, limits: McpLimits) -> McpServerSpec:
    """Parse one ``tools[]`` entry of type ``mcp``; ``param`` names it in errors (e.g. ``"tools[2]"``).
    Unknown keys (``defer_loading``, ``allowed_callers``) are accepted and ignored, as the Responses API's
    lenient policy wants; a value of the wrong type is a 400 naming its field."""
    label = entry.get("server_label")
    if not isinstance(label, str) or not label.strip():
        raise InvalidRequest("Missing required parameter: 'server_label'.", param=f"{param}.server_label")
    for unsupported in ("connector_id", "tunnel_id"):
        if entry.get(unsupported) is not None:
            raise InvalidRequest(
                f"'{unsupported}' is not supported by this server: give the MCP server's 'server_url' instead.",
                param=f"{param}.{unsupported}",
            )
    url = entry.get("server_url")
    if not isinstance(url, str) or not url:
        raise InvalidRequest("Missing required parameter: 'server_url'.", param=f"{param}.server_url")
    _check_url(url, f"{param}.server_url", limits.allowed_hosts)
    headers = _headers(entry.get("headers"), f"{param}.headers")
    token = entry.get("authorization")
    if token is not None:
        if not isinstance(token, str):
            raise InvalidRequest("'authorization' must be a string.", param=f"{param}.authorization")
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        headers["Authorization"] = f"Bearer {token}"
    description = entry.get("server_description")
    if description is not None and not isinstance(description, str):
        raise InvalidRequest("'server_description' must be a string.", param=f"{param}.server_description")
    policy, always, never = _approval(entry.get("require_approval"), f"{param}.require_approval")
    return McpServerSpec(
        server_label=label,
        server_url=url,
        headers=headers,
        allowed_tools=_allowed(entry.get("allowed_tools"), f"{param}.allowed_tools"),
        require_approval=policy,
        approval_always=always,
        approval_never=never,
        server_description=description,
    )


def host_allowed(host: str, port: int | None, patterns: tuple[str, ...]) -> bool:
    """``fnmatch`` of the host (lower case; IPv6 without brackets), or of ``host:port``, against a pattern."""
    if not patterns:
        return True
    host = host.lower()
    candidates = (host, f"{host}:{port}") if port is not None else (host,)
    return any(fnmatch.fnmatchcase(c, p) for p in patterns for c in candidates)


def _check_url(url: str, param: str, allowed_hosts: tuple[str, ...]) -> None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidRequest(f"Invalid 'server_url': {exc}.", param=param) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest("Invalid 'server_url': expected an http:// or https:// URL.", param=param)
    if not host_allowed(parts.hostname, port or (443 if parts.scheme == "https" else 80), allowed_hosts):
        raise InvalidRequest(
            f"MCP server host '{parts.hostname}' is not allowed on this server (see mcp_allowed_hosts).",
            param=param,
            code="mcp_host_not_allowed",
        )


def _headers(value: Any, param: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidRequest("'headers' must be an object of string values.", param=param)
    return dict(value)


def _filter(value: Any, param: str) -> ToolFilter:
    if not isinstance(value, Mapping):
        raise InvalidRequest("Expected a filter object with 'tool_names' and/or 'read_only'.", param=param)
    names = value.get("tool_names")
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise InvalidRequest("'tool_names' must be a list of strings.", param=f"{param}.tool_names")
    read_only = value.get("read_only")
    if read_only is not None and not isinstance(read_only, bool):
        raise InvalidRequest("'read_only' must be a boolean.", param=f"{param}.read_only")
    return ToolFilter(frozenset(names) if names is not None else None, read_only)


def _allowed(value: Any, param: str) -> ToolFilter | None:
    if value is None:
        return None
    if isinstance(value, list):
        if not all(isinstance(n, str) for n in value):
            raise InvalidRequest("'allowed_tools' must be a list of tool names or a filter object.", param=param)
        return ToolFilter(frozenset(value))
    return _filter(value, param)


def _approval(value: Any, param: str) -> tuple[Literal["always", "never"] | None, ToolFilter | None, ToolFilter | None]:
    if value is None or value == "always":
        return "always", None, None
    if value == "never":
        return "never", None, None
    if isinstance(value, Mapping):
        always, never = value.get("always"), value.get("never")
        return (
            None,
            _filter(always, f"{param}.always") if always is not None else None,
            _filter(never, f"{param}.never") if never is not None else None,
        )
    raise InvalidRequest("'require_approval' must be 'always', 'never' or an {always, never} object.", param=param)
