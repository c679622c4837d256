"""Runs and run steps: create (and create-thread-and-run), list, retrieve, modify, cancel, submit tool
outputs; steps list and retrieve. Streaming variants return the run's event stream."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import jsonschema

from assistantd.backends.registry import BackendRegistry
from assistantd.errors import InvalidRequest, NotFound
from assistantd.ids import new_id
from assistantd.organization.limits import enforce_indexing
from assistantd.runs.engine import RunEngine
from assistantd.runs.events import END_EVENTS, RunEvent, RunEventLog, RunStream
from assistantd.runs.objects import TERMINAL, run_to_wire, step_to_wire
from assistantd.runs.persist import RunWriter
from assistantd.runs.worker import WorkerPool
from assistantd.services import message_items
from assistantd.services._context import Context, WireObject, now
from assistantd.services._included import CONTENT_INCLUDE, IncludedStream
from assistantd.services._refs import check_id, indexed_file_ids, missing
from assistantd.services.messages import new_message_values
from assistantd.services.runs_guard import ensure_no_active_run
from assistantd.services.threads import insert_thread
from assistantd.services.threads import to_wire as thread_to_wire
from assistantd.store import jobs, repos
from assistantd.store import prompts as assistant_versions
from assistantd.store import runs as run_queries
from assistantd.store._crud import PageParams
from assistantd.store.db import Conn
from assistantd.store.records import AssistantRecord, RunRecord, RunStepRecord, ThreadRecord
from assistantd.wire.common import dump, list_page
from assistantd.wire.runs import RunCreate, RunModify, SubmitToolOutputs, ThreadAndRunCreate
from assistantd.wire.threads import ThreadCreate

EventStream = RunStream
ACTIVE = ("queued", "in_progress", "cancelling")
"""Statuses a poll helper may wait through."""


class Runs:
    def __init__(
        self,
        ctx: Context,
        engine: RunEngine,
        events: RunEventLog,
        workers: WorkerPool,
        backends: BackendRegistry,
    ) -> None:
        self.ctx = ctx
        self.engine = engine
        self.events = events
        self.workers = workers
        self.backends = backends

    # --- create ----------------------------------------------------------------------------------

    async def create_run(self, thread_id: str, req: RunCreate, *, run_id: str | None = None) -> WireObject:
        check_id("thread", thread_id, "thread_id")
        run_id = run_id or new_id("run")

        async def insert(conn: Conn) -> list[RunEvent]:
            thread = await repos.threads.get(conn, thread_id)
            if thread is None:
                raise missing("thread", thread_id, "thread_id")
            run = await self._insert_run(conn, run_id, thread, req, req.additional_instructions)
            for i, message in enumerate(req.additional_messages or []):
                values, resources = await new_message_values(conn, thread, message, f"additional_messages[{i}]")
                values["created_at"] = run.created_at
                await repos.messages.insert(conn, values)
                if resources is not None:  # each message's attachments add to what the previous ones made
                    thread = dataclasses.replace(thread, tool_resources=resources)
                    await repos.threads.update(conn, thread.id, {"tool_resources": resources})
            return _created_events(run)

        return await self._start(run_id, insert)

    async def stream_run(self, thread_id: str, req: RunCreate, include: Sequence[str] = ()) -> EventStream:
        return await self._subscribed(lambda run_id: self.create_run(thread_id, req, run_id=run_id), include)

    async def create_thread_and_run(self, req: ThreadAndRunCreate, *, run_id: str | None = None) -> WireObject:
        run_id = run_id or new_id("run")
        thread = req.thread or ThreadCreate()
        files = indexed_file_ids(thread.tool_resources, thread.messages or []) + indexed_file_ids(req.tool_resources)
        await enforce_indexing(self.ctx.db, self.ctx.settings, files)

        async def insert(conn: Conn) -> list[RunEvent]:
            thread = await insert_thread(conn, req.thread or ThreadCreate(), "thread", run_resources=req.tool_resources)
            run = await self._insert_run(conn, run_id, thread, req, None)
            return [RunEvent("thread.created", thread_to_wire(thread)), *_created_events(run)]

        return await self._start(run_id, insert)

    async def stream_thread_and_run(self, req: ThreadAndRunCreate, include: Sequence[str] = ()) -> EventStream:
        return await self._subscribed(lambda run_id: self.create_thread_and_run(req, run_id=run_id), include)

    async def _insert_run(
        self,
        conn: Conn,
        run_id: str,
        thread: ThreadRecord,
        req: RunCreate | ThreadAndRunCreate,
        additional: str | None,
    ) -> RunRecord:
        check_id("assistant", req.assistant_id, "assistant_id")
        assistant = await repos.assistants.get(conn, req.assistant_id)
        if assistant is None:
            raise NotFound(f"No assistant found with id '{req.assistant_id}'.", param="assistant_id")
        await ensure_no_active_run(conn, thread.id, for_message=False)
        values = self._run_values(run_id, thread, assistant, req, additional)
        values["options"] = {"assistant_version": await assistant_versions.latest_assistant_version(conn, assistant.id)}
        await repos.runs.insert(conn, values)
        await jobs.enqueue(conn, run_id, time.time())
        return RunRecord(**values)

    def _run_values(
        self,
        run_id: str,
        thread: ThreadRecord,
        assistant: AssistantRecord,
        req: RunCreate | ThreadAndRunCreate,
        additional: str | None,
    ) -> dict[str, Any]:
        given = req.model_fields_set
        model = req.model or assistant.model
        if self.backends.resolve(model) is None:
            raise InvalidRequest(
                f"The requested model '{model}' does not exist or no upstream serves it.",
                param="model" if req.model else "assistant_id",
                code="model_not_found",
            )
        tools = [dump(t) for t in req.tools] if req.tools is not None else assistant.tools
        tool_choice: Any = "auto"
        if req.tool_choice is not None:
            tool_choice = req.tool_choice if isinstance(req.tool_choice, str) else dump(req.tool_choice)
            check_tool_choice(tool_choice, tools)
        response_format: Any = assistant.response_format or "auto"
        if "response_format" in given and req.response_format is not None:
            response_format = req.response_format if isinstance(req.response_format, str) else dump(req.response_format)
        check_response_format(response_format)
        created = now()
        return {
            "id": run_id,
            "thread_id": thread.id,
            "assistant_id": assistant.id,
            "created_at": created,
            "status": "queued",
            "model": model,
            "instructions": req.instructions if req.instructions is not None else (assistant.instructions or ""),
            "tools": tools,
            "metadata": req.metadata or {},
            "started_at": None,
            "expires_at": created + self.ctx.settings.run_expiry_seconds,
            "cancelled_at": None,
            "failed_at": None,
            "completed_at": None,
            "required_action": None,
            "last_error": None,
            "incomplete_details": None,
            "usage": None,
            "temperature": req.temperature if req.temperature is not None else assistant.temperature,
            "top_p": req.top_p if req.top_p is not None else assistant.top_p,
            "max_prompt_tokens": req.max_prompt_tokens,
            "max_completion_tokens": req.max_completion_tokens,
            "truncation_strategy": dump(req.truncation_strategy)
            if req.truncation_strategy
            else {"type": "auto", "last_messages": None},
            "tool_choice": tool_choice,
            "parallel_tool_calls": True if req.parallel_tool_calls is None else req.parallel_tool_calls,
            "response_format": response_format,
            "reasoning_effort": req.reasoning_effort or assistant.reasoning_effort,
            "additional_instructions": additional,
            "cancel_requested": False,
        }

    # --- the start/stream plumbing -----------------------------------------------------------------

    async def _start(self, run_id: str, insert: Callable[[Conn], Awaitable[list[RunEvent]]]) -> WireObject:
        """Store the run and its job; when a worker slot is free, claim the job in the same transaction and
        start the run at once (else a worker claims it from the queue)."""

        def announce(events: list[RunEvent]) -> None:
            for event in events:
                self.events.publish(run_id, event)

        events = await self.workers.submit(run_id, insert, announce)
        return next(e.data for e in events if e.event == "thread.run.created")

    def _stream(self, run_id: str, include: Sequence[str]) -> EventStream:
        subscription = self.events.subscribe(run_id)
        if CONTENT_INCLUDE in include:
            return IncludedStream(subscription, self.ctx.db)
        return RunStream(subscription)

    async def _subscribed(self, start: Callable[[str], Awaitable[Any]], include: Sequence[str]) -> EventStream:
        """Subscribe to a new run's events *before* it can be claimed, then start it."""
        run_id = new_id("run")
        stream = self._stream(run_id, include)
        try:
            await start(run_id)
        except BaseException:
            stream.close()
            raise
        return stream

    # --- read, modify, cancel ----------------------------------------------------------------------

    async def _get(self, conn: Conn, thread_id: str, run_id: str) -> RunRecord:
        check_id("thread", thread_id, "thread_id")
        check_id("run", run_id, "run_id")
        run = await repos.runs.get(conn, run_id)
        if run is None or run.thread_id != thread_id:
            if await repos.threads.get(conn, thread_id) is None:
                raise missing("thread", thread_id, "thread_id")
            raise missing("run", run_id, "run_id")
        return run

    async def retrieve_run(self, thread_id: str, run_id: str, *, poll_helper: bool = False) -> WireObject:
        """The run. For the SDK's poll helpers (``X-Stainless-Poll-Helper: true``) an active run is answered
        once it stops or waits, or after ``poll_wait_ms``: the helper then needs one poll, not many."""
        wait = poll_helper and self.ctx.settings.poll_wait_ms > 0
        with self.events.subscribe(run_id) if wait else contextlib.nullcontext() as queue:
            async with self.ctx.db.read() as conn:
                run = await self._get(conn, thread_id, run_id)
            if queue is not None and run.status in ACTIVE:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.ctx.settings.poll_wait_ms / 1000):
                        while (await queue.get()).event not in END_EVENTS:
                            pass
                async with self.ctx.db.read() as conn:
                    run = await self._get(conn, thread_id, run_id)
        if run.status == "requires_action" and run.expires_at is not None and run.expires_at < now():
            await self.engine.expire(run_id)
            async with self.ctx.db.read() as conn:
                run = await self._get(conn, thread_id, run_id)
        return run_to_wire(run)

    async def list_runs(self, thread_id: str, page: PageParams) -> WireObject:
        check_id("thread", thread_id, "thread_id")
        async with self.ctx.db.read() as conn:
            records, has_more = await repos.runs.page(conn, page, {"thread_id": thread_id})
            if not records and await repos.threads.get(conn, thread_id) is None:
                raise missing("thread", thread_id, "thread_id")
        return list_page([run_to_wire(r) for r in records], has_more)

    async def modify_run(self, thread_id: str, run_id: str, req: RunModify) -> WireObject:
        async with self.ctx.db.write() as conn:
            run = await self._get(conn, thread_id, run_id)
            if "metadata" in req.model_fields_set:
                await repos.runs.update(conn, run_id, {"metadata": req.metadata or {}})
                run = await self._get(conn, thread_id, run_id)
        return run_to_wire(run)

    async def cancel_run(self, thread_id: str, run_id: str) -> WireObject:
        async with self.ctx.db.write() as conn:
            run = await self._get(conn, thread_id, run_id)
            if run.status in TERMINAL or run.status == "cancelling":
                raise InvalidRequest(f"Cannot cancel run with status '{run.status}'.", param="run_id")
            await repos.runs.update(conn, run_id, {"status": "cancelling", "cancel_requested": True})
            await jobs.request_cancel(conn, run_id)
            if run.status == "requires_action":
                await jobs.enqueue(conn, run_id, time.time())
            # A run no worker holds (queued, or waiting for outputs) is closed here rather than when a worker
            # frees up; one that is executing is interrupted through the engine.
            claimed = await self.workers.claim(conn, run_id)
            run = await self._get(conn, thread_id, run_id)
        self.events.publish(run_id, RunEvent("thread.run.cancelling", run_to_wire(run)))
        if claimed:
            await self.workers.execute_claimed(run_id)
        else:
            self.engine.request_cancel(run_id)
        return run_to_wire(run)

    # --- tool outputs ------------------------------------------------------------------------------

    async def submit_tool_outputs(self, thread_id: str, run_id: str, req: SubmitToolOutputs) -> WireObject:
        async with self.ctx.db.read() as conn:
            run = await self._get(conn, thread_id, run_id)
        if run.status == "requires_action" and run.expires_at is not None and run.expires_at < now():
            await self.engine.expire(run_id)
            raise InvalidRequest(f"Run {run_id} has expired and can no longer accept tool outputs.", param="run_id")
        async with self.ctx.db.write() as conn:
            await repos.runs.lock(conn, run_id)  # concurrent submissions apply once
            run = await self._get(conn, thread_id, run_id)
            if run.status != "requires_action" or not run.required_action:
                raise InvalidRequest(f'Runs in status "{run.status}" do not accept tool outputs.', param="run_id")
            expected = [c["id"] for c in run.required_action["submit_tool_outputs"]["tool_calls"]]
            outputs = _check_outputs(req, expected)
            step = await _waiting_step(conn, run_id)
            details = dict(step.step_details)
            details["tool_calls"] = [
                {
                    **c,
                    "function": {
                        **c["function"],
                        "output": outputs.get(c["id"], c["function"].get("output")),
                    },
                }
                if c.get("type") == "function"
                else c
                for c in details.get("tool_calls") or []
            ]
            usage = step.usage or await _waiting_step_usage(conn, run, step.id)
            step = dataclasses.replace(step, step_details=details, status="completed", completed_at=now(), usage=usage)
            await repos.run_steps.update(
                conn,
                step.id,
                {"step_details": details, "status": "completed", "completed_at": step.completed_at, "usage": usage},
            )
            # The calls and their outputs join the thread's item log (a conversation shows them in order).
            await message_items.append_calls(conn, run, details["tool_calls"], step.completed_at or now())
            await repos.runs.update(conn, run_id, {"status": "queued", "required_action": None})
            await jobs.enqueue(conn, run_id, time.time())
            run = await self._get(conn, thread_id, run_id)
        writer = RunWriter(self.ctx.db, self.events, run)
        writer.emit("thread.run.step.completed", step_to_wire(step))
        writer.emit("thread.run.queued", run_to_wire(run))
        self.workers.notify()
        return run_to_wire(run)

    async def stream_submit_tool_outputs(
        self, thread_id: str, run_id: str, req: SubmitToolOutputs, include: Sequence[str] = ()
    ) -> EventStream:
        check_id("run", run_id, "run_id")
        stream = self._stream(run_id, include)
        try:
            await self.submit_tool_outputs(thread_id, run_id, req)
        except BaseException:
            stream.close()
            raise
        return stream

    # --- steps -------------------------------------------------------------------------------------

    async def list_run_steps(self, thread_id: str, run_id: str, page: PageParams, include: list[str]) -> WireObject:
        async with self.ctx.db.read() as conn:
            await self._get(conn, thread_id, run_id)
            records, has_more = await repos.run_steps.page(conn, page, {"run_id": run_id})
        inc = frozenset(include)
        return list_page([step_to_wire(s, inc) for s in records], has_more)

    async def retrieve_run_step(self, thread_id: str, run_id: str, step_id: str, include: list[str]) -> WireObject:
        check_id("step", step_id, "step_id")
        async with self.ctx.db.read() as conn:
            await self._get(conn, thread_id, run_id)
            step = await repos.run_steps.get(conn, step_id)
        if step is None or step.run_id != run_id:
            raise missing("step", step_id, "step_id")
        return step_to_wire(step, frozenset(include))


def _created_events(run: RunRecord) -> list[RunEvent]:
    wire = run_to_wire(run)
    return [RunEvent("thread.run.created", wire), RunEvent("thread.run.queued", wire)]


async def _waiting_step(conn: Conn, run_id: str) -> RunStepRecord:
    for step in reversed(await run_queries.steps_of_run(conn, run_id)):
        if step.type == "tool_calls" and step.status == "in_progress":
            return step
    raise InvalidRequest(f"Run {run_id} has no tool calls waiting for outputs.", param="run_id")


def _check_outputs(req: SubmitToolOutputs, expected: list[str]) -> dict[str, str]:
    outputs: dict[str, str] = {}
    for i, out in enumerate(req.tool_outputs):
        if out.tool_call_id not in expected:
            raise InvalidRequest(
                f"No tool call found with id '{out.tool_call_id}'. Expected one of: {', '.join(expected)}.",
                param=f"tool_outputs[{i}].tool_call_id",
            )
        if out.tool_call_id in outputs:
            raise InvalidRequest(
                f"Duplicate tool output for tool call '{out.tool_call_id}'.",
                param=f"tool_outputs[{i}].tool_call_id",
            )
        outputs[out.tool_call_id] = out.output
    absent = [c for c in expected if c not in outputs]
    if absent:
        raise InvalidRequest(
            f"Expected tool outputs for call_ids {expected}, got {list(outputs)}. Submit the "
            f"outputs of every tool call in one request; missing: {', '.join(absent)}.",
            param="tool_outputs",
        )
    return outputs


def check_tool_choice(choice: Any, tools: list[dict[str, Any]]) -> None:
    """A forced ``tool_choice`` must name a tool the run has (tools and choice in the engine's shapes)."""
    if not isinstance(choice, dict):
        return
    if choice["type"] == "function":
        name = choice["function"]["name"]
        if not any(t.get("type") == "function" and t["function"]["name"] == name for t in tools):
            raise InvalidRequest(
                f"Invalid value for 'tool_choice': no function named '{name}' is among the tools.",
                param="tool_choice",
            )
    elif not any(t.get("type") == choice["type"] for t in tools):
        raise InvalidRequest(
            f"Invalid value for 'tool_choice': the '{choice['type']}' tool is not enabled.",
            param="tool_choice",
        )


def check_response_format(
    fmt: Any, *, field: str = "response_format", param: str = "response_format.json_schema.schema"
) -> None:
    """A json_schema response format must carry a valid JSON Schema (``field``/``param`` name it as the
    calling API does: ``text.format`` on the Responses API)."""
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return
    schema = (fmt.get("json_schema") or {}).get("schema")
    if schema is None:
        return
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise InvalidRequest(
            f"Invalid schema for {field} '{fmt['json_schema'].get('name')}': {exc.message}.",
            param=param,
        ) from None


async def _waiting_step_usage(conn: Conn, run: RunRecord, step_id: str) -> dict[str, int] | None:
    """The usage of a step that waited for tool outputs (null while it waited): what the run used that its
    other steps do not account for."""
    if not run.usage:
        return None
    others = [s.usage or {} for s in await run_queries.steps_of_run(conn, run.id) if s.id != step_id]
    prompt = max(0, run.usage.get("prompt_tokens", 0) - sum(u.get("prompt_tokens", 0) for u in others))
    completion = max(0, run.usage.get("completion_tokens", 0) - sum(u.get("completion_tokens", 0) for u in others))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
