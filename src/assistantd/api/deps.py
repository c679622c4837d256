"""Dependency aliases: endpoint signatures read like prose."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from assistantd.errors import Forbidden, InvalidRequest, Unauthorized
from assistantd.organization.service import Organization
from assistantd.services.assistants import Assistants
from assistantd.services.files import Files
from assistantd.services.messages import Messages
from assistantd.services.models import Models
from assistantd.services.runs import Runs
from assistantd.services.threads import Threads
from assistantd.services.vector_store_files import VectorStoreFiles
from assistantd.services.vector_stores import VectorStores
from assistantd.settings import Settings
from assistantd.store.scope import current_project


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


ADMIN_PREFIX = "/v1/organization"


async def authenticate(request: HTTPConnection) -> None:
    """Who the bearer key is (``organization/service.py``), confining the request to its project: every
    statement it runs sees only that project's objects (``store/scope.py``). The admin key reaches only
    the Administration API, a project key everything but it."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or not token.isprintable():
        raise Unauthorized(
            "You didn't provide an API key. You need to provide your API key in an Authorization header "
            "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            code=None,
        )
    organization = request.app.state.organization
    assert isinstance(organization, Organization)
    principal = await organization.resolve(token)
    admin_route = request.url.path.startswith(ADMIN_PREFIX)
    if admin_route and principal.kind != "admin":
        raise Forbidden(
            "You have insufficient permissions for this operation. Missing scopes: api.management.read. "
            "The Administration API takes an admin key (ASSISTANTD_ADMIN_KEY), not a project key.",
        )
    if not admin_route and principal.kind == "admin":
        raise Forbidden(
            "An admin key can only be used with the Administration API (/v1/organization); use a project "
            "API key for this request.",
        )
    request.state.principal = principal
    current_project.set(principal.project_id)
    if principal.project_id is not None:
        await _limit(request, organization, principal.project_id, principal.key_id)


_RUN_CREATING = re.compile(r"^/v1/(threads(/[^/]+)?/runs|responses|responses/compact)$")
_UPLOADS = re.compile(r"^/v1/(files|containers/[^/]+/files)$")


async def _limit(request: HTTPConnection, organization: Organization, project_id: str, key_id: str | None) -> None:
    """The project's limits (``organization/limits.py``): a 429 before anything is stored, else the
    ``x-ratelimit-*`` headers the response carries."""
    limits = organization.limits
    headers = limits.requests(project_id, key_id)
    if request.scope.get("method") == "POST":
        path = request.url.path
        if _RUN_CREATING.match(path):
            headers |= await limits.before_run(project_id)
        elif _UPLOADS.match(path):
            declared = request.headers.get("content-length", "")
            await limits.before_upload(project_id, int(declared) if declared.isdigit() else None)
    if headers:
        request.state.ratelimit_headers = headers


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
