"""A response on a conversation (``conversation=``): what it reads of the conversation's log, the checks at
the boundary with the Assistants API, and what it appends when it ends.

The model sees the conversation's items (a thread's messages, and the tool calls and outputs that responses
and clients added), then the request's input. When the response completes, its input items and output
items are appended to the log in one transaction with its final state, so two responses racing on one
conversation both land, each as one contiguous block, in the order they finished.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistantd import items
from assistantd.errors import InvalidRequest
from assistantd.services.message_items import log_item, row_values
from assistantd.store import conversation_items as log
from assistantd.store import repos
from assistantd.store import responses as store
from assistantd.store import runs as run_queries
from assistantd.store.db import Conn


async def context(conn: Conn, conversation_id: str) -> list[store.StoredItem]:
    """The conversation's items, oldest first, each with its cached token count."""
    return [log_item(record, tokens) for record, tokens in await log.log(conn, conversation_id)]


async def check_boundary(conn: Conn, conversation_id: str, entries: Sequence[store.StoredItem]) -> None:
    """A function output for a call an Assistants run of this thread waits on belongs to that run: it is
    submitted with ``submit_tool_outputs``, which completes the run (a 400 says so)."""
    run_id = await run_queries.active_run_id(conn, conversation_id)
    if run_id is None:
        return
    run = await repos.runs.get(conn, run_id)
    if run is None or run.status != "requires_action" or not run.required_action:
        return
    waiting = {c["id"] for c in run.required_action["submit_tool_outputs"]["tool_calls"]}
    for i, s in enumerate(entries):
        if isinstance(s.item, items.FunctionOutputItem) and s.item.call_id in waiting:
            raise InvalidRequest(
                f"Tool call {s.item.call_id} belongs to run {run_id} of this thread, which is waiting for its "
                f"output: submit it with POST /v1/threads/{conversation_id}/runs/{run_id}/submit_tool_outputs.",
                param=f"input[{i}]",
            )


def check_answered(context_items: Sequence[store.StoredItem], entries: Sequence[store.StoredItem]) -> None:
    """Every function call of the conversation must have its output by the end of the input: an upstream
    refuses a history with a dangling call (OpenAI's message)."""
    open_calls: dict[str, None] = {}
    for s in (*context_items, *entries):
        item = s.item
        if isinstance(item, items.FunctionCallItem):
            open_calls[item.call_id] = None
        elif isinstance(item, items.FunctionOutputItem):
            open_calls.pop(item.call_id, None)
    if open_calls:
        call_id = next(iter(open_calls))
        raise InvalidRequest(f"No tool output found for function call {call_id}.", param="input")


async def append(
    conn: Conn,
    conversation_id: str,
    response_id: str,
    stored: Sequence[store.StoredItem],
    ts: int,
    counted: Sequence[tuple[str, int]] = (),
) -> None:
    """Append a finished response's input and output to its conversation (unless deleted meanwhile). An
    input item the conversation already holds (a client resending it) is not added twice; an id another
    conversation holds is replaced by a fresh one."""
    if await repos.threads.get(conn, conversation_id) is None:
        return
    taken = await log.existing_ids(conn, [s.id for s in stored])
    rows = []
    seen: set[str] = set()
    for s in stored:
        if s.id in seen or taken.get(s.id) == conversation_id:
            continue
        seen.add(s.id)
        if s.id in taken:
            fresh = f"{s.id}_{response_id[-8:]}"
            data = s.data if s.data.get("kind") == store.FOREIGN else {**s.data, "id": fresh}
            s = store.StoredItem(fresh, s.role, s.type, data)
        rows.append(row_values(conversation_id, s, ts, run_id=response_id))
    await log.append(conn, rows)
    await log.save_tokens(conn, counted)
