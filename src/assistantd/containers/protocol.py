"""The Containers API's wire: request bodies (pydantic) and the SDK's response types.

Responses are ``openai.types.ContainerCreateResponse`` / ``ContainerRetrieveResponse`` /
``ContainerListResponse`` and ``openai.types.containers.FileCreateResponse`` / ``FileRetrieveResponse`` /
``FileListResponse``. As on the Assistants edge, request bodies reject unknown fields and types are strict,
as OpenAI's do; bounds follow OpenAI's (``expires_after.minutes`` at most 20, OpenAI's hard cap).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from openai.types import ContainerCreateResponse, ContainerListResponse, ContainerRetrieveResponse
from openai.types.containers import FileCreateResponse, FileListResponse, FileRetrieveResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "DEFAULT_MINUTES",
    "MAX_MINUTES",
    "ContainerCreate",
    "ContainerCreateResponse",
    "ContainerFileCreate",
    "ContainerListResponse",
    "ContainerRetrieveResponse",
    "ExpiresAfter",
    "FileCreateResponse",
    "FileListResponse",
    "FileRetrieveResponse",
    "MemoryLimit",
    "NetworkPolicy",
    "Skill",
]

DEFAULT_MINUTES = 20
"""A container expires after 20 minutes without activity unless ``expires_after`` says otherwise."""
MAX_MINUTES = 20
DEFAULT_MEMORY_LIMIT = "1g"
MAX_FILE_IDS = 50

MemoryLimit = Literal["1g", "4g", "16g", "64g"]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ExpiresAfter(_Request):
    anchor: Literal["last_active_at"]
    minutes: Annotated[int, Field(ge=1, le=MAX_MINUTES)]


class NetworkPolicyDisabled(_Request):
    type: Literal["disabled"]


class DomainSecret(_Request):
    domain: NonEmpty
    name: NonEmpty
    value: NonEmpty


class NetworkPolicyAllowlist(_Request):
    type: Literal["allowlist"]
    allowed_domains: Annotated[list[str], Field(min_length=1)]
    domain_secrets: Annotated[list[DomainSecret], Field(min_length=1)] | None = None


NetworkPolicy = Annotated[NetworkPolicyDisabled | NetworkPolicyAllowlist, Field(discriminator="type")]


class SkillReference(_Request):
    type: Literal["skill_reference"]
    skill_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    version: str | None = None


class InlineSkillSource(_Request):
    type: Literal["base64"]
    media_type: Literal["application/zip"]
    data: NonEmpty


class InlineSkill(_Request):
    type: Literal["inline"]
    name: str
    description: str
    source: InlineSkillSource


Skill = Annotated[SkillReference | InlineSkill, Field(discriminator="type")]


class ContainerCreate(_Request):
    # POST /v1/containers
    name: Annotated[str, StringConstraints(max_length=256)]
    file_ids: Annotated[list[str], Field(max_length=MAX_FILE_IDS)] | None = None
    expires_after: ExpiresAfter | None = None
    memory_limit: MemoryLimit | None = None
    network_policy: NetworkPolicy | None = None
    skills: list[Skill] | None = None

    def stored_network_policy(self) -> dict[str, Any]:
        """What is kept and echoed: the policy without its secrets (never stored)."""
        if self.network_policy is None:
            return {"type": "disabled"}
        return self.network_policy.model_dump(exclude={"domain_secrets"}, exclude_none=True)

    def stored_skills(self) -> list[dict[str, Any]] | None:
        """Skill references, and inline skills by name only (their zip is not kept: skills do not run here)."""
        if self.skills is None:
            return None
        return [s.model_dump(exclude={"source"}, exclude_none=True) for s in self.skills]


class ContainerFileCreate(_Request):
    # POST /v1/containers/{container_id}/files, as JSON (the multipart form sends ``file`` instead)
    file_id: str
