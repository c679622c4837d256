"""The ``ModelBackend`` seam and the neutral types it speaks.

A backend streams one model turn as ``TurnEvent``s: text fragments, tool-call fragments, then one
``TurnEnd`` with the finish reason and usage. Errors are raised as the ``UpstreamError`` tree::

    BackendError (errors.py, 500)
    └── UpstreamError               the upstream failed: code "server_error"
        ├── UpstreamRateLimited     429 from the upstream: code "rate_limit_exceeded"
        └── UpstreamBadRequest      the upstream rejected what we sent (4xx other than 429)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from assistantd.errors import BackendError


class UpstreamError(BackendError):
    """The model upstream failed; ``code`` is the run's ``last_error.code``."""

    def __init__(self, message: str, *, code: str = "server_error", retryable: bool = True) -> None:
        super().__init__(message, code=code)
        self.retryable = retryable


class UpstreamRateLimited(UpstreamError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="rate_limit_exceeded")


class UpstreamBadRequest(UpstreamError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="server_error", retryable=False)


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One chat-completions message: system, user, assistant (maybe with tool calls) or tool."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


@dataclass(frozen=True, slots=True)
class TurnRequest:
    model: str
    messages: list[ChatMessage]
    tools: list[FunctionSpec] = field(default_factory=list)
    tool_choice: Any = None
    """``"none" | "auto" | "required" | {"type": "function", "function": {"name": ...}}`` or None."""
    parallel_tool_calls: bool | None = None
    """Sent only when ``False``: ``True`` is every upstream's default, and some (o-series) reject the field."""
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    """The turn's completion-token limit. Sent upstream as ``max_completion_tokens`` (what OpenAI's reasoning
    models require) or ``max_tokens``, by the upstream's dialect (``backends/dialect.py``)."""
    response_format: dict[str, Any] | None = None
    reasoning_effort: str | None = None
    logprobs: bool = False
    top_logprobs: int | None = None


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str
    logprobs: tuple[dict[str, Any], ...] = ()
    """The tokens' log probabilities, when the request asked for them and the upstream gave them (each
    ``{"token", "logprob", "bytes", "top_logprobs"}``, as chat completions stream them)."""


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """Reasoning text an upstream streams beside the answer (vLLM's and DeepSeek's ``reasoning_content``)."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A fragment of tool call ``index``; ``id`` and ``name`` arrive with its first fragment."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True, slots=True)
class TurnEnd:
    finish_reason: str
    usage: Usage | None = None


TurnEvent = TextDelta | ReasoningDelta | ToolCallDelta | TurnEnd


class ModelBackend(Protocol):
    """One model turn, streamed. Implementations: ``OpenAICompatBackend``, ``ScriptedBackend``."""

    def stream(self, request: TurnRequest) -> AsyncIterator[TurnEvent]:
        """Stream the turn; raise ``UpstreamError`` on failure. Closing the iterator aborts the request."""
        ...
