"""Run and run-step records → their wire JSON (used by the engine's events and by the services)."""

from __future__ import annotations

import copy
from typing import Any

from assistantd.store.records import RunRecord, RunStepRecord
from assistantd.tools.base import public_call

WireObject = dict[str, Any]

TERMINAL = frozenset({"completed", "failed", "cancelled", "expired", "incomplete"})


def run_to_wire(r: RunRecord) -> WireObject:
    """``openai.types.beta.threads.Run``."""
    return {
        "id": r.id,
        "object": "thread.run",
        "created_at": r.created_at,
        "assistant_id": r.assistant_id,
        "thread_id": r.thread_id,
        "status": r.status,
        "started_at": r.started_at,
        "expires_at": r.expires_at,
        "cancelled_at": r.cancelled_at,
        "failed_at": r.failed_at,
        "completed_at": r.completed_at,
        "required_action": r.required_action,
        "last_error": r.last_error,
        "model": r.model,
        "instructions": r.instructions,
        "tools": r.tools,
        "metadata": r.metadata or {},
        "incomplete_details": r.incomplete_details,
        "usage": r.usage,
        "temperature": 1.0 if r.temperature is None else r.temperature,
        "top_p": 1.0 if r.top_p is None else r.top_p,
        "max_prompt_tokens": r.max_prompt_tokens,
        "max_completion_tokens": r.max_completion_tokens,
        "truncation_strategy": r.truncation_strategy,
        "tool_choice": r.tool_choice,
        "parallel_tool_calls": r.parallel_tool_calls,
        "response_format": r.response_format,
    }


def step_to_wire(s: RunStepRecord, include: frozenset[str] = frozenset()) -> WireObject:
    """``openai.types.beta.threads.runs.RunStep``. File-search result contents only when included; a
    call's server-only data never (``tools/base.py``)."""
    details = s.step_details
    if s.type == "tool_calls":
        details = {**details, "tool_calls": [public_call(c) for c in details.get("tool_calls") or []]}
        if "step_details.tool_calls[*].file_search.results[*].content" not in include:
            details = _without_result_content(details)
    return {
        "id": s.id,
        "object": "thread.run.step",
        "created_at": s.created_at,
        "assistant_id": s.assistant_id,
        "thread_id": s.thread_id,
        "run_id": s.run_id,
        "type": s.type,
        "status": s.status,
        "step_details": details,
        "last_error": s.last_error,
        "expired_at": s.expired_at,
        "cancelled_at": s.cancelled_at,
        "failed_at": s.failed_at,
        "completed_at": s.completed_at,
        "metadata": s.metadata or {},
        "usage": s.usage,
    }


def _without_result_content(details: dict[str, Any]) -> dict[str, Any]:
    calls = details.get("tool_calls") or []
    if not any(c.get("type") == "file_search" for c in calls):
        return details
    out = copy.deepcopy(details)
    for call in out["tool_calls"]:
        for result in (call.get("file_search") or {}).get("results") or []:
            result.pop("content", None)
    return out
