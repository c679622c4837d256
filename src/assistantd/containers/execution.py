"""Running code in a container: its sandbox session, its files in and out.

The session (``SessionPool``, keyed by the container ID) is a cache of the container's files: before each
execution every container file not yet in ``/mnt/data`` is written there (all of them in a new session,
after the pool reclaimed or lost the previous one), and files deleted through the API are removed. After
it, files the code created or changed under ``/mnt/data`` become container files with ``source:
"assistant"`` (replacing the file at that path), and displayed images become PNG container files at
``/mnt/data/<cfile id>.png`` (written into the session too, so the path is true). What one execution and
one container may add is bounded as for the Assistants tool (``_code_files.Budget``): files per execution,
and the container's stored output bytes.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass, field
from typing import Any

from assistantd.ids import new_id
from assistantd.sandbox import Execution, FileInfo, Lease, SandboxUnavailable, SessionPool
from assistantd.services._context import Context, now
from assistantd.store import containers as store
from assistantd.store.containers import ContainerFileRecord, ContainerRecord
from assistantd.tools import _code_files as code_files
from assistantd.tools.kernel_hosts import KernelHosts

ROOT = "/mnt/data/"
_CONTROL = re.compile(r"[\x00-\x1f\x7f/\\]")


def safe_name(filename: str, file_id: str) -> str:
    """The last path component of an uploaded name, made safe for ``/mnt/data`` (the file ID if nothing is
    left)."""
    name = _CONTROL.sub("_", filename.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if name in ("", ".", "..") or name.startswith(".assistantd-"):
        return file_id
    return name[:200]


@dataclass(frozen=True)
class ContainerFile:
    """A file the code wrote (or an image it displayed), as a container file: what a
    ``container_file_citation`` names."""

    file_id: str
    path: str
    bytes: int

    @property
    def filename(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass
class ExecutionResult:
    """What one ``Containers.execute`` produced."""

    container_id: str
    status: str
    """``ok``, ``error``, ``timeout``, ``output_limit``, ``crashed`` (as ``sandbox.Execution``), or
    ``unavailable`` (no sandbox on this server, or no free session: ``logs`` says which)."""
    logs: str = ""
    """stdout, stderr, the traceback and notes for the model (a new session, files not saved), in order."""
    images: list[ContainerFile] = field(default_factory=list)
    """PNG images the code displayed, each a container file."""
    image_data: list[bytes] = field(default_factory=list)
    """Their bytes, in the same order (for ``{"type": "image", "url": "data:image/png;base64,..."}``)."""
    files: list[ContainerFile] = field(default_factory=list)
    """Files the code created or changed under ``/mnt/data`` that were saved."""

    def outputs(self) -> list[dict[str, Any]]:
        """``code_interpreter_call.outputs`` as the Responses API renders them (logs, then images)."""
        out: list[dict[str, Any]] = [{"type": "logs", "logs": self.logs}] if self.logs else []
        for png in self.image_data:
            out.append({"type": "image", "url": "data:image/png;base64," + base64.b64encode(png).decode()})
        return out


class Runner:
    def __init__(self, ctx: Context, pool: SessionPool | None, unavailable: str | None) -> None:
        self.ctx = ctx
        self.pool = pool
        self.unavailable = unavailable
        self.hosts: KernelHosts | None = None
        """Where this process records the containers whose session it holds (PostgreSQL, several workers)."""

    async def discard(self, container_id: str) -> None:
        if self.pool is not None:
            await self.pool.discard(container_id)

    async def run(self, container: ContainerRecord, code: str) -> ExecutionResult:
        if self.pool is None:
            why = self.unavailable or "no sandbox"
            return ExecutionResult(container.id, "unavailable", f"Error: code execution is not available: {why}.")
        settings = self.ctx.settings
        try:
            async with self.pool.lease(container.id) as lease:
                assert lease.session is not None
                if lease.fresh and self.hosts is not None and await self.hosts.arrive(container.id):
                    lease.reset = lease.reset or "moved"
                notes = await self._sync_in(container, lease)
                before = await lease.session.list_files()
                result = await lease.session.execute(code, settings.code_interpreter_timeout_seconds)
                return await self._collect(container, lease, before, result, notes)
        except SandboxUnavailable as exc:
            return ExecutionResult(container.id, "unavailable", f"Error: could not start a session: {exc}.")

    async def _sync_in(self, container: ContainerRecord, lease: Lease) -> list[str]:
        """Make ``/mnt/data`` hold the container's files: write the missing ones, remove the deleted ones."""
        assert lease.session is not None
        placed: dict[str, str] = lease.state.setdefault("placed", {})  # path → container file ID
        digests: dict[str, str] = lease.state.setdefault("digests", {})  # path → SHA-256 of what is there
        async with self.ctx.db.read() as conn:
            records = await store.all_files(conn, container.id)
        wanted = {r.path: r for r in records}
        for path in [p for p in placed if p not in wanted]:
            name = path.removeprefix(ROOT)
            if "/" not in name:
                await lease.session.remove_file(name)
            placed.pop(path, None)
            digests.pop(path, None)
        for rec in records:
            name = rec.path.removeprefix(ROOT)
            if placed.get(rec.path) == rec.id or "/" in name:
                continue  # in place, or nested: only the code that wrote it can make its folder
            data = await code_files.read_blob(self.ctx.blobs, rec.blob_key)
            await lease.session.put_file(name, data)
            placed[rec.path] = rec.id
            digests[rec.path] = code_files.digest(data)
        if lease.fresh and lease.reset is not None:
            why = {
                "idle": "it was idle too long",
                "crashed": "it crashed",
                "moved": "it ran in another server process, which has stopped",
            }[lease.reset]
            names = ", ".join(sorted(r.path.removeprefix(ROOT) for r in records)) or "none"
            return [
                f"[The previous Python session of this container ended because {why}; this is a new session, so "
                f"earlier variables and imports are gone. Files restored in /mnt/data: {names}.]"
            ]
        return []

    async def _collect(
        self,
        container: ContainerRecord,
        lease: Lease,
        before: dict[str, FileInfo],
        result: Execution,
        notes: list[str],
    ) -> ExecutionResult:
        assert lease.session is not None
        settings = self.ctx.settings
        placed: dict[str, str] = lease.state["placed"]
        digests: dict[str, str] = lease.state["digests"]
        async with self.ctx.db.read() as conn:
            stored = await store.assistant_bytes(conn, container.id)
        quota = settings.code_interpreter_session_output_bytes
        cap = settings.code_interpreter_max_output_files
        budget = code_files.Budget(cap, quota - stored, quota)
        out = ExecutionResult(container.id, result.status)
        changed = [
            info
            for name, info in (await lease.session.list_files()).items()
            if before.get(name) != info and code_files.is_output_candidate(name)
        ]
        for info in changed:
            path = ROOT + info.name
            if path not in digests and not budget.fits(info.size):
                budget.refuse(info.name, info.size, info.disk_bytes)
                continue
            try:
                data = await lease.session.get_file(info.name, settings.code_interpreter_max_file_bytes)
            except (OSError, ValueError):
                continue
            digest = code_files.digest(data)
            if digests.get(path) == digest:
                continue  # touched or rewritten with the same content
            if not budget.fits(len(data)):
                budget.refuse(info.name, len(data), info.disk_bytes)
                continue
            saved = await self._save(container.id, path, data)
            if saved is None:
                break  # the container was deleted while the code ran
            placed[path], digests[path] = saved.id, digest
            budget.spend(len(data))
            out.files.append(ContainerFile(saved.id, path, len(data)))
        for png in result.images:
            if not budget.fits(len(png)):
                budget.images_over += 1
                continue
            file_id = new_id("container_file")
            saved = await self._save(container.id, f"{ROOT}{file_id}.png", png, file_id)
            if saved is None:
                break
            await lease.session.put_file(f"{file_id}.png", png)
            placed[saved.path], digests[saved.path] = saved.id, code_files.digest(png)
            budget.spend(len(png))
            out.images.append(ContainerFile(saved.id, saved.path, len(png)))
            out.image_data.append(png)
        out.logs = _log_text(result, [*notes, *budget.notes(cap, result.images_dropped)])
        return out

    async def _save(
        self, container_id: str, path: str, data: bytes, file_id: str | None = None
    ) -> ContainerFileRecord | None:
        """A container file (``source: "assistant"``) at ``path``, replacing the one there; None when the
        container is gone."""
        file_id = file_id or new_id("container_file")
        size = await self.ctx.blobs.put(file_id, io.BytesIO(data))
        row: dict[str, Any] = {
            "id": file_id,
            "container_id": container_id,
            "created_at": now(),
            "bytes": size,
            "path": path,
            "source": "assistant",
            "blob_key": file_id,
        }
        try:
            async with self.ctx.db.write() as conn:
                gone = await store.containers.get(conn, container_id) is None
                replaced = None if gone else await store.replace_at_path(conn, container_id, row)
        except BaseException:
            await self.ctx.blobs.delete(file_id)
            raise
        if gone:
            await self.ctx.blobs.delete(file_id)
            return None
        if replaced is not None:
            await self.ctx.blobs.delete(replaced.blob_key)
        return ContainerFileRecord(**row)


def _log_text(result: Execution, notes: list[str]) -> str:
    parts = [*notes]
    for text in (result.stdout, result.stderr, result.error):
        if text:
            parts.append(text.rstrip("\n"))
    if result.detail:
        parts.append(result.detail)
    return "\n".join(parts)
