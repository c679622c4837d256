"""The Responses API's use cases: create (JSON, SSE or background), retrieve (and replay), delete, cancel,
input items, input tokens. A response is a run record of kind ``response`` executed by the same engine,
queue and workers as Assistants runs (``responses/session.py`` records it)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncGenerator, Collection, Sequence
from typing import Any

from assistantd import items
from assistantd.backends.registry import BackendRegistry
from assistantd.containers.service import Containers
from assistantd.conversations.lookup import get_conversation
from assistantd.errors import InvalidRequest, NotFound
from assistantd.ids import new_id
from assistantd.mcp.flow import match_approvals, parse_specs
from assistantd.mcp.spec import McpLimits
from assistantd.prompts.resolve import apply_prompt
from assistantd.responses import compaction, conversation, protocol
from assistantd.responses._entries import ForeignInput, ItemReference
from assistantd.responses._tools import CodeInterpreterTool, FileSearchTool, FunctionTool, McpTool
from assistantd.responses.render import RequestEcho, item_json, response_json
from assistantd.responses.session import LiveEvents, view_of
from assistantd.runs.engine import RunEngine
from assistantd.runs.events import END_EVENTS, STREAM_END, RunEvent, RunEventLog, RunStream
from assistantd.runs.item_chat import chat_messages
from assistantd.runs.objects import TERMINAL
from assistantd.runs.tokens import PER_MESSAGE_OVERHEAD, count_content
from assistantd.runs.worker import WorkerPool
from assistantd.services._context import Context, WireObject, now
from assistantd.services.runs import check_response_format, check_tool_choice
from assistantd.store import jobs, repos
from assistantd.store import responses as store
from assistantd.store import vector_stores as vs
from assistantd.store.db import Conn
from assistantd.store.records import RunRecord
from assistantd.wire.common import list_page

DEFAULT_MAX_NUM = 100
REPLAY_POLL_SECONDS = 0.1
"""How often a replay of a response running elsewhere looks for its new events."""
REPLAY_END_GRACE = 20
"""Polls a replay waits, once the response has ended, for its last events before it stops."""


class Responses:
    def __init__(
        self,
        ctx: Context,
        engine: RunEngine,
        events: RunEventLog,
        workers: WorkerPool,
        backends: BackendRegistry,
        live: LiveEvents,
        containers: Containers | None = None,
    ) -> None:
        self.ctx = ctx
        self.containers = containers
        self.mcp_limits = McpLimits.from_settings(ctx.settings)
        self.engine = engine
        self.events = events
        self.workers = workers
        self.backends = backends
        self.live = live

    # --- create --------------------------------------------------------------------------------------

    async def create(self, req: protocol.CreateResponse, socket: str | None = None) -> WireObject | RunStream:
        """The response when it is done (or queued, for ``background``), or its event stream (``stream``).
        ``socket`` names the WebSocket connection it came on: a ``store: false`` response is kept for that
        connection alone (``responses/socket.py``)."""
        response_id = new_id("response")
        async with self.ctx.db.read() as conn:
            values, entries = await self._prepare(conn, response_id, req, socket)
        if req.stream:
            stream = RunStream(self.events.subscribe(response_id))
            try:
                await self._start(values, entries)
            except BaseException:
                stream.close()
                raise
            return stream
        if req.background:
            await self._start(values, entries)
            return await self.retrieve(response_id, req.include or ())
        final: WireObject | None = None
        with self.events.subscribe(response_id) as queue:
            await self._start(values, entries)
            while (event := await queue.get()).event != STREAM_END:
                if event.event in END_EVENTS:
                    final = event.data["response"]  # the whole response, as rendered for this request
        body = final if final is not None else await self._render(response_id, req.includes)
        if not req.store:
            async with self.ctx.db.write() as conn:
                await store.delete_response(conn, response_id)
        return body

    async def _prepare(
        self, conn: Conn, response_id: str, req: protocol.CreateResponse, socket: str | None = None
    ) -> tuple[dict[str, Any], list[store.StoredItem]]:
        """Check the request against what exists (nothing is stored by a rejected request) and build the run
        record and the input items."""
        req = await apply_prompt(conn, req)
        if not req.model:
            raise InvalidRequest("Missing required parameter: 'model'.", param="model")
        if self.backends.resolve(req.model) is None:
            raise InvalidRequest(
                f"The requested model '{req.model}' does not exist or no upstream serves it.",
                param="model",
                code="model_not_found",
            )
        for i, tool in enumerate(req.tools):
            if isinstance(tool, FileSearchTool):
                for j, store_id in enumerate(tool.vector_store_ids):
                    if await vs.stores.get(conn, store_id) is None:
                        raise NotFound(
                            f"Vector store with id '{store_id}' not found.", param=f"tools[{i}].vector_store_ids[{j}]"
                        )
            elif isinstance(tool, CodeInterpreterTool):
                if self.containers is None:
                    raise InvalidRequest("code_interpreter is not available on this server.", param=f"tools[{i}]")
                if isinstance(tool.container, str):
                    await self.containers.usable(tool.container, param=f"tools[{i}].container")
            elif isinstance(tool, McpTool) and tool.runnable:
                pass  # checked with the others below
            elif tool.runnable and not isinstance(tool, FunctionTool):
                raise InvalidRequest(
                    f"The '{tool.type}' tool is not supported on the Responses API yet.", param=f"tools[{i}]"
                )
        conversation_id = req.conversation_id
        if conversation_id is not None:
            await get_conversation(conn, conversation_id, param="conversation")
            context = await conversation.context(conn, conversation_id)
        else:
            context = await _context(conn, req.previous_response_id, socket)
        entries = stored_entries(await named_files(conn, req.entries()), context)
        if conversation_id is not None:
            await conversation.check_boundary(conn, conversation_id, entries)
        _check_outputs(entries, context)
        if conversation_id is not None:
            conversation.check_answered(context, entries)
        raw_tools = [t.model_dump(mode="json", exclude_none=True) if t.runnable else {} for t in req.tools]
        parse_specs(raw_tools, self.mcp_limits)
        neutral = [s.item for s in (*context, *entries) if s.item is not None]
        answers = [(i, s.item) for i, s in enumerate(entries) if isinstance(s.item, items.McpApprovalResponseItem)]
        match_approvals(neutral, answers)
        tools = [t for t in req.runnable_tools() if isinstance(t, EngineTool)]
        engine_tools = [_engine_tool(t, None) for t in tools]
        check_tool_choice(_chat_tool_choice(req), engine_tools)
        check_response_format(_chat_response_format(req), field="text.format", param="text.format.schema")
        containers = await self._containers(req)  # last: a rejected request makes none
        echo = RequestEcho.of(req, container_ids=containers)
        values = _run_values(
            response_id, req, tools, echo, {id(t): containers[i] for i, t in enumerate(req.tools) if i in containers}
        )
        if socket is not None and not req.store:
            values["options"]["socket"] = socket
        if req.truncation == "disabled":
            route = self.backends.resolve(req.model)
            assert route is not None
            neutral = [s.item for s in (*context, *entries) if s.item is not None]
            tokens = sum(
                count_content(m.content) + PER_MESSAGE_OVERHEAD for m in await chat_messages(neutral, self.ctx.blobs)
            )
            if tokens > route.context_window:
                raise InvalidRequest(
                    f"Your input exceeds the context window of this model ({tokens} > {route.context_window} "
                    "tokens). Shorten it, or set truncation to 'auto'.",
                    param="input",
                    code="context_length_exceeded",
                )
        return values, entries

    async def _containers(self, req: protocol.CreateResponse) -> dict[int, str]:
        """The container of each code_interpreter tool, by the tool's index: the one it names, or a new one
        for ``{"type": "auto"}`` (with its ``file_ids`` copied in)."""
        out: dict[int, str] = {}
        for i, tool in enumerate(req.tools):
            if isinstance(tool, CodeInterpreterTool) and self.containers is not None:
                if isinstance(tool.container, str):
                    out[i] = tool.container
                else:
                    out[i] = await self.containers.ensure_auto(
                        tool.container.file_ids,
                        tool.container.memory_limit,
                        param=f"tools[{i}].container.",
                    )
        return out

    async def _start(self, values: dict[str, Any], entries: list[store.StoredItem]) -> None:
        """Store the response, its input and its job, and start it (``WorkerPool.submit``)."""
        response_id = values["id"]

        async def write(conn: Conn) -> None:
            await repos.runs.insert(conn, values)
            await store.add_items(conn, response_id, "input", entries, values["created_at"])
            await jobs.enqueue(conn, response_id, time.time(), _container_of(values["tools"]))

        await self.workers.submit(response_id, write)

    # --- read ----------------------------------------------------------------------------------------

    async def _get(self, conn: Conn, response_id: str) -> RunRecord:
        run = await repos.runs.get(conn, response_id)
        if run is None or run.kind != "response" or _socket_of(run) is not None:
            # A WebSocket's store:false response is kept for its connection only: not stored, as far as
            # anyone else can tell.
            raise NotFound(f"Response with id '{response_id}' not found.", param="response_id")
        return run

    async def _render(self, response_id: str, include: Collection[str]) -> WireObject:
        async with self.ctx.db.read() as conn:
            run = await self._get(conn, response_id)
            stored = await store.items_of(conn, response_id)
        output = [s.item for s in stored if s.role == "output" and s.item is not None]
        return response_json(view_of(run, output), include)

    async def retrieve(self, response_id: str, include: Sequence[str] = ()) -> WireObject:
        return await self._render(response_id, include)

    async def replay(self, response_id: str, starting_after: int | None) -> AsyncGenerator[RunEvent, None]:
        """A background response's events after ``starting_after`` (all of them when None), then, while it
        runs, the rest as they come."""
        async with self.ctx.db.read() as conn:
            run = await self._get(conn, response_id)
        if not (run.options or {}).get("background"):
            raise InvalidRequest(
                "Only background responses can be streamed again: create it with background=true.",
                param="stream",
            )
        after = -1 if starting_after is None else starting_after
        return self._replay(response_id, after)

    async def _replay(self, response_id: str, after: int) -> AsyncGenerator[RunEvent, None]:
        with self.events.subscribe(response_id) as queue:
            live = self.live.get(response_id)
            if live is None:
                # Another process runs it, or it has not started: its events come from the database, where
                # they are written as they happen.
                async for event in self._poll(response_id, after):
                    yield event
                return
            seen = list(live)  # taken in the same step as the subscription: nothing falls between
            last = -1
            for stored_event in seen:
                last = stored_event["sequence_number"]
                if last > after:
                    yield RunEvent(stored_event["type"], stored_event)
            while True:
                event = await queue.get()
                if event.event == STREAM_END:
                    return
                if event.data.get("sequence_number", last + 1) > max(after, last):
                    yield event
                if event.event in END_EVENTS:
                    return

    async def _poll(self, response_id: str, after: int) -> AsyncGenerator[RunEvent, None]:
        last = after
        grace = REPLAY_END_GRACE  # a response's final state is written just before its last events
        while True:
            async with self.ctx.db.read() as conn:
                found = await store.events_of(conn, response_id, last)
                run = await repos.runs.get(conn, response_id)
            for stored_event in found:
                last = stored_event["sequence_number"]
                yield RunEvent(stored_event["type"], stored_event)
                if stored_event["type"] in END_EVENTS:
                    return
            if run is None:
                return
            if run.status in TERMINAL and not found:
                grace -= 1
                if grace <= 0:
                    return
            await asyncio.sleep(REPLAY_POLL_SECONDS)

    async def forget(self, response_id: str) -> None:
        """Remove a WebSocket's ``store: false`` response (evicted from its connection, or the connection
        closed); a stored response is left alone."""
        async with self.ctx.db.write() as conn:
            run = await repos.runs.get(conn, response_id)
            if run is not None and _socket_of(run) is not None and run.status in TERMINAL:
                await store.delete_response(conn, response_id)

    async def delete(self, response_id: str) -> WireObject:
        async with self.ctx.db.write() as conn:
            run = await self._get(conn, response_id)
            if run.status not in TERMINAL:
                await repos.runs.update(conn, response_id, {"cancel_requested": True})
                await jobs.request_cancel(conn, response_id)
            await store.delete_response(conn, response_id)
        self.engine.request_cancel(response_id)
        return {"id": response_id, "object": "response", "deleted": True}

    async def cancel(self, response_id: str) -> WireObject:
        async with self.ctx.db.write() as conn:
            run = await self._get(conn, response_id)
            if not (run.options or {}).get("background"):
                raise InvalidRequest("Only background responses can be cancelled.", param="response_id")
            if run.status in TERMINAL:
                raise InvalidRequest(f"Cannot cancel a response with status '{run.status}'.", param="response_id")
            await repos.runs.update(conn, response_id, {"status": "cancelling", "cancel_requested": True})
            await jobs.request_cancel(conn, response_id)
            claimed = await self.workers.claim(conn, response_id)
        with self.events.subscribe(response_id) as queue:
            if claimed:
                await self.workers.execute_claimed(response_id)
            else:
                self.engine.request_cancel(response_id)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(10):
                        while (await queue.get()).event not in END_EVENTS:
                            pass
        return await self._render(response_id, ())

    async def input_items(
        self, response_id: str, *, after: str | None, limit: int, order: str, include: Sequence[str]
    ) -> WireObject:
        async with self.ctx.db.read() as conn:
            await self._get(conn, response_id)
            stored = [s for s in await store.items_of(conn, response_id) if s.role == "input"]
        if order == "desc":
            stored.reverse()
        if after is not None:
            ids = [s.id for s in stored]
            if after not in ids:
                raise InvalidRequest(f"No item with id '{after}' in this response's input.", param="after")
            stored = stored[ids.index(after) + 1 :]
        page, has_more = stored[:limit], len(stored) > limit
        data = [stored_json(s, include) for s in page]
        return list_page(data, has_more)

    async def compact(self, req: protocol.CompactRequest) -> WireObject:
        """The context (``previous_response_id``'s chain, then ``input``) compacted: the user's messages and
        one compaction item holding the model's summary of the rest (``compaction.py``). Nothing is stored."""
        route = self.backends.resolve(req.model)
        if route is None:
            raise InvalidRequest(
                f"The requested model '{req.model}' does not exist or no upstream serves it.",
                param="model",
                code="model_not_found",
            )
        async with self.ctx.db.read() as conn:
            context = await _context(conn, req.previous_response_id)
            entries = stored_entries(await named_files(conn, req.entries()), context)
        neutral = [s.item for s in (*context, *entries) if s.item is not None]
        if not neutral:
            raise InvalidRequest("There is nothing to compact: give 'input' or 'previous_response_id'.", param="input")
        summary, usage = await compaction.summarize(route, req.model, req.instructions, neutral)
        output = [item_json(i) for i in compaction.compacted(neutral, summary)]
        return {
            "id": new_id("response"),
            "object": "response.compaction",
            "created_at": now(),
            "output": output,
            "usage": {
                "input_tokens": usage.prompt_tokens,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": usage.completion_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": usage.prompt_tokens + usage.completion_tokens,
            },
        }

    async def input_tokens(self, req: protocol.InputTokensRequest) -> WireObject:
        async with self.ctx.db.read() as conn:
            context = await _context(conn, req.previous_response_id)
        entries = stored_entries(await named_files(conn, req.entries()), context)
        neutral = [s.item for s in (*context, *entries) if s.item is not None]
        messages = await chat_messages(neutral, self.ctx.blobs)
        tokens = sum(count_content(m.content) + PER_MESSAGE_OVERHEAD for m in messages)
        if req.instructions:
            tokens += count_content(req.instructions) + PER_MESSAGE_OVERHEAD
        return {"object": "response.input_tokens", "input_tokens": tokens}


# --- helpers ------------------------------------------------------------------------------------------


async def named_files(conn: Conn, entries: list[protocol.InputEntry]) -> list[protocol.InputEntry]:
    """Input files and images by ``file_id`` must exist (a 404 naming them); a file gets its filename, which
    says how to read it."""
    out: list[protocol.InputEntry] = []
    for i, entry in enumerate(entries):
        if isinstance(entry, items.MessageItem):
            parts: list[items.Part] = []
            for j, part in enumerate(entry.parts):
                file_id = part.file_id if isinstance(part, items.FilePart | items.ImagePart) else None
                if file_id:
                    record = await repos.files.get(conn, file_id)
                    if record is None:
                        raise NotFound(f"No such File object: {file_id}", param=f"input[{i}].content[{j}].file_id")
                    if isinstance(part, items.FilePart) and not part.filename:
                        part = dataclasses.replace(part, filename=record.filename)
                parts.append(part)
            entry = dataclasses.replace(entry, parts=tuple(parts))
        out.append(entry)
    return out


async def _context(conn: Conn, previous_response_id: str | None, socket: str | None = None) -> list[store.StoredItem]:
    """The items a response continuing ``previous_response_id`` sees (none without one). A ``store: false``
    response made on a WebSocket is found only on that connection."""
    if previous_response_id is None:
        return []
    parent = await repos.runs.get(conn, previous_response_id)
    if parent is None or parent.kind != "response" or _socket_of(parent) not in (None, socket):
        raise InvalidRequest(
            f"Previous response with id '{previous_response_id}' not found.",
            param="previous_response_id",
            code="previous_response_not_found",
        )
    return await store.context_items(conn, parent.id)


def stored_entries(
    entries: Sequence[protocol.InputEntry], context: Sequence[store.StoredItem]
) -> list[store.StoredItem]:
    """Input entries as rows: references resolved against the context, foreign items kept as sent."""
    by_id = {s.id: s for s in context}
    out: list[store.StoredItem] = []
    for i, entry in enumerate(entries):
        if isinstance(entry, ItemReference):
            found = by_id.get(entry.id) or next((s for s in out if s.id == entry.id), None)
            if found is None:
                raise InvalidRequest(f"Item with id '{entry.id}' not found.", param=f"input[{i}].id")
            out.append(store.StoredItem(found.id, "input", found.type, found.data))
        elif isinstance(entry, ForeignInput):
            raw = dict(entry.raw)
            item_id = str(raw.get("id") or protocol.new_item_id("item_"))
            out.append(store.StoredItem(item_id, "input", entry.type, {"kind": store.FOREIGN, "raw": raw}))
        else:
            out.append(store.StoredItem(entry.id, "input", entry.type, store.item_data(entry)))
    return out


def _check_outputs(entries: Sequence[store.StoredItem], context: Sequence[store.StoredItem]) -> None:
    """A ``function_call_output`` must answer a ``function_call`` the conversation holds (an upstream would
    refuse the history otherwise)."""
    calls: set[str] = set()
    for i, s in enumerate([*context, *entries]):
        item = s.item
        if isinstance(item, items.FunctionCallItem):
            calls.add(item.call_id)
        elif isinstance(item, items.FunctionOutputItem) and item.call_id not in calls:
            index = i - len(context)
            raise InvalidRequest(
                f"No tool call found for function call output with call_id {item.call_id}.",
                param=f"input[{index}]" if index >= 0 else "previous_response_id",
            )


def stored_json(s: store.StoredItem, include: Sequence[str]) -> dict[str, Any]:
    if s.data.get("kind") == store.FOREIGN:
        return dict(s.data["raw"])
    item = s.item
    assert item is not None
    return item_json(item, include)


EngineTool = FunctionTool | FileSearchTool | CodeInterpreterTool | McpTool


def _socket_of(run: RunRecord) -> str | None:
    socket = (run.options or {}).get("socket")
    return str(socket) if socket is not None else None


def _run_values(
    response_id: str,
    req: protocol.CreateResponse,
    tools: list[EngineTool],
    echo: RequestEcho,
    containers: dict[int, str],
) -> dict[str, Any]:
    """The run record of a response: the engine's fields in the engine's (chat) shapes, and what only
    responses have in ``options``."""
    created = now()
    response_format = _chat_response_format(req)
    return {
        "id": response_id,
        "thread_id": None,
        "assistant_id": "",
        "created_at": created,
        "status": "queued",
        "model": req.model,
        "instructions": req.instructions or "",
        "tools": [_engine_tool(t, containers.get(id(t))) for t in tools],
        "metadata": req.metadata or {},
        "started_at": None,
        "expires_at": None,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "required_action": None,
        "last_error": None,
        "incomplete_details": None,
        "usage": None,
        "temperature": req.temperature,
        "top_p": req.top_p,
        "max_prompt_tokens": None,
        "max_completion_tokens": req.max_output_tokens,
        "truncation_strategy": {"type": "auto" if req.truncation == "auto" else "disabled", "last_messages": None},
        "tool_choice": _chat_tool_choice(req),
        "parallel_tool_calls": req.parallel_tool_calls,
        "response_format": response_format,
        "reasoning_effort": req.reasoning.effort if req.reasoning is not None else None,
        "additional_instructions": None,
        "cancel_requested": False,
        "kind": "response",
        "options": {
            "echo": dataclasses.asdict(echo),
            "include": sorted(req.includes),
            "previous_response_id": req.previous_response_id,
            "conversation": req.conversation_id,
            "store": req.store,
            "background": req.background,
            "stream": req.stream,
        },
    }


def _container_of(tools: list[dict[str, Any]]) -> str | None:
    """The container a response's code runs in, if any (its job goes to the process holding its session)."""
    for tool in tools:
        container = (
            (tool.get("code_interpreter") or {}).get("container_id") if tool.get("type") == "code_interpreter" else None
        )
        if isinstance(container, str):
            return container
    return None


def _engine_tool(tool: EngineTool, container_id: str | None) -> dict[str, Any]:
    """A Responses tool as the engine's run records hold tools (the Assistants shape)."""
    if isinstance(tool, CodeInterpreterTool):
        return {"type": "code_interpreter", "code_interpreter": {"container_id": container_id}}
    if isinstance(tool, McpTool):
        return tool.model_dump(mode="json", exclude_none=True)  # ResponseRun parses it again with its limits
    if isinstance(tool, FunctionTool):
        return {
            "type": "function",
            "function": {
                "name": tool.name,
                "description": tool.description,
                "parameters": tool.parameters,
                "strict": tool.is_strict,
            },
        }
    options = tool.model_dump(mode="json", exclude_none=True, exclude={"type"})
    return {"type": "file_search", "file_search": options}


def _chat_response_format(req: protocol.CreateResponse) -> Any:
    """``text.format`` as the engine's runs hold ``response_format`` (nested ``json_schema``)."""
    fmt = req.text.format if req.text is not None else None
    if fmt is not None and fmt.type == "json_object":
        return {"type": "json_object"}
    if fmt is not None and fmt.type == "json_schema":
        dumped = fmt.model_dump(mode="json", by_alias=True, exclude_none=True)
        spec = {k: v for k, v in dumped.items() if k in ("name", "schema", "strict", "description")}
        return {"type": "json_schema", "json_schema": spec}
    return "auto"


def _chat_tool_choice(req: protocol.CreateResponse) -> Any:
    """Responses' ``tool_choice`` as chat completions takes it."""
    choice = protocol.tool_choice_value(req)
    if isinstance(choice, dict) and choice.get("type") == "function" and "name" in choice:
        return {"type": "function", "function": {"name": choice["name"]}}
    if isinstance(choice, dict) and choice.get("type") in ("file_search", "code_interpreter"):
        return {"type": choice["type"]}  # the engine names the function it is offered as
    if isinstance(choice, dict):
        return "auto"  # an allowed_tools set or a tool not offered here yet
    return choice
