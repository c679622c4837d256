"""/v1/threads/{thread_id}/messages"""

from __future__ import annotations

from fastapi import APIRouter

from assistantd.api._json import WireResponse, wire
from assistantd.api._route import WireRoute
from assistantd.api.deps import Beta, MessagesDep
from assistantd.api.pagination import Page
from assistantd.wire.messages import MessageCreate, MessageModify

router = APIRouter(route_class=WireRoute, dependencies=[Beta], default_response_class=WireResponse)


@router.post("/threads/{thread_id}/messages")
async def create_message(thread_id: str, req: MessageCreate, messages: MessagesDep) -> WireResponse:
    return wire(await messages.create_message(thread_id, req))


@router.get("/threads/{thread_id}/messages")
async def list_messages(thread_id: str, page: Page, messages: MessagesDep, run_id: str | None = None) -> WireResponse:
    return wire(await messages.list_messages(thread_id, page, run_id))


@router.get("/threads/{thread_id}/messages/{message_id}")
async def retrieve_message(thread_id: str, message_id: str, messages: MessagesDep) -> WireResponse:
    return wire(await messages.retrieve_message(thread_id, message_id))


@router.post("/threads/{thread_id}/messages/{message_id}")
async def modify_message(
    thread_id: str, message_id: str, messages: MessagesDep, req: MessageModify | None = None
) -> WireResponse:
    return wire(await messages.modify_message(thread_id, message_id, req or MessageModify()))


@router.delete("/threads/{thread_id}/messages/{message_id}")
async def delete_message(thread_id: str, message_id: str, messages: MessagesDep) -> WireResponse:
    return wire(await messages.delete_message(thread_id, message_id))
