"""What the console asks for that the ``/v1`` API does not answer: threads found by a search, a thread's runs
and responses in one list, and the key's own project's usage.

Every function runs inside an authenticated request, so ``store/scope.py`` confines its statements to the
key's project: nothing here filters by project itself, and nothing here can reach another project's rows.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from assistantd.organization import usage
from assistantd.services._context import WireObject
from assistantd.store import conversation_items, repos
from assistantd.store._crud import PageParams
from assistantd.store.db import Database
from assistantd.store.records import RunRecord, ThreadRecord
from assistantd.wire.common import list_page

SEARCH_SCAN = 500
"""Threads whose messages mention the search text, at most: a search is a page of hits, not a report."""


def _thread_json(thread: ThreadRecord) -> WireObject:
    return {"id": thread.id, "created_at": thread.created_at, "metadata": thread.metadata or {}}


async def search_threads(db: Database, q: str, after: str | None, limit: int) -> WireObject:
    """Threads (conversations too) newest first; with ``q``, only those whose ID or metadata contains it,
    or one of whose messages' text does. Paged like the API (``after`` a thread ID, ``has_more``)."""
    needle = q.strip().lower()
    out: list[ThreadRecord] = []
    has_more = False
    async with db.read() as conn:
        mentioned: set[str] = set()
        if needle:
            mentioned = await conversation_items.threads_mentioning(conn, needle, SEARCH_SCAN)
        cursor = PageParams(limit=max(limit, 100), order="desc", after=after)
        while True:
            batch, more = await repos.threads.page(conn, cursor)
            for thread in batch:
                if thread.deleted_at is None and (not needle or _hit(thread, needle, mentioned)):
                    out.append(thread)
            if len(out) > limit:
                out, has_more = out[:limit], True
                break
            if not more or not batch:
                break
            cursor = replace(cursor, after=batch[-1].id)
    return list_page([_thread_json(x) for x in out], has_more)


def _hit(thread: ThreadRecord, needle: str, mentioned: set[str]) -> bool:
    if needle in thread.id.lower() or thread.id in mentioned:
        return True
    return any(needle in f"{k} {v}".lower() for k, v in (thread.metadata or {}).items())


def _run_json(run: RunRecord) -> WireObject:
    return {
        "id": run.id,
        "object": "thread.run" if run.kind == "run" else "response",
        "kind": run.kind,
        "status": run.status,
        "model": run.model,
        "assistant_id": run.assistant_id or None,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "completed_at": run.completed_at,
        "failed_at": run.failed_at,
        "cancelled_at": run.cancelled_at,
        "last_error": run.last_error,
        "usage": run.usage,
    }


async def thread_runs(db: Database, thread_id: str, limit: int) -> WireObject:
    """The thread's runs and the responses that continued it as a conversation, newest first (the
    Assistants API's run list holds runs only)."""
    async with db.read() as conn:
        runs, more = await repos.runs.page(conn, PageParams(limit=limit, order="desc"), {"thread_id": thread_id})
        # A response names its conversation in ``options`` (its ``thread_id`` stays empty).
        mentioning = await repos.runs.referencing(conn, "options", thread_id)
    responses = [r for r in mentioning if r.kind == "response" and (r.options or {}).get("conversation") == thread_id]
    both = sorted([*runs, *responses], key=lambda r: r.created_at, reverse=True)
    return {"object": "list", "data": [_run_json(r) for r in both[:limit]], "has_more": more or len(both) > limit}


async def project_usage(db: Database, days: int) -> dict[str, Any]:
    """The key's own project's tokens and requests per day and model, in the bucket shape of
    ``GET /v1/organization/usage/completions`` (which takes the admin key), from the same code."""
    today = int(time.time()) // 86400 * 86400
    start = today - (days - 1) * 86400
    return await usage.completions(
        db,
        start_time=start,
        end_time=today + 86400,
        bucket_width="1d",
        project_ids=[],
        models=[],
        group_by=["model"],
        limit=days,
        page=None,
    )
