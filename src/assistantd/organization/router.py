"""/v1/organization/projects and their service accounts and API keys: OpenAI's Administration API, for the
admin key only (mounted under the authenticated /v1 router; a project key gets a 403)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request

from assistantd.api._json import WireResponse, wire
from assistantd.api._route import WireRoute
from assistantd.api.pagination import Page
from assistantd.organization import usage
from assistantd.organization.protocol import ProjectCreate, ProjectUpdate, ServiceAccountCreate
from assistantd.organization.service import Organization


async def _organization(request: Request) -> Organization:
    service = request.app.state.organization
    assert isinstance(service, Organization)
    return service


OrgDep = Annotated[Organization, Depends(_organization)]

router = APIRouter(prefix="/organization", route_class=WireRoute, default_response_class=WireResponse)

PROJECT = "/projects/{project_id}"
ACCOUNTS = PROJECT + "/service_accounts"
KEYS = PROJECT + "/api_keys"


@router.post("/projects")
async def create_project(req: ProjectCreate, org: OrgDep) -> WireResponse:
    return wire(await org.create_project(req.name))


@router.get("/projects")
async def list_projects(page: Page, org: OrgDep, include_archived: bool = False) -> WireResponse:
    return wire(await org.list_projects(page, include_archived))


@router.get(PROJECT)
async def retrieve_project(project_id: str, org: OrgDep) -> WireResponse:
    return wire(await org.retrieve_project(project_id))


@router.post(PROJECT)
async def modify_project(project_id: str, req: ProjectUpdate, org: OrgDep) -> WireResponse:
    return wire(await org.modify_project(project_id, req.name))


@router.post(PROJECT + "/archive")
async def archive_project(project_id: str, org: OrgDep) -> WireResponse:
    return wire(await org.archive_project(project_id))


@router.post(ACCOUNTS)
async def create_service_account(project_id: str, req: ServiceAccountCreate, org: OrgDep) -> WireResponse:
    return wire(await org.create_service_account(project_id, req.name))


@router.get(ACCOUNTS)
async def list_service_accounts(project_id: str, page: Page, org: OrgDep) -> WireResponse:
    return wire(await org.list_service_accounts(project_id, page))


@router.get(ACCOUNTS + "/{service_account_id}")
async def retrieve_service_account(project_id: str, service_account_id: str, org: OrgDep) -> WireResponse:
    return wire(await org.retrieve_service_account(project_id, service_account_id))


@router.delete(ACCOUNTS + "/{service_account_id}")
async def delete_service_account(project_id: str, service_account_id: str, org: OrgDep) -> WireResponse:
    return wire(await org.delete_service_account(project_id, service_account_id))


@router.get(KEYS)
async def list_api_keys(project_id: str, page: Page, org: OrgDep) -> WireResponse:
    return wire(await org.list_keys(project_id, page))


@router.get(KEYS + "/{key_id}")
async def retrieve_api_key(project_id: str, key_id: str, org: OrgDep) -> WireResponse:
    return wire(await org.retrieve_key(project_id, key_id))


@router.delete(KEYS + "/{key_id}")
async def delete_api_key(project_id: str, key_id: str, org: OrgDep) -> WireResponse:
    return wire(await org.delete_key(project_id, key_id))


def _list(request: Request, name: str) -> list[str]:
    """A repeated query parameter, as ``name=a&name=b`` or ``name[]=a&name[]=b``."""
    return [*request.query_params.getlist(f"{name}[]"), *request.query_params.getlist(name)]


@router.get("/usage/completions")
async def usage_completions(
    org: OrgDep,
    request: Request,
    start_time: int,
    end_time: int | None = None,
    bucket_width: Literal["1m", "1h", "1d"] = "1d",
    limit: int | None = None,
    page: str | None = None,
) -> WireResponse:
    """``project_ids``, ``models`` and ``group_by`` are arrays (read from the query string directly)."""
    return wire(
        await usage.completions(
            org.db,
            start_time=start_time,
            end_time=end_time,
            bucket_width=bucket_width,
            project_ids=_list(request, "project_ids"),
            models=_list(request, "models"),
            group_by=_list(request, "group_by"),
            limit=limit,
            page=page,
        )
    )
