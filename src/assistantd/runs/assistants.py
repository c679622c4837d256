"""``AssistantsRun``: the engine's session for an Assistants run (``RunSession``, see ``runs/session.py``).

Its input is the thread's messages and the run's own steps; a turn becomes run steps, an assistant
message and ``thread.*`` events (``runs/turn.py``, ``runs/persist.py``); function calls park the run in
``requires_action`` until ``submit_tool_outputs``.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from assistantd.backends.base import ChatMessage, Usage
from assistantd.backends.registry import Route
from assistantd.runs.context import ServerTools, TurnInput, build_turn
from assistantd.runs.events import RunEventLog
from assistantd.runs.objects import run_to_wire
from assistantd.runs.outcomes import Completed, Failed, Incomplete, Outcome, RequiresAction, RunTools
from assistantd.runs.persist import RunWriter, now, stamp_at
from assistantd.runs.server_tools import annotate_answer, run_automatic_calls, run_server_calls
from assistantd.runs.session import TurnPlayer as PlayerProtocol
from assistantd.runs.turn import TurnPlayer
from assistantd.store import repos
from assistantd.store import runs as run_queries
from assistantd.store.blobs import BlobStore
from assistantd.store.db import Database
from assistantd.store.records import RunRecord

log = logging.getLogger("assistantd.runs")


def usage_json(u: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.prompt_tokens + u.completion_tokens,
    }


class AssistantsRun:
    def __init__(self, db: Database, events: RunEventLog, blobs: BlobStore, run: RunRecord) -> None:
        self.db = db
        self.blobs = blobs
        self.w = RunWriter(db, events, run)

    @property
    def run(self) -> RunRecord:
        return self.w.run

    def stage(self, **values: Any) -> None:
        self.w.stage(**values)

    async def resume(self) -> None:
        interrupted = Failed("server_error", "The server executing this step stopped; the turn was taken again.")
        async with self.db.write() as conn:  # the interrupted answer keeps the text its streams were shown
            for message in await run_queries.open_messages(conn, self.run.id):
                if not message.content:
                    text = await run_queries.streamed_text(conn, self.run.id, message.id)
                    part = {"type": "text", "text": {"value": text, "annotations": []}}
                    await repos.messages.update(conn, message.id, {"content": [part]})
        async with self.w.batch():
            await self._close_leftovers("failed", interrupted, now(), set())

    async def started(self) -> None:
        self.w.emit("thread.run.in_progress", run_to_wire(self.w.run))

    def server_tools(self, registered: ServerTools) -> ServerTools:
        return registered

    async def automatic_calls(self, server: ServerTools) -> None:
        await run_automatic_calls(self.w, server, self.db, self.blobs)

    async def turn_input(self, route: Route, extra: tuple[ChatMessage, ...], server: ServerTools) -> TurnInput:
        run = self.w.run
        async with self.db.read() as conn:
            history = await run_queries.thread_messages(conn, run.thread_id)
            steps = await run_queries.steps_of_run(conn, run.id)
        usage = run.usage or {}
        return await build_turn(
            run,
            history,
            steps,
            route,
            self.blobs,
            extra=extra,
            prompt_used=usage.get("prompt_tokens", 0),
            completion_used=usage.get("completion_tokens", 0),
            server=server,
        )

    def player(self, server: ServerTools) -> TurnPlayer:
        return TurnPlayer(self.w, frozenset(server))

    async def server_calls(self, player: PlayerProtocol, outcome: RunTools, server: ServerTools, usage: Usage) -> bool:
        assert isinstance(player, TurnPlayer)
        await run_server_calls(self.w, player, outcome, server, self.db, self.blobs, usage_json(usage))
        return False

    async def wait_for_outputs(self, function_calls: list[dict[str, Any]]) -> None:
        w = self.w
        await w.update_run(
            "thread.run.requires_action",
            finish_job=True,
            status="requires_action",
            required_action={"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": function_calls}},
        )
        if w.run.status == "cancelled":  # a cancel landed while the turn ran: its waiting step ends with it
            await self._close_leftovers("cancelled", None, now(), set())

    async def discard_answer(self, player: PlayerProtocol, usage: Usage) -> None:
        assert isinstance(player, TurnPlayer)
        result = player.result
        if result.message is not None and result.message.status == "in_progress":
            # Streams see the rejected answer end; the thread keeps only the answer that passes.
            await player.close_message(usage_json(usage))
            assert player.result.message is not None
            await self.w.discard(player.result.message, player.result.message_step)

    async def conclude(self, player: PlayerProtocol, outcome: Outcome, usage: Usage, server: ServerTools) -> None:
        assert isinstance(player, TurnPlayer)
        async with self.w.batch():
            await self._conclude(player, outcome, usage, server)

    async def _conclude(self, player: TurnPlayer, outcome: Outcome, turn_usage: Usage, server: ServerTools) -> None:
        result = player.result
        step_usage = usage_json(turn_usage)
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
            await self.w.save_step(result.tool_step, None)
            await self.wait_for_outputs(outcome.tool_calls)
        elif isinstance(outcome, Completed):
            if result.message is not None and result.message.status == "in_progress":
                content = await annotate_answer(self.w, player, server, self.db, self.blobs)
                await player.close_message(step_usage, content=content)
            await self._finish(player, "completed")
        elif isinstance(outcome, Incomplete):
            await self._finish(player, "incomplete", outcome, step_usage)
        else:
            assert isinstance(outcome, Failed)
            await self._finish(player, "failed", outcome, step_usage)

    async def finish(
        self, player: PlayerProtocol | None, status: str, outcome: Failed | Incomplete | None = None
    ) -> None:
        assert player is None or isinstance(player, TurnPlayer)
        await self._finish(player, status, outcome)

    def gone(self) -> None:
        gone = dataclasses.replace(self.w.run, status="cancelled", cancelled_at=now(), expires_at=None)
        self.w.emit("thread.run.cancelled", run_to_wire(gone))

    async def interrupted(self) -> None:
        return None  # every write of a run's is made as it happens

    async def _finish(
        self,
        player: TurnPlayer | None,
        status: str,
        outcome: Failed | Incomplete | None = None,
        step_usage: dict[str, int] | None = None,
    ) -> None:
        """End the run: close what the turn left open, then write the terminal run state."""
        w = self.w
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
            await self._close_leftovers(status, outcome, ts, handled)
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
        self, status: str, outcome: Failed | Incomplete | None, ts: int, handled: set[str]
    ) -> None:
        """Steps and messages no turn is playing (a tool step waiting for outputs, or what a crashed process
        left behind) end with the run: the steps ``cancelled``/``failed``/``expired``, the messages incomplete."""
        w = self.w
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
