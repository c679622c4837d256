"""Log lines: human text (the default) or one JSON object per line (``ASSISTANTD_LOG_FORMAT=json``).

A JSON line holds ``time``, ``level``, ``logger`` and ``message``, then whatever is known where it was logged:
``request_id``, ``project``, ``run_id`` or ``response_id``, ``trace_id`` and ``span_id``, and on a request
line (``ASSISTANTD_ACCESS_LOG=true``) ``method``, ``route``, ``status`` and ``duration_ms``; a traceback as
``exception``. The context comes from context variables: ``request_id`` (set by the middleware for the
request's task and the run tasks it starts), ``run_id`` (set by the engine while it executes a run), and
``assistantd.store.scope.current_project``.

What is logged is a choice of the code that logs, not of this module: no log call at info level carries a
key, a file's content or a message's text (``tests/observability/test_logs.py`` sends all three and scans
the log). The request line names the route template, never the raw path or query.
"""

from __future__ import annotations

import contextvars
import logging
import time
from typing import Any

import orjson

from assistantd.observability import tracing
from assistantd.store.scope import current_project

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("assistantd_request_id", default=None)
run_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("assistantd_run_id", default=None)

REQUEST_FIELDS = ("method", "route", "status", "duration_ms", "project")
"""Extras of the request line (``log.info(..., extra={...})`` in ``middleware.py``)."""


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in context().items():
            line[key] = value
        for key in REQUEST_FIELDS:
            extra = record.__dict__.get(key)
            if extra is not None:
                line[key] = extra
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return orjson.dumps(line, default=str).decode()


def context() -> dict[str, str]:
    """The ids known in the current context (each only when set)."""
    found: dict[str, str] = {}
    if (rid := request_id.get()) is not None:
        found["request_id"] = rid
    if (project := current_project.get()) is not None:
        found["project"] = project
    if (run := run_id.get()) is not None:
        found["response_id" if run.startswith("resp_") else "run_id"] = run
    if (ids := tracing.trace_ids()) is not None:
        found["trace_id"], found["span_id"] = ids
    return found


def _iso(created: float) -> str:
    seconds = int(created)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int((created - seconds) * 1000):03d}Z"


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure(level: int | str, log_format: str) -> None:
    """The root logger's one handler on stderr, formatting every logger's records (uvicorn's too)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
