"""Idle expiry: an expired container is listed as ``expired``, cannot run code or hold files, and its session ends."""

from __future__ import annotations

import time

import openai
import pytest

from assistantd import Settings
from assistantd.containers.service import ContainerExpired, Containers
from tests._support import assert_api_error, db_count, db_execute

pytestmark = pytest.mark.anyio


def _idle_for(settings: Settings, container_id: str, seconds: int) -> None:
    """As if the container had seen no activity for ``seconds`` (its stored last_active_at moved back)."""
    db_execute(
        settings, "UPDATE containers SET last_active_at = last_active_at - ? WHERE id = ?", seconds, container_id
    )


async def test_reaper_expires_idle_containers_and_ends_their_sessions(
    client: openai.AsyncOpenAI, containers: Containers, settings: Settings
) -> None:
    c = await client.containers.create(name="idle", expires_after={"anchor": "last_active_at", "minutes": 1})
    keep = await client.containers.create(name="busy")
    await client.containers.files.create(c.id, file=("a.txt", b"a"))
    if containers.runner.pool is not None:
        assert (await containers.execute(c.id, "x = 1")).status == "ok"
        assert c.id in containers.runner.pool._leases
    assert await containers.expire_due(int(time.time()) + 61) == 1
    if containers.runner.pool is not None:
        assert c.id not in containers.runner.pool._leases  # the session was shut down

    got = await client.containers.retrieve(c.id)
    assert got.status == "expired"
    assert {x.id: x.status async for x in client.containers.list()} == {c.id: "expired", keep.id: "running"}
    assert db_count(settings, "container_files") == 0  # its files were deleted with it

    with pytest.raises(ContainerExpired) as exc:
        await containers.execute(c.id, "print(x)", param="tools[0].container")
    assert exc.value.status == 400 and exc.value.param == "tools[0].container"
    for call in (
        client.containers.files.list(c.id),
        client.containers.files.create(c.id, file=("b.txt", b"b")),
    ):
        with pytest.raises(openai.BadRequestError) as api_exc:
            await call
        error = assert_api_error(api_exc.value, 400, param="container_id")
        assert error["code"] == "container_expired" and "upload the files again" in error["message"]
    await client.containers.delete(c.id)  # an expired container can still be deleted
    assert [x.id async for x in client.containers.list()] == [keep.id]


async def test_expiry_is_noticed_on_access_without_the_reaper(
    client: openai.AsyncOpenAI, containers: Containers, settings: Settings
) -> None:
    c = await client.containers.create(name="lazy")
    await client.containers.files.create(c.id, file=("a.txt", b"a"))
    _idle_for(settings, c.id, 20 * 60)
    assert (await client.containers.retrieve(c.id)).status == "expired"
    assert db_count(settings, "container_files") == 0


async def test_activity_moves_the_expiry(
    client: openai.AsyncOpenAI, containers: Containers, settings: Settings
) -> None:
    c = await client.containers.create(name="active")
    _idle_for(settings, c.id, 19 * 60)
    await client.containers.files.create(c.id, file=("a.txt", b"a"))  # activity: the 20 minutes start again
    assert await containers.expire_due(int(time.time()) + 2 * 60) == 0
    assert (await client.containers.retrieve(c.id)).status == "running"
