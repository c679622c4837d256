"""The run state machine: take model turns until the run completes, waits, or ends otherwise.

Status transitions are written here and nowhere else (``submit_tool_outputs`` and ``cancel`` only
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
from collections.abc import AsyncIterator
from typing import Any

import jsonschema

from assistantd.backends.base import ChatMessage, TurnEvent, TurnRequest, UpstreamError, Usage
from assistantd.backends.registry import BackendRegistry, Route
from assistantd.runs.context import ServerTools, TurnInput, build_turn
from assistantd.runs.enforce import Guard
from assistantd.runs.events import RunEventLog
from assistantd.runs.objects import TERMINAL, run_to_wire
from assistantd.runs.outcomes import Completed, Failed, Incomplete, Outcome, RequiresAction, RunAgain, RunTools
from assistantd.runs.persist import RunGone, RunWriter, begin, now, stamp_at
from assistantd.runs.server_tools import annotate_answer, run_automatic_calls, run_server_calls
from assistantd.runs.tokens import count_text
from assistantd.runs.turn import TurnPlayer, TurnResult
from assistantd.store import repos
from assistantd.store import runs as run_queries
from assistantd.store.blobs import BlobStore
from assistantd.store.db import Database
from assistantd.tools.registry import ToolRegistry

log = logging.getLogger("assistantd.runs")

MAX_TURNS = 32


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
        self._cancels: dict[str, asyncio.Event] = {}
        self._expiring: set[str] = set()

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
        await self._finish(RunWriter(self.db, self.events, run), None, "expired")

    async def execute(self, run_id: str, *, recovered: bool = False) -> None:
        # Registered before the run starts, so a cancel that lands at any point after is seen.
        cancel = self._cancels[run_id] = asyncio.Event()
        try:
            await self._execute(run_id, recovered, cancel)
        finally:
            self._cancels.pop(run_id, None)
            self._expiring.discard(run_id)

    async def _execute(self, run_id: str, recovered: bool, cancel: asyncio.Event) -> None:
        run, started = await begin(self.db, run_id, recovered)
        if run is None:
            return
        w = RunWriter(self.db, self.events, run)
        if not started:
            if run.status in TERMINAL or run.status == "requires_action":
                await w.update_run(finish_job=True)
            elif run.status == "cancelling" or run.cancel_requested:
                await self._finish(w, None, "cancelled")
            elif run.expires_at is not None and run.expires_at < now():
                await self._finish(w, None, "expired")
            else:
                failure = Failed(
                    "server_error", "The server stopped while this run was in progress; the run was not resumed."
                )
                await self._finish(w, None, "failed", failure)
            return
        w.emit("thread.run.in_progress", run_to_wire(run))
        try:
            await self._loop(w, cancel)
        except RunGone:
            log.info("run %s was deleted with its thread while executing", run_id)
            # Streams following the run end as if it was cancelled: there is nothing left to follow.
            gone = dataclasses.replace(w.run, status="cancelled", cancelled_at=now(), expires_at=None)
            w.emit("thread.run.cancelled", run_to_wire(gone))
        except Exception:
            log.exception("run %s crashed", run_id)
            with contextlib.suppress(RunGone):
                await self._finish(w, None, "failed", Failed("server_error", "The server had an internal error."))

    async def _loop(self, w: RunWriter, cancel: asyncio.Event) -> None:
        feedback: str | None = None
        rejected: str | None = None
        without_tools = False
        first = w.run.required_action is None and not w.run.usage  # the run's first turn, not a resumption
        if first:
            await run_automatic_calls(w, self.tools.for_run(w.run.tools), self.db, self.blobs)
        for _ in range(MAX_TURNS):
            if cancel.is_set():
                await self._finish(w, None, self._stop_status(w.run.id))
                return
            route = self.backends.resolve(w.run.model)
            if route is None:
                failure = Failed("invalid_prompt", f"No model upstream serves the model '{w.run.model}'.")
                await self._finish(w, None, "failed", failure)
                return
            server = self.tools.for_run(w.run.tools)
            turn_input = await self._turn_input(w, route, feedback, rejected, server)
            if turn_input.over_budget or turn_input.completion_spent:
                reason = "max_prompt_tokens" if turn_input.over_budget else "max_completion_tokens"
                await self._finish(w, None, "incomplete", Incomplete(reason))
                return
            request = _first_turn_only(turn_input.request, first)
            if without_tools:  # tool_choice "none" on an upstream that called tools anyway: offer none
                request = dataclasses.replace(request, tools=[], tool_choice=None, parallel_tool_calls=None)
            guard = Guard(request.tool_choice, request.parallel_tool_calls)
            player = TurnPlayer(w, frozenset(server))
            try:
                result = await _play(player, route.backend.stream(request), guard, cancel, self.turn_timeout)
            except UpstreamError as exc:
                await self._finish(w, player, "failed", Failed(exc.code or "server_error", exc.message))
                return
            if result is None:
                w.stage(usage=_add_usage(w.run.usage, _usage(player.result, turn_input.prompt_tokens)))
                await self._finish(w, player, self._stop_status(w.run.id))
                return
            turn_usage = _usage(result, turn_input.prompt_tokens)
            w.stage(usage=_add_usage(w.run.usage, turn_usage))
            outcome = self._judge(w, result, guard, feedback is not None, server)
            if isinstance(outcome, RunTools):
                await run_server_calls(w, player, outcome, server, self.db, self.blobs, _usage_json(turn_usage))
                if outcome.function_calls:
                    await self._wait_for_outputs(w, [c for _, c in outcome.function_calls])
                    return
                feedback, rejected, first = None, None, False
                continue
            if isinstance(outcome, RunAgain):
                if result.message is not None and result.message.status == "in_progress":
                    # Streams see the rejected answer end; the thread keeps only the answer that passes.
                    await player.close_message(_usage_json(turn_usage))
                    assert player.result.message is not None
                    await w.discard(player.result.message, player.result.message_step)
                feedback = outcome.feedback
                rejected = outcome.rejected
                without_tools = guard.no_tools and guard.dropped_calls > 0
                continue
            async with w.batch():
                await self._conclude(w, player, outcome, turn_usage, server)
            return
        await self._finish(w, None, "failed", Failed("server_error", f"The run took more than {MAX_TURNS} turns."))

    def _stop_status(self, run_id: str) -> str:
        return "expired" if run_id in self._expiring else "cancelled"

    async def _turn_input(
        self, w: RunWriter, route: Route, feedback: str | None, rejected: str | None, server: ServerTools
    ) -> TurnInput:
        async with self.db.read() as conn:
            history = await run_queries.thread_messages(conn, w.run.thread_id)
            steps = await run_queries.steps_of_run(conn, w.run.id)
        usage = w.run.usage or {}
        return await build_turn(
            w.run,
            history,
            steps,
            route,
            self.blobs,
            extra=((ChatMessage("assistant", rejected),) if rejected else ())
            + ((ChatMessage("user", feedback),) if feedback else ()),
            prompt_used=usage.get("prompt_tokens", 0),
            completion_used=usage.get("completion_tokens", 0),
            server=server,
        )

    async def _wait_for_outputs(self, w: RunWriter, function_calls: list[dict[str, Any]]) -> None:
        await w.update_run(
            "thread.run.requires_action",
            finish_job=True,
            status="requires_action",
            required_action={"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": function_calls}},
        )
        if w.run.status == "cancelled":  # a cancel landed while the turn ran: its waiting step ends with it
            await self._close_leftovers(w, "cancelled", None, now(), set())

    async def _conclude(
        self, w: RunWriter, player: TurnPlayer, outcome: Outcome, turn_usage: Usage, server: ServerTools
    ) -> None:
        """Apply the turn's final outcome: wait for tool outputs, or end the run."""
        result = player.result
        step_usage = _usage_json(turn_usage)
        if isinstance(outcome, RequiresAction):
            assert result.tool_step is not None
            details = {
                "type": "tool_calls",
                "tool_calls": [
                    {"id": c["id"], "type": "function", "function": {**c["function"], "output": None}}
                    for c in outcome.tool_calls
                ],
            }
            # The step's usage stays null while it waits; submit_tool_outputs gives it what the run used that
            # its other steps do not account for.
            result.tool_step = dataclasses.replace(result.tool_step, step_details=details, usage=None)
            await w.save_step(result.tool_step, None)
            await self._wait_for_outputs(w, outcome.tool_calls)
        elif isinstance(outcome, Completed):
            if result.message is not None and result.message.status == "in_progress":
                content = await annotate_answer(w, player, server, self.db, self.blobs)
                await player.close_message(step_usage, content=content)
            await self._finish(w, player, "completed")
        elif isinstance(outcome, Incomplete):
            await self._finish(w, player, "incomplete", outcome, step_usage)
        else:
            assert isinstance(outcome, Failed)
            await self._finish(w, player, "failed", outcome, step_usage)

    def _judge(self, w: RunWriter, result: TurnResult, guard: Guard, retried: bool, server: ServerTools) -> Outcome:
        """Decide what the turn means. Garbage from the model fails the run with a readable error."""
        if result.finish_reason == "length":
            return Incomplete("max_completion_tokens")  # cut short: even tool arguments may be partial
        if guard.missed or (guard.no_tools and guard.dropped_calls and not result.text.strip()):
            wanted = "call a tool" if guard.missed else "answer in text without calling any tool"
            if retried:
                choice = json.dumps(w.run.tool_choice) if isinstance(w.run.tool_choice, dict) else w.run.tool_choice
                return Failed(
                    "server_error",
                    f"The model did not follow tool_choice {choice}: asked twice to {wanted}, it did not.",
                )
            return RunAgain(f"You must {wanted} now.")
        functions = {t["function"]["name"] for t in w.run.tools if t.get("type") == "function"}
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
        problem = _schema_problem(w.run.response_format, result.text)
        if problem is not None:
            if retried:
                return Failed(
                    "server_error", f"The model's answer does not match the response_format schema: {problem}"
                )
            return RunAgain(f"Your previous answer was not valid: {problem} Answer again with JSON only.", result.text)
        return Completed()

    async def _finish(
        self,
        w: RunWriter,
        player: TurnPlayer | None,
        status: str,
        outcome: Failed | Incomplete | None = None,
        step_usage: dict[str, int] | None = None,
    ) -> None:
        """End the run: close what the turn left open, then write the terminal run state."""
        ts = now()
        result = player.result if player else None
        if result is not None and result.message is not None and result.message.status == "in_progress":
            reason = {
                "cancelled": "run_cancelled",
                "failed": "run_failed",
                "expired": "run_expired",
                "incomplete": "max_tokens",
            }.get(status)
            step_status = {"cancelled": "cancelled", "failed": "failed", "expired": "expired"}.get(status, "completed")
            await player.close_message(step_usage, incomplete_reason=reason, step_status=step_status)  # type: ignore[union-attr]
        if result is not None and result.tool_step is not None and result.tool_step.status == "in_progress":
            step_status = status if status in ("cancelled", "expired") else "failed"
            stamp = f"{step_status}_at"
            error = {"code": outcome.code, "message": outcome.message} if isinstance(outcome, Failed) else None
            result.tool_step = dataclasses.replace(
                result.tool_step, status=step_status, last_error=error, **stamp_at(stamp, ts)
            )
            await w.save_step(result.tool_step, f"thread.run.step.{step_status}")
        if status in ("cancelled", "failed", "expired"):
            handled = {r.id for r in (result.message, result.message_step, result.tool_step) if r} if result else set()
            await self._close_leftovers(w, status, outcome, ts, handled)
        values: dict[str, Any] = {"status": status, "expires_at": None, "required_action": None}
        if status == "completed":
            values["completed_at"] = ts
        elif status == "cancelled":
            values["cancelled_at"] = ts
        elif status == "failed":
            values["failed_at"] = ts
            if isinstance(outcome, Failed):
                values["last_error"] = {"code": outcome.code, "message": outcome.message}
        elif status == "incomplete":
            values["completed_at"] = ts
            if isinstance(outcome, Incomplete):
                values["incomplete_details"] = {"reason": outcome.reason}
        if w.run.usage is None:
            values["usage"] = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        run = await w.update_run(f"thread.run.{status}", finish_job=True, **values)
        if run.status == "failed":
            error = run.last_error or {}
            log.warning("run %s failed: %s: %s", run.id, error.get("code"), error.get("message"))

    async def _close_leftovers(
        self, w: RunWriter, status: str, outcome: Failed | Incomplete | None, ts: int, handled: set[str]
    ) -> None:
        """Steps and messages no turn is playing (a tool step waiting for outputs, or what a crashed process
        left behind) end with the run: the steps ``cancelled``/``failed``/``expired``, the messages incomplete."""
        async with self.db.read() as conn:
            steps = await run_queries.steps_of_run(conn, w.run.id)
            messages = await run_queries.open_messages(conn, w.run.id)
        stamp = {"cancelled": "cancelled_at", "failed": "failed_at", "expired": "expired_at"}[status]
        error = {"code": outcome.code, "message": outcome.message} if isinstance(outcome, Failed) else None
        for message in messages:
            if message.id in handled:
                continue
            closed = dataclasses.replace(
                message, status="incomplete", incomplete_at=ts, incomplete_details={"reason": f"run_{status}"}
            )
            await w.save_message(closed, "thread.message.incomplete")
        for step in steps:
            if step.status == "in_progress" and step.id not in handled:
                closed_step = dataclasses.replace(step, status=status, last_error=error, **stamp_at(stamp, ts))
                await w.save_step(closed_step, f"thread.run.step.{status}")


async def _play(
    player: TurnPlayer, stream: AsyncIterator[TurnEvent], guard: Guard, cancel: asyncio.Event, deadline: float
) -> TurnResult | None:
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


async def _abandon(task: asyncio.Future[TurnResult]) -> None:
    task.cancel()  # closes the upstream request
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


def _usage(result: TurnResult, prompt_tokens: int) -> Usage:
    if result.usage is not None and (result.usage.prompt_tokens or result.usage.completion_tokens):
        return result.usage
    completion = count_text(result.text) + sum(count_text(c.name) + count_text(c.arguments) for c in result.calls)
    return Usage(prompt_tokens, completion)


def _usage_json(u: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.prompt_tokens + u.completion_tokens,
    }


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
