"""The neutral item events of a turn → OpenAI's ``response.*`` stream events, in OpenAI's exact order.

``ResponseEvents`` is one response's renderer. It numbers events from 0 without gaps (``sequence_number``,
the resume cursor), gives each output item the next ``output_index`` in the order items are added, opens
each content part before its deltas and closes it before its item, and fills in the steps the SDK's
``responses.stream()`` accumulator and OpenAI's documented sequences need when the engine did not spell
them out (spec §6 "Typical sequences"):

- an item that arrives whole (``ItemDone`` without ``ItemAdded``) is played as added → its parts or
  arguments in one delta each → done, so a non-streamed turn can be streamed the same way;
- parts still open when their item is done are closed with the final part;
- ``file_search_call.searching``, ``code_interpreter_call_code.done`` / ``.interpreting`` and
  ``function_call_arguments.done`` are emitted once each, in place, if the engine gave no ``ToolPhase``.

On a ``reasoning`` item, ``PartAdded`` / ``TextDelta`` / ``PartDone`` carrying a ``TextPart`` describe one
summary part (``response.reasoning_summary_part.*`` and ``response.reasoning_summary_text.*``).

There is no cancelled event in OpenAI's catalogue: a cancelled stream just ends (the last event is
whatever came before), which is what the SDK sees from OpenAI.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import orjson

from assistantd import items
from assistantd.responses.render import annotation_json, item_json, output_part_json

Event = dict[str, Any]


def sse_bytes(event: Event) -> bytes:
    """One event as an SSE frame: ``event: <type>`` then ``data: <json>`` (the real API sends both)."""
    kind: str = event["type"]
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


@dataclass
class _Part:
    position: int
    kind: str  # "text" | "refusal" | "summary"
    text: list[str] = field(default_factory=list)
    annotations: int = 0
    done: bool = False


@dataclass
class _Open:
    index: int
    item: items.Item
    parts: dict[int, _Part] = field(default_factory=dict)
    streamed: list[str] = field(default_factory=list)
    """The arguments or code streamed so far."""
    done: bool = False
    steps: set[str] = field(default_factory=set)
    """Once-only steps already emitted (``searching``, ``args_done``, ``code_done``, ``interpreting``)."""


def _empty(item: items.Item) -> items.Item:
    """The item as ``output_item.added`` shows it: in progress, with nothing the deltas will add."""
    match item:
        case items.MessageItem():
            return dataclasses.replace(item, parts=(), status="in_progress")
        case items.FunctionCallItem():
            return dataclasses.replace(item, arguments="", status="in_progress")
        case items.McpCallItem():
            return dataclasses.replace(item, arguments="", output=None, error=None, status="in_progress")
        case items.CodeInterpreterCallItem():
            return dataclasses.replace(item, code="", outputs=(), status="in_progress")
        case items.FileSearchCallItem():
            return dataclasses.replace(item, results=(), status="in_progress")
        case items.ReasoningItem():
            return dataclasses.replace(item, summary=(), status="in_progress")
        case items.McpListToolsItem():
            return dataclasses.replace(item, tools=(), status="in_progress")
    return item


_IN_PROGRESS = {
    "file_search_call": "response.file_search_call.in_progress",
    "code_interpreter_call": "response.code_interpreter_call.in_progress",
    "mcp_call": "response.mcp_call.in_progress",
    "mcp_list_tools": "response.mcp_list_tools.in_progress",
}


class ResponseEvents:
    """Renders one response's stream. Every method returns the events to send (dicts with ``type`` and
    ``sequence_number``), already in order; ``include`` is the request's ``include[]``."""

    def __init__(self, include: Collection[str] = ()) -> None:
        self._include = frozenset(include)
        self._seq = 0
        self._open: dict[str, _Open] = {}
        self._next_index = 0

    @property
    def next_sequence_number(self) -> int:
        return self._seq

    def resume_after(self, sequence_number: int) -> None:
        """Number the next event after ``sequence_number`` (a response resumed by another process goes on
        from what its streams have seen)."""
        self._seq = sequence_number + 1

    def _emit(self, out: list[Event], kind: str, **fields: Any) -> None:
        out.append({"type": kind, "sequence_number": self._seq, **fields})
        self._seq += 1

    # --- lifecycle ---------------------------------------------------------------------------------------

    def _lifecycle(self, kind: str, response: dict[str, Any]) -> list[Event]:
        out: list[Event] = []
        self._emit(out, kind, response=response)
        return out

    def created(self, response: dict[str, Any]) -> list[Event]:
        return self._lifecycle("response.created", response)

    def queued(self, response: dict[str, Any]) -> list[Event]:
        return self._lifecycle("response.queued", response)

    def in_progress(self, response: dict[str, Any]) -> list[Event]:
        return self._lifecycle("response.in_progress", response)

    def completed(self, response: dict[str, Any]) -> list[Event]:
        return self._lifecycle("response.completed", response)

    def failed(self, response: dict[str, Any]) -> list[Event]:
        return self._lifecycle("response.failed", response)

    def incomplete(self, response: dict[str, Any]) -> list[Event]:
        return self._lifecycle("response.incomplete", response)

    def error(self, message: str, code: str | None = None, param: str | None = None) -> list[Event]:
        """The flat ``error`` event (not wrapped in ``{"error": ...}``: the SDK would raise on that)."""
        out: list[Event] = []
        self._emit(out, "error", code=code, message=message, param=param)
        return out

    # --- items -------------------------------------------------------------------------------------------

    def feed(self, event: items.ItemEvent) -> list[Event]:
        out: list[Event] = []
        match event:
            case items.ItemAdded():
                self._add(out, event.item)
            case items.PartAdded():
                self._part(out, self._get(event.item_id), event.index, event.part)
            case items.TextDelta():
                self._text(out, self._get(event.item_id), event.index, event.delta, event.logprobs)
            case items.CitationAdded():
                self._citation(out, self._get(event.item_id), event.index, event.citation)
            case items.PartDone():
                self._part_done(out, self._get(event.item_id), event.index, event.part)
            case items.ArgumentsDelta():
                self._arguments(out, self._get(event.item_id), event.delta)
            case items.CodeDelta():
                self._code(out, self._get(event.item_id), event.delta)
            case items.ToolPhase():
                self._phase(out, self._get(event.item_id), event.phase)
            case items.ItemDone():
                self._done(out, event.item)
        return out

    def item(self, item: items.Item) -> list[Event]:
        """A whole item as its full event sequence (added, parts or arguments, done)."""
        return self.feed(items.ItemDone(item))

    def _get(self, item_id: str) -> _Open:
        o = self._open.get(item_id)
        if o is None:
            raise ValueError(f"event for item {item_id!r} before its ItemAdded")
        if o.done:
            raise ValueError(f"event for item {item_id!r} after its ItemDone")
        return o

    def _ids(self, o: _Open) -> dict[str, Any]:
        return {"item_id": o.item.id, "output_index": o.index}

    def _add(self, out: list[Event], item: items.Item) -> _Open:
        if item.id in self._open:
            raise ValueError(f"item {item.id!r} added twice")
        o = _Open(self._next_index, _empty(item))
        self._next_index += 1
        self._open[item.id] = o
        self._emit(out, "response.output_item.added", output_index=o.index, item=item_json(o.item, self._include))
        if item.type in _IN_PROGRESS:
            self._emit(out, _IN_PROGRESS[item.type], **self._ids(o))
        return o

    def _part(self, out: list[Event], o: _Open, index: int, part: items.Part) -> _Part:
        if index in o.parts:
            raise ValueError(f"part {index} of {o.item.id!r} added twice")
        if o.item.type == "reasoning":
            p = o.parts[index] = _Part(len(o.parts), "summary")
            summary = {"type": "summary_text", "text": ""}
            self._emit(
                out, "response.reasoning_summary_part.added", **self._ids(o), summary_index=p.position, part=summary
            )
            return p
        kind = "refusal" if isinstance(part, items.RefusalPart) else "text"
        p = o.parts[index] = _Part(len(o.parts), kind)
        empty = items.RefusalPart("") if kind == "refusal" else items.TextPart("")
        self._emit(
            out, "response.content_part.added", **self._ids(o), content_index=p.position, part=output_part_json(empty)
        )
        return p

    def _open_part(self, out: list[Event], o: _Open, index: int) -> _Part:
        return o.parts[index] if index in o.parts else self._part(out, o, index, items.TextPart(""))

    def _text(
        self, out: list[Event], o: _Open, index: int, delta: str, logprobs: tuple[dict[str, Any], ...] = ()
    ) -> None:
        p = self._open_part(out, o, index)
        if not delta:
            return
        p.text.append(delta)
        if p.kind == "summary":
            self._emit(
                out, "response.reasoning_summary_text.delta", **self._ids(o), summary_index=p.position, delta=delta
            )
        elif p.kind == "refusal":
            self._emit(out, "response.refusal.delta", **self._ids(o), content_index=p.position, delta=delta)
        else:
            self._emit(
                out,
                "response.output_text.delta",
                **self._ids(o),
                content_index=p.position,
                delta=delta,
                logprobs=list(logprobs),
            )

    def _citation(self, out: list[Event], o: _Open, index: int, citation: items.Citation) -> None:
        p = self._open_part(out, o, index)
        self._emit(
            out,
            "response.output_text.annotation.added",
            **self._ids(o),
            content_index=p.position,
            annotation_index=p.annotations,
            annotation=annotation_json(citation),
        )
        p.annotations += 1

    def _part_done(self, out: list[Event], o: _Open, index: int, part: items.Part) -> None:
        p = self._open_part(out, o, index)
        if p.done:
            return
        if p.kind == "summary":
            text = part.text if isinstance(part, items.TextPart) else "".join(p.text)
            if not p.text and text:
                self._text(out, o, index, text)
            self._emit(out, "response.reasoning_summary_text.done", **self._ids(o), summary_index=p.position, text=text)
            summary = {"type": "summary_text", "text": text}
            self._emit(
                out, "response.reasoning_summary_part.done", **self._ids(o), summary_index=p.position, part=summary
            )
        elif p.kind == "refusal":
            refusal = part.refusal if isinstance(part, items.RefusalPart) else "".join(p.text)
            if not p.text and refusal:
                self._text(out, o, index, refusal)
            self._emit(out, "response.refusal.done", **self._ids(o), content_index=p.position, refusal=refusal)
            self._emit(
                out, "response.content_part.done", **self._ids(o), content_index=p.position, part=output_part_json(part)
            )
        else:
            assert isinstance(part, items.TextPart)
            if not p.text and part.text:
                self._text(out, o, index, part.text)
            for citation in part.citations[p.annotations :]:
                self._citation(out, o, index, citation)
            self._emit(
                out,
                "response.output_text.done",
                **self._ids(o),
                content_index=p.position,
                text=part.text,
                logprobs=list(part.logprobs),
            )
            self._emit(
                out, "response.content_part.done", **self._ids(o), content_index=p.position, part=output_part_json(part)
            )
        p.done = True

    def _arguments(self, out: list[Event], o: _Open, delta: str) -> None:
        if not delta:
            return
        o.streamed.append(delta)
        kind = (
            "response.mcp_call_arguments.delta"
            if o.item.type == "mcp_call"
            else "response.function_call_arguments.delta"
        )
        self._emit(out, kind, **self._ids(o), delta=delta)

    def _code(self, out: list[Event], o: _Open, delta: str) -> None:
        if delta:
            o.streamed.append(delta)
            self._emit(out, "response.code_interpreter_call_code.delta", **self._ids(o), delta=delta)

    def _once(self, o: _Open, step: str) -> bool:
        if step in o.steps:
            return False
        o.steps.add(step)
        return True

    def _streamed(self, o: _Open, final: str | None) -> str:
        """The final arguments or code: ``final`` when the item is done (streamed in one delta if nothing
        was), else what was streamed."""
        if final is None:
            return "".join(o.streamed)
        if not o.streamed and final:
            o.streamed.append(final)
            return final
        return final

    def _phase(self, out: list[Event], o: _Open, phase: str, final: items.Item | None = None) -> None:
        if phase == "searching" and self._once(o, "searching"):
            self._emit(out, "response.file_search_call.searching", **self._ids(o))
        elif phase == "interpreting" and o.item.type == "code_interpreter_call":
            if self._once(o, "code_done"):
                whole = final.code if isinstance(final, items.CodeInterpreterCallItem) else None
                was = len(o.streamed)
                code = self._streamed(o, whole)
                if was == 0 and o.streamed:
                    self._emit(out, "response.code_interpreter_call_code.delta", **self._ids(o), delta=code)
                self._emit(out, "response.code_interpreter_call_code.done", **self._ids(o), code=code)
            if self._once(o, "interpreting"):
                self._emit(out, "response.code_interpreter_call.interpreting", **self._ids(o))
        elif phase == "calling" and o.item.type == "mcp_call" and self._once(o, "args_done"):
            self._args_done(out, o, final.arguments if isinstance(final, items.McpCallItem) else None)

    def _args_done(self, out: list[Event], o: _Open, whole: str | None) -> None:
        was = len(o.streamed)
        arguments = self._streamed(o, whole)
        mcp = o.item.type == "mcp_call"
        if was == 0 and o.streamed:
            kind = "response.mcp_call_arguments.delta" if mcp else "response.function_call_arguments.delta"
            self._emit(out, kind, **self._ids(o), delta=arguments)
        if mcp:
            self._emit(out, "response.mcp_call_arguments.done", **self._ids(o), arguments=arguments)
        else:
            assert isinstance(o.item, items.FunctionCallItem)
            self._emit(
                out, "response.function_call_arguments.done", **self._ids(o), name=o.item.name, arguments=arguments
            )

    def _done(self, out: list[Event], item: items.Item) -> None:
        o = self._get(item.id) if item.id in self._open else self._add(out, item)
        if isinstance(item, items.MessageItem):
            for index, part in enumerate(item.parts):
                key = next((k for k, p in o.parts.items() if p.position == index), None)
                if key is None:
                    key = max(o.parts, default=-1) + 1
                    self._part(out, o, key, part)
                self._part_done(out, o, key, part)
        elif isinstance(item, items.ReasoningItem):
            for index, text in enumerate(item.summary):
                key = next((k for k, p in o.parts.items() if p.position == index), None)
                if key is None:
                    key = max(o.parts, default=-1) + 1
                    self._part(out, o, key, items.TextPart(""))
                self._part_done(out, o, key, items.TextPart(text))
        elif isinstance(item, items.FunctionCallItem):
            if self._once(o, "args_done"):
                self._args_done(out, o, item.arguments)
        elif isinstance(item, items.FileSearchCallItem):
            self._phase(out, o, "searching")
            if item.status != "failed":
                self._emit(out, "response.file_search_call.completed", **self._ids(o))
        elif isinstance(item, items.CodeInterpreterCallItem):
            self._phase(out, o, "interpreting", item)
            if item.status != "failed":
                self._emit(out, "response.code_interpreter_call.completed", **self._ids(o))
        elif isinstance(item, items.McpCallItem):
            self._phase(out, o, "calling", item)
            failed = item.status == "failed" or item.error is not None
            self._emit(out, "response.mcp_call.failed" if failed else "response.mcp_call.completed", **self._ids(o))
        elif isinstance(item, items.McpListToolsItem):
            failed = item.status == "failed" or item.error is not None
            kind = "response.mcp_list_tools.failed" if failed else "response.mcp_list_tools.completed"
            self._emit(out, kind, **self._ids(o))
        o.item = item
        o.done = True
        self._emit(out, "response.output_item.done", output_index=o.index, item=item_json(item, self._include))
