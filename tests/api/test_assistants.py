"""/v1/assistants through the official client: every field echoed, modify semantics, validation."""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import pytest

from tests._schema import assert_schema
from tests._support import assert_api_error, assert_error, make_file, wire

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}
FILE_SEARCH = {
    "type": "file_search",
    "file_search": {
        "max_num_results": 7,
        "ranking_options": {"ranker": "default_2024_08_21", "score_threshold": 0.25},
    },
}
JSON_SCHEMA_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "answer",
        "description": "The answer, structured",
        "schema": {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
        "strict": True,
    },
}


async def _count(client: openai.AsyncOpenAI) -> int:
    return len([a async for a in client.beta.assistants.list(limit=100)])


async def test_create_echoes_every_field(client: openai.AsyncOpenAI) -> None:
    f = await make_file(client)
    fields: dict[str, Any] = {
        "model": "gpt-4o",
        "name": "Support bot",
        "description": "Answers questions about the product",
        "instructions": "Be brief.",
        "tools": [{"type": "code_interpreter"}, FILE_SEARCH, WEATHER],
        "tool_resources": {"code_interpreter": {"file_ids": [f.id]}},
        "response_format": JSON_SCHEMA_FORMAT,
        "temperature": 0.3,
        "top_p": 0.9,
        "reasoning_effort": "low",
        "metadata": {"team": "support", "tier": "1"},
    }
    assistant, body = await wire(client.beta.assistants.with_raw_response.create(**fields))
    assert_schema(body, "AssistantObject")
    assert assistant.id.startswith("asst_") and body["object"] == "assistant"
    assert isinstance(body["created_at"], int)
    for key, value in fields.items():
        assert body[key] == value, key
    assert assistant.tools[2].function.parameters == WEATHER["function"]["parameters"]

    _, again = await wire(client.beta.assistants.with_raw_response.retrieve(assistant.id))
    assert again == body
    _, listed = await wire(client.beta.assistants.with_raw_response.list())
    assert_schema(listed, "ListAssistantsResponse")
    assert listed["data"] == [body]


async def test_create_minimal_has_every_required_field_and_defaults(client: openai.AsyncOpenAI) -> None:
    _, body = await wire(client.beta.assistants.with_raw_response.create(model="gpt-4o-mini"))
    assert_schema(body, "AssistantObject")
    assert body["name"] is None and body["description"] is None and body["instructions"] is None
    assert body["tools"] == [] and body["metadata"] == {}
    assert body["temperature"] == 1.0 and body["top_p"] == 1.0
    assert body["response_format"] == "auto"


@pytest.mark.parametrize(
    "response_format",
    [
        "auto",
        {"type": "text"},
        {"type": "json_object"},
        JSON_SCHEMA_FORMAT,
        {"type": "json_schema", "json_schema": {"name": "bare"}},
    ],
)
async def test_response_format_echoed(client: openai.AsyncOpenAI, response_format: Any) -> None:
    _, body = await wire(client.beta.assistants.with_raw_response.create(model="m", response_format=response_format))
    assert_schema(body, "AssistantObject")
    assert body["response_format"] == response_format


@pytest.mark.parametrize("effort", ["none", "minimal", "low", "medium", "high", "xhigh", "max"])
async def test_reasoning_effort_echoed(client: openai.AsyncOpenAI, effort: str) -> None:
    _, body = await wire(client.beta.assistants.with_raw_response.create(model="m", reasoning_effort=effort))
    assert body["reasoning_effort"] == effort


@pytest.mark.parametrize(
    "tool",
    [
        {"type": "file_search"},
        {"type": "file_search", "file_search": {}},
        {"type": "file_search", "file_search": {"max_num_results": 50}},
        {"type": "file_search", "file_search": {"ranking_options": {"score_threshold": 0}}},
        {"type": "function", "function": {"name": "no_params"}},
        {"type": "function", "function": {"name": "a-b_C9", "parameters": {}, "strict": False}},
    ],
)
async def test_tools_echoed_exactly(client: openai.AsyncOpenAI, tool: Any) -> None:
    _, body = await wire(client.beta.assistants.with_raw_response.create(model="m", tools=[tool]))
    assert_schema(body, "AssistantObject")
    assert body["tools"] == [tool]


async def test_128_tools_accepted(client: openai.AsyncOpenAI) -> None:
    tools: Any = [{"type": "function", "function": {"name": f"f{i}"}} for i in range(128)]
    a = await client.beta.assistants.create(model="m", tools=tools)
    assert len(a.tools) == 128


async def test_limits_at_the_boundary_accepted(client: openai.AsyncOpenAI) -> None:
    a = await client.beta.assistants.create(
        model="m",
        name="n" * 256,
        description="d" * 512,
        instructions="i" * 256_000,
        metadata={f"{i:064d}": "v" * 512 for i in range(16)},
    )
    got = await client.beta.assistants.retrieve(a.id)
    assert got.instructions == "i" * 256_000 and len(got.metadata or {}) == 16


# --- modify ------------------------------------------------------------------------------------------


async def test_modify_leaves_unset_fields_alone(client: openai.AsyncOpenAI, raw: httpx2.AsyncClient) -> None:
    a = await client.beta.assistants.create(
        model="m",
        name="A",
        description="D",
        instructions="I",
        tools=[WEATHER],
        temperature=0.5,
        top_p=0.5,
        metadata={"k": "v"},
        response_format={"type": "json_object"},
    )
    _, before = await wire(client.beta.assistants.with_raw_response.retrieve(a.id))
    _, after = await wire(client.beta.assistants.with_raw_response.update(a.id, name="B"))
    assert after == {**before, "name": "B"}
    _, unchanged = await wire(client.beta.assistants.with_raw_response.update(a.id))
    assert unchanged == after
    no_body = await raw.post(f"/assistants/{a.id}")  # no body at all, as for threads and messages
    assert no_body.status_code == 200 and no_body.json() == after


async def test_modify_null_clears_nullable_fields(client: openai.AsyncOpenAI) -> None:
    a = await client.beta.assistants.create(
        model="m",
        name="A",
        description="D",
        instructions="I",
        temperature=0.5,
        top_p=0.5,
        metadata={"k": "v"},
        response_format={"type": "json_object"},
        reasoning_effort="high",
    )
    _, body = await wire(
        client.beta.assistants.with_raw_response.update(
            a.id,
            name=None,
            description=None,
            instructions=None,
            temperature=None,
            top_p=None,
            metadata=None,
            response_format=None,
            reasoning_effort=None,
        )
    )
    assert_schema(body, "AssistantObject")
    assert body["name"] is None and body["description"] is None and body["instructions"] is None
    assert body["temperature"] == 1.0 and body["top_p"] == 1.0
    assert body["metadata"] == {} and body["response_format"] == "auto" and body["reasoning_effort"] is None
    assert body["model"] == "m"


async def test_modify_replaces_tools_metadata_and_tool_resources(client: openai.AsyncOpenAI) -> None:
    f1, f2 = await make_file(client), await make_file(client)
    a = await client.beta.assistants.create(
        model="m",
        tools=[{"type": "code_interpreter"}],
        metadata={"a": "1", "b": "2"},
        tool_resources={"code_interpreter": {"file_ids": [f1.id]}},
    )
    _, body = await wire(
        client.beta.assistants.with_raw_response.update(
            a.id,
            model="other",
            tools=[FILE_SEARCH],
            metadata={"c": "3"},
            tool_resources={"code_interpreter": {"file_ids": [f2.id]}},
        )
    )
    assert body["model"] == "other"
    assert body["tools"] == [FILE_SEARCH]
    assert body["metadata"] == {"c": "3"}
    assert body["tool_resources"] == {"code_interpreter": {"file_ids": [f2.id]}}
    _, cleared = await wire(client.beta.assistants.with_raw_response.update(a.id, tools=[]))
    assert cleared["tools"] == []


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": None}, "model"),
        ({"tools": None}, "tools"),
        ({"name": "n" * 257}, "name"),
        ({"temperature": 2.5}, "temperature"),
        ({"metadata": {"k": 1}}, "metadata.k"),
        ({"tools": [{"type": "retrieval"}]}, "tools[0].type"),
        (
            {"tool_resources": {"code_interpreter": {"file_ids": ["file-missing"]}}},
            "tool_resources.code_interpreter.file_ids[0]",
        ),
        ({"file_ids": []}, "file_ids"),
    ],
)
async def test_rejected_modify_changes_nothing(
    client: openai.AsyncOpenAI, raw: httpx2.AsyncClient, body: dict[str, Any], param: str
) -> None:
    a = await client.beta.assistants.create(model="m", name="keep", tools=[WEATHER], metadata={"x": "y"})
    _, before = await wire(client.beta.assistants.with_raw_response.retrieve(a.id))
    assert_error(await raw.post(f"/assistants/{a.id}", json=body), 400, param=param)
    _, after = await wire(client.beta.assistants.with_raw_response.retrieve(a.id))
    assert after == before


# --- delete ------------------------------------------------------------------------------------------


async def test_delete(client: openai.AsyncOpenAI) -> None:
    a = await client.beta.assistants.create(model="m")
    deleted, body = await wire(client.beta.assistants.with_raw_response.delete(a.id))
    assert body == {"id": a.id, "object": "assistant.deleted", "deleted": True}
    assert_schema(body, "DeleteAssistantResponse")
    assert deleted.deleted is True
    with pytest.raises(openai.NotFoundError) as exc:
        await client.beta.assistants.retrieve(a.id)
    assert_api_error(exc.value, 404)
    with pytest.raises(openai.NotFoundError):
        await client.beta.assistants.delete(a.id)
    assert await _count(client) == 0


# --- ids ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
async def test_malformed_id_is_400_and_unknown_id_404(raw: httpx2.AsyncClient, method: str) -> None:
    body = {} if method == "POST" else None
    r = await raw.request(method, "/assistants/undefined", json=body)
    assert_error(r, 400, param="assistant_id", contains="Expected an ID that begins with 'asst'")
    r = await raw.request(method, "/assistants/asst_doesnotexist", json=body)
    assert_error(r, 404, contains="asst_doesnotexist")


async def test_unknown_id_through_the_sdk(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        await client.beta.assistants.update("asst_nope", name="x")
    with pytest.raises(openai.BadRequestError) as exc:
        await client.beta.assistants.retrieve("thread_abc")
    assert_api_error(exc.value, 400, param="assistant_id")


# --- create validation -------------------------------------------------------------------------------

TOO_MANY_TOOLS = [{"type": "code_interpreter"}] * 129


@pytest.mark.parametrize(
    ("body", "param", "contains"),
    [
        ({}, "model", "Missing required parameter: 'model'"),
        ({"model": 4}, "model", "expected a string, but got an integer"),
        ({"model": ""}, "model", "empty string"),
        ({"model": "m", "name": "n" * 257}, "name", "maximum length 256"),
        ({"model": "m", "description": "d" * 513}, "description", "maximum length 512"),
        ({"model": "m", "instructions": "i" * 256_001}, "instructions", "maximum length 256000"),
        ({"model": "m", "metadata": {f"k{i}": "v" for i in range(17)}}, "metadata", "at most 16 properties"),
        ({"model": "m", "metadata": {"k" * 65: "v"}}, "metadata", "maximum length 64"),
        ({"model": "m", "metadata": {"k": "v" * 513}}, "metadata.k", "maximum length 512"),
        ({"model": "m", "metadata": {"k": 5}}, "metadata.k", "expected a string"),
        ({"model": "m", "metadata": ["k"]}, "metadata", "expected an object"),
        ({"model": "m", "tools": TOO_MANY_TOOLS}, "tools", "maximum length 128"),
        ({"model": "m", "tools": None}, "tools", "got null"),
        ({"model": "m", "tools": {"type": "code_interpreter"}}, "tools", "expected an array"),
        ({"model": "m", "tools": [{"type": "browser"}]}, "tools[0].type", "Invalid value: 'browser'"),
        ({"model": "m", "tools": [{}]}, "tools[0].type", "Missing required parameter"),
        ({"model": "m", "tools": [{"type": "function"}]}, "tools[0].function", "Missing required"),
        (
            {"model": "m", "tools": [{"type": "function", "function": {"name": "has space"}}]},
            "tools[0].function.name",
            "pattern",
        ),
        (
            {"model": "m", "tools": [{"type": "function", "function": {"name": "f", "parameters": "{}"}}]},
            "tools[0].function.parameters",
            "expected an object",
        ),
        (
            {"model": "m", "tools": [{"type": "function", "function": {"name": "f", "strict": "yes"}}]},
            "tools[0].function.strict",
            "expected a boolean",
        ),
        (
            {"model": "m", "tools": [{"type": "file_search", "file_search": {"max_num_results": 51}}]},
            "tools[0].file_search.max_num_results",
            "<= 50",
        ),
        (
            {"model": "m", "tools": [{"type": "file_search", "file_search": {"ranking_options": {}}}]},
            "tools[0].file_search.ranking_options.score_threshold",
            "Missing required",
        ),
        (
            {
                "model": "m",
                "tools": [
                    {
                        "type": "file_search",
                        "file_search": {"ranking_options": {"ranker": "best", "score_threshold": 0.5}},
                    }
                ],
            },
            "tools[0].file_search.ranking_options.ranker",
            "Invalid value: 'best'",
        ),
        (
            {"model": "m", "tools": [{"type": "code_interpreter", "code_interpreter": {}}]},
            "tools[0].code_interpreter",
            "Unrecognized request argument supplied: code_interpreter",
        ),
        ({"model": "m", "reasoning_effort": "extreme"}, "reasoning_effort", "Invalid value: 'extreme'"),
        ({"model": "m", "response_format": "json"}, "response_format", "Invalid value: 'json'"),
        ({"model": "m", "response_format": {"type": "yaml"}}, "response_format.type", "Invalid value: 'yaml'"),
        ({"model": "m", "response_format": {"type": "json_schema"}}, "response_format.json_schema", "Missing required"),
        (
            {"model": "m", "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": []}}},
            "response_format.json_schema.schema",
            "expected an object",
        ),
        ({"model": "m", "response_format": 5}, "response_format", "expected one of 'auto' or an object"),
        ({"model": "m", "temperature": "0.5"}, "temperature", "expected a number, but got a string"),
        ({"model": "m", "temperature": 2.01}, "temperature", "<= 2"),
        ({"model": "m", "temperature": -1}, "temperature", ">= 0"),
        ({"model": "m", "top_p": 1.5}, "top_p", "<= 1"),
        ({"model": "m", "top_p": True}, "top_p", "got a boolean"),
        (
            {"model": "m", "tool_resources": {"code_interpreter": {"file_ids": ["file-missing"]}}},
            "tool_resources.code_interpreter.file_ids[0]",
            "file-missing",
        ),
        (
            {"model": "m", "tool_resources": {"code_interpreter": {"file_ids": ["file-1"] * 21}}},
            "tool_resources.code_interpreter.file_ids",
            "maximum length 20",
        ),
        (
            {"model": "m", "tool_resources": {"file_search": {"vector_store_ids": ["vs_a", "vs_b"]}}},
            "tool_resources.file_search.vector_store_ids",
            "maximum length 1",
        ),
        (
            {"model": "m", "tool_resources": {"file_search": {"vector_store_ids": ["undefined"]}}},
            "tool_resources.file_search.vector_store_ids[0]",
            "Expected an ID that begins with 'vs'",
        ),
        ({"model": "m", "tool_resources": {"retrieval": {}}}, "tool_resources.retrieval", "Unrecognized"),
        ({"model": "m", "file_ids": []}, "file_ids", "Unrecognized request argument supplied: file_ids"),
        ({"model": "m", "x": 1}, "x", "Unrecognized request argument supplied: x"),
    ],
)
async def test_invalid_create_rejected_and_nothing_stored(
    client: openai.AsyncOpenAI, raw: httpx2.AsyncClient, body: dict[str, Any], param: str, contains: str
) -> None:
    assert_error(await raw.post("/assistants", json=body), 400, param=param, contains=contains)
    assert await _count(client) == 0


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"", b"[]", b"null", b'"model"', b'{"model": "m"} trailing', b"\xff\xfe"],
)
async def test_malformed_json(client: openai.AsyncOpenAI, raw: httpx2.AsyncClient, content: bytes) -> None:
    r = await raw.post("/assistants", content=content, headers={"content-type": "application/json"})
    assert_error(r, 400)
    assert await _count(client) == 0


async def test_rejection_through_the_sdk(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as exc:
        await client.beta.assistants.create(model="m", metadata={f"k{i}": "v" for i in range(17)})
    error = assert_api_error(exc.value, 400, param="metadata")
    assert error["type"] == "invalid_request_error"
