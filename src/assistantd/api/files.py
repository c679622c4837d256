"""/v1/files"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import StreamingResponse

from assistantd.api import openapi
from assistantd.api._json import WireResponse, wire
from assistantd.api._route import UploadRoute
from assistantd.api.deps import FilesDep
from assistantd.api.pagination import FilesPage
from assistantd.errors import InvalidRequest
from assistantd.services.files import check_upload

router = APIRouter(route_class=UploadRoute, default_response_class=WireResponse)


@router.post("/files", openapi_extra=openapi.upload_body(purpose=True))
async def create_file(request: Request, files: FilesDep) -> WireResponse:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidRequest("The request must be multipart/form-data with a 'file' part.", param="file")
    async with request.form(max_files=1, max_fields=16) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidRequest("Missing required parameter: 'file'.", param="file")
        purpose = form.get("purpose")
        anchor, seconds = form.get("expires_after[anchor]"), form.get("expires_after[seconds]")
        expires_in = check_upload(
            purpose if isinstance(purpose, str) else None,
            anchor if isinstance(anchor, str) else None,
            seconds if isinstance(seconds, str) else None,
        )
        assert isinstance(purpose, str)
        created = await files.create_file(upload.file, upload.filename or "file", purpose, expires_in)
    return wire(created)


@router.get("/files")
async def list_files(page: FilesPage, files: FilesDep, purpose: str | None = None) -> WireResponse:
    return wire(await files.list_files(page, purpose))


@router.get("/files/{file_id}")
async def retrieve_file(file_id: str, files: FilesDep) -> WireResponse:
    return wire(await files.retrieve_file(file_id))


@router.get("/files/{file_id}/content", response_model=None)
async def download_file(file_id: str, files: FilesDep) -> StreamingResponse:
    record, chunks = await files.file_content(file_id)
    return StreamingResponse(
        chunks,
        media_type="application/octet-stream",
        headers={
            "content-length": str(record.bytes),
            "content-disposition": f"attachment; filename*=UTF-8''{quote(record.filename)}",
        },
    )


@router.delete("/files/{file_id}")
async def delete_file(file_id: str, files: FilesDep) -> WireResponse:
    return wire(await files.delete_file(file_id))
