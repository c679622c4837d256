"""Dependency aliases: endpoint signatures read like prose."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from assistantd.errors import InvalidRequest, Unauthorized
from assistantd.services.assistants import Assistants
from assistantd.services.files import Files
from assistantd.services.messages import Messages
from assistantd.services.models import Models
from assistantd.services.runs import Runs
from assistantd.services.threads import Threads
from assistantd.services.vector_store_files import VectorStoreFiles
from assistantd.services.vector_stores import VectorStores
from assistantd.settings import Settings


@dataclass(frozen=True)
class Services:
    """Everything the routers call, built once by ``create_app``."""

    settings: Settings
    assistants: Assistants
    threads: Threads
    messages: Messages
    files: Files
    models: Models
    runs: Runs
    vector_stores: VectorStores
    vector_store_files: VectorStoreFiles


def services(request: HTTPConnection) -> Services:
    svc = request.app.state.services
    assert isinstance(svc, Services)
    return svc


async def _assistants(request: Request) -> Assistants:
    return services(request).assistants


async def _threads(request: Request) -> Threads:
    return services(request).threads


async def _messages(request: Request) -> Messages:
    return services(request).messages


async def _files(request: Request) -> Files:
    return services(request).files


async def _models(request: Request) -> Models:
    return services(request).models


async def _runs(request: Request) -> Runs:
    return services(request).runs


async def _vector_stores(request: Request) -> VectorStores:
    return services(request).vector_stores


def _vector_store_files(request: Request) -> VectorStoreFiles:
    return services(request).vector_store_files


def _poll_after(request: Request) -> dict[str, str]:
    return {"openai-poll-after-ms": str(services(request).settings.poll_after_ms)}


async def _poll_helper(request: Request) -> bool:
    return request.headers.get("x-stainless-poll-helper") == "true"


RunsDep = Annotated[Runs, Depends(_runs)]
PollHelper = Annotated[bool, Depends(_poll_helper)]
"""Whether the request comes from one of the SDK's polling helpers (they send ``X-Stainless-Poll-Helper``)."""
PollAfter = Annotated[dict[str, str], Depends(_poll_after)]
"""The ``openai-poll-after-ms`` header, so the SDK's pollers poll at our pace rather than every second."""
AssistantsDep = Annotated[Assistants, Depends(_assistants)]
ThreadsDep = Annotated[Threads, Depends(_threads)]
MessagesDep = Annotated[Messages, Depends(_messages)]
FilesDep = Annotated[Files, Depends(_files)]
ModelsDep = Annotated[Models, Depends(_models)]
VectorStoresDep = Annotated[VectorStores, Depends(_vector_stores)]
VectorStoreFilesDep = Annotated[VectorStoreFiles, Depends(_vector_store_files)]


async def authenticate(request: HTTPConnection) -> None:
    """Bearer keys from ``ASSISTANTD_API_KEYS``; with none configured any key is accepted."""
    keys = services(request).settings.api_key_set
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized(
            "You didn't provide an API key. You need to provide your API key in an Authorization header "
            "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            code=None,
        )
    if keys and token not in keys:
        shown = token[:3] + "*" * 4 + token[-4:] if len(token) > 8 else "*" * len(token)
        raise Unauthorized(f"Incorrect API key provided: {shown}.", code="invalid_api_key")


async def require_beta(request: Request) -> None:
    """``OpenAI-Beta: assistants=v2`` is enforced only when ``require_beta_header`` is set."""
    if not services(request).settings.require_beta_header:
        return
    if "assistants=v2" not in request.headers.get("openai-beta", ""):
        raise InvalidRequest(
            "You must provide the 'OpenAI-Beta' header to access the Assistants API. Please try again by "
            "setting the header 'OpenAI-Beta: assistants=v2'.",
            code="invalid_beta",
        )


Beta = Depends(require_beta)
