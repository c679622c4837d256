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
    deleted_at: int | None = None


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
    type: str = "message"
    """``message``, or another conversation item type (its neutral item in ``data``)."""
    data: dict[str, Any] | None = None


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


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: str
    thread_id: str  # "" is never stored: a response without a conversation has None (see ``kind``)
    assistant_id: str
    created_at: int
    status: str
    model: str
    instructions: str
    tools: list[Any]
    metadata: dict[str, Any] | None
    started_at: int | None
    expires_at: int | None
    cancelled_at: int | None
    failed_at: int | None
    completed_at: int | None
    required_action: dict[str, Any] | None
    last_error: dict[str, Any] | None
    incomplete_details: dict[str, Any] | None
    usage: dict[str, Any] | None
    temperature: float | None
    top_p: float | None
    max_prompt_tokens: int | None
    max_completion_tokens: int | None
    truncation_strategy: dict[str, Any]
    tool_choice: Any
    parallel_tool_calls: bool
    response_format: Any
    reasoning_effort: str | None
    additional_instructions: str | None
    cancel_requested: bool
    kind: str = "run"
    """``run`` (Assistants) or ``response`` (Responses API)."""
    options: dict[str, Any] | None = None
    """What only responses have (``previous_response_id``, ``store``, ``background``, the tools as sent...)."""


@dataclass(frozen=True, slots=True)
class RunStepRecord:
    id: str
    run_id: str
    thread_id: str
    assistant_id: str
    created_at: int
    type: str
    status: str
    step_details: dict[str, Any]
    last_error: dict[str, Any] | None
    expired_at: int | None
    cancelled_at: int | None
    failed_at: int | None
    completed_at: int | None
    metadata: dict[str, Any] | None
    usage: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class VectorStoreRecord:
    id: str
    created_at: int
    name: str
    description: str | None
    metadata: dict[str, Any] | None
    expires_after: dict[str, Any] | None
    expires_at: int | None
    last_active_at: int


@dataclass(frozen=True, slots=True)
class VectorStoreFileRecord:
    seq: int
    vector_store_id: str
    file_id: str
    created_at: int
    status: str
    last_error: dict[str, Any] | None
    usage_bytes: int
    chunking_strategy: dict[str, Any]
    attributes: dict[str, Any] | None
    batch_id: str | None


@dataclass(frozen=True, slots=True)
class FileBatchRecord:
    id: str
    vector_store_id: str
    created_at: int
    cancelled: bool
