"""``assistantd import``: read an export, check each object, and write it through the store.

Order: files, then vector stores (which attach files), then assistants and threads (whose tool_resources
name both), so references resolve within one run. Within a kind, objects are written oldest first, because
lists are ordered by insertion: ``assistants.list()`` and ``messages.list()`` then give the order OpenAI
gave. Ties in ``created_at`` (one-second resolution: a thread created with several messages) keep the
export's order, or its reverse when the export lists newest first (the API's default list order, seen as
``created_at`` values that only ever decrease).

The import opens the database as the server does (same settings, migrations run first) but does not take
the data dir's lock: it writes short transactions beside a running server (SQLite WAL) as well as into a
stopped one.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import make_url

from assistantd.importer.progress import progress
from assistantd.importer.reader import Dump, DumpError, Kind, Line, read_dump
from assistantd.importer.report import Note, Outcome, Report
from assistantd.importer.shapes import AssistantLine, FileLine, MessageLine, ThreadLine, VectorStoreLine
from assistantd.importer.writer import Skip, Writer
from assistantd.organization.service import Organization
from assistantd.settings import Settings
from assistantd.store import scope
from assistantd.store.blobs import LocalBlobStore
from assistantd.store.db import Database
from assistantd.store.private import private_dir

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

SHAPES: dict[Kind, type[BaseModel]] = {
    "file": FileLine,
    "vector_store": VectorStoreLine,
    "assistant": AssistantLine,
    "thread": ThreadLine,
}


def describe(exc: ValidationError, prefix: str = "") -> str:
    """The first problem of a line, named by its field path: ``messages[2].content: Input should be ...``."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    path = prefix
    for part in first["loc"]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{path or 'line'}: {first['msg']}{more}"


def chronological(items: Sequence[T], created_at: Callable[[T], int]) -> list[T]:
    """Oldest first; ties in export order, or in reverse when the export lists newest first."""
    times = [created_at(i) for i in items]
    pairs = list(itertools.pairwise(times))
    newest_first = any(a > b for a, b in pairs) and not any(a < b for a, b in pairs)
    ordered = list(reversed(items)) if newest_first else list(items)
    return sorted(ordered, key=created_at)


async def import_dump(
    path: Path, settings: Settings, *, show_progress: bool = False, project: str | None = None
) -> Report:
    """Import the export at ``path`` into the data dir and database of ``settings``, into the project named
    ``project`` (made if missing; None: the default project). Raises ``DumpError`` when it cannot start (the
    export or the data dir is unusable); otherwise every object has its outcome in the report."""
    dump = read_dump(path)
    try:
        private_dir(settings.data_dir, what="data dir")
    except OSError as exc:
        raise DumpError(f"data dir {settings.data_dir.resolve()} is not usable: {exc.strerror or exc}") from exc
    url = make_url(settings.effective_database_url).render_as_string(hide_password=True)
    report = Report(target=f"{settings.data_dir.resolve()} ({url})")
    db = Database(settings.effective_database_url)
    try:
        await db.migrate()
        blobs = LocalBlobStore(settings.data_dir / "files")
        project_id = None if project is None else await Organization(db, settings).project_named(project)
        token = scope.current_project.set(project_id)  # every row written is stamped with it (store/scope.py)
        try:
            await _import(dump, Writer(db, blobs, dump.files_dir), report, show_progress)
        finally:
            scope.current_project.reset(token)
    finally:
        await db.dispose()
    return report


async def _import(dump: Dump, writer: Writer, report: Report, show_progress: bool) -> None:
    for r in dump.rejected:
        report.outcomes.append(Outcome(None, r.object_id, r.where, r.status, r.reason))
    checked: dict[Kind, list[tuple[Line, Any]]] = {kind: _check(dump, kind, report) for kind in SHAPES}
    messages = _group_messages(dump, report)
    bar = progress(sum(len(v) for v in checked.values()), show_progress)
    try:
        for kind in ("file", "vector_store", "assistant", "thread"):
            for line, obj in checked[kind]:
                thread_messages: list[MessageLine] = []
                if kind == "thread":
                    found = _thread_messages(obj, messages.pop(obj.id, []))
                    if isinstance(found, str):
                        report.outcomes.append(Outcome(kind, obj.id, line.where, "invalid", found))
                        bar.advance()
                        continue
                    thread_messages = found
                await _write(writer, kind, line, obj, thread_messages, report)
                bar.advance()
    finally:
        bar.close()
    threads = {line.object_id for line in dump.lines["thread"]}
    for thread_id, lines in messages.items():
        if thread_id in threads:
            continue  # its thread was malformed or a duplicate: they went with it
        for line in lines:
            reason = f"its thread {thread_id} is not in this export"
            report.outcomes.append(Outcome("message", line.object_id, line.where, "invalid", reason))


def _check(dump: Dump, kind: Kind, report: Report) -> list[tuple[Line, Any]]:
    """The lines of ``kind`` that are well-formed, first occurrence of each ID, oldest first."""
    shape = SHAPES[kind]
    good: list[tuple[Line, Any]] = []
    seen: dict[str, Line] = {}
    for line in dump.lines[kind]:
        try:
            obj = shape.model_validate(line.data)
        except ValidationError as exc:
            report.outcomes.append(Outcome(kind, line.object_id, line.where, "invalid", describe(exc)))
            continue
        first = seen.setdefault(obj.id, line)  # type: ignore[attr-defined]
        if first is not line:
            report.outcomes.append(Outcome(kind, line.object_id, line.where, "duplicate", f"also at {first.where}"))
            continue
        good.append((line, obj))
    return chronological(good, lambda pair: int(pair[1].created_at))


def _group_messages(dump: Dump, report: Report) -> dict[str, list[Line]]:
    """Lines of ``messages.jsonl`` (or mixed files) by their ``thread_id``."""
    out: dict[str, list[Line]] = {}
    for line in dump.lines["message"]:
        thread_id = line.data.get("thread_id")
        if not isinstance(thread_id, str):
            reason = "thread_id: a message outside its thread's line needs its thread_id"
            report.outcomes.append(Outcome("message", line.object_id, line.where, "invalid", reason))
            continue
        out.setdefault(thread_id, []).append(line)
    return out


def _thread_messages(thread: ThreadLine, lines: list[Line]) -> list[MessageLine] | str:
    """The thread's messages (its own, then those of separate lines), oldest first; or why the thread is
    malformed (one malformed message makes its whole thread so: nothing of it is imported)."""
    found: list[MessageLine] = []
    for i, m in enumerate(thread.messages or []):
        if m.thread_id is not None and m.thread_id != thread.id:
            return f"messages[{i}].thread_id: '{m.thread_id}' is another thread"
        found.append(m)
    for line in lines:
        try:
            found.append(MessageLine.model_validate(line.data))
        except ValidationError as exc:
            return f"its message at {line.where} is malformed: {describe(exc)}"
    unique: dict[str, MessageLine] = {}
    for m in found:
        unique.setdefault(m.id, m)
    return chronological(list(unique.values()), lambda m: m.created_at)


async def _write(writer: Writer, kind: Kind, line: Line, obj: Any, messages: list[MessageLine], report: Report) -> None:
    try:
        if kind == "file":
            notes = await writer.file(obj)
        elif kind == "vector_store":
            notes = await writer.vector_store(obj)
        elif kind == "assistant":
            notes = await writer.assistant(obj)
        else:
            notes = await writer.thread(obj, messages)
    except Skip as skip:
        report.outcomes.append(Outcome(kind, obj.id, line.where, skip.status, skip.reason))
        return
    except Exception as exc:  # one object the database refuses must not stop the others; the summary names it
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        report.outcomes.append(Outcome(kind, obj.id, line.where, "failed", reason))
        return
    count = len(messages) if kind == "thread" else 0
    report.outcomes.append(Outcome(kind, obj.id, line.where, "imported", messages=count))
    report.notes.extend(Note(kind, obj.id, line.where, text) for text in notes)
