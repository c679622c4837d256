"""What a run asked of the model, enforced on the model's stream when the upstream ignores it.

Many upstreams ignore ``tool_choice`` or ``parallel_tool_calls`` (small models, servers without tool-choice
support, OpenAI's o-series, which refuse ``parallel_tool_calls`` outright). ``Guard`` filters one turn's
events so the client still gets what the run promised:

* ``parallel_tool_calls: false``: only the first tool call of a turn is kept;
* ``tool_choice: "none"``: no tool call reaches the client;
* a forced choice (``required``, a named function or built-in tool) on the run's first turn: text is held
  back until the turn ends; a turn that ends with text and no call is reported as ``missed`` (the engine
  asks once more, then fails the run), so text the model should not have written is never streamed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from assistantd.backends.base import TextDelta, ToolCallDelta, TurnEnd, TurnEvent


class Guard:
    def __init__(self, tool_choice: Any, parallel_tool_calls: bool | None) -> None:
        self.forced = tool_choice == "required" or isinstance(tool_choice, dict)
        self.no_tools = tool_choice == "none"
        self.single = parallel_tool_calls is False
        self.missed = False
        """The turn was forced to call a tool and answered with text only."""
        self.dropped_calls = 0
        """Tool calls the upstream made that the run does not allow."""

    @property
    def active(self) -> bool:
        return self.forced or self.no_tools or self.single

    async def filter(self, events: AsyncIterator[TurnEvent]) -> AsyncIterator[TurnEvent]:
        held: list[TextDelta] = []
        kept: int | None = None
        called = False
        async for event in events:
            if isinstance(event, ToolCallDelta):
                if self.no_tools or (self.single and kept is not None and event.index != kept):
                    if event.id is not None or event.name is not None:
                        self.dropped_calls += 1
                    continue
                kept = event.index if kept is None else kept
                called = True
                held.clear()  # a forced call's preamble is not an answer
                yield event
            elif isinstance(event, TextDelta) and self.forced and not called:
                held.append(event)
            elif isinstance(event, TurnEnd):
                if self.forced and not called:
                    self.missed = bool("".join(d.text for d in held).strip())
                    held.clear()
                    yield TurnEnd("stop", event.usage)
                elif called and event.finish_reason == "stop":
                    yield TurnEnd("tool_calls", event.usage)
                else:
                    yield event
            else:
                yield event
