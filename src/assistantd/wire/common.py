"""Shared wire types: the request base model, metadata, tools, tool resources, response formats, lists.

Unknown-field policy (decided once, here): request bodies reject unknown fields with 400 "Unrecognized
request argument supplied", exactly as OpenAI did, and types are strict (no "5" for 5), as OpenAI's were.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from assistantd.wire._limits import check_json, check_metadata, check_unicode, openai_error


class Request(BaseModel):
    """Base of every request body."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def omit_null(schema: dict[str, Any]) -> None:
    """``json_schema_extra`` of a field typed ``X | None`` whose explicit null is refused (a validator's 400):
    the OpenAPI document shows it as ``X``, since sending null is not valid."""
    branches = [b for b in schema.get("anyOf", []) if b != {"type": "null"}]
    if "anyOf" in schema and len(branches) == 1:
        del schema["anyOf"]
        schema.update(branches[0])


Metadata = Annotated[dict[str, str], AfterValidator(check_metadata)]
JsonObject = Annotated[dict[str, Any], AfterValidator(check_json)]
"""Free-form JSON (a JSON Schema) that we store and echo verbatim."""
String = Annotated[str, AfterValidator(check_unicode)]
"""Free text with no length limit of its own, that we store or send on: valid Unicode only."""


# --- tools -------------------------------------------------------------------------------------------


class RankingOptions(Request):
    ranker: Literal["auto", "default_2024_08_21"] = "auto"
    score_threshold: Annotated[float, Field(ge=0, le=1)]


class FileSearchOptions(Request):
    max_num_results: Annotated[int, Field(ge=1, le=50)] | None = None
    ranking_options: RankingOptions | None = None


class FunctionDefinition(Request):
    name: Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]
    description: String | None = None
    parameters: JsonObject | None = None
    strict: bool | None = None


class CodeInterpreterTool(Request):
    type: Literal["code_interpreter"]


class FileSearchTool(Request):
    type: Literal["file_search"]
    file_search: FileSearchOptions | None = None


class FunctionTool(Request):
    type: Literal["function"]
    function: FunctionDefinition


Tool = Annotated[CodeInterpreterTool | FileSearchTool | FunctionTool, Field(discriminator="type")]


# --- tool resources ----------------------------------------------------------------------------------


class StaticChunking(Request):
    max_chunk_size_tokens: Annotated[int, Field(ge=100, le=4096)]
    chunk_overlap_tokens: Annotated[int, Field(ge=0)]

    @model_validator(mode="after")
    def _overlap_at_most_half(self) -> StaticChunking:
        if self.chunk_overlap_tokens > self.max_chunk_size_tokens // 2:
            raise openai_error(
                "Invalid '{param}': the overlap must not exceed half of max_chunk_size_tokens "
                f"({self.max_chunk_size_tokens // 2}), but got {self.chunk_overlap_tokens} instead.",
                suffix=".chunk_overlap_tokens",
            )
        return self


class AutoChunkingStrategy(Request):
    type: Literal["auto"]


class StaticChunkingStrategy(Request):
    type: Literal["static"]
    static: StaticChunking


ChunkingStrategy = Annotated[AutoChunkingStrategy | StaticChunkingStrategy, Field(discriminator="type")]


class VectorStoreHelper(Request):
    file_ids: Annotated[list[str], Field(max_length=10000)] | None = None
    chunking_strategy: ChunkingStrategy | None = None
    metadata: Metadata | None = None


class CodeInterpreterResources(Request):
    file_ids: Annotated[list[str], Field(max_length=20)] | None = None


class FileSearchResources(Request):
    vector_store_ids: Annotated[list[str], Field(max_length=1)] | None = None
    vector_stores: Annotated[list[VectorStoreHelper], Field(max_length=1)] | None = None


class ToolResources(Request):
    code_interpreter: CodeInterpreterResources | None = None
    file_search: FileSearchResources | None = None


# --- response format ---------------------------------------------------------------------------------


class TextFormat(Request):
    type: Literal["text"]


class JsonObjectFormat(Request):
    type: Literal["json_object"]


class JsonSchemaSpec(Request):
    name: Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]
    description: String | None = None
    schema_: JsonObject | None = Field(default=None, alias="schema")
    strict: bool | None = None


class JsonSchemaFormat(Request):
    type: Literal["json_schema"]
    json_schema: JsonSchemaSpec


ResponseFormat = (
    Literal["auto"] | Annotated[TextFormat | JsonObjectFormat | JsonSchemaFormat, Field(discriminator="type")]
)

ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]


# --- list pages and deletions ------------------------------------------------------------------------


def list_page(data: list[Any], has_more: bool) -> dict[str, Any]:
    """OpenAI's list envelope around already-serialized objects."""
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }


def deleted(object_id: str, obj: str) -> dict[str, Any]:
    return {"id": object_id, "object": obj, "deleted": True}


def dump(model: BaseModel) -> dict[str, Any]:
    """A request sub-model back to its JSON form (aliases, no unset defaults)."""
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)
