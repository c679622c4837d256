"""Files between the store and a code_interpreter session's ``/mnt/data``.

**In.** The assistant's ``tool_resources.code_interpreter.file_ids`` come first, then the thread's (which
include message attachments with ``code_interpreter``). Each appears as ``/mnt/data/<its filename>``,
reduced to the last path component. When two files would share a name, the first keeps it and each later
one gets its file ID before the extension: ``data.csv``, ``data-file-abc123.csv``. A name that is empty,
``.``/``..`` or hidden by us becomes the file ID.

**Out.** Files the code creates or changes under ``/mnt/data`` become Files with purpose
``assistants_output`` and filename ``/mnt/data/<path>``; displayed images become PNG Files. ``Budget``
bounds what one execution and one session may add to the store: a number of Files per execution, and
bytes per session counted as stored (a sparse file costs its full size, since its copy is not sparse).
A file whose content is what was already copied (or placed) under that path is not copied again, so
touching files does not grow the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

from assistantd.ids import new_id
from assistantd.store import repos
from assistantd.store import runs as run_queries
from assistantd.store._crud import PageParams
from assistantd.store.blobs import BlobStore
from assistantd.store.db import Database
from assistantd.store.records import FileRecord, RunRecord
from assistantd.tools.base import private

_CONTROL = re.compile(r"[\x00-\x1f\x7f/\\]")


@dataclass(frozen=True)
class SessionFile:
    file_id: str
    name: str
    """Path relative to ``/mnt/data``."""
    blob_key: str


def _base_name(filename: str, file_id: str) -> str:
    name = _CONTROL.sub("_", filename.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if name in ("", ".", "..") or name.startswith(".assistantd-"):
        return file_id
    return name[:200]


def assign_names(records: list[FileRecord]) -> list[SessionFile]:
    """Names in ``/mnt/data`` for the input files, clashes resolved as the module docstring says."""
    taken: set[str] = set()
    out: list[SessionFile] = []
    for rec in records:
        name = _base_name(rec.filename, rec.id)
        if name in taken:
            stem, dot, ext = name.rpartition(".")
            name = f"{stem}-{rec.id}.{ext}" if dot and stem else f"{name}-{rec.id}"
        taken.add(name)
        out.append(SessionFile(rec.id, name, rec.blob_key))
    return out


async def input_files(db: Database, run: RunRecord) -> list[SessionFile]:
    """The run's code_interpreter files (assistant's, then thread's), named for ``/mnt/data``."""
    async with db.read() as conn:
        assistant = await repos.assistants.get(conn, run.assistant_id)
        thread = await repos.threads.get(conn, run.thread_id)
        ids: list[str] = []
        for owner in (assistant, thread):
            resources = (owner.tool_resources if owner else None) or {}
            ids.extend((resources.get("code_interpreter") or {}).get("file_ids") or [])
        records = [r for r in [await repos.files.get(conn, i) for i in dict.fromkeys(ids)] if r is not None]
    return assign_names(records)


async def earlier_outputs(db: Database, thread_id: str) -> list[SessionFile]:
    """Files earlier runs of the thread produced and linked in its messages (restored with a new session)."""
    ids: list[str] = []
    async with db.read() as conn:
        messages, _ = await repos.messages.page(
            conn, PageParams(limit=100, order="desc"), {"thread_id": thread_id, "role": "assistant"}
        )
        for message in messages:
            for part in message.content or []:
                for ann in (part.get("text") or {}).get("annotations") or [] if part.get("type") == "text" else []:
                    if ann.get("type") == "file_path":
                        ids.append(ann["file_path"]["file_id"])
        records = [r for r in [await repos.files.get(conn, i) for i in dict.fromkeys(ids)] if r is not None]
    out: list[SessionFile] = []
    for rec in reversed(records):  # oldest first, so the newest version of a path wins
        if rec.purpose == "assistants_output" and rec.filename.startswith("/mnt/data/"):
            name = rec.filename.removeprefix("/mnt/data/")
            if name and ".." not in name.split("/") and "/" not in name:
                out.append(SessionFile(rec.id, name, rec.blob_key))
    return out


async def thread_links(db: Database, thread_id: str) -> dict[str, str]:
    """``/mnt/data/<path>`` → the newest File the thread's runs made from it: as their code_interpreter calls
    recorded it, or, for runs recorded before calls kept it, as their answers linked it."""
    links = {f"/mnt/data/{f.name}": f.file_id for f in await earlier_outputs(db, thread_id)}
    async with db.read() as conn:
        steps = await run_queries.tool_steps_of_thread(conn, thread_id)
    for step in steps:
        for call in step.step_details.get("tool_calls") or []:
            if call.get("type") == "code_interpreter":
                links.update(private(call).get("files") or {})
    return links


async def read_blob(blobs: BlobStore, key: str) -> bytes:
    path = blobs.local_path(key)
    if path is not None and os.path.exists(path):
        return await asyncio.to_thread(path.read_bytes)
    return b"".join([chunk async for chunk in blobs.open(key)])


async def save_output(db: Database, blobs: BlobStore, filename: str, data: bytes) -> str:
    """A new File (``assistants_output``) holding ``data``; returns its ID."""
    file_id = new_id("file")
    size = await blobs.put(file_id, io.BytesIO(data))
    values: dict[str, Any] = {
        "id": file_id,
        "created_at": int(time.time()),
        "bytes": size,
        "filename": filename,
        "purpose": "assistants_output",
        "status": "processed",
        "status_details": None,
        "expires_at": None,
        "blob_key": file_id,
    }
    try:
        async with db.write() as conn:
            await repos.files.insert(conn, values)
    except BaseException:
        await blobs.delete(file_id)
        raise
    return file_id


def is_output_candidate(name: str) -> bool:
    """Skip hidden files and Python caches the code leaves behind."""
    return not any(part.startswith(".") or part == "__pycache__" for part in name.split("/"))


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


@dataclass
class Budget:
    """What one execution may still turn into Files, and what its session has already stored."""

    files: int
    """Files this execution may still create."""
    session_bytes_left: int
    session_quota: int
    refused: list[str] = field(default_factory=list)
    """Files that did not fit in the session's byte quota (path and size)."""
    over_count: int = 0
    """Files not saved because the per-execution count was reached."""
    images_over: int = 0

    def fits(self, size: int) -> bool:
        return self.files > 0 and size <= self.session_bytes_left

    def refuse(self, name: str, size: int, disk_bytes: int) -> None:
        if self.files <= 0:
            self.over_count += 1
            return
        sparse = ", a sparse file: copied out it takes its full size" if disk_bytes < size // 2 else ""
        self.refused.append(f"{name} ({_mib(size)}{sparse})")

    def spend(self, size: int) -> None:
        self.files -= 1
        self.session_bytes_left -= size

    def notes(self, cap: int, images_dropped: int) -> list[str]:
        out = []
        if self.over_count:
            out.append(
                f"[Only {cap} files and images are saved per execution: {self.over_count} more changed files were "
                "left in /mnt/data unsaved; write fewer files, or save them in a later call.]"
            )
        if self.images_over + images_dropped:
            out.append(
                f"[Only {cap} files and images are saved per execution: {self.images_over + images_dropped} more "
                "images were not kept; show fewer figures per call.]"
            )
        if self.refused:
            out.append(
                f"[Not saved: {', '.join(self.refused)}. This session may store {_mib(self.session_quota)} of "
                f"output files in total and has {_mib(max(self.session_bytes_left, 0))} left.]"
            )
        return out
