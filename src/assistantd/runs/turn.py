"""Play one streamed model turn into run steps, messages and events.

Text opens a ``message_creation`` step and an assistant message; tool-call fragments open a
``tool_calls`` step. Creation events are published before the rows are written, so a streaming client
sees the first token without waiting on the database; deltas are published and never written.

When the run searched files, the text streams through a ``Citer``: citation markers it adds are streamed
as text, each followed by a delta with its annotation, so what a client assembled from the deltas is the
stored message, character for character.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistantd.backends.base import TextDelta, ToolCallDelta, TurnEnd, TurnEvent, Usage
from assistantd.ids import new_id
from assistantd.runs.persist import RunWriter, now, stamp_at
from assistantd.runs.tokens import count_text
from assistantd.store import runs as run_queries
from assistantd.store.records import MessageRecord, RunStepRecord
from assistantd.tools import _citations

CITING_TOOL = "file_search"
"""The server tool whose citations the player streams with the text (``annotate_answer`` skips it)."""


@dataclass
class PendingCall:
    id: str
    name: str = ""
    arguments: str = ""
    announced: bool = False


@dataclass
class TurnResult:
    text: str = ""
    """What the model wrote."""
    shown: str = ""
    """The message's text as streamed: the model's, with the citation markers the server inserted."""
    annotations: list[dict[str, Any]] = field(default_factory=list)
    """Annotations streamed with ``shown`` (indices into it)."""
    message: MessageRecord | None = None
    message_step: RunStepRecord | None = None
    tool_step: RunStepRecord | None = None
    calls: list[PendingCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage | None = None
    text_tokens: int = 0
    """Completion tokens of text closed before tool calls in the same turn (counted on its own step)."""


class TurnPlayer:
    def __init__(self, writer: RunWriter, server_names: frozenset[str] = frozenset()) -> None:
        self.w = writer
        self.server_names = server_names
        """Calls of these (server-side tools) are announced by the tool executor, not while streaming."""
        self.result = TurnResult()
        self._calls: dict[int, PendingCall] = {}
        self._first_text_delta = True
        self._sources: asyncio.Future[list[_citations.Source]] | None = None
        self._citer: _citations.Citer | None = None

    async def play(self, stream: AsyncIterator[TurnEvent]) -> TurnResult:
        if CITING_TOOL in self.server_names:
            # Read what the run retrieved while the upstream thinks: the first token does not wait for it.
            self._sources = asyncio.ensure_future(self._retrieved())
        try:
            async for event in stream:
                if isinstance(event, TextDelta):
                    await self._text(event.text)
                elif isinstance(event, ToolCallDelta):
                    await self._tool_delta(event)
                elif isinstance(event, TurnEnd):
                    self.result.finish_reason = event.finish_reason
                    self.result.usage = event.usage
        finally:
            if self._sources is not None and not self._sources.done():
                self._sources.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._sources
        self.result.calls = [self._calls[i] for i in sorted(self._calls)]
        return self.result

    async def _retrieved(self) -> list[_citations.Source]:
        async with self.w.db.read() as conn:
            steps = await run_queries.steps_of_run(conn, self.w.run.id)
        calls = [
            call
            for step in steps
            for call in (step.step_details.get("tool_calls") or [])
            if call.get("type") == CITING_TOOL
        ]
        return _citations.sources(calls)

    async def _start_citing(self) -> None:
        if self._sources is None:
            return
        found = await self._sources
        if found:
            fmt = self.w.run.response_format
            json_answer = isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema")
            self._citer = _citations.Citer(found, insert=not json_answer)

    async def _text(self, text: str) -> None:
        if not text:
            return
        r = self.result
        if r.message is None:
            if r.tool_step is not None:
                return  # text after tool calls in one turn: upstream noise, not a message
            r.message = self.w.new_message()
            r.message_step = self.w.new_step(
                "message_creation",
                {"type": "message_creation", "message_creation": {"message_id": r.message.id}},
            )
            self.w.announce_message(r.message)  # after the step's events, as OpenAI orders them
            await self._start_citing()
            self._show(text)
            # Written after the first token is out: a poller sees the message, a streamer is not kept waiting.
            await self.w.insert(r.message_step, r.message)
        else:
            self._show(text)
        r.text += text

    def _show(self, text: str) -> None:
        self._send(self._citer.feed(text) if self._citer else [_citations.Piece(text=text)])

    def finish_text(self) -> None:
        """Stream what the citer still holds back (the text's end): call before the message closes."""
        if self._citer is not None and self.result.message is not None:
            self._send(self._citer.finish())

    def _send(self, pieces: list[_citations.Piece]) -> None:
        r = self.result
        assert r.message is not None
        text = ""
        for piece in pieces:
            text += piece.text
            if piece.annotation is not None:
                self._emit_text(r.message.id, text)  # the annotated text goes first
                text = ""
                self.emit_annotations([piece.annotation])
                r.annotations.append({k: v for k, v in piece.annotation.items() if k != "index"})
        self._emit_text(r.message.id, text)

    def _emit_text(self, message_id: str, text: str) -> None:
        if not text:
            return
        self.result.shown += text
        part: dict[str, Any] = {"index": 0, "type": "text", "text": {"value": text}}
        if self._first_text_delta:
            part["text"]["annotations"] = []
            self._first_text_delta = False
        self.w.emit(
            "thread.message.delta",
            {"id": message_id, "object": "thread.message.delta", "delta": {"content": [part]}},
        )

    def emit_annotations(self, annotations: list[dict[str, Any]], extra_parts: Sequence[dict[str, Any]] = ()) -> None:
        """Stream annotations on the text part (each with its ``index``), and content parts after it."""
        assert self.result.message is not None
        parts: list[dict[str, Any]] = []
        if annotations:
            parts.append({"index": 0, "type": "text", "text": {"annotations": annotations}})
        parts.extend({"index": i + 1, **part} for i, part in enumerate(extra_parts))
        if parts:
            self.w.emit(
                "thread.message.delta",
                {"id": self.result.message.id, "object": "thread.message.delta", "delta": {"content": parts}},
            )

    async def _tool_delta(self, d: ToolCallDelta) -> None:
        r = self.result
        if r.message is not None and r.message_step is not None and r.message.status == "in_progress":
            # The upstream reports usage only at the end of the turn: the text's step gets its own count.
            r.text_tokens = count_text(r.text)
            await self.close_message(
                {"prompt_tokens": 0, "completion_tokens": r.text_tokens, "total_tokens": r.text_tokens}
            )
        if r.tool_step is None:
            r.tool_step = self.w.new_step("tool_calls", {"type": "tool_calls", "tool_calls": []})
            await self.w.insert(r.tool_step)
        call = self._calls.get(d.index)
        if call is None:
            call = self._calls[d.index] = PendingCall(id=new_id("call"))
        if d.name and not call.name:
            call.name = d.name
        if not call.name:
            call.arguments += d.arguments  # hold fragments until the name is known
            return
        if call.name in self.server_names:
            call.arguments += d.arguments
            return
        position = sorted(self._calls).index(d.index)
        if not call.announced:
            call.announced = True
            first = {
                "index": position,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments, "output": None},
            }
            self._emit_step_delta(first)
            if d.arguments:
                call.arguments += d.arguments
                self._emit_step_delta({"index": position, "type": "function", "function": {"arguments": d.arguments}})
            return
        if d.arguments:
            call.arguments += d.arguments
            self._emit_step_delta({"index": position, "type": "function", "function": {"arguments": d.arguments}})

    def emit_call_delta(self, position: int, body: dict[str, Any]) -> None:
        """Publish a step delta for the call at ``position`` of the tool step (server-side tools)."""
        self._emit_step_delta({"index": position, **body})

    def _emit_step_delta(self, call_delta: dict[str, Any]) -> None:
        assert self.result.tool_step is not None
        self.w.emit(
            "thread.run.step.delta",
            {
                "id": self.result.tool_step.id,
                "object": "thread.run.step.delta",
                "delta": {"step_details": {"type": "tool_calls", "tool_calls": [call_delta]}},
            },
        )

    async def close_message(
        self,
        usage: dict[str, int] | None,
        *,
        incomplete_reason: str | None = None,
        step_status: str = "completed",
        content: list[dict[str, Any]] | None = None,
    ) -> None:
        """Finish the open message and its step (completed, or incomplete with ``incomplete_reason``).
        ``content`` is what ``annotate_answer`` made of the streamed text; by default, the streamed text."""
        r = self.result
        assert r.message is not None and r.message_step is not None
        self.finish_text()
        ts = now()
        content = content or [{"type": "text", "text": {"value": r.shown, "annotations": list(r.annotations)}}]
        if incomplete_reason:
            r.message = dataclasses.replace(
                r.message,
                content=content,
                status="incomplete",
                incomplete_at=ts,
                incomplete_details={"reason": incomplete_reason},
            )
            await self.w.save_message(r.message, "thread.message.incomplete")
        else:
            r.message = dataclasses.replace(r.message, content=content, status="completed", completed_at=ts)
            await self.w.save_message(r.message, "thread.message.completed")
        stamp = {
            "completed": "completed_at",
            "cancelled": "cancelled_at",
            "failed": "failed_at",
            "expired": "expired_at",
        }[step_status]
        r.message_step = dataclasses.replace(r.message_step, status=step_status, usage=usage, **stamp_at(stamp, ts))
        await self.w.save_step(r.message_step, f"thread.run.step.{step_status}")
