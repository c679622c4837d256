"""The run state machine: take model turns until the run completes, waits, or ends otherwise.

One engine for both APIs: an Assistants run and a response are two kinds of one run record, executed by
this loop through a ``RunSession`` (``runs/session.py``) that records turns in the API's own shapes.
Status transitions are decided here and nowhere else (``submit_tool_outputs`` and ``cancel`` only
request them through the queue and the cancel signal)::

    queued → in_progress → (requires_action → queued → in_progress)* →
        completed | incomplete | failed | cancelled | expired
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import jsonschema
from opentelemetry.trace import Span, StatusCode

from assistantd.backends.base import (
    ChatMessage,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    TurnEvent,
    TurnRequest,
    UpstreamError,
    Usage,
)
from assistantd.backends.registry import BackendRegistry, Route
from assistantd.observability import logs, metrics, tracing
from assistantd.runs.assistants import AssistantsRun
from assistantd.runs.context import ServerTools
from assistantd.runs.enforce import Guard
from assistantd.runs.events import RunEventLog
from assistantd.runs.objects import TERMINAL
from assistantd.runs.outcomes import Completed, Failed, Incomplete, Outcome, RequiresAction, RunAgain, RunTools
from assistantd.runs.persist import RunGone, begin, finish_job, now
from assistantd.runs.session import PlayedTurn, RunSession, TurnPlayer
from assistantd.runs.tokens import count_text
from assistantd.store import repos, usage
from assistantd.store.blobs import BlobStore
from assistantd.store.db import Database
from assistantd.store.records import RunRecord
from assistantd.tools.registry import ToolRegistry

log = logging.getLogger("assistantd.runs")

MAX_TURNS = 32
MAX_RESUMES = 3
"""A run whose executing process stopped this many times is failed rather than resumed again (whatever
stops them may be the run itself)."""


SessionFactory = Callable[[RunRecord], RunSession]


class RunEngine:
    def __init__(
        self,
        db: Database,
        events: RunEventLog,
        backends: BackendRegistry,
        blobs: BlobStore,
        tools: ToolRegistry | None = None,
        *,
        turn_timeout: float = 600.0,
    ) -> None:
        self.tools = tools or ToolRegistry()
        self.turn_timeout = turn_timeout
        self.db = db
        self.events = events
        self.backends = backends
        self.blobs = blobs
        self.sessions: dict[str, SessionFactory] = {
            "run": lambda run: AssistantsRun(db, events, blobs, run),
        }
        """How to execute each kind of run (``RunRecord.kind``): the Responses API adds ``response``."""
        self._cancels: dict[str, asyncio.Event] = {}
        self._expiring: set[str] = set()

    def session(self, run: RunRecord) -> RunSession:
        return self.sessions[run.kind](run)

    def request_cancel(self, run_id: str) -> None:
        """Interrupt the run if this process is executing it (others notice through the database)."""
        event = self._cancels.get(run_id)
        if event is not None:
            event.set()

    async def expire(self, run_id: str) -> None:
        """A run past ``expires_at`` → ``expired``: one executing here is interrupted (its upstream request
        closed, its open step expired); one queued or waiting for tool outputs is closed at once."""
        if run_id in self._cancels:
            self._expiring.add(run_id)
            self._cancels[run_id].set()
            return
        async with self.db.read() as conn:
            run = await repos.runs.get(conn, run_id)
        if run is None or run.status not in ("requires_action", "queued"):
            return
        s = self.session(run)
        await s.finish(None, "expired")
        if s.run.status in TERMINAL:
            metrics.current().run_finished(run.kind, s.run.status)

    async def execute(self, run_id: str, *, attempts: int = 0) -> None:
        """Advance ``run_id``; ``attempts`` is how many claims of its job came before this one."""
        # Registered before the run starts, so a cancel that lands at any point after is seen.
        cancel = self._cancels[run_id] = asyncio.Event()
        logged = logs.run_id.set(run_id)
        kind = "response" if run_id.startswith("resp_") else "run"
        attributes: dict[str, str | int] = {f"assistantd.{kind}_id": run_id, "assistantd.attempt": attempts}
        try:
            with tracing.tracer().start_as_current_span(f"assistantd.{kind}", attributes=attributes) as span:
                s = await self._execute(run_id, attempts, cancel, span)
                if s is not None:
                    span.set_attribute("assistantd.status", s.run.status)
                    if s.run.status in TERMINAL:
                        metrics.current().run_finished(s.run.kind, s.run.status)
                    if s.run.status == "failed":
                        span.set_status(StatusCode.ERROR)
        finally:
            logs.run_id.reset(logged)
            self._cancels.pop(run_id, None)
            self._expiring.discard(run_id)

    async def _execute(self, run_id: str, attempts: int, cancel: asyncio.Event, span: Span) -> RunSession | None:
        """Execute the run; the session it was executed with (None: the run is gone)."""
        before, started = await begin(self.db, run_id)
        if before is None:
            return None
        if tracing.enabled():
            span.set_attribute("assistantd.model", before.model)
            if before.thread_id:
                span.set_attribute("assistantd.thread_id", before.thread_id)
            if before.assistant_id:
                span.set_attribute("assistantd.assistant_id", before.assistant_id)
        s = self.session(before)
        resumed = started and before.status == "in_progress" and attempts > 0
        if not started:
            if before.status in TERMINAL or before.status == "requires_action":
                await finish_job(self.db, run_id)
            elif before.status == "cancelling" or before.cancel_requested:
                await s.finish(None, "cancelled")
            elif before.expires_at is not None and before.expires_at < now():
                await s.finish(None, "expired")
            return s
        if resumed:
            if attempts > MAX_RESUMES:
                failure = Failed(
                    "server_error",
                    f"The server executing this run stopped {attempts} times while it was in progress; "
                    "it was not resumed again.",
                )
                await s.finish(None, "failed", failure)
                return s
            log.info("run %s resumes after its process stopped (attempt %d)", run_id, attempts + 1)
            await s.resume()
        await s.started()
        try:
            await self._loop(s, cancel)
        except asyncio.CancelledError:
            await s.interrupted()
            raise
        except RunGone:
            log.info("run %s was deleted with its thread while executing", run_id)
            s.gone()  # streams following the run end as if it was cancelled: there is nothing left to follow
        except Exception:
            log.exception("run %s crashed", run_id)
            with contextlib.suppress(RunGone):
                await s.finish(None, "failed", Failed("server_error", "The server had an internal error."))
        return s

    async def _loop(self, s: RunSession, cancel: asyncio.Event) -> None:
        feedback: str | None = None
        rejected: str | None = None
        without_tools = False
        first = s.run.required_action is None and not s.run.usage  # the run's first turn, not a resumption
        if first:
            await s.automatic_calls(s.server_tools(self.tools.for_run(s.run.tools)))
        for turn in range(MAX_TURNS):
            if cancel.is_set():
                await s.finish(None, self._stop_status(s.run.id))
                return
            route = self.backends.resolve(s.run.model)
            if route is None:
                failure = Failed("invalid_prompt", f"No model upstream serves the model '{s.run.model}'.")
                await s.finish(None, "failed", failure)
                return
            server = s.server_tools(self.tools.for_run(s.run.tools))
            extra = ((ChatMessage("assistant", rejected),) if rejected else ()) + (
                (ChatMessage("user", feedback),) if feedback else ()
            )
            turn_input = await s.turn_input(route, extra, server)
            if turn_input.over_budget or turn_input.completion_spent:
                reason = "max_prompt_tokens" if turn_input.over_budget else "max_completion_tokens"
                await s.finish(None, "incomplete", Incomplete(reason))
                return
            request = _first_turn_only(turn_input.request, first)
            if without_tools:  # tool_choice "none" on an upstream that called tools anyway: offer none
                request = dataclasses.replace(request, tools=[], tool_choice=None, parallel_tool_calls=None)
            guard = Guard(request.tool_choice, request.parallel_tool_calls)
            player = s.player(server)
            with tracing.tracer().start_as_current_span("assistantd.model_turn") as span:
                try:
                    result = await _play(player, _stream(route, request, s.run.kind), guard, cancel, self.turn_timeout)
                except UpstreamError as exc:
                    span.set_status(StatusCode.ERROR, exc.message)
                    await s.finish(player, "failed", Failed(exc.code or "server_error", exc.message))
                    return
                if tracing.enabled():
                    _describe_turn(span, s.run, turn, request, result)
            if result is None:
                stopped = _usage(player.result, turn_input.prompt_tokens)
                s.stage(usage=_add_usage(s.run.usage, stopped))
                await self._account(s.run.model, stopped)
                await s.finish(player, self._stop_status(s.run.id))
                return
            turn_usage = _usage(result, turn_input.prompt_tokens)
            await self._account(s.run.model, turn_usage)
            s.stage(usage=_add_usage(s.run.usage, turn_usage))
            outcome = self._judge(s.run, result, guard, feedback is not None, server)
            if isinstance(outcome, RunTools):
                waiting = await s.server_calls(player, outcome, server, turn_usage)
                if outcome.function_calls or waiting:
                    await s.wait_for_outputs([c for _, c in outcome.function_calls])
                    return
                feedback, rejected, first = None, None, False
                continue
            if isinstance(outcome, RunAgain):
                await s.discard_answer(player, turn_usage)
                feedback = outcome.feedback
                rejected = outcome.rejected
                without_tools = guard.no_tools and guard.dropped_calls > 0
                continue
            await s.conclude(player, outcome, turn_usage, server)
            return
        await s.finish(None, "failed", Failed("server_error", f"The run took more than {MAX_TURNS} turns."))

    async def _account(self, model: str, turn: Usage) -> None:
        """One model request's tokens, for the project's usage (``/v1/organization/usage/completions``)."""
        async with self.db.write() as conn:
            await usage.record(conn, now(), model, turn.prompt_tokens, turn.completion_tokens)

    def _stop_status(self, run_id: str) -> str:
        return "expired" if run_id in self._expiring else "cancelled"

    def _judge(self, run: RunRecord, result: PlayedTurn, guard: Guard, retried: bool, server: ServerTools) -> Outcome:
        """Decide what the turn means. Garbage from the model fails the run with a readable error."""
        if result.finish_reason == "length":
            return Incomplete("max_completion_tokens")  # cut short: even tool arguments may be partial
        if guard.missed or (guard.no_tools and guard.dropped_calls and not result.text.strip()):
            wanted = "call a tool" if guard.missed else "answer in text without calling any tool"
            if retried:
                choice = json.dumps(run.tool_choice) if isinstance(run.tool_choice, dict) else run.tool_choice
                return Failed(
                    "server_error",
                    f"The model did not follow tool_choice {choice}: asked twice to {wanted}, it did not.",
                )
            return RunAgain(f"You must {wanted} now.")
        functions = {t["function"]["name"] for t in run.tools if t.get("type") == "function"}
        if result.calls:
            calls: list[tuple[int, dict[str, Any]]] = []
            ours: list[tuple[int, str, str, dict[str, Any]]] = []
            for position, c in enumerate(result.calls):
                if c.name not in functions and c.name not in server:
                    return Failed("server_error", f"The model called a tool the assistant does not have: '{c.name}'.")
                args = c.arguments.strip() or "{}"
                try:
                    parsed = json.loads(args)
                except ValueError:
                    parsed = None
                if (c.name in server and not isinstance(parsed, dict)) or parsed is None:
                    return Failed(
                        "server_error",
                        f"The model produced invalid JSON arguments for '{c.name}': {c.arguments[:200]!r}.",
                    )
                if c.name in server:
                    ours.append((position, c.id, c.name, parsed))
                else:
                    calls.append(
                        (position, {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": args}})
                    )
            if ours:
                return RunTools(ours, calls)
            return RequiresAction([c for _, c in calls])
        if not result.text.strip():
            return Failed("server_error", "The model returned an empty answer.")
        problem = _schema_problem(run.response_format, result.text)
        if problem is not None:
            if retried:
                return Failed(
                    "server_error", f"The model's answer does not match the response_format schema: {problem}"
                )
            return RunAgain(f"Your previous answer was not valid: {problem} Answer again with JSON only.", result.text)
        return Completed()


def _stream(route: Route, request: TurnRequest, kind: str) -> AsyncIterator[TurnEvent]:
    """The turn's upstream stream; timed to its first fragment when metrics are on."""
    stream = route.backend.stream(request)
    return _first_fragment_timed(stream, kind) if metrics.current().enabled else stream


async def _first_fragment_timed(stream: AsyncIterator[TurnEvent], kind: str) -> AsyncIterator[TurnEvent]:
    sent = time.perf_counter()
    waiting = True
    async with contextlib.aclosing(stream) as events:  # type: ignore[type-var]
        async for event in events:
            if waiting and isinstance(event, TextDelta | ToolCallDelta | ReasoningDelta):
                waiting = False
                metrics.current().first_token(kind, time.perf_counter() - sent)
            yield event


def _describe_turn(span: Span, run: RunRecord, turn: int, request: TurnRequest, result: PlayedTurn | None) -> None:
    span.set_attribute(f"assistantd.{run.kind}_id", run.id)
    span.set_attribute("assistantd.turn", turn)
    span.set_attribute("gen_ai.request.model", request.model)
    if run.thread_id:
        span.set_attribute("assistantd.thread_id", run.thread_id)
    if result is None:
        span.set_attribute("assistantd.turn.cancelled", True)
        return
    if result.finish_reason:
        span.set_attribute("gen_ai.response.finish_reasons", [result.finish_reason])
    if result.usage is not None:
        span.set_attribute("gen_ai.usage.input_tokens", result.usage.prompt_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", result.usage.completion_tokens)
    if result.calls:
        span.set_attribute("assistantd.turn.tool_calls", [c.name for c in result.calls])


async def _play(
    player: TurnPlayer, stream: AsyncIterator[TurnEvent], guard: Guard, cancel: asyncio.Event, deadline: float
) -> PlayedTurn | None:
    """Play one turn unless ``cancel`` fires first (then None), within ``deadline`` seconds. The turn's task
    never outlives this call, even when the worker itself is cancelled at shutdown: the upstream request is
    always closed."""
    task = asyncio.ensure_future(player.play(guard.filter(stream) if guard.active else stream))
    waiter = asyncio.ensure_future(cancel.wait())
    try:
        await asyncio.wait({task, waiter}, timeout=deadline, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        await _abandon(task)
        raise
    finally:
        waiter.cancel()
    if not task.done():
        await _abandon(task)
        if cancel.is_set():
            return None
        raise UpstreamError(f"The model upstream did not finish the turn within {deadline:g} s.")
    return task.result()


def _first_turn_only(request: TurnRequest, first: bool) -> TurnRequest:
    """A forced ``tool_choice`` applies to the run's first model turn only, as on OpenAI: later turns are
    ``auto``, or a forced call would be made again on every turn."""
    if first or not (request.tool_choice == "required" or isinstance(request.tool_choice, dict)):
        return request
    return dataclasses.replace(request, tool_choice="auto")


async def _abandon(task: asyncio.Future[PlayedTurn]) -> None:
    task.cancel()  # closes the upstream request
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


def _usage(result: PlayedTurn, prompt_tokens: int) -> Usage:
    if result.usage is not None and (result.usage.prompt_tokens or result.usage.completion_tokens):
        return result.usage
    completion = count_text(result.text) + sum(count_text(c.name) + count_text(c.arguments) for c in result.calls)
    return Usage(prompt_tokens, completion)


def _add_usage(current: dict[str, Any] | None, turn: Usage) -> dict[str, int]:
    prompt = (current or {}).get("prompt_tokens", 0) + turn.prompt_tokens
    completion = (current or {}).get("completion_tokens", 0) + turn.completion_tokens
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _schema_problem(response_format: Any, text: str) -> str | None:
    if not isinstance(response_format, dict) or response_format.get("type") not in (
        "json_object",
        "json_schema",
    ):
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        return f"it is not valid JSON ({exc})."
    schema = (response_format.get("json_schema") or {}).get("schema")
    if response_format["type"] == "json_schema" and schema:
        try:
            jsonschema.validate(value, schema)
        except jsonschema.ValidationError as exc:
            return f"{exc.message}."
    return None
