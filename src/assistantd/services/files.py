"""Files: upload, list, retrieve, download, delete (detaching the file everywhere it is referenced)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, BinaryIO

from assistantd.errors import InvalidRequest
from assistantd.ids import new_id
from assistantd.organization.limits import QuotaExceeded, enforce_storage
from assistantd.services._context import Context, WireObject, now
from assistantd.services._refs import check_id, missing
from assistantd.store import repos
from assistantd.store._crud import PageParams
from assistantd.store.db import Conn
from assistantd.store.records import FileRecord
from assistantd.wire.common import list_page
from assistantd.wire.files import UPLOAD_PURPOSES

MIN_EXPIRY_SECONDS = 3600
MAX_EXPIRY_SECONDS = 2_592_000


def to_wire(f: FileRecord) -> WireObject:
    """``openai.types.FileObject``."""
    out: WireObject = {
        "id": f.id,
        "object": "file",
        "bytes": f.bytes,
        "created_at": f.created_at,
        "filename": f.filename,
        "purpose": f.purpose,
        "status": f.status,
    }
    # OpenAIFile types both as plain (non-null) values when present: omit them rather than send null.
    if f.expires_at is not None:
        out["expires_at"] = f.expires_at
    if f.status_details is not None:
        out["status_details"] = f.status_details
    return out


def check_upload(purpose: str | None, anchor: str | None, seconds: str | None) -> int | None:
    """Validate the form fields of an upload; returns the expiry in seconds, if any."""
    if not purpose:
        raise InvalidRequest("Missing required parameter: 'purpose'.", param="purpose")
    if purpose not in UPLOAD_PURPOSES:
        supported = ", ".join(f"'{p}'" for p in UPLOAD_PURPOSES)
        raise InvalidRequest(f"Invalid value: '{purpose}'. Supported values are: {supported}.", param="purpose")
    if anchor is None and seconds is None:
        return None
    if anchor is None:
        raise InvalidRequest("Missing required parameter: 'expires_after.anchor'.", param="expires_after.anchor")
    if seconds is None:
        raise InvalidRequest("Missing required parameter: 'expires_after.seconds'.", param="expires_after.seconds")
    if anchor != "created_at":
        raise InvalidRequest(
            f"Invalid value: '{anchor}'. Supported values are: 'created_at'.", param="expires_after.anchor"
        )
    try:
        value = int(seconds or "")
    except ValueError:
        raise InvalidRequest(
            "Invalid type for 'expires_after.seconds': expected an integer.", param="expires_after.seconds"
        ) from None
    if not MIN_EXPIRY_SECONDS <= value <= MAX_EXPIRY_SECONDS:
        raise InvalidRequest(
            f"Invalid 'expires_after.seconds': expected a value between {MIN_EXPIRY_SECONDS} and "
            f"{MAX_EXPIRY_SECONDS}, but got {value} instead.",
            param="expires_after.seconds",
        )
    return value


def too_large(limit: int) -> InvalidRequest:
    return InvalidRequest(f"File is too large: the maximum size is {limit} bytes.", param="file", code="file_too_large")


class Files:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def create_file(self, source: BinaryIO, filename: str, purpose: str, expires_in: int | None) -> WireObject:
        file_id = new_id("file")
        size = await self.ctx.blobs.put(file_id, source)
        if size > self.ctx.settings.max_file_bytes:
            await self.ctx.blobs.delete(file_id)
            raise too_large(self.ctx.settings.max_file_bytes)
        try:
            await enforce_storage(self.ctx.db, self.ctx.settings, size)
        except QuotaExceeded:
            await self.ctx.blobs.delete(file_id)
            raise
        created = now()
        values: dict[str, Any] = {
            "id": file_id,
            "created_at": created,
            "bytes": size,
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "status_details": None,
            "expires_at": None if expires_in is None else created + expires_in,
            "blob_key": file_id,
        }
        try:
            async with self.ctx.db.write() as conn:
                await repos.files.insert(conn, values)
        except BaseException:
            await self.ctx.blobs.delete(file_id)
            raise
        return to_wire(FileRecord(**values))

    async def list_files(self, page: PageParams, purpose: str | None) -> WireObject:
        async with self.ctx.db.read() as conn:
            records, has_more = await repos.files.page(conn, page, {"purpose": purpose} if purpose else None)
        return list_page([to_wire(r) for r in records], has_more)

    async def get_record(self, file_id: str) -> FileRecord:
        check_id("file", file_id, "file_id")
        async with self.ctx.db.read() as conn:
            record = await repos.files.get(conn, file_id)
        if record is None:
            raise missing("file", file_id)
        return record

    async def retrieve_file(self, file_id: str) -> WireObject:
        return to_wire(await self.get_record(file_id))

    async def file_content(self, file_id: str) -> tuple[FileRecord, AsyncIterator[bytes]]:
        record = await self.get_record(file_id)
        return record, self.ctx.blobs.open(record.blob_key)

    async def delete_file(self, file_id: str) -> WireObject:
        check_id("file", file_id, "file_id")
        async with self.ctx.db.write() as conn:
            record = await repos.files.get(conn, file_id)
            if record is None:
                raise missing("file", file_id)
            await repos.files.delete(conn, file_id)
            await _detach(conn, file_id)
        await self.ctx.blobs.delete(record.blob_key)
        return {"id": file_id, "object": "file", "deleted": True}


async def _detach(conn: Conn, file_id: str) -> None:
    """Remove a deleted file from every tool_resources and message attachment that names it."""
    for repo in (repos.assistants, repos.threads):
        for owner in await repo.referencing(conn, "tool_resources", file_id):
            resources = dict(owner.tool_resources or {})
            ci = resources.get("code_interpreter") or {}
            ids = [f for f in ci.get("file_ids") or [] if f != file_id]
            if ids != ci.get("file_ids"):
                resources["code_interpreter"] = {**ci, "file_ids": ids}
                await repo.update(conn, owner.id, {"tool_resources": resources})
    for message in await repos.messages.referencing(conn, "attachments", file_id):
        kept = [a for a in message.attachments or [] if a.get("file_id") != file_id]
        if kept != message.attachments:
            await repos.messages.update(conn, message.id, {"attachments": kept})
