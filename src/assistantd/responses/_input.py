"""The ``input`` items of a Responses request (their conversion into neutral items is ``_entries.py``).

Lenient where clients differ, exact where meaning is at stake:

- Unknown fields inside an item (``phase``, Codex's extra keys, ``logprobs`` on replayed text) are ignored.
- Client-made ids (``msg_<uuid>``, ``fco_<uuid>``) are kept as given.
- Easy messages may omit ``type``; an ``item_reference`` may omit it too (``{"id": ...}``).
- Replayed ``reasoning`` items (another server's, with ``encrypted_content``) are accepted and kept.
- Item types OpenAI defines that this server does not run (``web_search_call``, ``computer_call``,
  ``compaction``, ...) are accepted as a ``ForeignInput``, kept for ``input_items`` and never sent to the model.
- An item type OpenAI does not define is a 400 naming ``input[i].type``: dropping it silently would change
  what the request means.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from assistantd.wire._limits import check_json, openai_error
from assistantd.wire.common import JsonObject, String, omit_null


class Lenient(BaseModel):
    """Base of every Responses request model: unknown fields are ignored, known ones typed strictly."""

    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _null_is_default(cls, data: Any) -> Any:
        """``null`` for a field with a default means the default (SDKs send ``"parallel_tool_calls": null``)."""
        if not isinstance(data, dict):
            return data
        fields = cls.model_fields
        nulls = [k for k, v in data.items() if v is None and k in fields and fields[k].default not in (None, ...)]
        return {k: v for k, v in data.items() if k not in nulls} if nulls else data


MAX_OUTPUT_CHARS = 10_485_760
"""OpenAI's limit on a ``function_call_output`` string."""

FOREIGN_ITEM_TYPES = frozenset(
    {
        "web_search_call",
        "computer_call",
        "computer_call_output",
        "tool_search_call",
        "tool_search_output",
        "additional_tools",
        "configuration_update",
        "compaction_trigger",
        "image_generation_call",
        "local_shell_call",
        "local_shell_call_output",
        "shell_call",
        "shell_call_output",
        "apply_patch_call",
        "apply_patch_call_output",
        "custom_tool_call",
        "custom_tool_call_output",
        "program",
        "program_output",
    }
)
"""Input item types of OpenAI's ``ResponseInputItem`` that no tool here produces: passed through, not run."""

ItemStatus = Literal["in_progress", "completed", "incomplete"]


# --- content parts -------------------------------------------------------------------------------------


class InputText(Lenient):
    type: Literal["input_text"]
    text: String


class InputImage(Lenient):
    model_config = ConfigDict(
        json_schema_extra={"anyOf": [{"required": ["image_url"]}, {"required": ["file_id"]}]}  # _has_source
    )
    type: Literal["input_image"]
    image_url: String | None = Field(default=None, json_schema_extra=omit_null)
    file_id: str | None = Field(default=None, json_schema_extra=omit_null)
    detail: Literal["auto", "low", "high", "original"] = "auto"

    @model_validator(mode="after")
    def _has_source(self) -> InputImage:
        if self.image_url is None and self.file_id is None:
            raise openai_error("Missing required parameter: '{param}'.", suffix=".image_url")
        return self


def _uploaded_only(schema: dict[str, Any]) -> None:
    """For the OpenAPI document: an input file is given by ``file_id`` only (``_by_id`` refuses the rest)."""
    schema["required"] = [*schema.get("required", []), "file_id"]
    schema["not"] = {"anyOf": [{"required": ["file_data"]}, {"required": ["file_url"]}]}


class InputFile(Lenient):
    model_config = ConfigDict(json_schema_extra=_uploaded_only)
    type: Literal["input_file"]
    file_id: str | None = Field(default=None, json_schema_extra=omit_null)
    filename: String | None = None
    file_data: str | None = None
    file_url: str | None = None

    @model_validator(mode="after")
    def _by_id(self) -> InputFile:
        # Inline and remote files would need an upload this layer cannot make: say so rather than drop them.
        for name in ("file_data", "file_url"):
            if getattr(self, name) is not None:
                raise openai_error(
                    "Invalid '{param}': input files must be uploaded first (POST /v1/files) and given by "
                    "'file_id'; inline and URL files are not supported by this server.",
                    suffix=f".{name}",
                )
        if self.file_id is None:
            raise openai_error("Missing required parameter: '{param}'.", suffix=".file_id")
        return self


class OutputText(Lenient):
    """Text of a replayed assistant message; its annotations and logprobs are not kept."""

    type: Literal["output_text"]
    text: String


class Refusal(Lenient):
    type: Literal["refusal"]
    refusal: String


Content = Annotated[InputText | InputImage | InputFile | OutputText | Refusal, Field(discriminator="type")]
ToolOutputContent = Annotated[InputText | InputImage | InputFile, Field(discriminator="type")]


# --- items ---------------------------------------------------------------------------------------------


class Message(Lenient):
    """An easy message (``type`` omitted, ``content`` a string), an input message or a replayed output one."""

    type: Literal["message"] = "message"
    id: str | None = None
    role: Literal["user", "assistant", "system", "developer"]
    content: String | list[Content]
    status: ItemStatus | None = None


class FunctionCall(Lenient):
    type: Literal["function_call"]
    id: str | None = None
    call_id: Annotated[str, Field(min_length=1)]
    name: str
    arguments: String
    status: ItemStatus | None = None


class FunctionCallOutput(Lenient):
    type: Literal["function_call_output"]
    id: str | None = None
    call_id: Annotated[str, Field(min_length=1)]
    output: Annotated[str, Field(max_length=MAX_OUTPUT_CHARS)] | list[ToolOutputContent]
    status: ItemStatus | None = None


class ItemReferenceInput(Lenient):
    type: Literal["item_reference"] = "item_reference"
    id: Annotated[str, Field(min_length=1)]


class SummaryText(Lenient):
    type: Literal["summary_text"]
    text: String


class Reasoning(Lenient):
    type: Literal["reasoning"]
    id: str | None = None
    summary: list[SummaryText] = Field(default_factory=list)
    encrypted_content: str | None = None
    status: ItemStatus | None = None


class FileSearchResult(Lenient):
    file_id: str = ""
    filename: str = ""
    score: float = 0.0
    text: str = ""
    attributes: dict[str, Any] | None = None


class FileSearchCall(Lenient):
    type: Literal["file_search_call"]
    id: str
    queries: list[str] = Field(default_factory=list)
    results: list[FileSearchResult] | None = None
    status: Literal["in_progress", "searching", "completed", "incomplete", "failed"] = "completed"


class CodeLogs(Lenient):
    type: Literal["logs"]
    logs: str


class CodeImage(Lenient):
    type: Literal["image"]
    url: str


class CodeInterpreterCall(Lenient):
    type: Literal["code_interpreter_call"]
    id: str
    code: str | None = None
    container_id: str | None = None
    outputs: list[Annotated[CodeLogs | CodeImage, Field(discriminator="type")]] | None = None
    status: Literal["in_progress", "interpreting", "completed", "incomplete", "failed"] = "completed"


class McpToolInfo(Lenient):
    name: str
    input_schema: JsonObject = Field(default_factory=dict)
    description: str | None = None


class McpListTools(Lenient):
    type: Literal["mcp_list_tools"]
    id: str
    server_label: str
    tools: list[McpToolInfo] = Field(default_factory=list)
    error: str | None = None


class McpCall(Lenient):
    type: Literal["mcp_call"]
    id: str
    server_label: str
    name: str
    arguments: String = ""
    output: str | None = None
    error: str | None = None
    approval_request_id: str | None = None
    status: Literal["in_progress", "calling", "completed", "incomplete", "failed"] = "completed"


class McpApprovalRequest(Lenient):
    type: Literal["mcp_approval_request"]
    id: str
    server_label: str
    name: str
    arguments: String = ""


class McpApprovalResponse(Lenient):
    type: Literal["mcp_approval_response"]
    id: str | None = None
    approval_request_id: str
    approve: bool
    reason: str | None = None


class Compaction(Lenient):
    type: Literal["compaction"]
    encrypted_content: String
    id: String | None = None


class Foreign(BaseModel):
    """An OpenAI item type no tool here makes (``FOREIGN_ITEM_TYPES``), kept whole as the client sent it."""

    model_config = ConfigDict(extra="allow")
    type: Annotated[str, Field(json_schema_extra={"enum": sorted(FOREIGN_ITEM_TYPES)})]
    id: str | None = None

    @model_validator(mode="after")
    def _storable(self) -> Foreign:
        # Kept whole, so its free-form fields must be JSON both databases store and orjson writes back (an
        # integer past 64 bits was a 500 at the INSERT; found by tests/fuzz).
        check_json(dict(self.__pydantic_extra__ or {}))
        return self


_TAGGED = (
    "message",
    "function_call",
    "function_call_output",
    "item_reference",
    "reasoning",
    "file_search_call",
    "code_interpreter_call",
    "mcp_list_tools",
    "mcp_call",
    "mcp_approval_request",
    "mcp_approval_response",
    "compaction",
)


def _item_tag(value: Any) -> str | None:
    """The union member for one input item: its ``type``; an easy message or a bare reference without one."""
    if isinstance(value, BaseModel):
        return "foreign" if isinstance(value, Foreign) else str(getattr(value, "type", ""))
    if not isinstance(value, dict):
        return "message"  # so the error says the item must be an object
    kind = value.get("type")
    if kind is None:
        return "message" if "role" in value else "item_reference"
    if not isinstance(kind, str):
        return None
    if kind in FOREIGN_ITEM_TYPES:
        return "foreign"
    return kind


InputItem = Annotated[
    Annotated[Message, Tag("message")]
    | Annotated[FunctionCall, Tag("function_call")]
    | Annotated[FunctionCallOutput, Tag("function_call_output")]
    | Annotated[ItemReferenceInput, Tag("item_reference")]
    | Annotated[Reasoning, Tag("reasoning")]
    | Annotated[FileSearchCall, Tag("file_search_call")]
    | Annotated[CodeInterpreterCall, Tag("code_interpreter_call")]
    | Annotated[McpListTools, Tag("mcp_list_tools")]
    | Annotated[McpCall, Tag("mcp_call")]
    | Annotated[McpApprovalRequest, Tag("mcp_approval_request")]
    | Annotated[McpApprovalResponse, Tag("mcp_approval_response")]
    | Annotated[Compaction, Tag("compaction")]
    | Annotated[Foreign, Tag("foreign")],
    Discriminator(_item_tag),
]
