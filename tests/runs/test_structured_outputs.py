"""Structured outputs: json_schema reaches the model, answers are validated, retried once, then fail clearly."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from fastapi import FastAPI

from assistantd import Settings
from assistantd.backends.scripted import Say, ScriptedBackend
from assistantd.settings import UpstreamRoute
from tests._support import assert_error, db_count
from tests.runs._helpers import assistant, thread

pytestmark = pytest.mark.anyio

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "temp": {"type": "integer"}},
    "required": ["city", "temp"],
    "additionalProperties": False,
}
FORMAT: dict[str, Any] = {"type": "json_schema", "json_schema": {"name": "weather", "schema": SCHEMA, "strict": True}}


async def test_valid_answer_completes(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    backend.add(Say(json.dumps({"city": "Oslo", "temp": -3})))
    a = await assistant(client)
    t = await thread(client)
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id, response_format=FORMAT)  # type: ignore[arg-type]
    assert run.status == "completed"
    assert run.response_format.type == "json_schema"  # type: ignore[union-attr]
    [req] = backend.requests
    assert req.response_format == {"type": "json_schema", "json_schema": FORMAT["json_schema"]}
    [msg] = (await client.beta.threads.messages.list(t.id, run_id=run.id)).data
    assert json.loads(msg.content[0].text.value) == {"city": "Oslo", "temp": -3}  # type: ignore[union-attr]


async def test_invalid_answer_is_retried_once_with_the_error(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    backend.add(Say(json.dumps({"city": "Oslo", "temp": "cold"})), Say(json.dumps({"city": "Oslo", "temp": -3})))
    a = await assistant(client, response_format=FORMAT)
    t = await thread(client)
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    assert run.status == "completed", run.last_error
    _, second = backend.requests
    feedback = second.messages[-1]
    assert feedback.role == "user" and "'cold' is not of type 'integer'" in str(feedback.content)
    assert second.messages[-2].role == "assistant" and "cold" in str(second.messages[-2].content)
    latest = (await client.beta.threads.messages.list(t.id)).data[0]
    assert json.loads(latest.content[0].text.value) == {"city": "Oslo", "temp": -3}  # type: ignore[union-attr]
    assert run.usage is not None and run.usage.prompt_tokens > 0
    steps = (await client.beta.threads.runs.steps.list(run.id, thread_id=t.id)).data
    assert all(s.status == "completed" for s in steps)


@pytest.mark.parametrize(
    ("fmt", "answers", "says"),
    [
        pytest.param(FORMAT, ['{"city": "Oslo"}', '{"temp": 1}'], "'city' is a required property", id="schema"),
        pytest.param(FORMAT, ["not json", "still not json"], "not valid JSON", id="not-json"),
        pytest.param({"type": "json_object"}, ["plain text", "plain text"], "not valid JSON", id="json-object"),
    ],
)
async def test_invalid_twice_fails_clearly(
    client: openai.AsyncOpenAI, backend: ScriptedBackend, fmt: Any, answers: list[str], says: str
) -> None:
    backend.add(*(Say(a) for a in answers))
    a = await assistant(client)
    t = await thread(client)
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id, response_format=fmt)
    assert run.status == "failed"
    assert run.last_error is not None and run.last_error.code == "server_error"
    assert "response_format" in run.last_error.message and says in run.last_error.message
    assert len(backend.requests) == 2


@pytest.mark.parametrize(
    "fmt",
    [
        {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "not-a-type"}}},
        {"type": "json_schema", "json_schema": {"name": "x", "schema": {"properties": {"a": {"minimum": "one"}}}}},
        {"type": "json_schema", "json_schema": {"name": "x", "schema": {"required": "a"}}},
    ],
)
async def test_invalid_json_schema_is_rejected(
    client: openai.AsyncOpenAI, raw: Any, settings: Settings, fmt: Any
) -> None:
    a = await assistant(client)
    t = await thread(client)
    resp = await raw.post(f"/threads/{t.id}/runs", json={"assistant_id": a.id, "response_format": fmt})
    assert_error(resp, 400, param="response_format.json_schema.schema")
    resp = await raw.post("/threads/runs", json={"assistant_id": a.id, "response_format": fmt})
    assert_error(resp, 400, param="response_format.json_schema.schema")
    assert db_count(settings, "runs") == 0 and db_count(settings, "threads") == 1


@pytest.mark.settings(
    upstreams=[UpstreamRoute(base_url="scripted", models=["no-native-schema"], supports_json_schema=False)]
)
async def test_upstream_without_native_json_schema_gets_a_hint(
    client: openai.AsyncOpenAI, fastapi_app: FastAPI
) -> None:
    """The schema goes into the system prompt and the upstream is asked for json_object."""
    a = await assistant(client, model="no-native-schema", instructions="Be terse.")
    t = await thread(client, "Paris")
    fmt = {"type": "json_schema", "json_schema": {"name": "echo", "schema": {"type": "object", "required": ["echo"]}}}
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id, response_format=fmt)  # type: ignore[arg-type]
    assert run.status == "completed", run.last_error
    scripted = fastapi_app.state.backends.resolve("no-native-schema").backend
    assert isinstance(scripted, ScriptedBackend)
    [req] = scripted.requests
    assert req.response_format == {"type": "json_object"}
    system = str(req.messages[0].content)
    assert system.startswith("Be terse.") and '"required": ["echo"]' in system
