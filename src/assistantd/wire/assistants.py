"""Assistants: request bodies. Responses are ``openai.types.beta.Assistant``."""

from __future__ import annotations

from typing import Annotated, Any

from openai.types.beta import Assistant, AssistantDeleted
from pydantic import Field, ValidationInfo, field_validator

from assistantd.wire._limits import not_null
from assistantd.wire.common import Metadata, ReasoningEffort, Request, ResponseFormat, Tool, ToolResources, omit_null

__all__ = ["Assistant", "AssistantCreate", "AssistantDeleted", "AssistantModify"]


class AssistantCreate(Request):
    # POST /v1/assistants
    model: Annotated[str, Field(min_length=1, max_length=256)]
    name: Annotated[str, Field(max_length=256)] | None = None
    description: Annotated[str, Field(max_length=512)] | None = None
    instructions: Annotated[str, Field(max_length=256_000)] | None = None
    reasoning_effort: ReasoningEffort | None = None
    tools: Annotated[list[Tool], Field(max_length=128)] | None = Field(default=None, json_schema_extra=omit_null)
    tool_resources: ToolResources | None = None
    metadata: Metadata | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    response_format: ResponseFormat | None = None

    @field_validator("tools")
    @classmethod
    def _tools_not_null(cls, value: Any) -> Any:
        if value is None:
            raise not_null("an array")
        return value


class AssistantModify(Request):
    # POST /v1/assistants/{assistant_id}
    model: Annotated[str, Field(min_length=1, max_length=256)] | None = Field(default=None, json_schema_extra=omit_null)
    name: Annotated[str, Field(max_length=256)] | None = None
    description: Annotated[str, Field(max_length=512)] | None = None
    instructions: Annotated[str, Field(max_length=256_000)] | None = None
    reasoning_effort: ReasoningEffort | None = None
    tools: Annotated[list[Tool], Field(max_length=128)] | None = Field(default=None, json_schema_extra=omit_null)
    tool_resources: ToolResources | None = None
    metadata: Metadata | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    response_format: ResponseFormat | None = None

    @field_validator("model", "tools")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        # Omitted means "unchanged"; an explicit null is a type error (OpenAI's schema is not nullable).
        if value is None:
            raise not_null("an array" if info.field_name == "tools" else "a string")
        return value
