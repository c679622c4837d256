"""/v1/models"""

from __future__ import annotations

from fastapi import APIRouter

from assistantd.api._json import WireResponse, wire
from assistantd.api._route import WireRoute
from assistantd.api.deps import ModelsDep

router = APIRouter(route_class=WireRoute, default_response_class=WireResponse)


@router.get("/models")
async def list_models(models: ModelsDep) -> WireResponse:
    return wire(await models.list_models())


@router.get("/models/{model:path}")
async def retrieve_model(model: str, models: ModelsDep) -> WireResponse:
    return wire(await models.retrieve_model(model))
