"""/v1/prompts (our extension): create, retrieve (at a version), update (a new version; omitted fields carried
over, null clears), list, versions, delete; bad input is an OpenAI-shaped 400/404 and stores nothing."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from assistantd import Settings
from tests._support import assert_api_error, db_count
from tests.prompts.conftest import delete, get, post

WEATHER: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
FULL: dict[str, Any] = {
    "name": "Support",
    "model": "test-model",
    "instructions": "You help {{customer}} with {{product}}.",
    "tools": [WEATHER],
    "text": {"format": {"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": True}},
    "temperature": 0.2,
    "top_p": 0.5,
    "metadata": {"team": "care"},
    "variables": {"product": "the app", "logo": {"type": "input_image", "image_url": "https://x/logo.png"}},
}


async def test_create_echoes_every_field(client: openai.AsyncOpenAI) -> None:
    p = await post(client, "/prompts", FULL)
    assert p["id"].startswith("pmpt_") and p["object"] == "prompt" and p["version"] == 1
    assert isinstance(p["created_at"], int)
    for key, value in FULL.items():
        if key == "variables":
            assert p[key] == {"product": "the app", "logo": {**value["logo"], "detail": "auto"}}
        else:
            assert p[key] == value, key
    assert await get(client, f"/prompts/{p['id']}") == p


async def test_create_with_nothing_has_empty_defaults(client: openai.AsyncOpenAI) -> None:
    p = await post(client, "/prompts", {})
    assert {k: p[k] for k in ("name", "model", "instructions", "text", "temperature", "top_p")} == dict.fromkeys(
        ("name", "model", "instructions", "text", "temperature", "top_p")
    )
    assert p["tools"] == [] and p["metadata"] == {} and p["variables"] == {}


async def test_update_writes_a_new_version_and_keeps_the_old(client: openai.AsyncOpenAI) -> None:
    p = await post(client, "/prompts", FULL)
    v2 = await post(client, f"/prompts/{p['id']}", {"instructions": "Now {{customer}}.", "temperature": None})
    assert v2["version"] == 2 and v2["instructions"] == "Now {{customer}}." and v2["temperature"] is None
    assert v2["tools"] == FULL["tools"] and v2["model"] == FULL["model"] and v2["metadata"] == FULL["metadata"]
    assert v2["created_at"] == p["created_at"]
    assert await get(client, f"/prompts/{p['id']}") == v2
    assert await get(client, f"/prompts/{p['id']}", version=1) == p
    v3 = await post(client, f"/prompts/{p['id']}")
    assert v3["version"] == 3
    listed = await get(client, f"/prompts/{p['id']}/versions")
    assert [v["version"] for v in listed["data"]] == [3, 2, 1]
    assert listed["first_id"] == "3" and listed["last_id"] == "1" and listed["has_more"] is False
    entry = listed["data"][2]
    assert entry["object"] == "prompt.version" and entry["prompt_id"] == p["id"]
    assert {k: v for k, v in entry.items() if k not in ("object", "prompt_id", "created_at")} == {
        k: v for k, v in p.items() if k not in ("id", "object", "created_at")
    }
    page = await get(client, f"/prompts/{p['id']}/versions", limit=1, after="3", order="desc")
    assert [v["version"] for v in page["data"]] == [2] and page["has_more"] is True


async def test_list_prompts_shows_each_newest_version(client: openai.AsyncOpenAI) -> None:
    ids = [(await post(client, "/prompts", {"name": f"p{i}"}))["id"] for i in range(3)]
    await post(client, f"/prompts/{ids[0]}", {"name": "renamed"})
    page = await get(client, "/prompts", limit=2)
    assert [p["id"] for p in page["data"]] == [ids[2], ids[1]] and page["has_more"] is True
    rest = await get(client, "/prompts", limit=2, after=page["last_id"])
    assert [(p["id"], p["name"], p["version"]) for p in rest["data"]] == [(ids[0], "renamed", 2)]
    assert rest["has_more"] is False
    asc = await get(client, "/prompts", order="asc")
    assert [p["id"] for p in asc["data"]] == ids


async def test_delete_removes_the_prompt_and_its_versions(client: openai.AsyncOpenAI, settings: Settings) -> None:
    p = await post(client, "/prompts", {"name": "x"})
    await post(client, f"/prompts/{p['id']}", {"name": "y"})
    assert await delete(client, f"/prompts/{p['id']}") == {"id": p["id"], "object": "prompt.deleted", "deleted": True}
    assert db_count(settings, "prompt_versions") == 0 and db_count(settings, "prompts") == 0
    for call in (
        get(client, f"/prompts/{p['id']}"),
        delete(client, f"/prompts/{p['id']}"),
        post(client, f"/prompts/{p['id']}", {"name": "z"}),
        get(client, f"/prompts/{p['id']}/versions"),
    ):
        with pytest.raises(openai.NotFoundError) as exc:
            await call
        assert_api_error(exc.value, 404)


async def test_unknown_version_and_malformed_ids(client: openai.AsyncOpenAI) -> None:
    p = await post(client, "/prompts", {"name": "x"})
    with pytest.raises(openai.NotFoundError) as missing:
        await get(client, f"/prompts/{p['id']}", version=2)
    assert_api_error(missing.value, 404, param="version")
    with pytest.raises(openai.BadRequestError) as zero:
        await get(client, f"/prompts/{p['id']}", version=0)
    assert_api_error(zero.value, 400, param="version")
    with pytest.raises(openai.BadRequestError) as malformed:
        await get(client, "/prompts/asst_abc")
    assert_api_error(malformed.value, 400, param="prompt_id")
    with pytest.raises(openai.BadRequestError) as cursor:
        await get(client, f"/prompts/{p['id']}/versions", after="newest")
    assert_api_error(cursor.value, 400, param="after")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"tools": [{"type": "function", "name": "bad name"}]}, "tools[0].name"),
        ({"tools": [{"type": "file_search"}]}, "tools[0].vector_store_ids"),
        ({"text": {"format": {"type": "json_schema", "schema": {}}}}, "text.format.name"),
        ({"temperature": 3}, "temperature"),
        ({"variables": {"x": 5}}, "variables.x"),
        ({"variables": {"x": {"type": "input_image"}}}, "variables.x.image_url"),
        ({"variables": {"x": {"type": "input_audio"}}}, "variables.x.type"),
        ({"metadata": {"k": 1}}, "metadata.k"),
        ({"instructions": "x", "surprise": True}, "surprise"),
    ],
)
async def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(
    client: openai.AsyncOpenAI, settings: Settings, body: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as exc:
        await post(client, "/prompts", body)
    assert_api_error(exc.value, 400, param=param)
    assert db_count(settings, "prompts") == 0 and db_count(settings, "prompt_versions") == 0


async def test_a_bad_update_writes_no_version(client: openai.AsyncOpenAI, settings: Settings) -> None:
    p = await post(client, "/prompts", {"name": "x"})
    with pytest.raises(openai.BadRequestError) as exc:
        await post(client, f"/prompts/{p['id']}", {"tools": [{"type": "function"}]})
    assert_api_error(exc.value, 400, param="tools[0].name")
    assert db_count(settings, "prompt_versions") == 1
    assert (await get(client, f"/prompts/{p['id']}"))["version"] == 1


async def test_mcp_credentials_are_kept_but_not_echoed(client: openai.AsyncOpenAI) -> None:
    mcp = {"type": "mcp", "server_label": "docs", "server_url": "http://127.0.0.1:9/mcp", "authorization": "tok"}
    p = await post(client, "/prompts", {"tools": [mcp]})
    assert p["tools"] == [{"type": "mcp", "server_label": "docs", "server_url": "http://127.0.0.1:9/mcp"}]
