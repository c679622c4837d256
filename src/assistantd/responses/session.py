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
import contextlib
import dataclasses
import json
import logging
import re
from typing import Any

import sqlalchemy as sa

from assistantd import items
from assistantd.backends.base import (
    ChatMessage,
    FunctionSpec,
    ToolCall,
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
from assistantd.observability import tracing
from assistantd.responses import conversation
from assistantd.responses.player import ResponsePlayer
from assistantd.responses.render import RequestEcho, ResponseError, ResponseView, response_json
from assistantd.responses.render import Usage as ResponseUsage
from assistantd.responses.stream import ResponseEvents
from assistantd.runs.context import (
    ServerTools,
    TurnInput,
    function_specs,
    merge_calls,
    response_format_for,
    tool_choice_for,
)
from assistantd.runs.events import STREAM_END, RunEvent, RunEventLog
from assistantd.runs.item_chat import chat_messages, without_orphans
from assistantd.runs.outcomes import Completed, Failed, Incomplete, Outcome, RequiresAction, RunTools
from assistantd.runs.persist import RunGone, RunWriter, now
from assistantd.runs.session import TurnPlayer as PlayerProtocol
from assistantd.runs.tokens import PER_MESSAGE_OVERHEAD, MessageTokens, count_content
from assistantd.store import responses as store
from assistantd.store.blobs import BlobStore
from assistantd.store.db import Conn, Database
from assistantd.store.records import RunRecord
from assistantd.tools import _citations
from assistantd.tools.base import Annotated, Tool, ToolContext

log = logging.getLogger("assistantd.responses")

EVENT_SAVE_SECONDS = 0.1
"""How long a background response's new events wait before they are written (a batch per interval)."""

CONVERSATION_TOKENS = MessageTokens()
"""Token counts of conversation items by item id, for this process (the item rows keep them too)."""

DEFAULT_COMPLETION_RESERVE = 4096
SANDBOX_LINK = re.compile(r"sandbox:(/mnt/data/[^\s)\]\"'<>]+)")
"""How an answer links a file the code wrote, as OpenAI's models write it."""


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
        self.quiet = not self.background and not options.get("stream")
        """Nobody follows its events (a plain create waits for the final one only): only that is rendered."""
        self._turns: list[ChatMessage] = []
        """This response's own server-side calls and their results, as the model is shown them."""
        self._searches: list[dict[str, Any]] = []
        """Its file_search calls as the tool recorded them (what the answer is cited from)."""
        self._player: ResponsePlayer | None = None
        self._calls_made = 0
        """Built-in tool calls made so far (``max_tool_calls`` bounds them)."""
        self._containers_used: list[str] = []
        self.conversation_id: str | None = options.get("conversation")
        self._counted: dict[str, int] = {}
        """Token counts of conversation items first counted by this response (saved with them at the end)."""
        self._log_ids: set[str] = set()
        top = int(((options.get("echo") or {}).get("top_logprobs")) or 0)
        wanted = "message.output_text.logprobs" in self.include or top > 0
        self._top_logprobs: int | None = top if wanted else None
        """Log probabilities to ask the upstream for (None: none), with this many alternatives per token."""
        self._saved = 0
        """How many of a background response's events are in the database (written as they happen, a batch at
        a time, so a process other than this one can replay them)."""
        self._saver: asyncio.Task[None] | None = None
        self._flushing = asyncio.Lock()

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
        if self._log is not None and rendered and self._saver is None:
            self._saver = asyncio.create_task(self._save_events())

    async def _save_events(self, delay: float = EVENT_SAVE_SECONDS) -> None:
        """Write the events published since the last write (one transaction per batch)."""
        await asyncio.sleep(delay)
        self._saver = None
        with contextlib.suppress(RunGone):  # deleted meanwhile: the engine learns it from its next write
            await self._flush_events()

    async def _flush_events(self) -> None:
        assert self._log is not None
        async with self._flushing:  # one writer at a time: no event is written twice
            batch = self._log[self._saved :]
            if not batch:
                return
            try:
                async with self.db.write() as conn:
                    await store.add_events(conn, self.run.id, batch)
            except sa.exc.IntegrityError:
                raise RunGone(self.run.id) from None  # the response was deleted while it ran
            self._saved += len(batch)

    def feed(self, event: items.ItemEvent) -> None:
        if isinstance(event, items.ItemDone):
            self.output.append(event.item)
        if not self.quiet:
            self._publish(self.renderer.feed(event))

    def feed_whole(self, item: items.Item) -> None:
        self.output.append(item)
        if not self.quiet:
            self._publish(self.renderer.item(item))

    def _json(self, status: str | None = None) -> dict[str, Any]:
        run = self.run if status is None else dataclasses.replace(self.run, status=status)
        return response_json(view_of(run, self.output), self.include)

    # --- the RunSession protocol ---------------------------------------------------------------------

    async def resume(self) -> None:
        """Nothing of a response's output is stored before it ends: it is taken again from its input, its
        events numbered on from the last one sent."""
        async with self.db.read() as conn:
            last = await store.last_sequence_number(conn, self.run.id)
        if last is not None:
            self.renderer.resume_after(last)

    async def started(self) -> None:
        if self.quiet:
            return
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
            stored = await self._context(conn)
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

    async def _context(self, conn: Conn) -> list[store.StoredItem]:
        """What the model sees before this response's own turns: its conversation's items (or its chain's),
        then its own input."""
        if self.conversation_id is None:
            return await store.context_items(conn, self.run.id)
        head = await conversation.context(conn, self.conversation_id)
        self._log_ids = {s.id for s in head}
        return head + [s for s in await store.items_of(conn, self.run.id) if s.id not in self._log_ids]

    async def _pieces(self, stored: list[store.StoredItem]) -> tuple[list[ChatMessage], list[int]]:
        """The context as chat messages with each one's prompt tokens; a conversation item's count is taken
        from the item (counted once, then kept with it) rather than tokenized again on every turn."""
        messages: list[ChatMessage] = []
        sizes: list[int] = []
        for s in stored:
            item = s.item
            if item is None:
                continue
            chat = await chat_messages([item], self.blobs)
            if not chat:
                continue
            logged = s.id in self._log_ids
            known = s.tokens if s.tokens is not None else CONVERSATION_TOKENS.get(s.id) if logged else None
            each = [count_content(m.content) + PER_MESSAGE_OVERHEAD for m in chat] if known is None else None
            if each is not None and logged and getattr(item, "status", "completed") != "in_progress":
                CONVERSATION_TOKENS.put(s.id, sum(each))
                self._counted[s.id] = sum(each)
            messages += chat
            sizes += each if each is not None else [known or 0] + [0] * (len(chat) - 1)
        return messages, sizes

    async def turn_input(self, route: Route, extra: tuple[ChatMessage, ...], server: ServerTools) -> TurnInput:
        run = self.run
        async with self.db.read() as conn:
            stored = await self._context(conn)
        messages, sizes = await self._pieces(stored)
        own = self._own_turns() + list(extra)
        messages += own
        sizes += [count_content(m.content) + PER_MESSAGE_OVERHEAD for m in own]
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
        fixed = sum(count_content(m.content) + PER_MESSAGE_OVERHEAD for m in head)
        total = fixed + sum(sizes)
        over = False
        if total > budget:
            if run.truncation_strategy.get("type") == "auto":
                drop = 0
                while total > budget and drop < len(messages) - 1:
                    total -= sizes[drop]
                    drop += 1
                messages = without_orphans(messages[drop:])
            else:
                over = True
        tools = function_specs(run.tools) + [tool.function(entry) for tool, entry in server.values()]
        request = TurnRequest(
            model=run.model,
            messages=head + merge_calls(messages),
            tools=tools,
            tool_choice=tool_choice_for(run.tool_choice, server) if tools else None,
            parallel_tool_calls=run.parallel_tool_calls if tools else None,
            temperature=run.temperature,
            top_p=run.top_p,
            max_tokens=max(completion_left, 1) if completion_left is not None else None,
            response_format=response_format,
            reasoning_effort=run.reasoning_effort,
            logprobs=self._top_logprobs is not None,
            top_logprobs=self._top_logprobs or None,
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
            with tracing.tool_call(self.run.kind, self.run.id, self.run.thread_id, name, call_id):
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
        self._containers_used.append(container_id)
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

    async def _cite_container_files(self, player: PlayerProtocol) -> None:
        """``sandbox:/mnt/data/...`` links in the answer to files the code wrote become
        ``container_file_citation`` annotations (after the text they cite, before the message ends)."""
        assert isinstance(player, ResponsePlayer)
        if not self._containers_used or self.containers is None or player.result.message_id is None:
            return
        for match in SANDBOX_LINK.finditer(player.shown):
            path = match.group(1)
            for container_id in self._containers_used:
                found = await self.containers.file_at_path(container_id, path)
                if found is not None:
                    citation = items.Citation(
                        "path",
                        found.id,
                        match.start(),
                        match.end(),
                        match.group(0),
                        path.rsplit("/", 1)[-1],
                        container_id,
                    )
                    player.add_citation(citation)
                    break

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
            await self._cite_container_files(player)
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

    async def interrupted(self) -> None:
        """The events sent since the last batch are stored now, not by a saver outliving the execution (and
        racing a resumption that numbers on from the last stored one)."""
        await self._stop_saver()
        if self._log is not None:
            with contextlib.suppress(Exception):
                await self._flush_events()

    async def _stop_saver(self) -> None:
        saver, self._saver = self._saver, None
        if saver is not None:
            saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await saver

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

        conversation_id = self.conversation_id if values["status"] in ("completed", "incomplete") else None
        counted = list(self._counted.items())

        async def add_output(conn: Conn) -> None:
            await store.add_items(conn, run_id, "output", output, ts)
            if conversation_id is not None:
                inputs = [s for s in await store.items_of(conn, run_id) if s.role == "input"]
                await conversation.append(conn, conversation_id, run_id, [*inputs, *output], ts, counted)

        async with self.w.batch():  # the output and the final state in one transaction
            await self.w.write(add_output)
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
            await self._stop_saver()
            await self._flush_events()
        self.live.close(run_id)
        self.events.publish(run_id, RunEvent(STREAM_END, {}))
        options = self.run.options or {}
        if options.get("store") is False and options.get("stream") and not options.get("socket"):
            # Streamed and not to be stored: nothing is kept once the client has had it (a non-streamed one
            # is removed by the request that waits for it, after reading it).
            async with self.db.write() as conn:
                await store.delete_response(conn, run_id)
        if final == "failed":
            error = self.run.last_error or {}
            log.warning("response %s failed: %s: %s", run_id, error.get("code"), error.get("message"))


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
