"""Containers: OpenAI's ``/v1/containers`` over the code_interpreter sandbox pool.

A container is a stored record plus, while code runs in it, a sandbox session keyed by its ID in the same
``SessionPool`` the Assistants tool keys by thread ID. Its files live in the blob store (the session's
``/mnt/data`` is a cache rebuilt from them, see ``execution.py``).

**Expiry.** A container expires ``expires_after.minutes`` (default and maximum 20) after ``last_active_at``,
which code execution and file uploads and deletions move forward. As OpenAI's, an expired container is
kept (``status: "expired"``, still listed and retrievable, deletable) but cannot be reused: its session is
shut down and its files are deleted, so running code in it, or adding, listing or reading its files, is a
400 ``container_expired`` saying to create a new container and upload the files again. Expiry is noticed
by a reaper every ``REAP_SECONDS`` and on any access, whichever comes first.

Methods for the Responses API's code_interpreter tool: ``ensure_auto``, ``usable``, ``execute``, ``touch``
and ``file_at_path``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
from collections.abc import AsyncIterator
from typing import Any, BinaryIO

from pydantic import ValidationError

from assistantd.containers import execution
from assistantd.containers.protocol import DEFAULT_MEMORY_LIMIT, DEFAULT_MINUTES, ContainerCreate
from assistantd.errors import InvalidRequest, NotFound, not_found, translate
from assistantd.ids import EXPECTED_BEGINNING, Kind, has_prefix, new_id
from assistantd.organization.limits import QuotaExceeded, enforce_storage
from assistantd.sandbox import SessionPool
from assistantd.services._context import Context, WireObject, now
from assistantd.services.files import too_large
from assistantd.store import containers as store
from assistantd.store import repos
from assistantd.store._crud import PageParams
from assistantd.store.containers import ContainerFileRecord, ContainerRecord
from assistantd.tools._code_files import assign_names
from assistantd.wire.common import list_page

log = logging.getLogger("assistantd.containers")

REAP_SECONDS = 30.0


class ContainerExpired(InvalidRequest):
    """400: the container's idle time ran out; it cannot be used again."""

    def __init__(self, container_id: str, param: str | None = "container_id") -> None:
        super().__init__(
            f"Container '{container_id}' has expired (no activity for its expires_after minutes) and cannot be "
            "used again; its files were deleted. Create a new container and upload the files again.",
            param=param,
            code="container_expired",
        )


def to_wire(c: ContainerRecord, at: int) -> WireObject:
    """``openai.types.ContainerRetrieveResponse``."""
    return {
        "id": c.id,
        "object": "container",
        "created_at": c.created_at,
        "status": "expired" if c.expired(at) else "running",
        "expires_after": {"anchor": "last_active_at", "minutes": c.expires_after_minutes},
        "last_active_at": c.last_active_at,
        "memory_limit": c.memory_limit,
        "name": c.name,
        "network_policy": c.network_policy or {"type": "disabled"},
    }


def file_to_wire(f: ContainerFileRecord) -> WireObject:
    """``openai.types.containers.FileRetrieveResponse``."""
    return {
        "id": f.id,
        "object": "container.file",
        "container_id": f.container_id,
        "created_at": f.created_at,
        "bytes": f.bytes,
        "path": f.path,
        "source": f.source,
    }


def _check(kind: Kind, value: str, param: str) -> None:
    """A malformed ID is a 400, as OpenAI's "Expected an ID that begins with 'cntr'"."""
    if not has_prefix(kind, value):
        raise InvalidRequest(
            f"Invalid '{param}': '{value}'. Expected an ID that begins with '{EXPECTED_BEGINNING[kind]}'.",
            param=param,
        )


class Containers:
    def __init__(self, ctx: Context, pool: SessionPool | None, *, unavailable: str | None = None) -> None:
        self.ctx = ctx
        self.runner = execution.Runner(ctx, pool, unavailable)
        self._reaper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._reaper = asyncio.create_task(self._reap_loop())

    async def close(self) -> None:
        """Stop the reaper (before the code_interpreter pool closes: sessions are the pool's to end)."""
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
            self._reaper = None

    # --- containers -------------------------------------------------------------------------------------

    async def create_container(self, req: ContainerCreate, *, param: str = "") -> WireObject:
        return to_wire(await self._create(req, param), now())

    async def _create(self, req: ContainerCreate, param: str) -> ContainerRecord:
        file_ids = list(dict.fromkeys(req.file_ids or []))
        created = now()
        values: dict[str, Any] = {
            "id": new_id("container"),
            "created_at": created,
            "name": req.name,
            "status": "running",
            "expires_after_minutes": req.expires_after.minutes if req.expires_after else DEFAULT_MINUTES,
            "last_active_at": created,
            "memory_limit": req.memory_limit or DEFAULT_MEMORY_LIMIT,
            "network_policy": req.stored_network_policy(),
            "skills": req.stored_skills(),
        }
        async with self.ctx.db.read() as conn:
            sources = []
            for i, file_id in enumerate(file_ids):
                record = await repos.files.get(conn, file_id) if has_prefix("file", file_id) else None
                if record is None:
                    raise InvalidRequest(f"No file found with id '{file_id}'.", param=f"{param}file_ids[{i}]")
                sources.append(record)
        copies: list[dict[str, Any]] = []
        try:
            for placed in assign_names(sources):
                copies.append(await self._copy_blob(values["id"], placed.blob_key, f"/mnt/data/{placed.name}"))
            async with self.ctx.db.write() as conn:
                await store.containers.insert(conn, values)
                for row in copies:
                    await store.files.insert(conn, row)
        except BaseException:
            for row in copies:
                await self.ctx.blobs.delete(row["blob_key"])
            raise
        return ContainerRecord(**values)

    async def list_containers(self, page: PageParams, name: str | None) -> WireObject:
        async with self.ctx.db.read() as conn:
            records, has_more = await store.page_containers(conn, page, name)
        at = now()
        return list_page([to_wire(r, at) for r in records], has_more)

    async def retrieve_container(self, container_id: str) -> WireObject:
        return to_wire(await self._get(container_id, "container_id"), now())

    async def delete_container(self, container_id: str) -> WireObject:
        record = await self._get(container_id, "container_id")
        async with self.ctx.db.write() as conn:
            keys = [f.blob_key for f in await store.all_files(conn, record.id)]
            await store.containers.delete(conn, record.id)  # its files' rows go with it (ON DELETE CASCADE)
        await self.runner.discard(record.id)
        for key in keys:
            await self.ctx.blobs.delete(key)
        return {"id": record.id, "object": "container.deleted", "deleted": True}

    async def _get(self, container_id: str, param: str | None) -> ContainerRecord:
        """The container (its expiry carried out if it is due): 404 naming ``param`` when there is none."""
        if param is not None:
            _check("container", container_id, param)
        async with self.ctx.db.read() as conn:
            record = await store.containers.get(conn, container_id) if has_prefix("container", container_id) else None
        if record is None:
            raise not_found("container", container_id, param)
        if record.status == "running" and record.expired(now()):
            record = await self._expire(record)
        return record

    async def usable(self, container_id: str, param: str | None = "container_id") -> ContainerRecord:
        """A running container: 404 when unknown, 400 ``container_expired`` when expired."""
        record = await self._get(container_id, param)
        if record.status != "running":
            raise ContainerExpired(record.id, param)
        return record

    async def touch(self, container_id: str, param: str | None = "container_id") -> None:
        """Count activity now: the idle time restarts (400 when the container already expired)."""
        record = await self.usable(container_id, param)
        async with self.ctx.db.write() as conn:
            await store.containers.update(conn, record.id, {"last_active_at": max(now(), record.last_active_at)})

    # --- expiry ----------------------------------------------------------------------------------------

    async def _expire(self, record: ContainerRecord, at: int | None = None) -> ContainerRecord:
        """Mark it expired, delete its files and end its session (unless it was used meanwhile)."""
        at = now() if at is None else at
        async with self.ctx.db.write() as conn:
            current = await store.containers.get(conn, record.id)
            if current is None or current.status != "running" or not current.expired(at):
                return current or record
            keys = [f.blob_key for f in await store.all_files(conn, record.id)]
            await store.containers.update(conn, record.id, {"status": "expired"})
            await conn.execute(store.FILES.delete().where(store.FILES.c.container_id == record.id))
        await self.runner.discard(record.id)
        for key in keys:
            await self.ctx.blobs.delete(key)
        log.info("container %s expired after %d idle minutes", record.id, record.expires_after_minutes)
        return ContainerRecord(**{**_fields(current), "status": "expired"})

    async def expire_due(self, at: int | None = None) -> int:
        """Expire every running container whose idle time ran out by ``at`` (now); returns how many."""
        at = now() if at is None else at
        count = 0
        while True:
            async with self.ctx.db.read() as conn:
                due = await store.due(conn, at)
            for record in due:
                if (await self._expire(record, at)).status == "expired":
                    count += 1
            if len(due) < 100:
                return count

    async def _reap_loop(self) -> None:
        while True:
            await asyncio.sleep(REAP_SECONDS)
            try:
                await self.expire_due()
            except Exception:
                log.exception("expiring idle containers failed")

    # --- files -----------------------------------------------------------------------------------------

    async def create_file_upload(self, container_id: str, source: BinaryIO, filename: str) -> WireObject:
        record = await self.usable(container_id)
        file_id = new_id("container_file")
        size = await self.ctx.blobs.put(file_id, source)
        if size > self.ctx.settings.max_file_bytes:
            await self.ctx.blobs.delete(file_id)
            raise too_large(self.ctx.settings.max_file_bytes)
        try:
            await enforce_storage(self.ctx.db, self.ctx.settings, size)
        except QuotaExceeded:
            await self.ctx.blobs.delete(file_id)
            raise
        path = f"/mnt/data/{execution.safe_name(filename, file_id)}"
        row = {"id": file_id, "created_at": now(), "bytes": size, "path": path, "source": "user", "blob_key": file_id}
        return file_to_wire(await self._insert_file(record.id, row))

    async def create_file_copy(self, container_id: str, file_id: str) -> WireObject:
        record = await self.usable(container_id)
        async with self.ctx.db.read() as conn:
            source = await repos.files.get(conn, file_id) if has_prefix("file", file_id) else None
        if source is None:
            raise InvalidRequest(f"No file found with id '{file_id}'.", param="file_id")
        name = execution.safe_name(source.filename, source.id)
        row = await self._copy_blob(record.id, source.blob_key, f"/mnt/data/{name}")
        return file_to_wire(await self._insert_file(record.id, row))

    async def _copy_blob(self, container_id: str, blob_key: str, path: str) -> dict[str, Any]:
        """A copy of a File's bytes under a new container file ID (deleting the File leaves the copy)."""
        file_id = new_id("container_file")
        local = self.ctx.blobs.local_path(blob_key)
        if local is not None and os.path.exists(local):
            with open(local, "rb") as f:
                size = await self.ctx.blobs.put(file_id, f)
        else:
            data = b"".join([chunk async for chunk in self.ctx.blobs.open(blob_key)])
            size = await self.ctx.blobs.put(file_id, io.BytesIO(data))
        return {
            "id": file_id,
            "container_id": container_id,
            "created_at": now(),
            "bytes": size,
            "path": path,
            "source": "user",
            "blob_key": file_id,
        }

    async def _insert_file(self, container_id: str, row: dict[str, Any]) -> ContainerFileRecord:
        """Store the file, replacing the one at its path; touches the container."""
        row = {**row, "container_id": container_id}
        try:
            async with self.ctx.db.write() as conn:
                replaced = await store.replace_at_path(conn, container_id, row)
                await store.containers.update(conn, container_id, {"last_active_at": now()})
        except BaseException:
            await self.ctx.blobs.delete(row["blob_key"])
            raise
        if replaced is not None:
            await self.ctx.blobs.delete(replaced.blob_key)
        return ContainerFileRecord(**row)

    async def list_files(self, container_id: str, page: PageParams) -> WireObject:
        record = await self.usable(container_id)
        async with self.ctx.db.read() as conn:
            records, has_more = await store.page_files(conn, record.id, page)
        return list_page([file_to_wire(r) for r in records], has_more)

    async def _file(self, container_id: str, file_id: str) -> ContainerFileRecord:
        record = await self.usable(container_id)
        _check("container_file", file_id, "file_id")
        async with self.ctx.db.read() as conn:
            found = await store.file_of(conn, record.id, file_id)
        if found is None:
            raise NotFound(f"No file found with id '{file_id}' in container '{container_id}'.", param="file_id")
        return found

    async def retrieve_file(self, container_id: str, file_id: str) -> WireObject:
        return file_to_wire(await self._file(container_id, file_id))

    async def file_content(self, container_id: str, file_id: str) -> tuple[ContainerFileRecord, AsyncIterator[bytes]]:
        record = await self._file(container_id, file_id)
        return record, self.ctx.blobs.open(record.blob_key)

    async def delete_file(self, container_id: str, file_id: str) -> WireObject:
        record = await self._file(container_id, file_id)
        async with self.ctx.db.write() as conn:
            await store.files.delete(conn, record.id)
            await store.containers.update(conn, container_id, {"last_active_at": now()})
        await self.ctx.blobs.delete(record.blob_key)
        return {"id": record.id, "object": "container.file.deleted", "deleted": True}

    async def file_at_path(self, container_id: str, path: str) -> ContainerFileRecord | None:
        """The container's file at ``/mnt/data/<path>`` (for ``container_file_citation``), if any."""
        async with self.ctx.db.read() as conn:
            return await store.file_at(conn, container_id, path)

    # --- the service API of the Responses code_interpreter tool --------------------------------------------

    async def ensure_auto(
        self,
        file_ids: list[str] | None = None,
        memory_limit: str | None = None,
        *,
        name: str = "auto",
        network_policy: dict[str, Any] | None = None,
        param: str = "container.",
    ) -> str:
        """A new container for ``container: {"type": "auto", ...}``; 400 naming ``{param}file_ids[i]`` when a
        file is unknown. Returns its ID (the call item's ``container_id``)."""
        body = {"name": name, "file_ids": file_ids, "memory_limit": memory_limit, "network_policy": network_policy}
        try:
            req = ContainerCreate.model_validate(body)
        except ValidationError as exc:
            message, where = translate([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()], body)
            full = f"{param}{where or ''}".rstrip(".")
            raise InvalidRequest(message.replace(f"'{where}'", f"'{full}'"), param=full) from None
        return (await self._create(req, param)).id

    async def execute(
        self, container_id: str, code: str, *, param: str | None = "container_id"
    ) -> execution.ExecutionResult:
        """Run ``code`` in the container's session: logs, images and the files it wrote (recorded as container
        files with ``source: "assistant"``). 404 / 400 ``container_expired`` as ``usable``."""
        record = await self.usable(container_id, param)
        await self.touch(record.id, param)
        try:
            return await self.runner.run(record, code)
        finally:
            with contextlib.suppress(InvalidRequest):
                await self.touch(record.id, param)


def _fields(record: ContainerRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__dataclass_fields__}
