"""The one-active-run-per-thread rule, shared by messages and runs."""

from __future__ import annotations

from assistantd.errors import InvalidRequest
from assistantd.store.db import Conn
from assistantd.store.runs import active_run_id


async def ensure_no_active_run(conn: Conn, thread_id: str, *, for_message: bool) -> None:
    """OpenAI's 400s (issue reports quote these messages) when the thread has a non-terminal run."""
    run_id = await active_run_id(conn, thread_id)
    if run_id is None:
        return
    if for_message:
        raise InvalidRequest(f"Can't add messages to {thread_id} while a run {run_id} is active.")
    raise InvalidRequest(f"Thread {thread_id} already has an active run {run_id}.")
