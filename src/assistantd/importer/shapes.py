"""What one line of an export must look like, per kind: the OpenAI objects as the SDK returned them.

These models check a line before anything is written (a missing required field or a wrong type makes the
object malformed, named by its line). They accept what ``model_dump()`` and ``to_dict()`` both produce:
unknown fields (what a newer API added) are allowed and not stored, ``null`` stands for an absent optional
field, and ``schema_`` (the SDK's Python name of ``json_schema.schema``) is read as ``schema``. Types are
strict: JSON that says ``"5"`` where OpenAI sent ``5`` did not come from the SDK.

Tools and response formats are checked by the request models of ``wire/`` and stored as the create
endpoints store them, so an imported assistant runs exactly as one created here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from assistantd.wire.common import ResponseFormat, Tool

Metadata = dict[str, str]


def _pattern(prefix: str) -> StringConstraints:
    """An OpenAI ID with its prefix; at most 64 characters (the column's size), no path characters."""
    return StringConstraints(pattern=rf"^{prefix}[A-Za-z0-9_-]+$", max_length=64)


AssistantId = Annotated[str, _pattern("asst_")]
ThreadId = Annotated[str, _pattern("thread_")]
MessageId = Annotated[str, _pattern("msg_")]
FileId = Annotated[str, _pattern("file-")]
VectorStoreId = Annotated[str, _pattern("vs_")]
Str16 = Annotated[str, Field(max_length=16)]
Str32 = Annotated[str, Field(max_length=32)]
Str64 = Annotated[str, Field(max_length=64)]
Str256 = Annotated[str, Field(max_length=256)]
Str512 = Annotated[str, Field(max_length=512)]


class Shape(BaseModel):
    """Base of the line models: strict types, extra fields allowed (and ignored)."""

    model_config = ConfigDict(strict=True, extra="allow", allow_inf_nan=False)


class CodeInterpreterResources(Shape):
    file_ids: list[str] | None = None


class FileSearchResources(Shape):
    vector_store_ids: list[str] | None = None


class ToolResources(Shape):
    code_interpreter: CodeInterpreterResources | None = None
    file_search: FileSearchResources | None = None


class AssistantLine(Shape):
    """``openai.types.beta.Assistant``."""

    id: AssistantId
    object: Literal["assistant"] = "assistant"
    created_at: int
    model: Str256
    name: Str256 | None = None
    description: Str512 | None = None
    instructions: str | None = None
    tools: list[Tool] = Field(default_factory=list)
    tool_resources: ToolResources | None = None
    metadata: Metadata | None = None
    temperature: float | None = None
    top_p: float | None = None
    response_format: ResponseFormat | None = None
    reasoning_effort: Str16 | None = None

    @field_validator("tools", mode="before")
    @classmethod
    def _tools_without_nulls(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [_drop_nulls(tool, keep=("parameters",)) for tool in value]
        return value

    @field_validator("response_format", mode="before")
    @classmethod
    def _schema_alias(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("json_schema"), dict):
            spec = _drop_nulls(value["json_schema"], keep=("schema", "schema_"))
            if "schema_" in spec and "schema" not in spec:
                spec["schema"] = spec.pop("schema_")
            return {**value, "json_schema": spec}
        return value


def _drop_nulls(value: Any, keep: tuple[str, ...]) -> Any:
    """``value`` without ``null`` members (``model_dump()`` writes every unset optional field as one), except
    under the keys in ``keep`` (JSON Schemas, where ``null`` means something)."""
    if isinstance(value, dict):
        return {k: v if k in keep else _drop_nulls(v, keep) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v, keep) for v in value]
    return value


# --- messages -----------------------------------------------------------------------------------------


class FileCitation(Shape):
    file_id: str
    quote: str | None = None


class FileCitationAnnotation(Shape):
    type: Literal["file_citation"]
    text: str
    start_index: int
    end_index: int
    file_citation: FileCitation


class FilePath(Shape):
    file_id: str


class FilePathAnnotation(Shape):
    type: Literal["file_path"]
    text: str
    start_index: int
    end_index: int
    file_path: FilePath


Annotation = Annotated[FileCitationAnnotation | FilePathAnnotation, Field(discriminator="type")]


class Text(Shape):
    value: str
    annotations: list[Annotation] = Field(default_factory=list)


class TextPart(Shape):
    type: Literal["text"]
    text: Text


class ImageFile(Shape):
    file_id: str
    detail: Literal["auto", "low", "high"] | None = None


class ImageFilePart(Shape):
    type: Literal["image_file"]
    image_file: ImageFile


class ImageUrl(Shape):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImageUrlPart(Shape):
    type: Literal["image_url"]
    image_url: ImageUrl


class RefusalPart(Shape):
    type: Literal["refusal"]
    refusal: str


ContentPart = Annotated[TextPart | ImageFilePart | ImageUrlPart | RefusalPart, Field(discriminator="type")]


class AttachmentTool(Shape):
    type: Literal["code_interpreter", "file_search"]


class Attachment(Shape):
    file_id: str | None = None
    tools: list[AttachmentTool] | None = None


class IncompleteDetails(Shape):
    reason: Str32


class MessageLine(Shape):
    """``openai.types.beta.threads.Message``; ``thread_id`` may be left out inside its thread's line."""

    id: MessageId
    object: Literal["thread.message"] = "thread.message"
    created_at: int
    thread_id: ThreadId | None = None
    role: Literal["user", "assistant"]
    status: Literal["in_progress", "incomplete", "completed"] = "completed"
    content: list[ContentPart]
    assistant_id: Str64 | None = None
    run_id: Str64 | None = None
    attachments: list[Attachment] | None = None
    metadata: Metadata | None = None
    incomplete_details: IncompleteDetails | None = None
    completed_at: int | None = None
    incomplete_at: int | None = None


class ThreadLine(Shape):
    """``openai.types.beta.Thread``, with its messages under ``messages`` (or in ``messages.jsonl``)."""

    id: ThreadId
    object: Literal["thread"] = "thread"
    created_at: int
    metadata: Metadata | None = None
    tool_resources: ToolResources | None = None
    messages: list[MessageLine] | None = None


# --- files and vector stores --------------------------------------------------------------------------


class FileLine(Shape):
    """``openai.types.FileObject``, with the bytes in ``files/<id>`` beside the JSONL or in ``content_b64``."""

    id: FileId
    object: Literal["file"] = "file"
    bytes: Annotated[int, Field(ge=0)]
    created_at: int
    filename: Annotated[str, Field(min_length=1, max_length=1024)]
    purpose: Annotated[str, Field(min_length=1, max_length=32)]
    status: Str16 = "processed"
    status_details: str | None = None
    expires_at: int | None = None
    content_b64: str | None = None


class ExpiresAfter(Shape):
    anchor: Literal["last_active_at"]
    days: Annotated[int, Field(ge=1, le=365)]


class StaticChunking(Shape):
    max_chunk_size_tokens: Annotated[int, Field(ge=100, le=4096)]
    chunk_overlap_tokens: Annotated[int, Field(ge=0)]


class ChunkingStrategy(Shape):
    type: str
    static: StaticChunking | None = None


class VectorStoreFileLine(Shape):
    """``openai.types.vector_stores.VectorStoreFile``: how a file was attached (its status is not kept:
    the file is ingested again)."""

    id: FileId
    created_at: int | None = None
    chunking_strategy: ChunkingStrategy | None = None
    attributes: dict[str, str | float | bool] | None = None


class VectorStoreLine(Shape):
    """``openai.types.VectorStore``, with ``file_ids`` (or ``files``, its VectorStoreFile objects)."""

    id: VectorStoreId
    object: Literal["vector_store"] = "vector_store"
    created_at: int
    name: Str256 | None = None
    description: Str512 | None = None
    metadata: Metadata | None = None
    expires_after: ExpiresAfter | None = None
    expires_at: int | None = None
    last_active_at: int | None = None
    file_ids: list[FileId] | None = None
    files: list[VectorStoreFileLine] | None = None
