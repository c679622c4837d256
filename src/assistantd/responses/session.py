"""``ResponseRun``: the engine's session for a response (``RunSession``, see ``runs/session.py``).

Server-side tools (``file_search``; ``code_interpreter`` in the response's container) run through the
same ``Tool`` seam as for runs; their calls become output items, their results are shown to the model in
the next turn, and the answer is cited as it streams (``tools/_citations.Citer``, as for runs), so the
streamed text is the stored text.

Its input is the response's context (its ancestors' items along ``previous_response_id``, then its own
input); a turn becomes neutral output items, streamed as ``response.*`` events with sequence numbers by
``ResponseEvents``. Function calls end the response ``completed`` with ``function_call`` items in its output:
the client answers them in a next request, there is no ``requires_action``. The output is written with the
final state, in one transaction.

Background responses keep their events: in memory while they execute (``LiveEvents``, process-local, so a
``GET ?stream=true`` on this process replays and follows without a gap) and in ``response_events`` once
they end.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from assistantd import items
from assistantd.backends.base import (
    ChatMessage,
    FunctionSpec,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    TurnEnd,
    TurnEvent,
    TurnRequest,
    Usage,
)
from assistantd.backends.registry import Route
from assistantd.containers.service import Containers
from assistantd.errors import ApiError
from assistantd.ids import new_id
from assistantd.mcp.client import list_tools
from assistantd.mcp.flow import (
    approval_request,
    declined_output,
    known_listings,
    match_approvals,
    parse_specs,
    run_call,
)
from assistantd.mcp.functions import McpFunctions
from assistantd.mcp.functions import function_specs as mcp_function_specs
from assistantd.mcp.spec import McpLimits, McpServerSpec, needs_approval
from assistantd.responses.render import RequestEcho, ResponseError, ResponseView, response_json
from assistantd.responses.render import Usage as ResponseUsage
from assistantd.responses.stream import ResponseEvents
from assistantd.retrieval.extract import ExtractError, extract_text
from assistantd.runs.context import (
    ServerTools,
    TurnInput,
    data_url,
    function_specs,
    response_format_for,
    tool_choice_for,
)
from assistantd.runs.events import STREAM_END, RunEvent, RunEventLog
from assistantd.runs.outcomes import Completed, Failed, Incomplete, Outcome, RequiresAction, RunTools
from assistantd.runs.persist import RunWriter, now
from assistantd.runs.session import TurnPlayer as PlayerProtocol
from assistantd.runs.tokens import PER_MESSAGE_OVERHEAD, count_content
from assistantd.store import responses as store
from assistantd.store.blobs import BlobStore
from assistantd.store.db import Database
from assistantd.store.records import RunRecord
from assistantd.tools import _citations
from assistantd.tools.base import Annotated, Tool, ToolContext

log = logging.getLogger("assistantd.responses")

DEFAULT_COMPLETION_RESERVE = 4096


class LiveEvents:
    """The events of the background responses this process is executing, by response id (process-local)."""

    def __init__(self) -> None:
        self._logs: dict[str, list[dict[str, Any]]] = {}

    def open(self, response_id: str) -> list[dict[str, Any]]:
        return self._logs.setdefault(response_id, [])

    def get(self, response_id: str) -> list[dict[str, Any]] | None:
        return self._logs.get(response_id)

    def close(self, response_id: str) -> None:
        self._logs.pop(response_id, None)


def view_of(run: RunRecord, output: list[items.Item]) -> ResponseView:
    """The response as the renderer needs it, from its run record and output items."""
    options = run.options or {}
    usage = run.usage or None
    status = {"requires_action": "in_progress", "cancelling": "in_progress", "expired": "failed"}.get(
        run.status, run.status
    )
    error = run.last_error
    return ResponseView(
        id=run.id,
        created_at=run.created_at,
        model=run.model,
        status=status,  # type: ignore[arg-type]
        echo=RequestEcho(**options.get("echo", {})),
        output=output,
        usage=ResponseUsage(usage["prompt_tokens"], usage["completion_tokens"]) if usage else None,
        error=ResponseError(error["code"], error["message"]) if error else None,
        incomplete_reason="max_output_tokens" if run.incomplete_details else None,
        completed_at=run.completed_at,
    )


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

    def __init__(
        self, session: ResponseRun, hold: bool, server_names: frozenset[str], citer: _citations.Citer | None
    ) -> None:
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

    async def play(self, stream: AsyncIterator[TurnEvent]) -> PlayedResponseTurn:
        async for event in stream:
            if isinstance(event, TextDelta):
                self._text(event.text)
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

    def _text(self, text: str) -> None:
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
        if not self.hold:
            self._show(self.citer.feed(text) if self.citer else [_citations.Piece(text=text)])

    def _show(self, pieces: list[_citations.Piece]) -> None:
        message_id = self.result.message_id
        assert message_id is not None
        for piece in pieces:
            if piece.text:
                self._shown += piece.text
                self.s.feed(items.TextDelta(message_id, 0, piece.text))
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

    def close_message(self, status: items.ItemStatus) -> None:
        self.close_reasoning()
        r = self.result
        if not r.message_open:
            return
        r.message_open = False
        assert r.message_id is not None
        if self.hold:
            if status == "completed":  # validated; an answer that never passed is not output
                part = items.TextPart(r.text)
                self.s.feed_whole(items.MessageItem(r.message_id, "assistant", (part,), status))
            return
        if self.citer is not None:
            self._show(self.citer.finish())
        part = items.TextPart(self._shown, tuple(self._citations))
        self.s.feed(items.PartDone(r.message_id, 0, part))
        self.s.feed(items.ItemDone(items.MessageItem(r.message_id, "assistant", (part,), status)))

    def close_calls(self, status: items.ItemStatus) -> None:
        for call in self.result.calls or [self._calls[i] for i in sorted(self._calls)]:
            if call.announced:
                done = items.FunctionCallItem(call.item_id, call.id, call.name, call.arguments or "{}", status)
                self.s.feed(items.ItemDone(done))
                call.announced = False


class ResponseRun:
    def __init__(
        self,
        db: Database,
        events: RunEventLog,
        blobs: BlobStore,
        run: RunRecord,
        live: LiveEvents,
        containers: Containers | None = None,
        mcp_limits: McpLimits | None = None,
    ) -> None:
        self.db = db
        self.containers = containers
        self.mcp_limits = mcp_limits or McpLimits()
        self._mcp_specs: dict[str, McpServerSpec] = {}
        self._mcp = McpFunctions()
        self.blobs = blobs
        self.events = events
        self.live = live
        self.w = RunWriter(db, events, run)
        options = run.options or {}
        self.include = frozenset(options.get("include") or ())
        self.background = bool(options.get("background"))
        self.renderer = ResponseEvents(self.include)
        self.output: list[items.Item] = []
        self._log = live.open(run.id) if self.background else None
        self._turns: list[ChatMessage] = []
        """This response's own server-side calls and their results, as the model is shown them."""
        self._searches: list[dict[str, Any]] = []
        """Its file_search calls as the tool recorded them (what the answer is cited from)."""
        self._player: ResponsePlayer | None = None
        self._calls_made = 0
        """Built-in tool calls made so far (``max_tool_calls`` bounds them)."""

    @property
    def run(self) -> RunRecord:
        return self.w.run

    def stage(self, **values: Any) -> None:
        self.w.stage(**values)

    # --- publishing -----------------------------------------------------------------------------------

    def _publish(self, rendered: list[dict[str, Any]]) -> None:
        for event in rendered:
            if self._log is not None:
                self._log.append(event)
            self.events.publish(self.run.id, RunEvent(event["type"], event))

    def feed(self, event: items.ItemEvent) -> None:
        if isinstance(event, items.ItemDone):
            self.output.append(event.item)
        self._publish(self.renderer.feed(event))

    def feed_whole(self, item: items.Item) -> None:
        self.output.append(item)
        self._publish(self.renderer.item(item))

    def _json(self, status: str | None = None) -> dict[str, Any]:
        run = self.run if status is None else dataclasses.replace(self.run, status=status)
        return response_json(view_of(run, self.output), self.include)

    # --- the RunSession protocol ---------------------------------------------------------------------

    async def started(self) -> None:
        if self.background:
            self._publish(self.renderer.created(self._json("queued")))
            self._publish(self.renderer.queued(self._json("queued")))
        else:
            self._publish(self.renderer.created(self._json()))
        self._publish(self.renderer.in_progress(self._json()))

    def server_tools(self, registered: ServerTools) -> ServerTools:
        if not self._mcp.targets:
            return registered
        mcp = {
            name: (McpFunctionTool(spec), {"type": "mcp"})
            for name, spec in zip(self._mcp.targets, self._mcp.specs, strict=True)
        }
        return {**registered, **mcp}

    async def automatic_calls(self, server: ServerTools) -> None:
        """Before the first turn: list each MCP server's tools (unless the chain already holds a listing), and
        run the calls this request's ``mcp_approval_response`` items approve."""
        entries = [t for t in self.run.tools if t.get("type") == "mcp"]
        if not entries:
            return
        self._mcp_specs = parse_specs(entries, self.mcp_limits)
        async with self.db.read() as conn:
            stored = await store.context_items(conn, self.run.id)
            mine = await store.items_of(conn, self.run.id)
        context = [s.item for s in stored if s.item is not None]
        listings = known_listings(self._mcp_specs, context)
        for label, spec in self._mcp_specs.items():
            if label not in listings:
                listings[label] = await list_tools(spec, self.mcp_limits)
                self.feed_whole(listings[label])
        reserved = {t["function"]["name"] for t in self.run.tools if t.get("type") == "function"} | set(server)
        self._mcp = mcp_function_specs([listings[label] for label in self._mcp_specs], reserved=reserved)
        own = [s.item for s in mine if s.role == "input"]
        answers = [(i, a) for i, a in enumerate(own) if isinstance(a, items.McpApprovalResponseItem)]
        for request, response in match_approvals(context, answers):
            approved = self._mcp_specs.get(request.server_label)
            if approved is None:
                continue
            call_id = new_id("call")
            if response.approve:
                done = await run_call(
                    approved, request.name, request.arguments, self.mcp_limits, approval_request_id=request.id
                )
                self.feed_whole(done)
                output = done.output if done.error is None else f"Error: {done.error}"
            else:
                output = declined_output(response)
            self._turns += [
                ChatMessage("assistant", None, (ToolCall(call_id, request.name, request.arguments),)),
                ChatMessage("tool", output or "", tool_call_id=call_id),
            ]

    async def turn_input(self, route: Route, extra: tuple[ChatMessage, ...], server: ServerTools) -> TurnInput:
        run = self.run
        async with self.db.read() as conn:
            stored = await store.context_items(conn, run.id)
        messages = await chat_messages([s.item for s in stored if s.item is not None], self.blobs)
        messages += self._own_turns() + list(extra)
        response_format, hint = response_format_for(run, route)
        system = "\n\n".join(p for p in (run.instructions, hint) if p)
        head = [ChatMessage("system", system)] if system else []
        usage = run.usage or {}
        completion_left = (
            run.max_completion_tokens - usage.get("completion_tokens", 0) if run.max_completion_tokens else None
        )
        reserve = (
            completion_left
            if completion_left is not None
            else min(DEFAULT_COMPLETION_RESERVE, route.context_window // 4)
        )
        budget = route.context_window - reserve
        sizes = [count_content(m.content) + PER_MESSAGE_OVERHEAD for m in messages]
        fixed = sum(count_content(m.content) + PER_MESSAGE_OVERHEAD for m in head)
        total = fixed + sum(sizes)
        over = False
        if total > budget:
            if run.truncation_strategy.get("type") == "auto":
                drop = 0
                while total > budget and drop < len(messages) - 1:
                    total -= sizes[drop]
                    drop += 1
                messages = _without_orphans(messages[drop:])
            else:
                over = True
        tools = function_specs(run.tools) + [tool.function(entry) for tool, entry in server.values()]
        request = TurnRequest(
            model=run.model,
            messages=head + messages,
            tools=tools,
            tool_choice=tool_choice_for(run.tool_choice, server) if tools else None,
            parallel_tool_calls=run.parallel_tool_calls if tools else None,
            temperature=run.temperature,
            top_p=run.top_p,
            max_tokens=max(completion_left, 1) if completion_left is not None else None,
            response_format=response_format,
            reasoning_effort=run.reasoning_effort,
        )
        return TurnInput(request, total, over, completion_spent=completion_left is not None and completion_left <= 0)

    def _own_turns(self) -> list[ChatMessage]:
        return list(self._turns)

    def player(self, server: ServerTools) -> ResponsePlayer:
        fmt = self.run.response_format
        hold = isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema")
        found = _citations.sources(self._searches) if self._searches else []
        citer = _citations.Citer(found, insert=not hold) if found else None
        self._player = ResponsePlayer(self, hold, frozenset(server), citer)
        return self._player

    def citation(self, annotation: dict[str, Any]) -> items.Citation:
        """An Assistants-shaped ``file_citation`` from the citer → a neutral citation, with the file's name."""
        file_id = annotation["file_citation"]["file_id"]
        names = {
            r["file_id"]: r.get("file_name", "") for call in self._searches for r in call["file_search"]["results"]
        }
        return items.Citation(
            "file",
            file_id,
            annotation["start_index"],
            annotation["end_index"],
            annotation["text"],
            names.get(file_id, ""),
        )

    async def server_calls(self, player: PlayerProtocol, outcome: RunTools, server: ServerTools, usage: Usage) -> bool:
        """Run the turn's server-side calls as output items (``file_search_call``), and show the model their
        results in the next turn."""
        calls: list[ToolCall] = []
        results: list[ChatMessage] = []
        waiting = False
        limit = (self.run.options or {}).get("echo", {}).get("max_tool_calls")
        for _, call_id, name, arguments in outcome.server_calls:
            tool, entry = server[name]
            if limit is not None and self._calls_made >= limit:
                # max_tool_calls: a call past the limit is not made; the model is told to answer without it.
                output = f"Not run: this response may make at most {limit} built-in tool calls. Answer now."
                calls.append(ToolCall(call_id, name, json.dumps(arguments)))
                results.append(ChatMessage("tool", output, tool_call_id=call_id))
                continue
            self._calls_made += 1
            if tool.type == "mcp":
                answered = await self._mcp_call(name, call_id, arguments)
                if answered is None:
                    waiting = True
                    continue
                output = answered
            elif tool.type == "code_interpreter":
                output = await self._code(entry, call_id, arguments)
            else:
                _, output = tool.replay(await self._file_search(tool, entry, call_id, arguments))
            calls.append(ToolCall(call_id, name, json.dumps(arguments)))
            results.append(ChatMessage("tool", output, tool_call_id=call_id))
        if calls:
            self._turns += [ChatMessage("assistant", None, tuple(calls)), *results]
        return waiting

    async def _mcp_call(self, name: str, call_id: str, arguments: dict[str, Any]) -> str | None:
        """Call an MCP tool (an ``mcp_call`` item), or ask for approval first (an ``mcp_approval_request``
        item; None: the response ends waiting for the client's ``mcp_approval_response``)."""
        target = self._mcp.resolve(name)
        assert target is not None
        spec = self._mcp_specs[target.server_label]
        args = json.dumps(arguments)
        if needs_approval(spec, target.tool):
            self.feed_whole(approval_request(spec, target.tool.name, args))
            return None
        done = await run_call(
            spec, target.tool.name, args, self.mcp_limits, item_id="mcp_" + call_id.removeprefix("call_")
        )
        self.feed_whole(done)
        return done.output if done.error is None else f"Error: {done.error}"

    async def _file_search(
        self, tool: Tool, entry: dict[str, Any], call_id: str, arguments: dict[str, Any]
    ) -> dict[str, Any]:
        raw = arguments.get("queries") or arguments.get("query") or []
        queries = tuple(q for q in ([raw] if isinstance(raw, str) else raw) if isinstance(q, str))
        item_id = "fs_" + call_id.removeprefix("call_")
        self.feed(items.ItemAdded(items.FileSearchCallItem(item_id, call_id, queries, (), "in_progress")))
        self.feed(items.ToolPhase(item_id, "searching"))
        ctx = ToolContext(
            run=self.run, db=self.db, blobs=self.blobs, emit_delta=lambda body: None, include=self.include
        )
        recorded = await tool.call(ctx, call_id, arguments, entry)
        found = tuple(
            items.SearchResult(
                r["file_id"], r["file_name"], float(r["score"]), "".join(c["text"] for c in r["content"])
            )
            for r in recorded["file_search"]["results"]
        )
        self.feed(items.ItemDone(items.FileSearchCallItem(item_id, call_id, queries, found, "completed")))
        self._searches.append(recorded)
        return recorded

    async def _code(self, entry: dict[str, Any], call_id: str, arguments: dict[str, Any]) -> str:
        """Run the model's code in the response's container: a ``code_interpreter_call`` item (its outputs
        shown with ``include=["code_interpreter_call.outputs"]``), and the logs for the model."""
        code = str(arguments.get("code") or arguments.get("input") or "")
        container_id = str((entry.get("code_interpreter") or {}).get("container_id") or "")
        item_id = "ci_" + call_id.removeprefix("call_")
        self.feed(items.ItemAdded(items.CodeInterpreterCallItem(item_id, call_id, "", (), container_id, "in_progress")))
        if code:
            self.feed(items.CodeDelta(item_id, code))
        self.feed(items.ToolPhase(item_id, "interpreting"))
        outputs: tuple[items.CodeOutput, ...] = ()
        if self.containers is None:
            logs, status = "code_interpreter is not available on this server.", "failed"
        else:
            try:
                result = await self.containers.execute(container_id, code, param="tools")
            except ApiError as exc:  # the container expired or was deleted meanwhile: the model is told
                logs, status = exc.message, "failed"
            else:
                logs = result.logs
                outputs = (items.CodeOutput("logs", logs=result.logs),) if result.logs else ()
                outputs += tuple(items.CodeOutput("image", file_id=f.file_id) for f in result.images)
                status = "completed"
                if result.files:
                    saved = ", ".join(f.path for f in result.files)
                    logs = f"{logs}\n[files saved: {saved}]" if logs else f"[files saved: {saved}]"
        done = items.CodeInterpreterCallItem(item_id, call_id, code, outputs, container_id, status)  # type: ignore[arg-type]
        self.feed(items.ItemDone(done))
        return logs or "(no output)"

    async def wait_for_outputs(self, function_calls: list[dict[str, Any]]) -> None:
        if self._player is not None:
            self._player.close_message("completed")
            self._player.close_calls("completed")
        await self._end("completed")

    async def discard_answer(self, player: PlayerProtocol, usage: Usage) -> None:
        assert isinstance(player, ResponsePlayer)
        player.result.message_open = False  # held back, never shown: nothing to take back

    async def conclude(self, player: PlayerProtocol, outcome: Outcome, usage: Usage, server: ServerTools) -> None:
        assert isinstance(player, ResponsePlayer)
        if isinstance(outcome, RequiresAction):
            player.close_message("completed")
            player.close_calls("completed")
            await self._end("completed")
        elif isinstance(outcome, Completed):
            player.close_message("completed")
            await self._end("completed")
        else:
            await self.finish(player, "incomplete" if isinstance(outcome, Incomplete) else "failed", outcome)  # type: ignore[arg-type]

    async def finish(
        self, player: PlayerProtocol | None, status: str, outcome: Failed | Incomplete | None = None
    ) -> None:
        if isinstance(player, ResponsePlayer):
            player.close_message("incomplete")
            player.close_calls("incomplete")
        await self._end(status, outcome)

    def gone(self) -> None:
        self.events.publish(self.run.id, RunEvent(STREAM_END, {}))
        self.live.close(self.run.id)

    async def _end(self, status: str, outcome: Failed | Incomplete | None = None) -> None:
        ts = now()
        values: dict[str, Any] = {"status": status, "expires_at": None, "required_action": None}
        if status in ("completed", "incomplete"):
            values["completed_at"] = ts
        if status == "cancelled":
            values["cancelled_at"] = ts
        if status in ("failed", "expired"):
            values["status"] = "failed"
            values["failed_at"] = ts
            failure = outcome if isinstance(outcome, Failed) else Failed("server_error", "The response expired.")
            values["last_error"] = {"code": failure.code, "message": failure.message}
        if isinstance(outcome, Incomplete):
            values["incomplete_details"] = {"reason": outcome.reason}
        if self.run.usage is None:
            values["usage"] = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        output = [store.StoredItem(i.id, "output", i.type, store.item_data(i)) for i in self.output]
        run_id = self.run.id
        async with self.db.write() as conn:
            await store.add_items(conn, run_id, "output", output, ts)
        await self.w.update_run(None, finish_job=True, **values)
        final = self.run.status
        rendered: list[dict[str, Any]]
        if final == "completed":
            rendered = self.renderer.completed(self._json())
        elif final == "incomplete":
            rendered = self.renderer.incomplete(self._json())
        elif final == "failed":
            rendered = self.renderer.failed(self._json())
        else:
            rendered = []
        self._publish(rendered)
        if self._log is not None:
            async with self.db.write() as conn:
                await store.add_events(conn, run_id, self._log)
        self.live.close(run_id)
        self.events.publish(run_id, RunEvent(STREAM_END, {}))
        options = self.run.options or {}
        if options.get("store") is False and options.get("stream"):
            # Streamed and not to be stored: nothing is kept once the client has had it (a non-streamed one
            # is removed by the request that waits for it, after reading it).
            async with self.db.write() as conn:
                await store.delete_response(conn, run_id)
        if final == "failed":
            error = self.run.last_error or {}
            log.warning("response %s failed: %s: %s", run_id, error.get("code"), error.get("message"))


async def chat_messages(context: list[items.Item], blobs: BlobStore) -> list[ChatMessage]:
    """Neutral context items → chat-completions messages (reasoning and tool records the upstream cannot
    read are left out; consecutive function calls become one assistant message)."""
    out: list[ChatMessage] = []
    for item in context:
        if isinstance(item, items.MessageItem):
            out.append(ChatMessage(_role(item.role), await _content(item, blobs)))
        elif isinstance(item, items.FunctionCallItem):
            call = ToolCall(item.call_id, item.name, item.arguments)
            last = out[-1] if out else None
            if last is not None and last.role == "assistant" and last.tool_calls and not last.content:
                out[-1] = dataclasses.replace(last, tool_calls=(*last.tool_calls, call))
            else:
                out.append(ChatMessage("assistant", None, (call,)))
        elif isinstance(item, items.FunctionOutputItem):
            out.append(ChatMessage("tool", item.output, tool_call_id=item.call_id))
        elif isinstance(item, items.McpCallItem):
            output = item.output if item.error is None else f"Error: {item.error}"
            out.append(ChatMessage("assistant", None, (ToolCall(item.id, item.name, item.arguments),)))
            out.append(ChatMessage("tool", output or "", tool_call_id=item.id))
    return out


class McpFunctionTool:
    """An MCP server's tool as the engine's ``Tool`` seam sees it: only how it is offered (``function``);
    ``ResponseRun`` makes the calls. Process-local, rebuilt from the listing for each response."""

    type = "mcp"

    def __init__(self, spec: FunctionSpec) -> None:
        self.name = spec.name
        self._spec = spec

    def function(self, run_tool: dict[str, Any]) -> FunctionSpec:
        return self._spec

    def started(self, call_id: str) -> dict[str, Any]:
        return {}

    async def call(
        self, ctx: ToolContext, call_id: str, arguments: dict[str, Any], run_tool: dict[str, Any]
    ) -> dict[str, Any]:
        raise NotImplementedError("ResponseRun calls MCP tools itself")

    def replay(self, tool_call: dict[str, Any]) -> tuple[str, str]:
        raise NotImplementedError("MCP calls are replayed from their items")

    async def annotate(self, ctx: ToolContext, text: str, tool_calls: list[dict[str, Any]]) -> Annotated:
        return Annotated()


def _role(role: str) -> Any:
    return "system" if role in ("system", "developer") else role


async def _content(item: items.MessageItem, blobs: BlobStore) -> str | list[dict[str, Any]]:
    texts = [p.text for p in item.parts if isinstance(p, items.TextPart)]
    others = [p for p in item.parts if not isinstance(p, items.TextPart)]
    if not others or item.role == "assistant":
        return "".join(texts) if item.role == "assistant" else "\n".join(texts)
    parts: list[dict[str, Any]] = []
    for p in item.parts:
        if isinstance(p, items.TextPart):
            parts.append({"type": "text", "text": p.text})
        elif isinstance(p, items.ImagePart):
            url = p.url or (await data_url(blobs, p.file_id) if p.file_id else None)
            if url:
                image: dict[str, Any] = {"url": url}
                if p.detail in ("low", "high", "auto"):
                    image["detail"] = p.detail
                parts.append({"type": "image_url", "image_url": image})
        elif isinstance(p, items.RefusalPart):
            parts.append({"type": "text", "text": p.refusal})
        elif isinstance(p, items.FilePart):
            parts.append({"type": "text", "text": await _file_text(p, blobs)})
    return parts


MAX_FILE_CHARS = 200_000
"""Most characters of one ``input_file`` shown to the model (its head; the rest is cut with a note)."""


async def _file_text(part: items.FilePart, blobs: BlobStore) -> str:
    """An ``input_file`` as text the model reads: extracted like a vector store's files (pdf, docx, html...),
    off the event loop."""
    chunks: list[bytes] = []
    try:
        async for chunk in blobs.open(part.file_id):
            chunks.append(chunk)
    except FileNotFoundError:
        return f"[file {part.file_id} is no longer available]"
    name = part.filename or part.file_id
    try:
        text = await asyncio.to_thread(extract_text, b"".join(chunks), name)
    except ExtractError as exc:
        return f"[file {name} could not be read: {exc}]"
    if len(text) > MAX_FILE_CHARS:
        text = text[:MAX_FILE_CHARS] + f"\n[... {len(text) - MAX_FILE_CHARS} more characters not shown]"
    return f"[file {name}]\n{text}"


def _without_orphans(messages: list[ChatMessage]) -> list[ChatMessage]:
    """After truncation, a ``tool`` message whose call was dropped would be refused upstream: drop it too."""
    calls = {c.id for m in messages for c in m.tool_calls}
    return [m for m in messages if m.role != "tool" or m.tool_call_id in calls]
