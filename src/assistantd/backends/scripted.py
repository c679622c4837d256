"""``ScriptedBackend``: a deterministic model for tests and the offline demo. Not a language model.

Tests queue turns (``Say``, ``Call``, ``Fail``) and read back what the engine asked (``requests``).
With nothing queued it plays the offline demo: it calls a function tool whose name the user mentions,
reports tool outputs it is given, and otherwise echoes the user's last message.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

from assistantd.backends.base import (
    ChatMessage,
    TextDelta,
    ToolCallDelta,
    TurnEnd,
    TurnEvent,
    TurnRequest,
    UpstreamError,
    Usage,
)


@dataclass(frozen=True)
class Say:
    """Answer with ``text``, streamed word by word (``delay`` seconds between words)."""

    text: str
    delay: float = 0.0
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Call:
    """Call one or more functions: ``Call(("name", '{"a": 1}'), ...)``."""

    calls: tuple[tuple[str, str], ...]

    def __init__(self, *calls: tuple[str, str]) -> None:
        object.__setattr__(self, "calls", tuple(calls))


@dataclass(frozen=True)
class Fail:
    """Raise ``error`` after streaming ``text_first`` (to test failures before and after the first token)."""

    error: UpstreamError
    text_first: str = ""


@dataclass(frozen=True)
class Hang:
    """Stream ``text`` then wait until cancelled (to test cancellation and disconnects)."""

    text: str = ""


Turn = Say | Call | Fail | Hang


@dataclass
class ScriptedBackend:
    turns: deque[Turn] = field(default_factory=deque)
    requests: list[TurnRequest] = field(default_factory=list)

    def __init__(self, turns: Iterable[Turn] = ()) -> None:
        self.turns = deque(turns)
        self.requests = []

    def add(self, *turns: Turn) -> None:
        self.turns.extend(turns)

    async def stream(self, request: TurnRequest) -> AsyncIterator[TurnEvent]:
        self.requests.append(request)
        turn = self.turns.popleft() if self.turns else demo_turn(request)
        prompt = sum(_text(m).count(" ") + 1 for m in request.messages)  # cheap on big threads
        if isinstance(turn, Call):
            for i, (name, arguments) in enumerate(turn.calls):
                yield ToolCallDelta(index=i, id=f"call_scripted{len(self.requests)}x{i}", name=name)
                half = len(arguments) // 2
                yield ToolCallDelta(index=i, arguments=arguments[:half])
                yield ToolCallDelta(index=i, arguments=arguments[half:])
            yield TurnEnd("tool_calls", Usage(prompt, 10 * len(turn.calls)))
            return
        text = turn.text if isinstance(turn, Say | Hang) else turn.text_first
        words = text.split(" ")
        for i, word in enumerate(words):
            if not word and i:
                continue
            yield TextDelta(word if i == 0 else " " + word)
            if isinstance(turn, Say) and turn.delay:
                await asyncio.sleep(turn.delay)
        if isinstance(turn, Fail):
            raise turn.error
        if isinstance(turn, Hang):
            await asyncio.Event().wait()
        assert isinstance(turn, Say)
        yield TurnEnd(turn.finish_reason, Usage(prompt, len(words)))


def _text(m: ChatMessage) -> str:
    if isinstance(m.content, str):
        return m.content
    if m.content is None:
        return ""
    return " ".join(str(p.get("text", "")) for p in m.content if isinstance(p, dict))


def demo_turn(request: TurnRequest) -> Turn:
    """The offline demo's behaviour, deterministic from the request."""
    last = request.messages[-1] if request.messages else None
    if last is not None and last.role == "tool":
        return Say(f"The tool returned: {_text(last)}")
    user = next((m for m in reversed(request.messages) if m.role == "user"), None)
    said = _text(user) if user else ""
    if request.tool_choice != "none":
        for tool in request.tools:
            if tool.name in said:
                return Call((tool.name, json.dumps({})))
    if request.response_format and request.response_format.get("type") in ("json_object", "json_schema"):
        return Say(json.dumps({"echo": said}))
    return Say(f"(scripted demo backend, not a language model) You said: {said}")
