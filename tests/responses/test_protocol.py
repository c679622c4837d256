"""The Responses request models: what real clients send parses; a bad value of a known field is a 400 naming it.

The shapes are the ones captured from Codex, the Agents SDK and ``responses.parse``
(spec responses-clients.md §2-3); no HTTP here, the router feeds the same models.
"""

from __future__ import annotations

import typing
from typing import Any

import pydantic
import pytest
from openai.lib._parsing._responses import type_to_text_format_param
from openai.types.responses import response_input_item_param

from assistantd import items
from assistantd.errors import InvalidRequest
from assistantd.responses import protocol as p
from assistantd.responses._input import FOREIGN_ITEM_TYPES

FN_PARAMS = {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]}

CODEX = {
    "model": "some-model",
    "instructions": None,
    "input": [
        {"type": "message", "id": "msg_6a0f", "role": "developer", "content": [{"type": "input_text", "text": "sys"}]},
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "env"}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list files"}]},
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [{"type": "summary_text", "text": "thinking"}],
            "content": None,
            "encrypted_content": "gAAAAB-opaque",
        },
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_1",
            "name": "shell",
            "arguments": '{"cmd":"ls"}',
            "status": "completed",
        },
        {"type": "function_call_output", "id": "fco_0c1f-uuid", "call_id": "call_1", "output": "a.txt"},
    ],
    "tools": [
        {"type": "function", "name": "shell", "description": "run", "strict": False, "parameters": FN_PARAMS},
        {"type": "namespace", "name": "multi_agent_v1", "tools": [{"type": "function", "name": "spawn"}]},
        {"type": "web_search", "external_web_access": False},
    ],
    "tool_choice": "auto",
    "parallel_tool_calls": True,
    "reasoning": {"summary": "auto"},
    "store": False,
    "stream": True,
    "include": ["reasoning.encrypted_content"],
    "prompt_cache_key": "0198-uuid",
    "client_metadata": {"session": "x"},
    "text": {"verbosity": "low"},
}

AGENTS = {
    "model": "m",
    "instructions": "You are helpful.",
    "input": [
        {"role": "user", "content": "weather?"},
        {"type": "function_call", "call_id": "call_9", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_9", "output": "sunny"},
    ],
    "tools": [
        {"type": "function", "name": "get_weather", "parameters": FN_PARAMS, "strict": True, "description": None},
        {"type": "file_search", "vector_store_ids": ["vs_1"], "max_num_results": 3},
        {"type": "code_interpreter", "container": {"type": "auto"}},
    ],
    "include": ["file_search_call.results"],
    "tool_choice": None,
    "parallel_tool_calls": None,
    "truncation": "auto",
    "store": True,
    "stream": False,
    "metadata": {"k": "v"},
    "context_management": [{"type": "compaction", "compact_threshold": 1000}],
    "prompt_cache_retention": None,
}


def _bad(body: dict[str, Any], param: str, model: type[pydantic.BaseModel] = p.CreateResponse) -> str:
    with pytest.raises(InvalidRequest) as err:
        p.parse(model, body)
    assert err.value.param == param, (err.value.param, err.value.message)
    assert err.value.status == 400
    return err.value.message


def test_codex_request_parses_and_keeps_what_matters() -> None:
    req = p.parse(p.CreateResponse, CODEX)
    assert req.store is False and req.stream is True
    assert req.includes == {"reasoning.encrypted_content"}
    assert [t.type for t in req.tools] == ["function", "namespace", "web_search"]
    assert [t.type for t in req.runnable_tools()] == ["function"]
    fn = req.tools[0]
    assert isinstance(fn, p.FunctionTool) and fn.is_strict is False
    assert isinstance(req.tools[1], p.UnknownTool)
    # the unknown tool is echoed as sent
    assert p.tools_echo(req.tools)[1] == CODEX["tools"][1]  # type: ignore[index]

    entries = req.entries(new_id=lambda prefix: prefix + "new")
    assert [type(e).__name__ for e in entries] == [
        "MessageItem",
        "MessageItem",
        "MessageItem",
        "ReasoningItem",
        "FunctionCallItem",
        "FunctionOutputItem",
    ]
    assert entries[0] == items.MessageItem("msg_6a0f", "developer", (items.TextPart("sys"),))
    assert isinstance(entries[1], items.MessageItem) and entries[1].id == "msg_new"
    assert entries[3] == items.ReasoningItem("rs_1", ("thinking",), "gAAAAB-opaque")
    assert entries[4] == items.FunctionCallItem("fc_1", "call_1", "shell", '{"cmd":"ls"}')
    assert entries[5] == items.FunctionOutputItem("fco_0c1f-uuid", "call_1", "a.txt")
    assert p.text_echo(req.text) == {"format": {"type": "text"}, "verbosity": "low"}
    assert p.reasoning_echo(req.reasoning) == {"effort": None, "summary": "auto"}


def test_agents_sdk_request_parses() -> None:
    req = p.parse(p.CreateResponse, AGENTS)
    assert req.truncation == "auto" and req.tool_choice is None and p.tool_choice_value(req) == "auto"
    entries = req.entries()
    assert isinstance(entries[0], items.MessageItem) and entries[0].role == "user"
    assert entries[0].id.startswith("msg_") and len(entries[0].id) == 4 + 48
    assert isinstance(entries[1], items.FunctionCallItem) and entries[1].id.startswith("fc_")
    echo = p.tools_echo(req.tools, container_ids={2: "cntr_abc"})
    assert echo[0]["strict"] is True
    assert echo[1] == {
        "type": "file_search",
        "vector_store_ids": ["vs_1"],
        "filters": None,
        "max_num_results": 3,
        "ranking_options": {"ranker": "auto", "score_threshold": 0.0},
    }
    assert echo[2] == {"type": "code_interpreter", "container": "cntr_abc"}


def test_parallel_tool_calls_null_means_default() -> None:
    # The Agents SDK sends nulls for what it does not set (NOT_GIVEN becomes null in some paths).
    req = p.parse(p.CreateResponse, {"model": "m", "input": "x", "parallel_tool_calls": None})
    assert req.parallel_tool_calls is True


def test_responses_parse_flat_json_schema() -> None:
    class Weather(pydantic.BaseModel):
        city: str
        temp: float

    fmt: dict[str, Any] = dict(type_to_text_format_param(Weather))
    req = p.parse(p.CreateResponse, {"model": "m", "input": "x", "text": {"format": fmt}})
    assert req.text is not None and isinstance(req.text.format, p.FormatJsonSchema)
    assert req.text.format.name == "Weather" and req.text.format.strict is True
    assert req.text.format.schema_["additionalProperties"] is False
    echoed = p.text_echo(req.text)
    assert echoed["format"]["schema"] == fmt["schema"] and echoed["verbosity"] == "medium"


def test_function_strict_defaults_to_true() -> None:
    req = p.parse(p.CreateResponse, {"model": "m", "tools": [{"type": "function", "name": "f"}]})
    assert p.tools_echo(req.tools) == [
        {"type": "function", "name": "f", "description": None, "parameters": None, "strict": True}
    ]


def test_easy_and_typed_items_become_neutral_items() -> None:
    body = {
        "model": "m",
        "conversation": {"id": "conv_1"},
        "input": [
            {"role": "system", "content": "be brief"},
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "see"},
                    {"type": "input_image", "image_url": "data:image/png;base64,AAA", "detail": "low"},
                    {"type": "input_image", "file_id": "file-img"},
                    {"type": "input_file", "file_id": "file-doc", "filename": "a.pdf"},
                ],
            },
            {
                "type": "message",
                "id": "msg_old",
                "role": "assistant",
                "status": "completed",
                "phase": "final_answer",
                "content": [
                    {"type": "output_text", "text": "ok", "annotations": [], "logprobs": []},
                    {"type": "refusal", "refusal": "no"},
                ],
            },
            {"id": "msg_ref"},
            {"type": "item_reference", "id": "fc_ref"},
            {
                "type": "function_call_output",
                "call_id": "c",
                "output": [{"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}],
            },
            {"type": "file_search_call", "id": "fs_1", "queries": ["q"], "status": "completed", "results": None},
            {
                "type": "code_interpreter_call",
                "id": "ci_1",
                "code": "print(1)",
                "container_id": "cntr_1",
                "status": "completed",
                "outputs": [{"type": "logs", "logs": "1\n"}, {"type": "image", "url": "https://x/y.png"}],
            },
            {"type": "mcp_call", "id": "mcp_1", "server_label": "s", "name": "t", "arguments": "{}", "output": "o"},
            {"type": "mcp_approval_response", "approval_request_id": "mcpr_1", "approve": True},
            {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search"}},
        ],
    }
    req = p.parse(p.CreateResponse, body)
    assert req.conversation_id == "conv_1"
    e = req.entries(new_id=lambda prefix: prefix + "x")
    assert e[0] == items.MessageItem("msg_x", "system", (items.TextPart("be brief"),))
    assert isinstance(e[1], items.MessageItem)
    assert e[1].parts == (
        items.TextPart("see"),
        items.ImagePart(url="data:image/png;base64,AAA", detail="low"),
        items.ImagePart(file_id="file-img"),
        items.FilePart("file-doc", "a.pdf"),
    )
    assert e[2] == items.MessageItem("msg_old", "assistant", (items.TextPart("ok"), items.RefusalPart("no")))
    assert e[3] == p.ItemReference("msg_ref") and e[4] == p.ItemReference("fc_ref")
    assert e[5] == items.FunctionOutputItem("fco_x", "c", "a\nb")
    assert e[6] == items.FileSearchCallItem("fs_1", "fs_1", ("q",))
    assert isinstance(e[7], items.CodeInterpreterCallItem) and e[7].container_id == "cntr_1"
    assert e[7].outputs == (items.CodeOutput("logs", logs="1\n"), items.CodeOutput("image", url="https://x/y.png"))
    assert isinstance(e[8], items.McpCallItem) and e[8].output == "o"
    assert e[9] == items.McpApprovalResponseItem("mcpr_x", "mcpr_1", True)
    assert e[10] == p.ForeignInput("web_search_call", body["input"][10])  # type: ignore[index]


def test_foreign_item_types_are_the_sdks_remaining_input_types() -> None:
    """Every input item type of the pinned SDK is either modelled here or passed through as foreign."""
    sdk = set()
    for member in typing.get_args(response_input_item_param.ResponseInputItemParam):
        hint = typing.get_type_hints(member)["type"]
        while typing.get_args(hint) and not isinstance(typing.get_args(hint)[0], str):
            hint = typing.get_args(hint)[0]
        sdk |= {a for a in typing.get_args(hint) if isinstance(a, str)}
    modelled = {
        "message",
        "function_call",
        "function_call_output",
        "item_reference",
        "reasoning",
        "file_search_call",
        "code_interpreter_call",
        "mcp_list_tools",
        "mcp_call",
        "mcp_approval_request",
        "mcp_approval_response",
        "compaction",
    }
    assert sdk == modelled | FOREIGN_ITEM_TYPES


def test_input_tokens_and_compact_requests() -> None:
    req = p.parse(p.InputTokensRequest, {"model": "m", "input": "hi", "tools": [{"type": "web_search"}], "x": 1})
    assert req.truncation == "disabled" and req.runnable_tools() == []
    compact = p.parse(p.CompactRequest, {"model": "m", "previous_response_id": "resp_1"})
    assert compact.previous_response_id == "resp_1"
    _bad({"input": "x"}, "model", p.CompactRequest)


def test_mcp_tool() -> None:
    tool = {
        "type": "mcp",
        "server_label": "deepwiki",
        "server_url": "http://127.0.0.1:9/mcp",
        "headers": {"Authorization": "Bearer secret"},
        "allowed_tools": ["ask"],
        "require_approval": {"never": {"tool_names": ["ask"]}},
    }
    req = p.parse(p.CreateResponse, {"model": "m", "tools": [tool, {**tool, "server_url": None, "connector_id": "x"}]})
    first, second = req.tools
    assert isinstance(first, p.McpTool) and first.runnable and first.headers == {"Authorization": "Bearer secret"}
    assert not second.runnable
    echo = p.tools_echo([first])[0]
    assert "headers" not in echo and echo["server_label"] == "deepwiki"


BAD = [
    ({"temperature": 3}, "temperature"),
    ({"temperature": "1"}, "temperature"),
    ({"top_p": 1.5}, "top_p"),
    ({"top_logprobs": 21}, "top_logprobs"),
    ({"max_output_tokens": 5}, "max_output_tokens"),
    ({"max_output_tokens": 10**30}, "max_output_tokens"),
    ({"text": {"format": {"type": "json_schema", "schema": {"type": "object"}}}}, "text.format.name"),
    ({"text": {"format": {"type": "json_schema", "name": "x"}}}, "text.format.schema"),
    ({"text": {"format": {"type": "json_schema", "name": "bad name", "schema": {}}}}, "text.format.name"),
    ({"text": {"format": {"type": "xml"}}}, "text.format.type"),
    ({"text": {"verbosity": "loud"}}, "text.verbosity"),
    ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
    ({"metadata": {"k" * 65: "v"}}, "metadata"),
    ({"metadata": {"k": "v" * 513}}, "metadata.k"),
    ({"truncation": "sometimes"}, "truncation"),
    ({"reasoning": {"effort": "huge"}}, "reasoning.effort"),
    ({"include": ["file_search_call.results", "everything"]}, "include[1]"),
    ({"tool_choice": "sometimes"}, "tool_choice"),
    ({"previous_response_id": "resp_1", "conversation": "conv_1"}, "conversation"),
    ({"background": True, "store": False}, "background"),
    ({"input": [{"type": "telepathy", "content": "x"}]}, "input[0].type"),
    ({"input": [{"role": "tool", "content": "x"}]}, "input[0].role"),
    ({"input": [{"role": "user", "content": [{"type": "input_audio"}]}]}, "input[0].content[0].type"),
    ({"input": [{"role": "user", "content": [{"type": "input_image"}]}]}, "input[0].content[0].image_url"),
    (
        {"input": [{"role": "user", "content": [{"type": "input_file", "file_data": "data:..."}]}]},
        "input[0].content[0].file_data",
    ),
    ({"input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id"),
    ({"input": [{"type": "function_call", "call_id": "c", "name": "f"}]}, "input[0].arguments"),
    ({"input": ["hello"]}, "input[0]"),
    ({"input": 5}, "input"),
    ({"tools": [{"type": "function"}]}, "tools[0].name"),
    ({"tools": [{"type": "function", "name": "has space"}]}, "tools[0].name"),
    ({"tools": [{"name": "f"}]}, "tools[0].type"),
    ({"tools": [{"type": "file_search"}]}, "tools[0].vector_store_ids"),
    ({"tools": [{"type": "file_search", "vector_store_ids": [], "max_num_results": 51}]}, "tools[0].max_num_results"),
    (
        {"tools": [{"type": "file_search", "vector_store_ids": [], "filters": {"type": "near", "key": "a"}}]},
        "tools[0].filters.type",
    ),
    ({"tools": [{"type": "code_interpreter"}]}, "tools[0].container"),
    (
        {"tools": [{"type": "code_interpreter", "container": {"type": "auto", "memory_limit": "2g"}}]},
        "tools[0].container.memory_limit",
    ),
    ({"tools": [{"type": "mcp", "server_label": "s"}]}, "tools[0].server_url"),
    ({"safety_identifier": "x" * 65}, "safety_identifier"),
    ({"store": "yes"}, "store"),
]


@pytest.mark.parametrize(("extra", "param"), BAD, ids=[b[1] + f"-{i}" for i, b in enumerate(BAD)])
def test_bad_value_of_a_known_field_is_a_400_naming_it(extra: dict[str, Any], param: str) -> None:
    message = _bad({"model": "m", **extra}, param)
    assert message and "body" not in message


def test_unknown_fields_everywhere_are_ignored() -> None:
    body = {
        "model": "m",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "x", "cache_control": {}}], "x": 1}],
        "client_metadata": {"a": 1},
        "prompt_cache_options": {"mode": "explicit"},
        "moderation": {"model": "omni"},
        "service_tier": "ultrafast",
        "text": {"format": {"type": "text"}, "future": True},
        "reasoning": {"effort": "high", "context": "x", "mode": "y"},
        "stream_options": {"include_obfuscation": False},
        "prompt": {"id": "pmpt_1", "variables": {"city": "Paris"}},
    }
    req = p.parse(p.CreateResponse, body)
    assert req.service_tier == "ultrafast" and req.prompt is not None and req.prompt.id == "pmpt_1"
