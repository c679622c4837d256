"""Running the server-side tools a turn called, and annotating the final answer with what they found."""

from __future__ import annotations

import dataclasses
from typing import Any

from assistantd.ids import new_id
from assistantd.observability import tracing
from assistantd.runs.context import ServerTools
from assistantd.runs.outcomes import RunTools
from assistantd.runs.persist import RunWriter, now
from assistantd.runs.turn import CITING_TOOL, TurnPlayer
from assistantd.store import runs as run_queries
from assistantd.store.blobs import BlobStore
from assistantd.store.db import Database
from assistantd.tools.base import ToolContext


def _context(w: RunWriter, db: Database, blobs: BlobStore, player: TurnPlayer, position: int) -> ToolContext:
    return ToolContext(run=w.run, db=db, blobs=blobs, emit_delta=lambda body: player.emit_call_delta(position, body))


async def run_server_calls(
    w: RunWriter,
    player: TurnPlayer,
    outcome: RunTools,
    server: ServerTools,
    db: Database,
    blobs: BlobStore,
    step_usage: dict[str, int],
) -> None:
    """Execute the turn's server-side calls into its ``tool_calls`` step. The step completes unless
    client-side function calls in the same turn still wait for their outputs."""
    result = player.result
    assert result.tool_step is not None
    by_position: dict[int, dict[str, Any]] = {}
    for position, call_id, name, arguments in outcome.server_calls:
        tool, entry = server[name]
        player.emit_call_delta(position, {"id": call_id, **tool.started(call_id)})
        with tracing.tool_call(w.run.kind, w.run.id, w.run.thread_id, name, call_id):
            by_position[position] = await tool.call(_context(w, db, blobs, player, position), call_id, arguments, entry)
    for position, call in outcome.function_calls:
        by_position[position] = {"id": call["id"], "type": "function", "function": {**call["function"], "output": None}}
    details = {"type": "tool_calls", "tool_calls": [by_position[p] for p in sorted(by_position)]}
    step = dataclasses.replace(result.tool_step, step_details=details, usage=step_usage)
    if outcome.function_calls:
        # Waiting for the client's outputs: usage stays null until they complete the step.
        result.tool_step = dataclasses.replace(step, usage=None)
        await w.save_step(result.tool_step, None)
        return
    result.tool_step = dataclasses.replace(step, status="completed", completed_at=now())
    await w.save_step(result.tool_step, "thread.run.step.completed")


async def annotate_answer(
    w: RunWriter, player: TurnPlayer, server: ServerTools, db: Database, blobs: BlobStore
) -> list[dict[str, Any]] | None:
    """The final message's content: the streamed text with its streamed citations, plus what the other
    server tools add (annotations on that text, extra parts), streamed here too. None: nothing to add.
    The text itself is final: what the client received is what is stored."""
    player.finish_text()
    if not server:
        return None
    async with db.read() as conn:
        steps = await run_queries.steps_of_run(conn, w.run.id)
    recorded: dict[str, list[dict[str, Any]]] = {}
    for step in steps:
        for call in step.step_details.get("tool_calls") or []:
            recorded.setdefault(str(call.get("type")), []).append(call)
    text = player.result.shown
    added: list[dict[str, Any]] = []
    extra: list[dict[str, Any]] = []
    ctx = ToolContext(run=w.run, db=db, blobs=blobs, emit_delta=lambda body: None)
    for tool, _ in server.values():
        if tool.name == CITING_TOOL:  # file_search's citations were streamed with the text
            continue
        calls = recorded.get(tool.type, [])  # none: a tool may still link what earlier runs made
        found = await tool.annotate(ctx, text, calls)
        added.extend(found.annotations)
        extra.extend(found.extra_parts)
    if not added and not extra:
        return None
    annotations = list(player.result.annotations)
    if player.result.message is not None:
        player.emit_annotations([{"index": len(annotations) + i, **a} for i, a in enumerate(added)], extra)
    return [{"type": "text", "text": {"value": text, "annotations": annotations + added}}, *extra]


async def run_automatic_calls(w: RunWriter, server: ServerTools, db: Database, blobs: BlobStore) -> None:
    """Calls a tool asks to make before the model's first turn (``auto_arguments``, an optional capability:
    file_search retrieving for every user turn, for small models that never call tools)."""
    automatic = [(name, tool) for name, (tool, _) in server.items() if hasattr(tool, "auto_arguments")]
    if not automatic:
        return
    async with db.read() as conn:
        history = await run_queries.thread_messages(conn, w.run.thread_id)
    user = next((m for m in reversed(history) if m.role == "user"), None)
    text = " ".join(p["text"]["value"] for p in user.content if p.get("type") == "text") if user else ""
    for name, tool in automatic:
        arguments = tool.auto_arguments(text)
        if arguments is None:
            continue
        player = TurnPlayer(w, frozenset(server))
        player.result.tool_step = w.new_step("tool_calls", {"type": "tool_calls", "tool_calls": []})
        await w.insert(player.result.tool_step)
        zero = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        await run_server_calls(w, player, RunTools([(0, new_id("call"), name, arguments)], []), server, db, blobs, zero)
