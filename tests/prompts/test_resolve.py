"""``apply_prompt`` on the app's own database: how an assistant's tools, resources and formats become a
Responses request's, and how variables fill the instructions. (``test_apply.py`` drives the same through
``responses.create``; these cover what the scripted upstream cannot show, such as code_interpreter's container.)
"""

from __future__ import annotations

from typing import Any

import openai
import pytest
from fastapi import FastAPI

from assistantd.errors import InvalidRequest, NotFound
from assistantd.prompts.resolve import apply_prompt
from assistantd.responses.protocol import CodeInterpreterTool, CreateResponse, FileSearchTool, FunctionTool, parse
from tests._support import make_file
from tests.prompts.conftest import post


async def applied(app: FastAPI, body: dict[str, Any]) -> CreateResponse:
    """``body`` parsed as ``POST /v1/responses`` parses it, with its prompt applied (``app`` must be started:
    ask for ``client`` too)."""
    async with app.state.responses.ctx.db.read() as conn:
        return await apply_prompt(conn, parse(CreateResponse, body))


async def test_no_prompt_is_the_request_itself(fastapi_app: FastAPI, client: openai.AsyncOpenAI) -> None:
    req = parse(CreateResponse, {"model": "m", "input": "hi"})
    async with fastapi_app.state.responses.ctx.db.read() as conn:
        assert await apply_prompt(conn, req) is req


async def test_assistant_tools_and_resources_become_responses_tools(
    fastapi_app: FastAPI, client: openai.AsyncOpenAI
) -> None:
    f = await make_file(client)
    store = await client.vector_stores.create(name="kb")
    a = await client.beta.assistants.create(
        model="m",
        reasoning_effort="low",
        tools=[
            {"type": "code_interpreter"},
            {"type": "file_search", "file_search": {"ranking_options": {"score_threshold": 0.4}}},
            {"type": "function", "function": {"name": "f", "strict": True, "parameters": {"type": "object"}}},
            {"type": "function", "function": {"name": "g"}},
        ],
        tool_resources={"code_interpreter": {"file_ids": [f.id]}, "file_search": {"vector_store_ids": [store.id]}},
    )
    req = await applied(fastapi_app, {"prompt": {"id": a.id}, "input": "hi"})
    ci, fs, strict, loose = req.tools
    assert isinstance(ci, CodeInterpreterTool) and not isinstance(ci.container, str)
    assert ci.container.type == "auto" and ci.container.file_ids == [f.id]
    assert isinstance(fs, FileSearchTool) and fs.vector_store_ids == [store.id]
    assert fs.ranking_options is not None and fs.ranking_options.score_threshold == 0.4
    assert isinstance(strict, FunctionTool) and strict.is_strict and strict.parameters == {"type": "object"}
    assert isinstance(loose, FunctionTool) and not loose.is_strict and loose.parameters is None
    assert req.reasoning is not None and req.reasoning.effort == "low"
    assert req.model == "m" and "tools" in req.model_fields_set


async def test_json_object_and_auto_formats(fastapi_app: FastAPI, client: openai.AsyncOpenAI) -> None:
    json_object = await client.beta.assistants.create(model="m", response_format={"type": "json_object"})
    auto = await client.beta.assistants.create(model="m", response_format="auto")
    req = await applied(fastapi_app, {"prompt": {"id": json_object.id}, "text": {"verbosity": "high"}})
    assert req.text is not None and req.text.format is not None and req.text.format.type == "json_object"
    assert req.text.verbosity == "high"
    assert (await applied(fastapi_app, {"prompt": {"id": auto.id}})).text is None


async def test_variables_fill_every_placeholder_once(fastapi_app: FastAPI, client: openai.AsyncOpenAI) -> None:
    p = await post(client, "/prompts", {"instructions": "{{ a }} and {{a}}, {{doc}} then {{doc}}; {{b}}"})
    doc = {"type": "input_file", "file_id": "file-abc", "filename": "terms.pdf"}
    req = await applied(
        fastapi_app,
        {
            "prompt": {"id": p["id"], "variables": {"a": "x", "b": {"type": "input_text", "text": "y"}, "doc": doc}},
            "input": [{"role": "user", "content": "question"}],
        },
    )
    assert req.instructions == "x and x, [file: terms.pdf] then [file: terms.pdf]; y"
    assert isinstance(req.input, list) and len(req.input) == 2
    first = req.input[0].model_dump(mode="json", exclude_none=True)
    assert first["role"] == "user" and first["content"] == [{**doc, "type": "input_file"}]


async def test_instructions_without_placeholders_ignore_variables(
    fastapi_app: FastAPI, client: openai.AsyncOpenAI
) -> None:
    p = await post(client, "/prompts", {"instructions": "plain"})
    req = await applied(fastapi_app, {"prompt": {"id": p["id"], "variables": {"unused": "x"}}, "input": "hi"})
    assert req.instructions == "plain" and req.input == "hi"


async def test_a_missing_variable_names_them_all(fastapi_app: FastAPI, client: openai.AsyncOpenAI) -> None:
    p = await post(client, "/prompts", {"instructions": "{{a}} {{b}} {{c}}", "variables": {"b": "default"}})
    with pytest.raises(InvalidRequest) as exc:
        await applied(fastapi_app, {"prompt": {"id": p["id"]}})
    assert exc.value.param == "prompt.variables" and "'a', 'c'" in exc.value.message


async def test_a_deleted_assistant_is_not_found(fastapi_app: FastAPI, client: openai.AsyncOpenAI) -> None:
    a = await client.beta.assistants.create(model="m")
    await client.beta.assistants.delete(a.id)
    with pytest.raises(NotFound) as exc:
        await applied(fastapi_app, {"prompt": {"id": a.id, "version": "1"}})
    assert exc.value.param == "prompt.id"
