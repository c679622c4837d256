"""Domain records: what the store hands to services (never ORM objects).

Field names match the column names, so ``_crud.to_record`` builds them from any row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class AssistantRecord:
    id: str
    created_at: int
    model: str
    name: str | None
    description: str | None
    instructions: str | None
    tools: list[Any]
    tool_resources: dict[str, Any] | None
    metadata: dict[str, Any] | None
    temperature: float | None
    top_p: float | None
    response_format: Any
    reasoning_effort: str | None


@dataclass(frozen=True, slots=True)
class ThreadRecord:
    id: str
    created_at: int
    tool_resources: dict[str, Any] | None
    metadata: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class MessageRecord:
    id: str
    thread_id: str
    created_at: int
    role: str
    status: str
    content: list[Any]
    assistant_id: str | None
    run_id: str | None
    attachments: list[Any] | None
    metadata: dict[str, Any] | None
    incomplete_details: dict[str, Any] | None
    completed_at: int | None
    incomplete_at: int | None


@dataclass(frozen=True, slots=True)
class FileRecord:
    id: str
    created_at: int
    bytes: int
    filename: str
    purpose: str
    status: str
    status_details: str | None
    expires_at: int | None
    blob_key: str
