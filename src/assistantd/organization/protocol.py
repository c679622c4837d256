"""The Administration API's wire: request bodies, and response shapes as OpenAI's ``openai-openapi.yaml``
declares them (``Project``, ``ProjectServiceAccount``, ``ProjectServiceAccountCreateResponse``,
``ProjectApiKey``, their lists and deletions)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from assistantd.store.projects import ApiKeyRecord, ProjectRecord, ServiceAccountRecord
from assistantd.wire import common

Name = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ProjectCreate(_Request):
    name: Name


class ProjectUpdate(_Request):
    name: Name


class ServiceAccountCreate(_Request):
    name: Name


def project(p: ProjectRecord) -> dict[str, Any]:
    return {
        "id": p.id,
        "object": "organization.project",
        "name": p.name,
        "created_at": p.created_at,
        "archived_at": p.archived_at,
        "status": "archived" if p.archived_at is not None else "active",
    }


def service_account(a: ServiceAccountRecord) -> dict[str, Any]:
    return {
        "object": "organization.project.service_account",
        "id": a.id,
        "name": a.name,
        "role": a.role,
        "created_at": a.created_at,
    }


def created_service_account(a: ServiceAccountRecord, key: ApiKeyRecord, value: str) -> dict[str, Any]:
    """The only response that carries a key's value."""
    return {
        **service_account(a),
        "api_key": {
            "object": "organization.project.service_account.api_key",
            "value": value,
            "name": key.name,
            "created_at": key.created_at,
            "id": key.id,
        },
    }


def api_key(k: ApiKeyRecord, owner: ServiceAccountRecord | None) -> dict[str, Any]:
    return {
        "object": "organization.project.api_key",
        "redacted_value": k.redacted_value,
        "name": k.name,
        "created_at": k.created_at,
        "last_used_at": k.last_used_at,
        "id": k.id,
        "owner": {"type": "service_account", "service_account": None if owner is None else service_account(owner)},
    }


def deleted(kind: str, object_id: str) -> dict[str, Any]:
    return common.deleted(object_id, f"organization.project.{kind}.deleted")
