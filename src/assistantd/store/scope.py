"""Project isolation, enforced once, where every statement passes: the engine's ``before_execute`` hook.

Each top-level object (assistants, threads and conversations, runs and responses, files, vector stores,
containers, prompts) has a ``project_id`` column. While ``current_project`` holds a project (the request's,
set by authentication, or the run's, set by the worker executing it), every SELECT reading one of those
tables in its FROM list, every UPDATE and DELETE of one, gets ``project_id = :project`` added, and every
INSERT into one is stamped with it. An object of another project is then simply not there: a 404 exactly
like a missing ID, absent from lists, never a 403 that confirms it exists. A new route or query cannot
forget the check, because it does not make it.

Children (messages, steps, items, vector store files, container files, versions) carry the column too, so
a child read by its own ID is confined whatever its parent's check does. Retrieval's own tables (chunks,
postings) are reached only through a vector store ID the caller has already been allowed.

``current_project`` unset means unscoped: start-up, migrations, the admin API, and the process-wide loops
(the queue's dispatcher, reapers, ingestion) that act for every project by ID. Process-local state: the
context variable follows asyncio tasks (a task inherits its creator's project), so long-lived loops are
started at start-up, outside any request.
"""

from __future__ import annotations

import contextlib
import contextvars
import weakref
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Delete, Insert, Select, Table, Update, bindparam, event
from sqlalchemy.engine import Engine
from sqlalchemy.sql.selectable import Join

DEFAULT_PROJECT = "proj_default"
"""The project of single-tenant mode (``ASSISTANTD_API_KEYS`` or open), and of every object made before projects."""

TOP_LEVEL = ("assistants", "threads", "runs", "files", "vector_stores", "containers", "prompts")
CHILDREN = (
    "messages",
    "run_steps",
    "response_items",
    "vector_store_files",
    "vector_store_file_batches",
    "container_files",
    "assistant_versions",
    "prompt_versions",
    "usage",
)
SCOPED_TABLES = frozenset(TOP_LEVEL + CHILDREN)
"""Tables whose rows belong to a project (each has a ``project_id`` column). Stream events, jobs and
retrieval's chunks are reached only through an object already confined (a run, a vector store)."""

current_project: contextvars.ContextVar[str | None] = contextvars.ContextVar("assistantd_project", default=None)
"""The project every statement is confined to; ``None`` confines nothing."""


@contextlib.contextmanager
def seeing_every_project() -> Iterator[None]:
    """Statements inside see every project: for checks that must (an importer asking whether an ID is taken
    anywhere, since IDs are unique across projects)."""
    token = current_project.set(None)
    try:
        yield
    finally:
        current_project.reset(token)


_PARAM = "_scope_project"
_scoped: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
"""Each statement's scoped form, built once: the services cache their statements, so keeping the scoped
copy beside them keeps SQLAlchemy's compiled cache hot (the project is a bound parameter)."""
_UNSCOPED = object()


def install(engine: Engine) -> None:
    """Confine every statement ``engine`` runs to ``current_project`` (see the module docstring)."""
    event.listen(engine, "before_execute", _before_execute, retval=True)


def _before_execute(conn: Any, clause: Any, multiparams: Any, params: Any, options: Any) -> tuple[Any, Any, Any]:
    project = current_project.get()
    if project is None or not isinstance(clause, (Select, Update, Delete, Insert)):
        return clause, multiparams, params
    if isinstance(clause, Insert):
        return _stamp(clause, multiparams, params, project)
    scoped = _scoped.get(clause)
    if scoped is None:
        scoped = _confine(clause)
        _scoped[clause] = scoped
    if scoped is _UNSCOPED:
        return clause, multiparams, params
    if multiparams:
        return scoped, [{**p, _PARAM: project} for p in multiparams], params
    return scoped, multiparams, {**(params or {}), _PARAM: project}


def _confine(clause: Select[Any] | Update | Delete) -> Any:
    tables = _scoped_tables(clause)
    if not tables:
        return _UNSCOPED
    conditions = [t.c.project_id == bindparam(_PARAM) for t in tables]
    return clause.where(*conditions)


def _scoped_tables(clause: Select[Any] | Update | Delete) -> list[Table]:
    if isinstance(clause, Select):
        found: list[Table] = []
        for source in clause.get_final_froms():
            found.extend(_walk(source))
        return found
    table = clause.table
    return [table] if isinstance(table, Table) and table.name in SCOPED_TABLES else []


def _walk(source: Any) -> list[Table]:
    if isinstance(source, Table):
        return [source] if source.name in SCOPED_TABLES else []
    if isinstance(source, Join):
        return _walk(source.left) + _walk(source.right)
    return []


def _stamp(clause: Insert, multiparams: Any, params: Any, project: str) -> tuple[Any, Any, Any]:
    table = clause.table
    if not isinstance(table, Table) or table.name not in SCOPED_TABLES or clause.select is not None:
        return clause, multiparams, params
    if multiparams:
        return clause, [p if "project_id" in p else {**p, "project_id": project} for p in multiparams], params
    if params:
        return clause, multiparams, params if "project_id" in params else {**params, "project_id": project}
    values: dict[Any, Any] = dict(clause._values or {})  # whether .values() named the column already
    if any(getattr(k, "key", k) == "project_id" for k in values):
        return clause, multiparams, params
    return clause.values(project_id=project), multiparams, params


def unscoped() -> contextvars.Context:
    """A context with no project, for a task that acts for every project (``create_task(..., context=...)``)."""
    ctx = contextvars.copy_context()
    ctx.run(current_project.set, None)
    return ctx
