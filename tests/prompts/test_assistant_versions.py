"""Assistant versions (our extension): create writes version 1, every modify the next; ``GET
/v1/assistants/{id}/versions`` lists them with cursor pagination; runs record the version they used; the
versions go with the assistant; the migration backfills assistants made before it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import openai
import pytest
from alembic import command
from alembic.config import Config

from assistantd import Settings
from assistantd.store.db import MIGRATIONS_DIR
from tests._support import assert_api_error, db_count, db_query
from tests.prompts.conftest import get

WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
}


async def versions(client: openai.AsyncOpenAI, assistant_id: str, **query: Any) -> Any:
    return await get(client, f"/assistants/{assistant_id}/versions", **query)


def run_options(settings: Settings, run_id: str) -> Any:
    ((raw,),) = db_query(settings, "SELECT options FROM runs WHERE id = ?", run_id)
    return raw if isinstance(raw, dict) else json.loads(raw)  # PostgreSQL's driver decodes jsonb itself


async def test_create_is_version_one_with_every_field(client: openai.AsyncOpenAI) -> None:
    a = await client.beta.assistants.create(
        model="gpt-4o",
        name="Bot",
        description="d",
        instructions="Be brief.",
        tools=[WEATHER],
        metadata={"k": "v"},
        temperature=0.3,
        top_p=0.9,
        response_format={"type": "json_object"},
    )
    page = await versions(client, a.id)
    assert page["object"] == "list" and page["has_more"] is False
    assert page["first_id"] == page["last_id"] == "1"
    [v1] = page["data"]
    current = await get(client, f"/assistants/{a.id}")  # the JSON as sent
    expected = {k: current[k] for k in current if k not in ("id", "object", "created_at")}
    assert v1 == {
        "object": "assistant.version",
        "assistant_id": a.id,
        "version": 1,
        "created_at": a.created_at,
        **expected,
    }


async def test_every_modify_is_a_new_version_even_metadata_only(client: openai.AsyncOpenAI) -> None:
    a = await client.beta.assistants.create(model="m1", instructions="first")
    await client.beta.assistants.update(a.id, metadata={"tag": "x"})
    await client.beta.assistants.update(a.id, instructions="second", model="m2")
    await client.beta.assistants.update(a.id)  # nothing changes: still a write, still a version
    page = await versions(client, a.id)
    assert [v["version"] for v in page["data"]] == [4, 3, 2, 1]
    by = {v["version"]: v for v in page["data"]}
    assert by[1]["instructions"] == "first" and by[1]["metadata"] == {} and by[1]["model"] == "m1"
    assert by[2]["instructions"] == "first" and by[2]["metadata"] == {"tag": "x"}
    assert by[3]["instructions"] == "second" and by[3]["model"] == "m2" and by[3]["metadata"] == {"tag": "x"}
    assert {k: v for k, v in by[4].items() if k not in ("version", "created_at")} == {
        k: v for k, v in by[3].items() if k not in ("version", "created_at")
    }


async def test_versions_paginate_by_version_number(client: openai.AsyncOpenAI) -> None:
    a = await client.beta.assistants.create(model="m")
    for i in range(4):
        await client.beta.assistants.update(a.id, name=f"n{i}")
    first = await versions(client, a.id, limit=2)
    assert [v["version"] for v in first["data"]] == [5, 4] and first["has_more"] is True
    assert first["last_id"] == "4"
    second = await versions(client, a.id, limit=2, after=first["last_id"])
    assert [v["version"] for v in second["data"]] == [3, 2] and second["has_more"] is True
    rest = await versions(client, a.id, limit=2, after=second["last_id"])
    assert [v["version"] for v in rest["data"]] == [1] and rest["has_more"] is False
    asc = await versions(client, a.id, order="asc", limit=3)
    assert [v["version"] for v in asc["data"]] == [1, 2, 3]
    before = await versions(client, a.id, limit=2, before="2")
    assert [v["version"] for v in before["data"]] == [4, 3]


async def test_bad_cursor_unknown_and_malformed_ids(client: openai.AsyncOpenAI) -> None:
    a = await client.beta.assistants.create(model="m")
    with pytest.raises(openai.BadRequestError) as bad:
        await versions(client, a.id, after="latest")
    assert_api_error(bad.value, 400, param="after")
    with pytest.raises(openai.NotFoundError) as missing:
        await versions(client, "asst_nope")
    assert_api_error(missing.value, 404)
    with pytest.raises(openai.BadRequestError) as malformed:
        await versions(client, "thread_x")
    assert_api_error(malformed.value, 400, param="assistant_id")


async def test_deleting_the_assistant_deletes_its_versions(client: openai.AsyncOpenAI, settings: Settings) -> None:
    a = await client.beta.assistants.create(model="m")
    await client.beta.assistants.update(a.id, name="x")
    assert db_count(settings, "assistant_versions", "WHERE assistant_id = ?", a.id) == 2
    await client.beta.assistants.delete(a.id)
    assert db_count(settings, "assistant_versions", "WHERE assistant_id = ?", a.id) == 0
    with pytest.raises(openai.NotFoundError):
        await versions(client, a.id)


async def test_a_failed_modify_writes_no_version(client: openai.AsyncOpenAI, settings: Settings) -> None:
    a = await client.beta.assistants.create(model="m")
    with pytest.raises(openai.BadRequestError):
        await client.beta.assistants.update(a.id, tool_resources={"code_interpreter": {"file_ids": ["file-nope"]}})
    assert db_count(settings, "assistant_versions", "WHERE assistant_id = ?", a.id) == 1


async def test_runs_record_the_version_they_used(client: openai.AsyncOpenAI, settings: Settings) -> None:
    a = await client.beta.assistants.create(model="m", instructions="v1")
    thread = await client.beta.threads.create()
    first = await client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=a.id)
    await client.beta.assistants.update(a.id, instructions="v2")
    second = await client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=a.id)
    both = await client.beta.threads.create_and_run_poll(assistant_id=a.id)
    assert run_options(settings, first.id) == {"assistant_version": 1}
    assert run_options(settings, second.id) == {"assistant_version": 2}
    assert run_options(settings, both.id) == {"assistant_version": 2}
    assert second.instructions == "v2"


def _alembic(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def test_migration_backfills_existing_assistants_as_version_one(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    cfg = _alembic(f"sqlite:///{path}")
    command.upgrade(cfg, "0005")
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO assistants (id, created_at, model, name, instructions, tools, metadata, temperature) "
            "VALUES ('asst_old', 1700000000, 'gpt-4o', 'Old', 'Hi', ?, ?, 0.5)",
            (json.dumps([WEATHER]), json.dumps({"k": "v"})),
        )
    command.upgrade(cfg, "head")
    with sqlite3.connect(path) as conn:
        row = conn.execute(
            "SELECT assistant_id, version, created_at, model, name, instructions, tools, metadata, temperature "
            "FROM assistant_versions"
        ).fetchall()
    assert row == [("asst_old", 1, 1700000000, "gpt-4o", "Old", "Hi", json.dumps([WEATHER]), '{"k": "v"}', 0.5)]
    command.downgrade(cfg, "0005")
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not tables & {"assistant_versions", "prompts", "prompt_versions"}
    assert "assistants" in tables
