"""/v1/conversations: create, retrieve, update, delete, list (our extension), and their items.
Thin: each endpoint calls one ``Conversations`` method."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from assistantd.api._json import WireResponse, wire
from assistantd.api._route import WireRoute
from assistantd.api.pagination import Include, Page

from .protocol import ConversationCreate, ConversationUpdate, ItemsCreate
from .service import Conversations

router = APIRouter(route_class=WireRoute, default_response_class=WireResponse)

_METADATA_KEY = re.compile(r"^metadata\[(.+)\]$")


async def _conversations(request: Request) -> Conversations:
    service = request.app.state.conversations
    assert isinstance(service, Conversations)
    return service


ConversationsDep = Annotated[Conversations, Depends(_conversations)]


@router.post("/conversations")
async def create_conversation(req: ConversationCreate, conversations: ConversationsDep) -> WireResponse:
    return wire(await conversations.create(req))


@router.get("/conversations")
async def list_conversations(request: Request, page: Page, conversations: ConversationsDep) -> WireResponse:
    """Our extension: ``metadata[key]=value`` query parameters keep the conversations whose metadata has them."""
    wanted = {m.group(1): v for k, v in request.query_params.items() if (m := _METADATA_KEY.match(k))}
    return wire(await conversations.list(page, wanted))


@router.get("/conversations/{conversation_id}")
async def retrieve_conversation(conversation_id: str, conversations: ConversationsDep) -> WireResponse:
    return wire(await conversations.retrieve(conversation_id))


@router.post("/conversations/{conversation_id}")
async def update_conversation(
    conversation_id: str, req: ConversationUpdate, conversations: ConversationsDep
) -> WireResponse:
    return wire(await conversations.update(conversation_id, req))


@router.delete("/conversations/{conversation_id}")
async def delete_conversation(conversation_id: str, conversations: ConversationsDep) -> WireResponse:
    return wire(await conversations.delete(conversation_id))


@router.post("/conversations/{conversation_id}/items")
async def create_items(
    conversation_id: str, req: ItemsCreate, include: Include, conversations: ConversationsDep
) -> WireResponse:
    return wire(await conversations.create_items(conversation_id, req, include))


@router.get("/conversations/{conversation_id}/items")
async def list_items(
    conversation_id: str, page: Page, include: Include, conversations: ConversationsDep
) -> WireResponse:
    return wire(await conversations.list_items(conversation_id, page, include))


@router.get("/conversations/{conversation_id}/items/{item_id}")
async def retrieve_item(
    conversation_id: str, item_id: str, include: Include, conversations: ConversationsDep
) -> WireResponse:
    return wire(await conversations.retrieve_item(conversation_id, item_id, include))


@router.delete("/conversations/{conversation_id}/items/{item_id}")
async def delete_item(conversation_id: str, item_id: str, conversations: ConversationsDep) -> WireResponse:
    return wire(await conversations.delete_item(conversation_id, item_id))
