"""``responses.create(prompt=...)`` end to end: an assistant (at its newest or a given version) or a stored
prompt fills in model, instructions (``{{variables}}`` substituted), tools, text format and sampling; the
request's own fields take precedence; bad references and missing variables are OpenAI-shaped 400/404s that
store nothing. The scripted backend shows what reached the model."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from openai.types.responses import Response

from assistantd import Settings
from assistantd.backends.scripted import Say, ScriptedBackend
from tests._support import assert_api_error, db_count, wire
from tests.prompts.conftest import MODEL, post

WEATHER_FN: dict[str, Any] = {
    "name": "get_weather",
    "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
SCHEMA_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {"name": "answer", "schema": {"type": "object", "properties": {}}, "strict": True},
}


def texts(backend: ScriptedBackend) -> list[tuple[str, str]]:
    out = []
    for m in backend.requests[-1].messages:
        if isinstance(m.content, str):
            out.append((m.role, m.content))
        else:
            out.append((m.role, " ".join(str(p.get("text", p.get("type"))) for p in m.content or [])))
    return out


async def create(client: openai.AsyncOpenAI, **kw: Any) -> tuple[Response, dict[str, Any]]:
    parsed, body = await wire(client.responses.with_raw_response.create(**kw))
    Response.model_validate(body)
    return parsed, body


async def test_an_assistant_is_a_prompt(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    a = await client.beta.assistants.create(
        model=MODEL,
        instructions="You help {{customer}}.",
        tools=[{"type": "function", "function": WEATHER_FN}],
        temperature=0.3,
        top_p=0.7,
    )
    backend.add(Say("hello"))
    r, body = await create(client, prompt={"id": a.id, "variables": {"customer": "Ada"}}, input="hi")
    assert r.status == "completed" and body["model"] == MODEL
    assert body["instructions"] == "You help Ada."
    assert body["prompt"] == {"id": a.id, "version": None, "variables": {"customer": "Ada"}}
    assert body["temperature"] == 0.3 and body["top_p"] == 0.7
    assert body["tools"] == [{"type": "function", **WEATHER_FN, "strict": False}]
    sent = backend.requests[-1]
    assert texts(backend) == [("system", "You help Ada."), ("user", "hi")]
    assert [(t.name, t.strict) for t in sent.tools] == [("get_weather", False)]
    assert sent.temperature == 0.3 and sent.top_p == 0.7


async def test_an_assistant_version_runs_what_the_assistant_was(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    a = await client.beta.assistants.create(model=MODEL, instructions="old")
    await client.beta.assistants.update(a.id, instructions="new")
    backend.add(Say("1"), Say("2"), Say("3"))
    _, at_one = await create(client, prompt={"id": a.id, "version": "1"}, input="hi")
    _, at_two = await create(client, prompt={"id": a.id, "version": "2"}, input="hi")
    _, newest = await create(client, prompt={"id": a.id}, input="hi")
    assert (at_one["instructions"], at_two["instructions"], newest["instructions"]) == ("old", "new", "new")
    assert at_one["prompt"]["version"] == "1"


async def test_request_fields_take_precedence(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    a = await client.beta.assistants.create(
        model="assistant-model",
        instructions="from the assistant",
        tools=[{"type": "function", "function": WEATHER_FN}],
        temperature=0.3,
        response_format=SCHEMA_FORMAT,
    )
    backend.add(Say("ok"))
    _, body = await create(
        client,
        prompt={"id": a.id},
        model=MODEL,
        instructions="mine",
        tools=[],
        temperature=0.9,
        text={"format": {"type": "text"}},
        input="hi",
    )
    assert body["model"] == MODEL and body["instructions"] == "mine" and body["tools"] == []
    assert body["temperature"] == 0.9 and body["text"]["format"] == {"type": "text"}
    assert texts(backend)[0] == ("system", "mine") and backend.requests[-1].tools == []


async def test_the_response_format_becomes_text_format(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    a = await client.beta.assistants.create(model=MODEL, response_format=SCHEMA_FORMAT)
    backend.add(Say("{}"))
    _, body = await create(client, prompt={"id": a.id}, input="hi")
    fmt = body["text"]["format"]
    assert fmt["type"] == "json_schema" and fmt["name"] == "answer" and fmt["strict"] is True
    assert fmt["schema"] == SCHEMA_FORMAT["json_schema"]["schema"]
    sent = backend.requests[-1].response_format
    assert sent is not None and sent["type"] == "json_schema"


async def test_file_search_gets_the_assistants_vector_stores(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    store = await client.vector_stores.create(name="kb")
    a = await client.beta.assistants.create(
        model=MODEL,
        tools=[{"type": "file_search", "file_search": {"max_num_results": 3}}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    backend.add(Say("nothing to search"))
    _, body = await create(client, prompt={"id": a.id}, input="hi")
    [tool] = body["tools"]
    assert tool["type"] == "file_search" and tool["vector_store_ids"] == [store.id]
    assert tool["max_num_results"] == 3


async def test_a_stored_prompt_with_defaults_and_overrides(
    client: openai.AsyncOpenAI, backend: ScriptedBackend
) -> None:
    p = await post(
        client,
        "/prompts",
        {
            "model": MODEL,
            "instructions": "Help {{customer}} with {{product}}.",
            "tools": [{"type": "function", **WEATHER_FN}],
            "text": {"verbosity": "low"},
            "variables": {"product": "the app", "customer": "someone"},
        },
    )
    backend.add(Say("a"), Say("b"))
    _, body = await create(client, prompt={"id": p["id"], "variables": {"customer": "Ada"}}, input="hi")
    assert body["instructions"] == "Help Ada with the app."
    assert body["tools"] == [{"type": "function", **WEATHER_FN, "strict": True}]
    assert body["text"]["verbosity"] == "low"
    await post(client, f"/prompts/{p['id']}", {"instructions": "v2 for {{customer}}"})
    _, old = await create(
        client, prompt={"id": p["id"], "version": "1", "variables": {"customer": {"type": "input_text", "text": "Bo"}}}
    )
    assert old["instructions"] == "Help Bo with the app."


async def test_image_variables_go_before_the_input(client: openai.AsyncOpenAI, backend: ScriptedBackend) -> None:
    p = await post(client, "/prompts", {"model": MODEL, "instructions": "Describe {{photo}} briefly."})
    image = {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}
    backend.add(Say("a cat"))
    _, body = await create(client, prompt={"id": p["id"], "variables": {"photo": image}}, input="What is it?")
    assert body["instructions"] == "Describe [image: photo] briefly."
    assert texts(backend) == [
        ("system", "Describe [image: photo] briefly."),
        ("user", "image_url"),
        ("user", "What is it?"),
    ]


async def test_the_model_must_come_from_somewhere(client: openai.AsyncOpenAI, settings: Settings) -> None:
    p = await post(client, "/prompts", {"instructions": "x"})
    with pytest.raises(openai.BadRequestError) as exc:
        await client.responses.create(prompt={"id": p["id"]}, input="hi")
    assert_api_error(exc.value, 400, param="model")


@pytest.mark.parametrize(
    ("prompt", "status", "param"),
    [
        ({"id": "asst_missing"}, 404, "prompt.id"),
        ({"id": "pmpt_missing"}, 404, "prompt.id"),
        ({"id": "something_else"}, 404, "prompt.id"),
        ({"id": "ASSISTANT", "version": "9"}, 404, "prompt.version"),
        ({"id": "ASSISTANT", "version": "latest"}, 404, "prompt.version"),
        ({"id": "PROMPT", "version": "2"}, 404, "prompt.version"),
        ({"id": "PROMPT"}, 400, "prompt.variables"),
        ({"id": "PROMPT", "variables": {"who": 5}}, 400, "prompt.variables.who"),
        ({"id": "PROMPT", "variables": {"who": {"type": "input_image"}}}, 400, "prompt.variables.who.image_url"),
    ],
)
async def test_bad_references_store_nothing(
    client: openai.AsyncOpenAI, settings: Settings, prompt: dict[str, Any], status: int, param: str
) -> None:
    a = await client.beta.assistants.create(model=MODEL, instructions="hi {{who}}")
    p = await post(client, "/prompts", {"model": MODEL, "instructions": "Hello {{who}}"})
    prompt = {**prompt, "id": {"ASSISTANT": a.id, "PROMPT": p["id"]}.get(prompt["id"], prompt["id"])}
    with pytest.raises(openai.APIStatusError) as exc:
        await client.responses.create(prompt=prompt, input="hi")
    assert_api_error(exc.value, status, param=param)
    assert db_count(settings, "runs", "WHERE kind = 'response'") == 0
