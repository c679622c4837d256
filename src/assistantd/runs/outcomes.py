"""What one model turn leads to: exactly one of these named outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Completed:
    """The assistant answered; the run is done."""


@dataclass(frozen=True)
class RequiresAction:
    """The model called client-side functions; the run waits for their outputs."""

    tool_calls: list[dict[str, Any]]


@dataclass(frozen=True)
class RunAgain:
    """Server-side tools ran (or an answer must be retried); take another turn."""

    feedback: str | None = None
    rejected: str | None = None
    """The answer being retried: shown to the model before the feedback, then discarded from the thread."""


@dataclass(frozen=True)
class RunTools:
    """The model called server-side tools (and maybe client functions too): run ours, then go on."""

    server_calls: list[tuple[int, str, str, dict[str, Any]]]
    """``(position in the step, call id, function name, parsed arguments)``."""
    function_calls: list[tuple[int, dict[str, Any]]]
    """Client-side calls made in the same turn, with their positions: they wait in ``requires_action``
    once ours ran."""


@dataclass(frozen=True)
class Incomplete:
    reason: str
    """``max_completion_tokens`` or ``max_prompt_tokens``."""


@dataclass(frozen=True)
class Failed:
    code: str
    """``server_error``, ``rate_limit_exceeded`` or ``invalid_prompt``."""
    message: str


Outcome = Completed | RequiresAction | RunTools | RunAgain | Incomplete | Failed
