"""/v1/containers and /v1/containers/{container_id}/files (mounted under the authenticated /v1 router).

The service is ``app.state.containers`` (built in ``create_app``'s lifespan). No ``OpenAI-Beta`` header,
as OpenAI's Containers API has none.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.responses import StreamingResponse

from assistantd.api import openapi
from assistantd.api._json import WireResponse, wire
from assistantd.api._route import UploadRoute, WireRoute
from assistantd.api.pagination import Page
from assistantd.containers.protocol import ContainerCreate, ContainerFileCreate
from assistantd.containers.service import Containers
from assistantd.errors import InvalidRequest


async def _containers(request: Request) -> Containers:
    service = request.app.state.containers
    assert isinstance(service, Containers)
    return service


ContainersDep = Annotated[Containers, Depends(_containers)]

router = APIRouter(route_class=WireRoute, default_response_class=WireResponse)
uploads = APIRouter(route_class=UploadRoute, default_response_class=WireResponse)

CONTAINER = "/containers/{container_id}"
FILE = CONTAINER + "/files/{file_id}"


@router.post("/containers")
async def create_container(req: ContainerCreate, containers: ContainersDep) -> WireResponse:
    return wire(await containers.create_container(req))


@router.get("/containers")
async def list_containers(page: Page, containers: ContainersDep, name: str | None = None) -> WireResponse:
    return wire(await containers.list_containers(page, name))


@router.get(CONTAINER)
async def retrieve_container(container_id: str, containers: ContainersDep) -> WireResponse:
    return wire(await containers.retrieve_container(container_id))


@router.delete(CONTAINER)
async def delete_container(container_id: str, containers: ContainersDep) -> WireResponse:
    return wire(await containers.delete_container(container_id))


@uploads.post(CONTAINER + "/files", openapi_extra=openapi.upload_body(copy=True))
async def create_container_file(container_id: str, request: Request, containers: ContainersDep) -> WireResponse:
    """A multipart ``file`` upload, or JSON ``{"file_id"}`` copying an existing File."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=16) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidRequest("Missing required parameter: 'file'.", param="file")
            return wire(await containers.create_file_upload(container_id, upload.file, upload.filename or "file"))
    return wire(await containers.create_file_copy(container_id, _json_body(await request.body()).file_id))


def _json_body(raw: bytes) -> ContainerFileCreate:
    """The JSON form, validated with the same messages as every other body."""
    if not raw.strip():
        raise InvalidRequest("Missing required parameter: 'file' (or 'file_id').", param="file")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        invalid = {"type": "json_invalid", "loc": ("body", 0), "msg": "JSON decode error", "input": {}}
        raise RequestValidationError([invalid], body=raw) from None
    try:
        return ContainerFileCreate.model_validate(body)
    except ValidationError as exc:
        if isinstance(body, dict) and "file_id" not in body and not set(body) - {"file"}:
            raise InvalidRequest("Missing required parameter: 'file' (or 'file_id').", param="file") from None
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors, body=body) from None


@router.get(CONTAINER + "/files")
async def list_container_files(container_id: str, page: Page, containers: ContainersDep) -> WireResponse:
    return wire(await containers.list_files(container_id, page))


@router.get(FILE)
async def retrieve_container_file(container_id: str, file_id: str, containers: ContainersDep) -> WireResponse:
    return wire(await containers.retrieve_file(container_id, file_id))


@router.get(FILE + "/content", response_model=None)
async def container_file_content(container_id: str, file_id: str, containers: ContainersDep) -> StreamingResponse:
    record, chunks = await containers.file_content(container_id, file_id)
    name = record.path.rsplit("/", 1)[-1]
    return StreamingResponse(
        chunks,
        media_type="application/octet-stream",
        headers={
            "content-length": str(record.bytes),
            "content-disposition": f"attachment; filename*=UTF-8''{quote(name)}",
        },
    )


@router.delete(FILE)
async def delete_container_file(container_id: str, file_id: str, containers: ContainersDep) -> WireResponse:
    return wire(await containers.delete_file(container_id, file_id))


router.include_router(uploads)
