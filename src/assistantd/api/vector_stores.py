"""/v1/vector_stores (with files, file batches and search)"""

from __future__ import annotations

from fastapi import APIRouter

from assistantd.api._json import WireResponse, wire
from assistantd.api._route import WireRoute
from assistantd.api.deps import Beta, PollAfter, VectorStoreFilesDep, VectorStoresDep
from assistantd.api.pagination import Page
from assistantd.wire.vector_stores import (
    FileBatchCreate,
    VectorStoreCreate,
    VectorStoreFileCreate,
    VectorStoreFileModify,
    VectorStoreModify,
    VectorStoreSearch,
)

router = APIRouter(route_class=WireRoute, dependencies=[Beta], default_response_class=WireResponse)

STORE = "/vector_stores/{vector_store_id}"


@router.post("/vector_stores")
async def create_vector_store(stores: VectorStoresDep, req: VectorStoreCreate | None = None) -> WireResponse:
    return wire(await stores.create_vector_store(req or VectorStoreCreate()))


@router.get("/vector_stores")
async def list_vector_stores(page: Page, stores: VectorStoresDep) -> WireResponse:
    return wire(await stores.list_vector_stores(page))


@router.get(STORE)
async def retrieve_vector_store(vector_store_id: str, stores: VectorStoresDep, poll: PollAfter) -> WireResponse:
    return wire(await stores.retrieve_vector_store(vector_store_id), poll)


@router.post(STORE)
async def modify_vector_store(
    vector_store_id: str, stores: VectorStoresDep, req: VectorStoreModify | None = None
) -> WireResponse:
    return wire(await stores.modify_vector_store(vector_store_id, req or VectorStoreModify()))


@router.delete(STORE)
async def delete_vector_store(vector_store_id: str, stores: VectorStoresDep) -> WireResponse:
    return wire(await stores.delete_vector_store(vector_store_id))


@router.post(STORE + "/search")
async def search_vector_store(vector_store_id: str, req: VectorStoreSearch, stores: VectorStoresDep) -> WireResponse:
    return wire(await stores.search_vector_store(vector_store_id, req))


# --- files ---------------------------------------------------------------------------------------------


@router.post(STORE + "/files")
async def create_vector_store_file(
    vector_store_id: str, req: VectorStoreFileCreate, files: VectorStoreFilesDep, poll: PollAfter
) -> WireResponse:
    return wire(await files.create_vector_store_file(vector_store_id, req), poll)


@router.get(STORE + "/files")
async def list_vector_store_files(
    vector_store_id: str, page: Page, files: VectorStoreFilesDep, filter: str | None = None
) -> WireResponse:
    return wire(await files.list_vector_store_files(vector_store_id, page, filter))


@router.get(STORE + "/files/{file_id}")
async def retrieve_vector_store_file(
    vector_store_id: str, file_id: str, files: VectorStoreFilesDep, poll: PollAfter
) -> WireResponse:
    return wire(await files.retrieve_vector_store_file(vector_store_id, file_id), poll)


@router.post(STORE + "/files/{file_id}")
async def update_vector_store_file(
    vector_store_id: str, file_id: str, req: VectorStoreFileModify, files: VectorStoreFilesDep
) -> WireResponse:
    return wire(await files.update_vector_store_file(vector_store_id, file_id, req))


@router.delete(STORE + "/files/{file_id}")
async def delete_vector_store_file(vector_store_id: str, file_id: str, files: VectorStoreFilesDep) -> WireResponse:
    return wire(await files.delete_vector_store_file(vector_store_id, file_id))


@router.get(STORE + "/files/{file_id}/content")
async def vector_store_file_content(vector_store_id: str, file_id: str, files: VectorStoreFilesDep) -> WireResponse:
    return wire(await files.vector_store_file_content(vector_store_id, file_id))


# --- file batches --------------------------------------------------------------------------------------


@router.post(STORE + "/file_batches")
async def create_file_batch(
    vector_store_id: str, req: FileBatchCreate, files: VectorStoreFilesDep, poll: PollAfter
) -> WireResponse:
    return wire(await files.create_file_batch(vector_store_id, req), poll)


@router.get(STORE + "/file_batches/{batch_id}")
async def retrieve_file_batch(
    vector_store_id: str, batch_id: str, files: VectorStoreFilesDep, poll: PollAfter
) -> WireResponse:
    return wire(await files.retrieve_file_batch(vector_store_id, batch_id), poll)


@router.post(STORE + "/file_batches/{batch_id}/cancel")
async def cancel_file_batch(vector_store_id: str, batch_id: str, files: VectorStoreFilesDep) -> WireResponse:
    return wire(await files.cancel_file_batch(vector_store_id, batch_id))


@router.get(STORE + "/file_batches/{batch_id}/files")
async def list_file_batch_files(
    vector_store_id: str, batch_id: str, page: Page, files: VectorStoreFilesDep, filter: str | None = None
) -> WireResponse:
    return wire(await files.list_file_batch_files(vector_store_id, batch_id, page, filter))
