"""Request models of the Responses API (``POST /v1/responses``, ``/input_tokens``, ``/compact``).

The request policy here is **lenient**, unlike the strict Assistants edge (``wire/common.py``), because
real Responses clients send fields and tool types this server has never heard of (Codex sends
``client_metadata``, ``namespace`` and ``web_search`` tools; newer SDKs send ``prompt_cache_options``,
``moderation``, ``context_management``):

- unknown top-level fields and unknown fields inside known objects are ignored;
- unknown tool types are kept as ``UnknownTool`` (echoed, not runnable, never offered to the model);
- client-made item ids, foreign reasoning items and OpenAI item types no tool here makes are accepted
  (see ``_input.py``);
- but a bad value of a field we know (``temperature: 3``, ``max_output_tokens: 5``, a ``json_schema`` format
  without ``name``, oversized ``metadata``, an item type OpenAI does not define) is a 400 naming the param.

Types are strict, as OpenAI's are (``"5"`` is not ``5``). ``parse`` validates a decoded body and raises
``InvalidRequest`` with OpenAI's message and ``param``; as a FastAPI body model the same errors come out
of the shared validation handler in ``errors.py``.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from openai.types.responses import ResponseIncludable
from pydantic import BaseModel, Field, StringConstraints, ValidationError, ValidationInfo, field_validator

from assistantd.errors import InvalidRequest, translate
from assistantd.responses._entries import (
    ForeignInput,
    InputEntry,
    ItemReference,
    new_item_id,
    to_entries,
    to_entry,
)
from assistantd.responses._input import FOREIGN_ITEM_TYPES, InputItem, Lenient
from assistantd.responses._tools import (
    AnyTool,
    AutoContainer,
    CodeInterpreterTool,
    FileSearchTool,
    FunctionTool,
    McpTool,
    Tool,
    ToolChoice,
    UnknownTool,
    tool_choice_echo,
    tool_echo,
)
from assistantd.wire._limits import MAX_TOKEN_LIMIT, openai_error
from assistantd.wire.common import JsonObject, Metadata, String

__all__ = [
    "FOREIGN_ITEM_TYPES",
    "INCLUDABLE",
    "AnyTool",
    "AutoContainer",
    "CodeInterpreterTool",
    "CompactRequest",
    "CreateResponse",
    "FileSearchTool",
    "ForeignInput",
    "FunctionTool",
    "InputEntry",
    "InputTokensRequest",
    "ItemReference",
    "McpTool",
    "ReasoningConfig",
    "TextConfig",
    "UnknownTool",
    "new_item_id",
    "parse",
    "reasoning_echo",
    "text_echo",
    "to_entries",
    "to_entry",
    "tool_choice_echo",
    "tool_echo",
    "tools_echo",
]

INCLUDABLE: frozenset[str] = frozenset(typing.get_args(ResponseIncludable))
"""The ``include[]`` values of the pinned SDK; anything else is a 400 naming ``include[i]``."""

SchemaName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]


# --- text and reasoning ----------------------------------------------------------------------------------


class FormatText(Lenient):
    type: Literal["text"]


class FormatJsonObject(Lenient):
    type: Literal["json_object"]


class FormatJsonSchema(Lenient):
    """Flat, as ``responses.parse`` sends it: ``name``/``schema``/``strict`` beside ``type``."""

    type: Literal["json_schema"]
    name: SchemaName
    schema_: JsonObject = Field(alias="schema")
    strict: bool | None = None
    description: String | None = None


TextFormat = Annotated[FormatText | FormatJsonObject | FormatJsonSchema, Field(discriminator="type")]


class TextConfig(Lenient):
    format: TextFormat | None = None
    verbosity: Literal["low", "medium", "high"] | None = None


class ReasoningConfig(Lenient):
    effort: Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"] | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None
    generate_summary: Literal["auto", "concise", "detailed"] | None = None
    """Deprecated alias of ``summary``."""


class PromptRef(Lenient):
    id: Annotated[str, Field(min_length=1)]
    version: str | None = None
    variables: dict[str, Any] | None = None


class ConversationRef(Lenient):
    id: Annotated[str, Field(min_length=1)]


class StreamOptions(Lenient):
    include_obfuscation: bool | None = None


Temperature = Annotated[float, Field(ge=0, le=2)]
TopP = Annotated[float, Field(ge=0, le=1)]
MaxOutputTokens = Annotated[int, Field(ge=16, le=MAX_TOKEN_LIMIT)]


def _check_include(value: list[str] | None) -> list[str] | None:
    for i, name in enumerate(value or ()):
        if name not in INCLUDABLE:
            supported = ", ".join(sorted(INCLUDABLE))
            raise openai_error(f"Invalid value: '{name[:200]}'. Supported values are: {supported}.", suffix=f"[{i}]")
    return value


# --- requests --------------------------------------------------------------------------------------------


class _Common(Lenient):
    """Fields shared by create, input_tokens and compact: what the model is given."""

    model: str | None = None
    input: String | list[InputItem] | None = None
    instructions: String | None = None
    previous_response_id: Annotated[str, Field(min_length=1)] | None = None
    conversation: Annotated[str, Field(min_length=1)] | ConversationRef | None = None

    @field_validator("conversation")
    @classmethod
    def _not_with_previous(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and info.data.get("previous_response_id") is not None:
            raise openai_error(
                "Mutually exclusive parameters: Ensure you are only providing one of: 'previous_response_id' "
                "or 'conversation'."
            )
        return value

    @property
    def conversation_id(self) -> str | None:
        if isinstance(self.conversation, ConversationRef):
            return self.conversation.id
        return self.conversation

    def entries(self, new_id: Callable[[str], str] = new_item_id) -> list[InputEntry]:
        """The ``input`` as neutral items (references and foreign items as markers), in order."""
        return [] if self.input is None else to_entries(self.input, new_id)


class _Tooled(_Common):
    tools: list[Tool] = Field(default_factory=list)
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool = True
    text: TextConfig | None = None
    reasoning: ReasoningConfig | None = None
    truncation: Literal["auto", "disabled"] = "disabled"

    def runnable_tools(self) -> list[AnyTool]:
        """The tools that may be offered to the model: unknown types and connectors are left out."""
        return [t for t in self.tools if t.runnable]


class CreateResponse(_Tooled):
    # POST /v1/responses
    store: bool = True
    background: bool = False
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tool_calls: Annotated[int, Field(ge=1, le=MAX_TOKEN_LIMIT)] | None = None
    max_output_tokens: MaxOutputTokens | None = None
    include: list[Annotated[str, Field(json_schema_extra={"enum": sorted(INCLUDABLE)})]] | None = None
    metadata: Metadata | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    top_logprobs: Annotated[int, Field(ge=0, le=20)] | None = None
    prompt: PromptRef | None = None
    service_tier: str | None = None
    """Accepted whatever the tier (newer values keep appearing); the response echoes ``"default"``."""
    user: str | None = None
    safety_identifier: Annotated[str, Field(max_length=64)] | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: Literal["in_memory", "in-memory", "24h"] | None = None

    @field_validator("include")
    @classmethod
    def _known_includes(cls, value: list[str] | None) -> list[str] | None:
        return _check_include(value)

    @field_validator("background")
    @classmethod
    def _stored(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("store") is False:
            raise openai_error("Invalid '{param}': background responses require 'store' to be true.")
        return value

    @property
    def includes(self) -> frozenset[str]:
        return frozenset(self.include or ())


class InputTokensRequest(_Tooled):
    # POST /v1/responses/input_tokens
    truncation: Literal["auto", "disabled"] = "disabled"


class CompactRequest(_Common):
    # POST /v1/responses/compact
    model: str
    prompt_cache_key: str | None = None


# --- parsing ----------------------------------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], body: Any) -> M:
    """A decoded JSON body → ``model``, or ``InvalidRequest`` with OpenAI's message and ``param``."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        message, param = translate(errors, body)
        raise InvalidRequest(message, param=param) from None


# --- echoes on the response object ------------------------------------------------------------------------


def tools_echo(tools: list[AnyTool], container_ids: dict[int, str] | None = None) -> list[dict[str, Any]]:
    """``response.tools``: every tool as sent, with OpenAI's defaults filled in. ``container_ids`` maps a
    tool's index to the container its ``auto`` code_interpreter got."""
    ids = container_ids or {}
    return [tool_echo(t, ids.get(i)) for i, t in enumerate(tools)]


def text_echo(text: TextConfig | None) -> dict[str, Any]:
    """``response.text``: ``{"format": {"type": "text"}, "verbosity": "medium"}`` unless set."""
    fmt: dict[str, Any] = {"type": "text"}
    verbosity = "medium"
    if text is not None:
        if text.format is not None:
            fmt = text.format.model_dump(mode="json", by_alias=True, exclude_none=True)
            if fmt["type"] == "json_schema":
                fmt.setdefault("strict", None)
                fmt.setdefault("description", None)
        verbosity = text.verbosity or verbosity
    return {"format": fmt, "verbosity": verbosity}


def reasoning_echo(reasoning: ReasoningConfig | None) -> dict[str, Any]:
    """``response.reasoning``: ``{"effort", "summary"}``, null when not asked for."""
    if reasoning is None:
        return {"effort": None, "summary": None}
    return {"effort": reasoning.effort, "summary": reasoning.summary or reasoning.generate_summary}


def tool_choice_value(request: _Tooled) -> str | dict[str, Any]:
    """``response.tool_choice``: ``"auto"`` unless set."""
    return tool_choice_echo(request.tool_choice)
