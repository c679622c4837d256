"""/v1/threads"""

from __future__ import annotations

from fastapi import APIRouter

from assistantd.api._json import WireResponse, wire
from assistantd.api._route import WireRoute
from assistantd.api.deps import Beta, ThreadsDep
from assistantd.wire.threads import ThreadCreate, ThreadModify

router = APIRouter(route_class=WireRoute, dependencies=[Beta], default_response_class=WireResponse)


@router.post("/threads")
async def create_thread(threads: ThreadsDep, req: ThreadCreate | None = None) -> WireResponse:
    return wire(await threads.create_thread(req or ThreadCreate()))


@router.get("/threads/{thread_id}")
async def retrieve_thread(thread_id: str, threads: ThreadsDep) -> WireResponse:
    return wire(await threads.retrieve_thread(thread_id))


@router.post("/threads/{thread_id}")
async def modify_thread(thread_id: str, threads: ThreadsDep, req: ThreadModify | None = None) -> WireResponse:
    return wire(await threads.modify_thread(thread_id, req or ThreadModify()))


@router.delete("/threads/{thread_id}")
async def delete_thread(thread_id: str, threads: ThreadsDep) -> WireResponse:
    return wire(await threads.delete_thread(thread_id))
