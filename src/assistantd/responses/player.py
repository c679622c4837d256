"""``ResponsePlayer``: one streamed model turn of a response → neutral item events, as they arrive.

Text opens a ``message`` item (cited as it streams when the response searched files), reasoning text a
``reasoning`` item before it, and client-side function calls ``function_call`` items. Under a JSON
``text.format`` the answer is held back until the engine has validated it, and output whole.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from assistantd import items
from assistantd.backends.base import ReasoningDelta, TextDelta, ToolCallDelta, TurnEnd, TurnEvent, Usage
from assistantd.ids import new_id
from assistantd.tools import _citations


class Sink(Protocol):
    """Where the player's item events go (``ResponseRun``)."""

    def feed(self, event: items.ItemEvent) -> None: ...

    def feed_whole(self, item: items.Item) -> None: ...

    def citation(self, annotation: dict[str, Any]) -> items.Citation: ...


@dataclass
class _Call:
    id: str
    """The call id (``call_...``): what a ``function_call_output`` answers."""
    item_id: str
    name: str = ""
    arguments: str = ""
    announced: bool = False


@dataclass
class PlayedResponseTurn:
    text: str = ""
    calls: list[_Call] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage | None = None
    message_id: str | None = None
    message_open: bool = False


class ResponsePlayer:
    """One streamed turn → neutral item events, rendered and published as they arrive. Under a JSON
    ``text.format`` the answer is held back until the engine has validated it (``hold``)."""

    def __init__(self, session: Sink, hold: bool, server_names: frozenset[str], citer: _citations.Citer | None) -> None:
        self.s = session
        self.hold = hold
        self.server_names = server_names
        """Calls of these (server-side tools) are recorded by ``ResponseRun.server_calls``, not announced here."""
        self.citer = citer
        self.result = PlayedResponseTurn()
        self._calls: dict[int, _Call] = {}
        self._shown = ""
        self._citations: list[items.Citation] = []
        self._reasoning_id: str | None = None
        self._reasoning_text = ""
        self._reasoning_closed = False
        self._logprobs: tuple[dict[str, Any], ...] = ()

    async def play(self, stream: AsyncIterator[TurnEvent]) -> PlayedResponseTurn:
        async for event in stream:
            if isinstance(event, TextDelta):
                self._text(event.text, event.logprobs)
            elif isinstance(event, ReasoningDelta):
                self._reasoning(event.text)
            elif isinstance(event, ToolCallDelta):
                self._tool_delta(event)
            elif isinstance(event, TurnEnd):
                self.result.finish_reason = event.finish_reason
                self.result.usage = event.usage
        self.result.calls = [self._calls[i] for i in sorted(self._calls)]
        return self.result

    def _reasoning(self, text: str) -> None:
        """Reasoning text becomes a ``reasoning`` item with one summary part, before the answer."""
        if self.result.message_id is not None or self._calls:
            return  # reasoning after the answer began: not a summary of it
        if self._reasoning_id is None:
            self._reasoning_id = "rs_" + new_id("call")[5:]
            self.s.feed(items.ItemAdded(items.ReasoningItem(self._reasoning_id, (), None, "in_progress")))
            self.s.feed(items.PartAdded(self._reasoning_id, 0, items.TextPart("")))
        self._reasoning_text += text
        self.s.feed(items.TextDelta(self._reasoning_id, 0, text))

    def close_reasoning(self) -> None:
        if self._reasoning_id is None or self._reasoning_closed:
            return
        self._reasoning_closed = True
        self.s.feed(items.PartDone(self._reasoning_id, 0, items.TextPart(self._reasoning_text)))
        self.s.feed(items.ItemDone(items.ReasoningItem(self._reasoning_id, (self._reasoning_text,))))

    def _text(self, text: str, logprobs: tuple[dict[str, Any], ...] = ()) -> None:
        r = self.result
        if not text or self._calls:
            return  # text after tool calls in one turn: upstream noise, not a message
        self.close_reasoning()
        if r.message_id is None:
            r.message_id = new_id("message")
            r.message_open = True
            if not self.hold:
                self.s.feed(items.ItemAdded(items.MessageItem(r.message_id, "assistant", (), "in_progress")))
                self.s.feed(items.PartAdded(r.message_id, 0, items.TextPart("")))
        r.text += text
        self._logprobs += logprobs
        if not self.hold:
            self._show(self.citer.feed(text) if self.citer else [_citations.Piece(text=text)], logprobs)

    def _show(self, pieces: list[_citations.Piece], logprobs: tuple[dict[str, Any], ...] = ()) -> None:
        message_id = self.result.message_id
        assert message_id is not None
        for piece in pieces:
            if piece.text:
                self._shown += piece.text
                self.s.feed(items.TextDelta(message_id, 0, piece.text, logprobs))
                logprobs = ()  # given once, with the first piece of the text they came with
            if piece.annotation is not None:
                citation = self.s.citation(piece.annotation)
                self.s.feed(items.CitationAdded(message_id, 0, len(self._citations), citation))
                self._citations.append(citation)

    def _tool_delta(self, d: ToolCallDelta) -> None:
        self.close_reasoning()
        if self.result.message_open:
            self.close_message("completed")
        call = self._calls.get(d.index)
        if call is None:
            call = self._calls[d.index] = _Call(id=new_id("call"), item_id="fc_" + new_id("call")[5:])
        if d.name and not call.name:
            call.name = d.name
        call.arguments += d.arguments
        if not call.name or call.name in self.server_names:
            return
        if not call.announced:
            call.announced = True
            self.s.feed(items.ItemAdded(items.FunctionCallItem(call.item_id, call.id, call.name, "", "in_progress")))
            if call.arguments:
                self.s.feed(items.ArgumentsDelta(call.item_id, call.arguments))
        elif d.arguments:
            self.s.feed(items.ArgumentsDelta(call.item_id, d.arguments))

    @property
    def shown(self) -> str:
        """The answer's text as streamed so far (with the markers the server inserted)."""
        return self._shown

    def add_citation(self, citation: items.Citation) -> None:
        """Another citation on the answer's text (already streamed)."""
        message_id = self.result.message_id
        assert message_id is not None
        self.s.feed(items.CitationAdded(message_id, 0, len(self._citations), citation))
        self._citations.append(citation)

    def close_message(self, status: items.ItemStatus) -> None:
        self.close_reasoning()
        r = self.result
        if not r.message_open:
            return
        r.message_open = False
        assert r.message_id is not None
        if self.hold:
            if status == "completed":  # validated; an answer that never passed is not output
                part = items.TextPart(r.text, (), self._logprobs)
                self.s.feed_whole(items.MessageItem(r.message_id, "assistant", (part,), status))
            return
        if self.citer is not None:
            self._show(self.citer.finish())
        part = items.TextPart(self._shown, tuple(self._citations), self._logprobs)
        self.s.feed(items.PartDone(r.message_id, 0, part))
        self.s.feed(items.ItemDone(items.MessageItem(r.message_id, "assistant", (part,), status)))

    def close_calls(self, status: items.ItemStatus) -> None:
        for call in self.result.calls or [self._calls[i] for i in sorted(self._calls)]:
            if call.announced:
                done = items.FunctionCallItem(call.item_id, call.id, call.name, call.arguments or "{}", status)
                self.s.feed(items.ItemDone(done))
                call.announced = False
