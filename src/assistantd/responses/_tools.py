"""The ``tools`` and ``tool_choice`` of a Responses request, and their echo on the response object.

Definitions are flat (``{"type": "function", "name", ...}``), unlike the Assistants and Chat shapes. The four
types this server runs are typed exactly; any other type (Codex's ``namespace`` and ``web_search``,
``image_generation``, ...) parses as an ``UnknownTool``: kept and echoed as sent, flagged not runnable, and
never offered to the model. An ``mcp`` tool given by ``connector_id`` or ``tunnel_id`` (OpenAI-hosted
connectors) is accepted the same way: not runnable.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StringConstraints, Tag, model_validator

from assistantd.responses._input import Lenient
from assistantd.wire._limits import openai_error
from assistantd.wire.common import JsonObject, String
from assistantd.wire.vector_stores import Filter

DEFAULT_MAX_NUM_RESULTS = 10
"""What a ``file_search`` tool without ``max_num_results`` returns, and echoes (OpenAI's default is 10 for
Responses' ``file_search``)."""

FunctionName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]


class FunctionTool(Lenient):
    type: Literal["function"]
    name: FunctionName
    description: String | None = None
    parameters: JsonObject | None = None
    strict: bool | None = None
    """``None`` (omitted or null) means strict: Responses normalises function schemas to strict mode."""

    @property
    def is_strict(self) -> bool:
        return self.strict is not False

    @property
    def runnable(self) -> bool:
        return True


class HybridSearch(Lenient):
    embedding_weight: Annotated[float, Field(ge=0)]
    text_weight: Annotated[float, Field(ge=0)]


class RankingOptions(Lenient):
    ranker: Literal["auto", "default-2024-11-15"] = "auto"
    score_threshold: Annotated[float, Field(ge=0, le=1)] = 0.0
    hybrid_search: HybridSearch | None = None


class FileSearchTool(Lenient):
    type: Literal["file_search"]
    vector_store_ids: list[str]
    max_num_results: Annotated[int, Field(ge=1, le=50)] | None = None
    ranking_options: RankingOptions | None = None
    filters: Filter | None = None

    @property
    def runnable(self) -> bool:
        return True


class AutoContainer(Lenient):
    type: Literal["auto"]
    file_ids: Annotated[list[str], Field(max_length=50, default_factory=list)]
    memory_limit: Literal["1g", "4g", "16g", "64g"] | None = None


class CodeInterpreterTool(Lenient):
    type: Literal["code_interpreter"]
    container: Annotated[str, Field(min_length=1)] | AutoContainer
    """A container id (``cntr_…``), or ``{"type": "auto"}`` to have one made for the response."""

    @property
    def runnable(self) -> bool:
        return True


class McpToolFilter(Lenient):
    tool_names: list[str] | None = None
    read_only: bool | None = None


class McpApprovalFilter(Lenient):
    always: McpToolFilter | None = None
    never: McpToolFilter | None = None


class McpTool(Lenient):
    type: Literal["mcp"]
    server_label: Annotated[str, Field(min_length=1)]
    server_url: str | None = None
    connector_id: str | None = None
    tunnel_id: str | None = None
    authorization: str | None = None
    headers: dict[str, str] | None = None
    server_description: String | None = None
    allowed_tools: list[str] | McpToolFilter | None = None
    require_approval: Literal["always", "never"] | McpApprovalFilter | None = None

    @model_validator(mode="after")
    def _one_server(self) -> McpTool:
        given = [n for n in ("server_url", "connector_id", "tunnel_id") if getattr(self, n) is not None]
        if not given:
            raise openai_error("Missing required parameter: '{param}'.", suffix=".server_url")
        if len(given) > 1:
            raise openai_error(
                "Invalid '{param}': give exactly one of 'server_url', 'connector_id' or 'tunnel_id'.",
                suffix=f".{given[1]}",
            )
        return self

    @property
    def runnable(self) -> bool:
        """Only remote servers by URL; OpenAI's connectors and tunnels do not exist here."""
        return self.server_url is not None


class UnknownTool(BaseModel):
    """A tool type this server cannot run, kept as sent (echoed), never offered to the model."""

    model_config = ConfigDict(extra="allow")
    type: str

    @property
    def runnable(self) -> bool:
        return False


_RUNNABLE_TYPES = ("function", "file_search", "code_interpreter", "mcp")


def _tool_tag(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return "unknown" if isinstance(value, UnknownTool) else str(getattr(value, "type", ""))
    if not isinstance(value, dict):
        return "function"  # so the error says a tool must be an object
    kind = value.get("type")
    if not isinstance(kind, str):
        return None
    return kind if kind in _RUNNABLE_TYPES else "unknown"


Tool = Annotated[
    Annotated[FunctionTool, Tag("function")]
    | Annotated[FileSearchTool, Tag("file_search")]
    | Annotated[CodeInterpreterTool, Tag("code_interpreter")]
    | Annotated[McpTool, Tag("mcp")]
    | Annotated[UnknownTool, Tag("unknown")],
    Discriminator(_tool_tag),
]


# --- tool_choice -----------------------------------------------------------------------------------------


class ToolChoiceFunction(Lenient):
    type: Literal["function"]
    name: str


class ToolChoiceCustom(Lenient):
    type: Literal["custom"]
    name: str


class ToolChoiceMcp(Lenient):
    type: Literal["mcp"]
    server_label: str
    name: str | None = None


class ToolChoiceAllowed(Lenient):
    type: Literal["allowed_tools"]
    mode: Literal["auto", "required"]
    tools: list[dict[str, Any]]


class ToolChoiceHosted(BaseModel):
    """``{"type": "file_search"}``, ``{"type": "code_interpreter"}`` and the other hosted types."""

    model_config = ConfigDict(extra="allow")
    type: str


def _choice_tag(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return "hosted" if isinstance(value, ToolChoiceHosted) else str(getattr(value, "type", ""))
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        return None
    kind = value["type"]
    return kind if kind in ("function", "custom", "mcp", "allowed_tools") else "hosted"


ToolChoice = (
    Literal["none", "auto", "required"]
    | Annotated[
        Annotated[ToolChoiceFunction, Tag("function")]
        | Annotated[ToolChoiceCustom, Tag("custom")]
        | Annotated[ToolChoiceMcp, Tag("mcp")]
        | Annotated[ToolChoiceAllowed, Tag("allowed_tools")]
        | Annotated[ToolChoiceHosted, Tag("hosted")],
        Discriminator(_choice_tag),
    ]
)


# --- echo on the response object -------------------------------------------------------------------------

AnyTool = FunctionTool | FileSearchTool | CodeInterpreterTool | McpTool | UnknownTool


def tool_echo(tool: AnyTool, container_id: str | None = None) -> dict[str, Any]:
    """A tool as the response object echoes it, with OpenAI's defaults filled in. ``container_id``: the
    container an ``auto`` code_interpreter got, which OpenAI echoes in its place."""
    if isinstance(tool, FunctionTool):
        return {
            "type": "function",
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
            "strict": tool.is_strict,
        }
    if isinstance(tool, FileSearchTool):
        ranking = tool.ranking_options or RankingOptions()
        return {
            "type": "file_search",
            "vector_store_ids": list(tool.vector_store_ids),
            "filters": tool.filters.model_dump(mode="json") if tool.filters is not None else None,
            "max_num_results": tool.max_num_results or DEFAULT_MAX_NUM_RESULTS,
            "ranking_options": ranking.model_dump(mode="json", exclude_none=True),
        }
    if isinstance(tool, CodeInterpreterTool):
        if isinstance(tool.container, str):
            container: str | dict[str, Any] = tool.container
        elif container_id is not None:
            container = container_id
        else:
            container = tool.container.model_dump(mode="json", exclude_none=True)
        return {"type": "code_interpreter", "container": container}
    if isinstance(tool, McpTool):
        # The authorization and headers are credentials: OpenAI does not echo them, nor do we.
        return tool.model_dump(mode="json", exclude_none=True, exclude={"authorization", "headers"})
    return tool.model_dump(mode="json")


def tool_choice_echo(choice: str | BaseModel | None) -> str | dict[str, Any]:
    if choice is None:
        return "auto"
    if isinstance(choice, str):
        return choice
    return choice.model_dump(mode="json", exclude_none=True)
