"""Request models of the stored-prompts API (``/v1/prompts``, our extension) and of prompt variables.

OpenAI never published an API to create prompts (they were made in its dashboard), so this shape is ours: a
prompt holds what a Responses request would otherwise carry (``model``, ``instructions`` with ``{{variables}}``,
``tools`` and ``text`` in the Responses shapes, ``temperature``, ``top_p``) plus default ``variables``, a
``name`` and ``metadata``. Bodies follow the strict policy of the Assistants edge (``wire/common.Request``):
unknown fields are a 400, as they are for the assistants a prompt replaces.

A variable's value is a string or an input part (``input_text``, ``input_image``, ``input_file``), as in
OpenAI's ``ResponsePromptVariables``; the same models check the ``prompt.variables`` of a Responses request.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assistantd.errors import InvalidRequest, translate
from assistantd.responses.protocol import CreateResponse, parse
from assistantd.wire._limits import openai_error
from assistantd.wire.common import JsonObject, Metadata, Request, String

# --- variables --------------------------------------------------------------------------------------------


class _Part(BaseModel):
    """Lenient inside (clients add fields to parts), typed strictly, like the Responses input parts."""

    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False)


class TextVariable(_Part):
    type: Literal["input_text"]
    text: String


class ImageVariable(_Part):
    type: Literal["input_image"]
    image_url: String | None = None
    file_id: str | None = None
    detail: Literal["auto", "low", "high", "original"] = "auto"

    @model_validator(mode="after")
    def _has_source(self) -> ImageVariable:
        if self.image_url is None and self.file_id is None:
            raise openai_error("Missing required parameter: '{param}'.", suffix=".image_url")
        return self


class FileVariable(_Part):
    type: Literal["input_file"]
    file_id: str
    """Uploaded first (``POST /v1/files``), as every input file on this server."""
    filename: String | None = None


Variable = str | Annotated[TextVariable | ImageVariable | FileVariable, Field(discriminator="type")]
Variables = dict[str, Variable]


class _VariablesBody(_Part):
    variables: Variables


def parse_variables(raw: dict[str, Any], param: str) -> Variables:
    """``raw`` (a request's ``prompt.variables``) → checked values, or a 400 naming ``{param}.<name>``."""
    try:
        return _VariablesBody.model_validate({"variables": raw}).variables
    except ValidationError as exc:
        *parents, last = param.split(".")
        body: dict[str, Any] = {last: raw}
        for name in reversed(parents):
            body = {name: body}
        prefix = ("body", *parents)
        errors = [{**e, "loc": (*prefix, last, *e["loc"][1:])} for e in exc.errors()]
        message, where = translate(errors, body)
        raise InvalidRequest(message, param=where) from None


def variable_json(value: Variable) -> str | dict[str, Any]:
    return value if isinstance(value, str) else value.model_dump(mode="json", exclude_none=True)


# --- requests ---------------------------------------------------------------------------------------------


class PromptCreate(Request):
    # POST /v1/prompts
    name: Annotated[str, Field(max_length=256)] | None = None
    model: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    instructions: Annotated[str, Field(max_length=256_000)] | None = None
    """May hold ``{{name}}`` placeholders, filled from the request's ``prompt.variables`` or ``variables``."""
    tools: Annotated[list[JsonObject], Field(max_length=128)] | None = None
    """Responses tools (flat function tools, ``file_search`` with ``vector_store_ids``, ...)."""
    text: JsonObject | None = None
    """Responses ``text``: ``{"format": {...}, "verbosity": ...}``."""
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    metadata: Metadata | None = None
    variables: Variables | None = None
    """Default values of the placeholders, used where a request gives none."""


class PromptUpdate(PromptCreate):
    # POST /v1/prompts/{prompt_id}: a new version; omitted fields keep their value, ``null`` clears one.
    pass


def check_responses_fields(tools: list[dict[str, Any]] | None, text: dict[str, Any] | None) -> None:
    """The prompt's ``tools`` and ``text`` must be what ``POST /v1/responses`` accepts (the same 400s, the same
    ``param`` paths: ``tools[0].name``, ``text.format.schema``)."""
    body: dict[str, Any] = {}
    if tools is not None:
        body["tools"] = tools
    if text is not None:
        body["text"] = text
    parse(CreateResponse, body)
