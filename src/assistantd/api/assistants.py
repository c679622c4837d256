"""/v1/assistants, and /v1/assistants/{assistant_id}/versions (our extension)."""

from __future__ import annotations

from fastapi import APIRouter

from assistantd.api._json import WireResponse, wire
from assistantd.api._route import WireRoute
from assistantd.api.deps import AssistantsDep, Beta
from assistantd.api.pagination import Page
from assistantd.wire.assistants import AssistantCreate, AssistantModify

router = APIRouter(route_class=WireRoute, dependencies=[Beta], default_response_class=WireResponse)


@router.post("/assistants")
async def create_assistant(req: AssistantCreate, assistants: AssistantsDep) -> WireResponse:
    return wire(await assistants.create_assistant(req))


@router.get("/assistants")
async def list_assistants(page: Page, assistants: AssistantsDep) -> WireResponse:
    return wire(await assistants.list_assistants(page))


@router.get("/assistants/{assistant_id}")
async def retrieve_assistant(assistant_id: str, assistants: AssistantsDep) -> WireResponse:
    return wire(await assistants.retrieve_assistant(assistant_id))


@router.post("/assistants/{assistant_id}")
async def modify_assistant(
    assistant_id: str, assistants: AssistantsDep, req: AssistantModify | None = None
) -> WireResponse:
    return wire(await assistants.modify_assistant(assistant_id, req or AssistantModify()))


@router.delete("/assistants/{assistant_id}")
async def delete_assistant(assistant_id: str, assistants: AssistantsDep) -> WireResponse:
    return wire(await assistants.delete_assistant(assistant_id))


@router.get("/assistants/{assistant_id}/versions")
async def list_assistant_versions(assistant_id: str, page: Page, assistants: AssistantsDep) -> WireResponse:
    """Our extension: every version of the assistant (one per create or modify), newest first."""
    return wire(await assistants.list_assistant_versions(assistant_id, page))
