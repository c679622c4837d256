"""The MCP seam against a real MCP server: the official SDK's ``MCPServer`` over streamable HTTP, served by
uvicorn on a loopback port in this process. Nothing of ours is faked."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import anyio
import mcp_types
import pytest
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from openai.types.responses.mcp_tool_call_error import McpToolCallError
from openai.types.responses.response_output_item import McpListToolsTool
from pydantic import TypeAdapter

from assistantd.errors import InvalidRequest
from assistantd.items import McpApprovalResponseItem, McpCallItem, McpListToolsItem, McpTool, McpToolAnnotated
from assistantd.mcp import (
    McpLimits,
    McpServerSpec,
    approval_request,
    call_tool,
    declined_output,
    function_specs,
    known_listings,
    list_tools,
    match_approvals,
    needs_approval,
    parse_spec,
    parse_specs,
    run_call,
)
from assistantd.settings import Settings
from tests._serve import serve_in_thread

LIMITS = McpLimits(timeout_seconds=10, max_output_chars=1000)
TOKEN = "s3cret"


def _mcp_server() -> MCPServer:
    server = MCPServer("test-tools")

    @server.tool(annotations=mcp_types.ToolAnnotations(read_only_hint=True))
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    def echo(text: str) -> str:
        """Echo the text back."""
        return text

    @server.tool()
    def fail(reason: str) -> str:
        """Always fails."""
        raise ToolError(f"cannot do it: {reason}")

    @server.tool()
    async def slow(seconds: float) -> str:
        await anyio.sleep(seconds)
        return "woke up"

    @server.tool()
    def structured() -> mcp_types.CallToolResult:
        return mcp_types.CallToolResult(content=[], structured_content={"rows": [1, 2]})

    @server.tool()
    def picture() -> mcp_types.CallToolResult:
        return mcp_types.CallToolResult(
            content=[
                mcp_types.TextContent(type="text", text="a chart"),
                mcp_types.ImageContent(type="image", data="iVBORw0KGgo=", mime_type="image/png"),
            ]
        )

    @server.tool(name="fetch.page")
    def fetch_page(url: str) -> str:
        return url

    return server


class _Gate:
    """ASGI middleware in front of the MCP app: records every request's headers and JSON-RPC methods;
    ``/private`` answers 401 without ``Authorization: Bearer s3cret`` (an MCP server behind auth);
    ``/legacy`` answers the 2026 ``server/discover`` probe 400, as a handshake-era (2025) server does."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[dict[str, str]] = []
        self.methods: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.seen.append(headers)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        method = json.loads(body).get("method", "") if body.startswith(b"{") else ""
        self.methods.append(method)
        path = scope["path"]
        if path == "/private" and headers.get("authorization") != f"Bearer {TOKEN}":
            return await _answer(send, 401, b"no")
        if path == "/legacy" and method == "server/discover":
            error = {"jsonrpc": "2.0", "id": None, "error": {"code": -32000, "message": "Missing session ID"}}
            return await _answer(send, 400, json.dumps(error).encode())
        if path in ("/private", "/legacy"):
            scope = {**scope, "path": "/mcp", "raw_path": b"/mcp"}
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                return dict(await receive())
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _answer(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def gate() -> Iterator[_Gate]:
    gate = _Gate(_mcp_server().streamable_http_app())
    with serve_in_thread(gate) as url:
        gate.url = url  # type: ignore[attr-defined]
        yield gate


@pytest.fixture
def base(gate: _Gate) -> str:
    gate.seen.clear()
    gate.methods.clear()
    return str(gate.url)  # type: ignore[attr-defined]


def _spec(url: str, **entry: Any) -> McpServerSpec:
    return parse_spec(
        {"type": "mcp", "server_label": "calc", "server_url": url, **entry}, param="tools[0]", limits=LIMITS
    )


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- list_tools -----------------------------------------------------------------------------------


async def test_list_tools_returns_every_tool_with_schema_and_annotations(base: str) -> None:
    item = await list_tools(_spec(f"{base}/mcp"), LIMITS)
    assert item.error is None and item.status == "completed"
    assert item.server_label == "calc" and item.id.startswith("mcpl_")
    by_name = {t.name: t for t in item.tools}
    assert set(by_name) >= {"add", "echo", "fail", "slow", "fetch.page"}
    add = by_name["add"]
    assert add.description == "Add two integers."
    assert add.input_schema["properties"].keys() == {"a", "b"}
    assert isinstance(add, McpToolAnnotated) and add.annotations == {"readOnlyHint": True}
    for tool in item.tools:  # what the Responses renderer will show validates against the SDK's type
        McpListToolsTool.model_validate(
            {"name": tool.name, "input_schema": tool.input_schema, "description": tool.description}
        )


async def test_allowed_tools_list_and_filter(base: str) -> None:
    listed = await list_tools(_spec(f"{base}/mcp", allowed_tools=["echo", "add", "nope"]), LIMITS)
    assert sorted(t.name for t in listed.tools) == ["add", "echo"]
    read_only = await list_tools(_spec(f"{base}/mcp", allowed_tools={"read_only": True}), LIMITS)
    assert [t.name for t in read_only.tools] == ["add"]
    both = await list_tools(
        _spec(f"{base}/mcp", allowed_tools={"tool_names": ["add", "echo"], "read_only": False}), LIMITS
    )
    assert [t.name for t in both.tools] == ["echo"]
    assert (await list_tools(_spec(f"{base}/mcp", allowed_tools=[]), LIMITS)).tools == ()


async def test_list_tools_on_a_closed_port_is_an_error_item_fast() -> None:
    started = time.monotonic()
    item = await list_tools(_spec(f"http://127.0.0.1:{_closed_port()}/mcp"), LIMITS)
    assert time.monotonic() - started < 5
    assert item.status == "failed" and item.tools == ()
    assert item.error is not None and "could not reach MCP server 127.0.0.1:" in item.error


async def test_list_tools_on_a_path_that_is_not_mcp_is_an_error_item(base: str) -> None:
    item = await list_tools(_spec(f"{base}/not-mcp"), LIMITS)
    assert item.status == "failed" and item.error is not None and "HTTP 404" in item.error


# --- headers and authorization --------------------------------------------------------------------


async def test_authorization_and_headers_reach_the_server(base: str, gate: _Gate) -> None:
    spec = _spec(f"{base}/private", authorization=TOKEN, headers={"X-Trace": "t-1"})
    item = await list_tools(spec, LIMITS)
    assert item.error is None and item.tools
    assert gate.seen and all(h.get("authorization") == f"Bearer {TOKEN}" for h in gate.seen)
    assert all(h.get("x-trace") == "t-1" for h in gate.seen)
    output, error = await call_tool(spec, "echo", '{"text": "hi"}', LIMITS)
    assert (output, error) == ("hi", None)


async def test_a_handshake_era_server_is_reached_through_initialize(base: str, gate: _Gate) -> None:
    spec = _spec(f"{base}/legacy", headers={"X-Trace": "t-2"})
    item = await list_tools(spec, LIMITS)
    assert item.error is None and {"add", "echo"} <= {t.name for t in item.tools}
    assert gate.methods[:2] == ["server/discover", "initialize"]
    assert tuple(await call_tool(spec, "add", '{"a": 1, "b": 1}', LIMITS)) == ("2", None)
    assert all(h.get("x-trace") == "t-2" for h in gate.seen)


async def test_a_server_refusing_the_credentials_is_an_http_error(base: str) -> None:
    item = await list_tools(_spec(f"{base}/private", headers={"Authorization": "Bearer wrong"}), LIMITS)
    assert item.status == "failed" and item.error is not None and "HTTP 401" in item.error
    outcome = await call_tool(_spec(f"{base}/private"), "echo", '{"text": "hi"}', LIMITS)
    assert outcome.output is None and outcome.error is not None
    assert (outcome.error.kind, outcome.error.code) == ("http_error", 401)
    TypeAdapter(McpToolCallError).validate_python(outcome.error.as_dict())


# --- call_tool ------------------------------------------------------------------------------------


async def test_call_tool_success_joins_text(base: str) -> None:
    spec = _spec(f"{base}/mcp")
    assert tuple(await call_tool(spec, "add", '{"a": 2, "b": 40}', LIMITS)) == ("42", None)
    assert tuple(await call_tool(spec, "fetch.page", '{"url": "x"}', LIMITS)) == ("x", None)


async def test_structured_only_content_is_its_json_and_images_are_named(base: str) -> None:
    spec = _spec(f"{base}/mcp")
    assert tuple(await call_tool(spec, "structured", "", LIMITS)) == ('{"rows": [1, 2]}', None)
    output, error = await call_tool(spec, "picture", "{}", LIMITS)
    assert error is None and output == "a chart\n[image content (image/png)]"


async def test_a_tool_error_is_an_execution_error_not_an_exception(base: str) -> None:
    outcome = await call_tool(_spec(f"{base}/mcp"), "fail", '{"reason": "no disk"}', LIMITS)
    assert outcome.output is None and outcome.error is not None
    assert outcome.error.kind == "mcp_tool_execution_error"
    assert "cannot do it: no disk" in str(outcome.error)
    wire = TypeAdapter(McpToolCallError).validate_python(outcome.error.as_dict())
    assert wire.type == "mcp_tool_execution_error"


async def test_unknown_tool_and_bad_arguments_are_errors(base: str) -> None:
    spec = _spec(f"{base}/mcp")
    _, error = await call_tool(spec, "missing", "{}", LIMITS)
    assert error is not None and "missing" in error
    _, error = await call_tool(spec, "add", '{"a": "x", "b": 1}', LIMITS)
    assert error is not None
    _, error = await call_tool(spec, "add", "not json", LIMITS)
    assert error is not None and "not valid JSON" in error
    _, error = await call_tool(spec, "add", "[1]", LIMITS)
    assert error == "arguments must be a JSON object"


async def test_a_tool_outside_allowed_tools_is_not_called(base: str, gate: _Gate) -> None:
    outcome = await call_tool(_spec(f"{base}/mcp", allowed_tools=["echo"]), "add", '{"a": 1, "b": 2}', LIMITS)
    assert outcome.error is not None and "not in allowed_tools" in str(outcome.error)
    assert gate.seen == []


async def test_call_tool_on_a_closed_port_is_an_error_fast() -> None:
    started = time.monotonic()
    outcome = await call_tool(_spec(f"http://127.0.0.1:{_closed_port()}/mcp"), "add", "{}", LIMITS)
    assert time.monotonic() - started < 5
    assert outcome.output is None and outcome.error is not None
    assert (outcome.error.kind, outcome.error.code) == ("http_error", 502)


async def test_a_slow_tool_times_out_at_the_deadline(base: str) -> None:
    limits = McpLimits(timeout_seconds=0.5, max_output_chars=1000)
    started = time.monotonic()
    outcome = await call_tool(_spec(f"{base}/mcp"), "slow", '{"seconds": 3}', limits)
    elapsed = time.monotonic() - started
    assert 0.4 < elapsed < 2.5
    assert outcome.error is not None and (outcome.error.kind, outcome.error.code) == ("http_error", 504)
    assert "did not answer within 0.5 s" in str(outcome.error)


async def test_output_is_bounded_with_a_note(base: str) -> None:
    limits = McpLimits(timeout_seconds=10, max_output_chars=100)
    output, error = await call_tool(_spec(f"{base}/mcp"), "echo", f'{{"text": "{"x" * 250}"}}', limits)
    assert error is None and output is not None
    assert output == "x" * 100 + "\n[output truncated: 100 of 250 characters shown]"


# --- parse_spec -----------------------------------------------------------------------------------


def test_defaults_follow_openai() -> None:
    spec = _spec("https://mcp.example.com/mcp", server_description="Calculator", defer_loading=False)
    assert spec.require_approval == "always" and spec.allowed_tools is None
    assert spec.headers == {} and spec.server_description == "Calculator"


def test_authorization_replaces_an_authorization_header() -> None:
    spec = _spec("https://h/mcp", headers={"authorization": "Basic x", "X-A": "1"}, authorization="tok")
    assert spec.headers == {"X-A": "1", "Authorization": "Bearer tok"}


@pytest.mark.parametrize(
    ("entry", "param"),
    [
        ({"server_url": "https://h/mcp"}, "tools[0].server_label"),
        ({"server_label": "a"}, "tools[0].server_url"),
        ({"server_label": "a", "connector_id": "connector_gmail"}, "tools[0].connector_id"),
        ({"server_label": "a", "server_url": "file:///etc/passwd"}, "tools[0].server_url"),
        ({"server_label": "a", "server_url": "http://h:notaport/"}, "tools[0].server_url"),
        ({"server_label": "a", "server_url": "https://h", "headers": {"X": 1}}, "tools[0].headers"),
        ({"server_label": "a", "server_url": "https://h", "allowed_tools": "add"}, "tools[0].allowed_tools"),
        (
            {"server_label": "a", "server_url": "https://h", "require_approval": "sometimes"},
            "tools[0].require_approval",
        ),
        (
            {"server_label": "a", "server_url": "https://h", "require_approval": {"never": {"read_only": "y"}}},
            "tools[0].require_approval.never.read_only",
        ),
    ],
)
def test_bad_entries_are_400s_naming_the_field(entry: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_spec({"type": "mcp", **entry}, param="tools[0]", limits=LIMITS)
    assert caught.value.param == param


def test_allowed_hosts_restrict_server_urls() -> None:
    limits = McpLimits.from_settings(Settings(mcp_allowed_hosts=" *.example.com, 127.0.0.1:8080 "))
    assert limits.allowed_hosts == ("*.example.com", "127.0.0.1:8080")
    entry = {"type": "mcp", "server_label": "a"}
    parse_spec({**entry, "server_url": "https://mcp.Example.com/mcp"}, param="tools[1]", limits=limits)
    parse_spec({**entry, "server_url": "http://127.0.0.1:8080/mcp"}, param="tools[1]", limits=limits)
    for url in ("http://127.0.0.1:9090/mcp", "https://example.com.evil.net/", "http://169.254.169.254/"):
        with pytest.raises(InvalidRequest) as caught:
            parse_spec({**entry, "server_url": url}, param="tools[1]", limits=limits)
        assert (caught.value.param, caught.value.code) == ("tools[1].server_url", "mcp_host_not_allowed")
    assert McpLimits.from_settings(Settings()).allowed_hosts == ()


# --- needs_approval -------------------------------------------------------------------------------


READ_ONLY = McpToolAnnotated("add", {}, None, {"readOnlyHint": True})
WRITES = McpToolAnnotated("delete", {}, None, {"destructiveHint": True})


def test_needs_approval_single_policies() -> None:
    assert needs_approval(_spec("https://h"), "add") is True
    assert needs_approval(_spec("https://h", require_approval="always"), READ_ONLY) is True
    assert needs_approval(_spec("https://h", require_approval="never"), WRITES) is False


def test_needs_approval_filters() -> None:
    never_names = _spec("https://h", require_approval={"never": {"tool_names": ["add"]}})
    assert needs_approval(never_names, "add") is False
    assert needs_approval(never_names, "delete") is True  # neither filter matches: OpenAI's default
    never_read_only = _spec("https://h", require_approval={"never": {"read_only": True}})
    assert needs_approval(never_read_only, READ_ONLY) is False
    assert needs_approval(never_read_only, WRITES) is True
    assert needs_approval(never_read_only, "add") is True  # by name only, a tool counts as not read-only
    both = _spec("https://h", require_approval={"always": {"tool_names": ["add"]}, "never": {"read_only": True}})
    assert needs_approval(both, READ_ONLY) is True  # always wins
    always_writes = _spec("https://h", require_approval={"always": {"read_only": False}, "never": {}})
    assert needs_approval(always_writes, WRITES) is True
    assert needs_approval(always_writes, READ_ONLY) is False


# --- function_specs -------------------------------------------------------------------------------


def test_function_specs_keep_names_and_route_back() -> None:
    listing = McpListToolsItem("mcpl_1", "calc", (READ_ONLY, McpTool("echo", {"type": "object"}, "Echo")))
    functions = function_specs([listing])
    assert [(s.name, s.description) for s in functions.specs] == [("add", None), ("echo", "Echo")]
    assert functions.specs[0].parameters == {"type": "object", "properties": {}}
    target = functions.resolve("echo")
    assert target is not None and (target.server_label, target.tool.name) == ("calc", "echo")
    assert functions.resolve("nope") is None


def test_function_names_never_collide() -> None:
    first = McpListToolsItem("mcpl_1", "calc", (McpTool("add", {}), McpTool("fetch.page", {}), McpTool("x" * 80, {})))
    second = McpListToolsItem("mcpl_2", "calc-2", (McpTool("add", {}), McpTool("echo", {})))
    third = McpListToolsItem("mcpl_3", "calc-2", (McpTool("add", {}),))
    functions = function_specs([first, second, third], reserved={"echo", "file_search"})
    names = [s.name for s in functions.specs]
    assert names[:2] == ["add", "calc__fetch_page"]
    assert len(names[2]) == 64 and names[2].startswith("calc__xxx")
    assert names[3:] == ["calc-2__add", "calc-2__echo", "calc-2__add_2"]
    assert len(set(names)) == len(names)
    assert {n: (t.server_label, t.tool.name) for n, t in functions.targets.items()}["calc-2__echo"] == (
        "calc-2",
        "echo",
    )
    assert function_specs([first, second, third], reserved={"echo", "file_search"}) == functions


# --- flow: the steps the engine strings together --------------------------------------------------


def test_parse_specs_takes_the_mcp_entries_by_label() -> None:
    tools = [
        {"type": "function", "name": "f", "parameters": {}},
        {"type": "mcp", "server_label": "a", "server_url": "https://a/mcp"},
        {"type": "web_search"},
        {"type": "mcp", "server_label": "b", "server_url": "https://b/mcp", "require_approval": "never"},
    ]
    specs = parse_specs(tools, LIMITS)
    assert list(specs) == ["a", "b"] and specs["b"].require_approval == "never"
    with pytest.raises(InvalidRequest) as caught:
        parse_specs([*tools, {"type": "mcp", "server_label": "a", "server_url": "https://c/mcp"}], LIMITS)
    assert caught.value.param == "tools[4].server_label"


def test_known_listings_reuse_the_latest_and_apply_the_current_filter() -> None:
    old = McpListToolsItem("mcpl_old", "calc", (McpTool("echo", {}),))
    failed = McpListToolsItem("mcpl_bad", "calc", (), error="down", status="failed")
    new = McpListToolsItem("mcpl_new", "calc", (READ_ONLY, McpTool("echo", {})))
    other = McpListToolsItem("mcpl_x", "elsewhere", (McpTool("echo", {}),))
    specs = {"calc": _spec("https://h", allowed_tools={"read_only": True}), "more": _spec("https://m")}
    found = known_listings(specs, [old, new, failed, other])
    assert list(found) == ["calc"]  # "more" was never listed: the engine lists it
    assert found["calc"].id == "mcpl_new" and [t.name for t in found["calc"].tools] == ["add"]


async def test_run_call_makes_the_mcp_call_item(base: str) -> None:
    spec = _spec(f"{base}/mcp")
    done = await run_call(spec, "add", '{"a": 3, "b": 4}', LIMITS, approval_request_id="mcpr_1")
    assert (done.status, done.output, done.error, done.approval_request_id) == ("completed", "7", None, "mcpr_1")
    assert done.id.startswith("mcp_") and (done.server_label, done.name) == ("calc", "add")
    failed = await run_call(spec, "fail", '{"reason": "x"}', LIMITS)
    assert failed.status == "failed" and failed.output is None and "cannot do it: x" in (failed.error or "")


def test_match_approvals() -> None:
    request = approval_request(_spec("https://h"), "add", '{"a": 1}')
    assert request.id.startswith("mcpr_") and (request.server_label, request.name) == ("calc", "add")
    ran = approval_request(_spec("https://h"), "echo", "{}")
    call = McpCallItem("mcp_1", "calc", "echo", "{}", output="", approval_request_id=ran.id)
    yes = McpApprovalResponseItem("mcpa_1", request.id, True)
    again = McpApprovalResponseItem("mcpa_2", request.id, False)
    late = McpApprovalResponseItem("mcpa_3", ran.id, True)
    pairs = match_approvals([request, ran, call], [(0, yes), (1, again), (2, late)])
    assert pairs == [(request, yes)]
    with pytest.raises(InvalidRequest) as caught:
        match_approvals([request], [(3, McpApprovalResponseItem("mcpa_4", "mcpr_nope", True))])
    assert caught.value.param == "input[3].approval_request_id" and "mcpr_nope" in caught.value.message
    assert "declined" in declined_output(McpApprovalResponseItem("mcpa_5", request.id, False))
    assert declined_output(McpApprovalResponseItem("mcpa_5", request.id, False, reason="no")).endswith("Reason: no")
