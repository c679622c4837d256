"""The one-active-run-per-thread rule, shared by messages and runs, and what a new run's thread must hold."""

from __future__ import annotations

from assistantd.errors import InvalidRequest
from assistantd.store import conversation_items, repos
from assistantd.store.db import Conn
from assistantd.store.runs import active_run_id


async def ensure_no_active_run(conn: Conn, thread_id: str, *, for_message: bool) -> None:
    """OpenAI's 400s (issue reports quote these messages) when the thread has a non-terminal run. A new run
    also needs every function call of the thread answered (a response or a client may have left one
    waiting): an upstream would refuse the history. The thread's row is locked first: two processes adding
    runs at once take turns (the second sees the first's run)."""
    await repos.threads.lock(conn, thread_id)
    run_id = await active_run_id(conn, thread_id)
    if run_id is not None:
        if for_message:
            raise InvalidRequest(f"Can't add messages to {thread_id} while a run {run_id} is active.")
        raise InvalidRequest(f"Thread {thread_id} already has an active run {run_id}.")
    if not for_message:
        dangling = await conversation_items.dangling_calls(conn, thread_id)
        if dangling:
            raise InvalidRequest(
                f"No tool output found for function call {dangling[0]}: the thread ends with a function call "
                "that has no output. Add its function_call_output item (POST /v1/conversations/"
                f"{thread_id}/items) or continue with responses.create(conversation=..., input=[...]).",
                param="thread_id",
            )
