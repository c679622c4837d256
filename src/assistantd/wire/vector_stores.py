"""Vector stores, their files, file batches and search: request bodies.

Responses are ``openai.types.VectorStore``, ``openai.types.vector_stores.VectorStoreFile`` and
``VectorStoreFileBatch``, ``openai.types.VectorStoreSearchResponse`` pages.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from openai.types import VectorStore, VectorStoreDeleted, VectorStoreSearchResponse
from openai.types.vector_stores import VectorStoreFile, VectorStoreFileBatch, VectorStoreFileDeleted
from pydantic import AfterValidator, ConfigDict, Field, field_validator, model_validator

from assistantd.wire._limits import (
    MAX_METADATA_KEY,
    MAX_METADATA_PAIRS,
    MAX_METADATA_VALUE,
    check_json,
    openai_error,
)
from assistantd.wire.common import ChunkingStrategy, Metadata, Request, omit_null

__all__ = [
    "Attributes",
    "ComparisonFilter",
    "CompoundFilter",
    "ExpiresAfter",
    "FileBatchCreate",
    "Filter",
    "VectorStore",
    "VectorStoreCreate",
    "VectorStoreDeleted",
    "VectorStoreFile",
    "VectorStoreFileBatch",
    "VectorStoreFileCreate",
    "VectorStoreFileDeleted",
    "VectorStoreFileModify",
    "VectorStoreModify",
    "VectorStoreSearch",
    "VectorStoreSearchResponse",
]

AttributeValue = str | int | float | bool


def check_attributes(value: dict[str, AttributeValue]) -> dict[str, AttributeValue]:
    """OpenAI's ``VectorStoreFileAttributes``: 16 keys of at most 64 chars; strings at most 512 chars."""
    if len(value) > MAX_METADATA_PAIRS:
        raise openai_error(
            "Invalid '{param}': too many properties. Expected an object with at most "
            f"{MAX_METADATA_PAIRS} properties, but got an object with {len(value)} properties instead."
        )
    for key, item in value.items():
        if len(key) > MAX_METADATA_KEY:
            raise openai_error(
                f"Invalid '{{param}}': key '{key[:80]}' is too long. Expected a key with maximum length "
                f"{MAX_METADATA_KEY}, but got a key with length {len(key)} instead."
            )
        check_json({key: item})  # valid Unicode, finite numbers, 64-bit integers: what we can store and echo
        if isinstance(item, str) and len(item) > MAX_METADATA_VALUE:
            raise openai_error(
                f"Invalid '{{param}}': string too long. Expected a string with maximum length "
                f"{MAX_METADATA_VALUE}, but got a string with length {len(item)} instead.",
                suffix=f".{key}",
            )
    return value


Attributes = Annotated[dict[str, AttributeValue], AfterValidator(check_attributes)]


class ExpiresAfter(Request):
    anchor: Literal["last_active_at"]
    days: Annotated[int, Field(ge=1, le=365)]


class VectorStoreCreate(Request):
    # POST /v1/vector_stores
    file_ids: Annotated[list[str], Field(max_length=500)] | None = None
    name: Annotated[str, Field(max_length=256)] | None = None
    description: Annotated[str, Field(max_length=512)] | None = None
    expires_after: ExpiresAfter | None = None
    chunking_strategy: ChunkingStrategy | None = None
    metadata: Metadata | None = None


class VectorStoreModify(Request):
    # POST /v1/vector_stores/{vector_store_id}
    name: Annotated[str, Field(max_length=256)] | None = None
    expires_after: ExpiresAfter | None = None
    metadata: Metadata | None = None


class VectorStoreFileCreate(Request):
    # POST /v1/vector_stores/{vector_store_id}/files
    file_id: str
    chunking_strategy: ChunkingStrategy | None = None
    attributes: Attributes | None = None


class VectorStoreFileModify(Request):
    # POST /v1/vector_stores/{vector_store_id}/files/{file_id}
    attributes: Attributes | None


class FileBatchCreate(Request):
    # POST /v1/vector_stores/{vector_store_id}/file_batches
    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["file_ids"]}, {"required": ["files"]}]})
    file_ids: Annotated[list[str], Field(min_length=1, max_length=2000)] | None = Field(
        default=None, json_schema_extra=omit_null
    )
    files: Annotated[list[VectorStoreFileCreate], Field(min_length=1, max_length=2000)] | None = Field(
        default=None, json_schema_extra=omit_null
    )
    chunking_strategy: ChunkingStrategy | None = None
    attributes: Attributes | None = None


# --- search ---------------------------------------------------------------------------------------------


class ComparisonFilter(Request):
    type: Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]
    key: Annotated[str, Field(min_length=1, max_length=MAX_METADATA_KEY)]
    value: str | int | float | bool | list[str | int | float]

    @model_validator(mode="after")
    def _value_fits(self) -> ComparisonFilter:
        listy = isinstance(self.value, list)
        if self.type in ("in", "nin") and not listy:
            raise openai_error(f"Invalid '{{param}}': '{self.type}' expects an array value.", suffix=".value")
        if self.type not in ("in", "nin") and listy:
            raise openai_error(f"Invalid '{{param}}': '{self.type}' expects a single value.", suffix=".value")
        if self.type in ("gt", "gte", "lt", "lte") and isinstance(self.value, bool):
            raise openai_error(f"Invalid '{{param}}': '{self.type}' expects a number or a string.", suffix=".value")
        return self


class CompoundFilter(Request):
    type: Literal["and", "or"]
    filters: Annotated[list[Filter], Field(min_length=1, max_length=64)]


Filter = Annotated[ComparisonFilter | CompoundFilter, Field(discriminator="type")]
CompoundFilter.model_rebuild()


class SearchRankingOptions(Request):
    ranker: Literal["none", "auto", "default-2024-11-15"] = "auto"
    score_threshold: Annotated[float, Field(ge=0, le=1)] = 0.0


NOT_BLANK: dict[str, Any] = {"pattern": r"[^\s\x1c-\x1f\x85]"}
"""For the OpenAPI document: a string holding something besides white space (the validator checks it)."""
QueryText = Annotated[str, Field(max_length=4096, json_schema_extra=NOT_BLANK)]


class VectorStoreSearch(Request):
    # POST /v1/vector_stores/{vector_store_id}/search
    query: QueryText | Annotated[list[QueryText], Field(min_length=1, max_length=10)]
    rewrite_query: bool = False
    max_num_results: Annotated[int, Field(ge=1, le=50)] = 10
    filters: Filter | None = None
    ranking_options: SearchRankingOptions | None = None

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: Any) -> Any:
        texts = [value] if isinstance(value, str) else value
        if any(not t.strip() for t in texts):
            raise openai_error("Invalid '{param}': empty string. Expected a non-empty query.")
        return value
