"""``GET /v1/organization/usage/completions``: the tokens each project spent, per model and time bucket, in
OpenAI's ``UsageResponse`` shape (``openai-openapi.yaml``), from ``store/usage.py``'s rows."""

from __future__ import annotations

import time
from typing import Any, Literal

from assistantd.errors import InvalidRequest
from assistantd.store import usage as q
from assistantd.store.db import Database

WIDTHS = {"1m": 60, "1h": 3600, "1d": 86400}
LIMITS = {"1m": (60, 1440), "1h": (24, 168), "1d": (7, 31)}
"""Buckets per page by width: (default, maximum), as OpenAI's."""
GROUPS = ("project_id", "model")
UNSUPPORTED_GROUPS = ("user_id", "api_key_id", "batch", "service_tier")


async def completions(
    db: Database,
    *,
    start_time: int,
    end_time: int | None,
    bucket_width: Literal["1m", "1h", "1d"],
    project_ids: list[str],
    models: list[str],
    group_by: list[str],
    limit: int | None,
    page: str | None,
) -> dict[str, Any]:
    width = WIDTHS[bucket_width]
    default, maximum = LIMITS[bucket_width]
    limit = default if limit is None else limit
    if not 1 <= limit <= maximum:
        raise InvalidRequest(f"limit must be between 1 and {maximum} for bucket_width={bucket_width}.", param="limit")
    for name in group_by:
        if name not in GROUPS + UNSUPPORTED_GROUPS:
            raise InvalidRequest(f"Invalid group_by value: '{name}'.", param="group_by")
    start = start_time
    if page is not None:
        if not page.isdigit() or int(page) < start_time:
            raise InvalidRequest("Invalid page cursor.", param="page")
        start = int(page)
    end = end_time if end_time is not None else int(time.time()) + 1
    if end <= start_time:
        raise InvalidRequest("end_time must be after start_time.", param="end_time")
    page_end = min(end, start + limit * width)
    groups = tuple(g for g in GROUPS if g in group_by)
    async with db.read() as conn:
        totals = await q.totals(conn, start, page_end, width, groups, project_ids or None, models or None)
    by_bucket: dict[int, list[dict[str, Any]]] = {}
    for t in totals:
        by_bucket.setdefault(t.bucket, []).append(_result(t))
    data = []
    n = 0
    while start + n * width < page_end:
        lo = start + n * width
        data.append(
            {
                "object": "bucket",
                "start_time": lo,
                "end_time": min(lo + width, end),
                "results": by_bucket.get(n, []),
            }
        )
        n += 1
    more = page_end < end
    return {"object": "page", "data": data, "has_more": more, "next_page": str(page_end) if more else None}


def _result(t: q.UsageTotal) -> dict[str, Any]:
    return {
        "object": "organization.usage.completions.result",
        "input_tokens": t.input_tokens,
        "output_tokens": t.output_tokens,
        "input_cached_tokens": 0,
        "input_audio_tokens": 0,
        "output_audio_tokens": 0,
        "num_model_requests": t.requests,
        "project_id": t.project_id,
        "user_id": None,
        "api_key_id": None,
        "model": t.model,
        "batch": None,
    }
