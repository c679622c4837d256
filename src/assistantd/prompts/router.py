"""/v1/prompts (our extension: OpenAI's prompts were made in its dashboard and had no public API to make them).

Mounted under the authenticated /v1 router; no ``OpenAI-Beta`` header, as the Responses API that runs the
prompts has none. The service holds only the shared ``Context``, so it is made per request from the one the
other services were built with in ``create_app``. Importing this module brings in ``store.prompts`` (its tables
join the schema's metadata).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from assistantd.api._json import WireResponse, wire
from assistantd.api._route import WireRoute
from assistantd.api.deps import services
from assistantd.api.pagination import Page
from assistantd.prompts.protocol import PromptCreate, PromptUpdate
from assistantd.prompts.service import Prompts


async def _prompts(request: Request) -> Prompts:
    return Prompts(services(request).assistants.ctx)


PromptsDep = Annotated[Prompts, Depends(_prompts)]

router = APIRouter(route_class=WireRoute, default_response_class=WireResponse)

PROMPT = "/prompts/{prompt_id}"


@router.post("/prompts")
async def create_prompt(req: PromptCreate, prompts: PromptsDep) -> WireResponse:
    return wire(await prompts.create_prompt(req))


@router.get("/prompts")
async def list_prompts(page: Page, prompts: PromptsDep) -> WireResponse:
    return wire(await prompts.list_prompts(page))


@router.get(PROMPT)
async def retrieve_prompt(
    prompt_id: str, prompts: PromptsDep, version: Annotated[int | None, Query(ge=1)] = None
) -> WireResponse:
    """The newest version, or ``?version=N``."""
    return wire(await prompts.retrieve_prompt(prompt_id, version))


@router.post(PROMPT)
async def update_prompt(prompt_id: str, prompts: PromptsDep, req: PromptUpdate | None = None) -> WireResponse:
    """Writes the prompt's next version."""
    return wire(await prompts.update_prompt(prompt_id, req or PromptUpdate()))


@router.get(PROMPT + "/versions")
async def list_prompt_versions(prompt_id: str, page: Page, prompts: PromptsDep) -> WireResponse:
    return wire(await prompts.list_prompt_versions(prompt_id, page))


@router.delete(PROMPT)
async def delete_prompt(prompt_id: str, prompts: PromptsDep) -> WireResponse:
    return wire(await prompts.delete_prompt(prompt_id))
