"""/v1/containers through the official client: create, retrieve, list (pages, name filter), delete, bad input."""

from __future__ import annotations

import json

import httpx2
import openai
import pytest
from openai.types import ContainerCreateResponse, ContainerListResponse, ContainerRetrieveResponse

from tests._support import assert_api_error, assert_error, db_count, make_file, wire

pytestmark = pytest.mark.anyio


async def test_create_has_every_field_with_openai_defaults(client: openai.AsyncOpenAI) -> None:
    created, body = await wire(client.containers.with_raw_response.create(name="analysis"))
    assert isinstance(created, ContainerCreateResponse)
    ContainerCreateResponse.model_validate(body)
    assert created.id.startswith("cntr_") and created.object == "container"
    assert created.name == "analysis" and created.status == "running"
    assert created.expires_after is not None
    assert (created.expires_after.anchor, created.expires_after.minutes) == ("last_active_at", 20)
    assert created.memory_limit == "1g"
    assert created.last_active_at == created.created_at
    assert body["network_policy"] == {"type": "disabled"}
    assert set(body) == {
        "id", "object", "created_at", "status", "expires_after", "last_active_at", "memory_limit", "name",
        "network_policy",
    }  # fmt: skip


async def test_create_records_options_and_copies_files(client: openai.AsyncOpenAI) -> None:
    a = await make_file(client, b"x,y\n1,2\n", "data.csv")
    b = await make_file(client, b"other", "reports/data.csv")
    created = await client.containers.create(
        name="opts",
        file_ids=[a.id, b.id],
        expires_after={"anchor": "last_active_at", "minutes": 5},
        memory_limit="4g",
        network_policy={"type": "allowlist", "allowed_domains": ["example.com"]},
        skills=[{"type": "skill_reference", "skill_id": "skill_1"}],
    )
    got = await client.containers.retrieve(created.id)
    assert isinstance(got, ContainerRetrieveResponse)
    assert got.memory_limit == "4g" and got.expires_after is not None and got.expires_after.minutes == 5
    assert got.network_policy is not None and got.network_policy.allowed_domains == ["example.com"]
    files = [f async for f in client.containers.files.list(created.id, order="asc")]
    assert [f.path for f in files] == ["/mnt/data/data.csv", f"/mnt/data/data-{b.id}.csv"]
    assert {f.source for f in files} == {"user"} and [f.bytes for f in files] == [8, 5]
    # A copy: deleting the File leaves the container's file.
    await client.files.delete(a.id)
    content = await client.containers.files.content.retrieve(files[0].id, container_id=created.id)
    assert content.content == b"x,y\n1,2\n"


async def test_list_pages_orders_and_filters_by_name(client: openai.AsyncOpenAI) -> None:
    ids = [(await client.containers.create(name="n-even" if i % 2 == 0 else "n-odd")).id for i in range(5)]
    _, body = await wire(client.containers.with_raw_response.list(limit=2))
    ContainerListResponse.model_validate(body["data"][0])
    assert body["object"] == "list" and body["has_more"] is True
    assert body["first_id"] == ids[-1] and body["last_id"] == ids[-2]
    assert [c.id async for c in client.containers.list(limit=2)] == ids[::-1]
    assert [c.id async for c in client.containers.list(order="asc")] == ids
    assert [c.id async for c in client.containers.list(name="n-odd", order="asc")] == [ids[1], ids[3]]


async def test_delete_removes_container_and_files(client: openai.AsyncOpenAI, settings: object) -> None:
    created = await client.containers.create(name="gone")
    await client.containers.files.create(created.id, file=("a.txt", b"hello"))
    raw = await client.containers.with_raw_response.delete(created.id)
    assert raw.http_request.headers["accept"] == "*/*"
    assert raw.parse() is None
    assert json.loads(raw.text) == {"id": created.id, "object": "container.deleted", "deleted": True}
    with pytest.raises(openai.NotFoundError) as exc:
        await client.containers.retrieve(created.id)
    assert_api_error(exc.value, 404, param="container_id")
    assert db_count(settings, "container_files") == 0  # type: ignore[arg-type]


async def test_unknown_container_is_404_naming_it(client: openai.AsyncOpenAI) -> None:
    unknown = "cntr_" + "x" * 24
    for call in (
        client.containers.retrieve(unknown),
        client.containers.delete(unknown),
        client.containers.files.list(unknown),
        client.containers.files.create(unknown, file=("a.txt", b"a")),
    ):
        with pytest.raises(openai.NotFoundError) as exc:
            await call
        error = assert_api_error(exc.value, 404, param="container_id")
        assert unknown in error["message"]


async def test_malformed_container_id_is_400(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as exc:
        await client.containers.retrieve("thread_abc")
    assert "begins with 'cntr'" in assert_api_error(exc.value, 400, param="container_id")["message"]


@pytest.mark.parametrize(
    ("body", "param", "contains"),
    [
        ({}, "name", "Missing required parameter: 'name'"),
        ({"name": "a", "memory_limit": "2g"}, "memory_limit", "'2g'"),
        ({"name": "a", "memory_limit": 1}, "memory_limit", ""),
        ({"name": "a", "expires_after": {"anchor": "created_at", "minutes": 5}}, "expires_after.anchor", ""),
        ({"name": "a", "expires_after": {"anchor": "last_active_at", "minutes": 21}}, "expires_after.minutes", "20"),
        ({"name": "a", "expires_after": {"anchor": "last_active_at", "minutes": 0}}, "expires_after.minutes", ""),
        ({"name": "a", "file_ids": ["file-nope"]}, "file_ids[0]", "file-nope"),
        ({"name": "a", "network_policy": {"type": "open"}}, "network_policy.type", "'open'"),
        ({"name": "a", "network_policy": {"type": "allowlist"}}, "network_policy.allowed_domains", ""),
        ({"name": "a", "skills": [{"type": "skill_reference"}]}, "skills[0].skill_id", ""),
        ({"name": "a", "colour": "red"}, "colour", "Unrecognized request argument supplied: colour"),
        ({"name": 5}, "name", "expected a string"),
    ],
)
async def test_bad_create_is_400_and_stores_nothing(
    raw: httpx2.AsyncClient, settings: object, body: dict[str, object], param: str | None, contains: str
) -> None:
    response = await raw.post("/containers", json=body)
    assert_error(response, 400, param=param, contains=contains)
    assert db_count(settings, "containers") == 0  # type: ignore[arg-type]
