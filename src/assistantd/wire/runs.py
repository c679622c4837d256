"""Runs and run steps: request bodies. Responses are ``openai.types.beta.threads.Run`` / ``runs.RunStep``."""

from __future__ import annotations

from typing import Annotated, Literal

from openai.types.beta.threads import Run
from openai.types.beta.threads.runs import RunStep
from pydantic import Field

from assistantd.wire._limits import MAX_TOKEN_LIMIT
from assistantd.wire.common import Metadata, ReasoningEffort, Request, ResponseFormat, String, Tool, ToolResources
from assistantd.wire.messages import MessageCreate
from assistantd.wire.threads import ThreadCreate

__all__ = [
    "Run",
    "RunCreate",
    "RunModify",
    "RunStep",
    "SubmitToolOutputs",
    "ThreadAndRunCreate",
]

STEP_CONTENT_INCLUDE = "step_details.tool_calls[*].file_search.results[*].content"


class TruncationStrategy(Request):
    type: Literal["auto", "last_messages"]
    last_messages: Annotated[int, Field(ge=1, le=MAX_TOKEN_LIMIT)] | None = None


class FunctionName(Request):
    name: Annotated[str, Field(min_length=1)]


class NamedFunctionChoice(Request):
    type: Literal["function"]
    function: FunctionName


class NamedBuiltinChoice(Request):
    type: Literal["file_search", "code_interpreter"]


ToolChoice = (
    Literal["none", "auto", "required"]
    | Annotated[NamedFunctionChoice | NamedBuiltinChoice, Field(discriminator="type")]
)

TokenLimit = Annotated[int, Field(ge=256, le=MAX_TOKEN_LIMIT)]


class _RunOptions(Request):
    assistant_id: Annotated[str, Field(min_length=1, json_schema_extra={"pattern": "^asst_."})]
    model: Annotated[str, Field(min_length=1)] | None = None
    reasoning_effort: ReasoningEffort | None = None
    instructions: Annotated[str, Field(max_length=256_000)] | None = None
    tools: Annotated[list[Tool], Field(max_length=20)] | None = None
    metadata: Metadata | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    stream: bool | None = None
    max_prompt_tokens: TokenLimit | None = None
    max_completion_tokens: TokenLimit | None = None
    truncation_strategy: TruncationStrategy | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None


class RunCreate(_RunOptions):
    # POST /v1/threads/{thread_id}/runs
    additional_instructions: Annotated[str, Field(max_length=256_000)] | None = None
    additional_messages: list[MessageCreate] | None = None


class ThreadAndRunCreate(_RunOptions):
    # POST /v1/threads/runs
    thread: ThreadCreate | None = None
    tool_resources: ToolResources | None = None


class RunModify(Request):
    # POST /v1/threads/{thread_id}/runs/{run_id}
    metadata: Metadata | None = None


class ToolOutput(Request):
    tool_call_id: Annotated[str, Field(min_length=1)]
    output: String


class SubmitToolOutputs(Request):
    # POST /v1/threads/{thread_id}/runs/{run_id}/submit_tool_outputs
    tool_outputs: Annotated[list[ToolOutput], Field(min_length=1)]
    stream: bool | None = None
