"""/v1/responses: create (JSON, SSE, background), retrieve (or replay with ``stream=true``), delete, cancel,
input items, input tokens. Thin: each endpoint calls one ``Responses`` method."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from assistantd.api._json import WireResponse, wire
from assistantd.api._route import WireRoute
from assistantd.api.pagination import Include
from assistantd.api.sse import RESPONSES_DONE, Replay, sse
from assistantd.responses.protocol import CompactRequest, CreateResponse, InputTokensRequest
from assistantd.responses.service import Responses
from assistantd.runs.events import RunStream

router = APIRouter(route_class=WireRoute, default_response_class=WireResponse)


async def _responses(request: Request) -> Responses:
    service = request.app.state.responses
    assert isinstance(service, Responses)
    return service


ResponsesDep = Annotated[Responses, Depends(_responses)]


@router.post("/responses", response_model=None)
async def create_response(req: CreateResponse, responses: ResponsesDep) -> Response:
    result = await responses.create(req)
    if isinstance(result, RunStream):
        return sse(result, RESPONSES_DONE)
    return wire(result)


@router.post("/responses/compact")
async def compact_response(req: CompactRequest, responses: ResponsesDep) -> WireResponse:
    return wire(await responses.compact(req))


@router.get("/responses/{response_id}", response_model=None)
async def retrieve_response(
    response_id: str,
    responses: ResponsesDep,
    include: Include,
    stream: bool = False,
    starting_after: Annotated[int | None, Query(ge=-1)] = None,
) -> Response:
    if stream:
        return sse(Replay(await responses.replay(response_id, starting_after)), RESPONSES_DONE)
    return wire(await responses.retrieve(response_id, include))


@router.delete("/responses/{response_id}")
async def delete_response(response_id: str, responses: ResponsesDep) -> WireResponse:
    return wire(await responses.delete(response_id))


@router.post("/responses/{response_id}/cancel")
async def cancel_response(response_id: str, responses: ResponsesDep) -> WireResponse:
    return wire(await responses.cancel(response_id))


@router.get("/responses/{response_id}/input_items")
async def list_input_items(
    response_id: str,
    responses: ResponsesDep,
    include: Include,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
) -> WireResponse:
    return wire(await responses.input_items(response_id, after=after, limit=limit, order=order, include=include))


@router.post("/responses/input_tokens")
async def count_input_tokens(req: InputTokensRequest, responses: ResponsesDep) -> WireResponse:
    return wire(await responses.input_tokens(req))
