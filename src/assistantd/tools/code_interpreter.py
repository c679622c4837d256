"""The ``code_interpreter`` tool: model-written Python in a stateful, sandboxed session per thread.

The model calls ``code_interpreter(code)``. The thread's session (``sandbox.SessionPool``) gets the
run's files in ``/mnt/data`` (``_code_files``), runs the code, and what it printed, displayed or wrote
comes back as the run step's ``logs`` and ``image`` outputs and as new Files. ``annotate`` then turns
``sandbox:/mnt/data/...`` links in the answer into ``file_path`` annotations and displayed images into
``image_file`` parts of the message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any
from urllib.parse import unquote

from assistantd.backends.base import FunctionSpec
from assistantd.sandbox import (
    Execution,
    FileInfo,
    Lease,
    Sandbox,
    SandboxUnavailable,
    SessionPool,
    sandbox_from_settings,
)
from assistantd.settings import Settings
from assistantd.tools import _code_files as files
from assistantd.tools.base import PRIVATE, Annotated, ToolContext, private
from assistantd.tools.kernel_hosts import KernelHosts

log = logging.getLogger("assistantd.tools")

DESCRIPTION = (
    "Run Python code in a stateful Jupyter-like session (variables persist between calls in this thread). "
    "numpy, pandas and matplotlib are installed; there is no internet access. Files the user provided are in "
    "/mnt/data (list them with os.listdir('/mnt/data')); save files you create there too, and link them in "
    "your answer as sandbox:/mnt/data/<name>. Figures shown with matplotlib (plt.show()) are returned as "
    "images. Output is the printed text, the value of the last expression, and any error."
)
PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"code": {"type": "string", "description": "The Python code to run."}},
    "required": ["code"],
    "additionalProperties": False,
}
_LINK = re.compile(r"sandbox:(/mnt/data/[^\s()\[\]<>\"'`]+)")


class CodeInterpreter:
    """The ``Tool`` for ``{"type": "code_interpreter"}``."""

    type = "code_interpreter"
    name = "code_interpreter"

    def __init__(self, settings: Settings, sandbox: Sandbox | None, unavailable: str | None = None) -> None:
        self.settings = settings
        self.unavailable = unavailable
        self.limits: str | None = None
        """How sessions are bounded (uids; memory per session or per process), for the start-up log."""
        self.pool = (
            None
            if sandbox is None
            else SessionPool(
                sandbox,
                spares=settings.code_interpreter_spare_sessions,
                idle_seconds=settings.code_interpreter_idle_seconds,
                max_sessions=settings.code_interpreter_max_sessions,
            )
        )
        self.hosts: KernelHosts | None = None
        """Where this process records the threads whose session it holds (PostgreSQL, several workers)."""

    @classmethod
    async def open(cls, settings: Settings) -> CodeInterpreter:
        """Pick the sandbox (logging why code_interpreter is off, when it is) and start its pool."""
        try:
            sandbox = await asyncio.to_thread(sandbox_from_settings, settings)
        except SandboxUnavailable as exc:
            log.error(
                "code_interpreter is DISABLED: %s. Install bubblewrap and run 'assistantd setup-sandbox', or set "
                "ASSISTANTD_CODE_INTERPRETER_UNSANDBOXED=true to run code without isolation.",
                exc,
            )
            return cls(settings, None, str(exc))
        tool = cls(settings, sandbox)
        assert tool.pool is not None
        await tool.pool.start()
        tool.limits = sandbox.describe_limits()
        log.info("code_interpreter limits: %s", tool.limits)
        return tool

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    # --- the Tool protocol ---

    def function(self, run_tool: dict[str, Any]) -> FunctionSpec:
        return FunctionSpec(name=self.name, description=DESCRIPTION, parameters=PARAMETERS)

    def started(self, call_id: str) -> dict[str, Any]:
        return {"type": "code_interpreter", "code_interpreter": {"input": "", "outputs": []}}

    async def call(
        self, ctx: ToolContext, call_id: str, arguments: dict[str, Any], run_tool: dict[str, Any]
    ) -> dict[str, Any]:
        code = arguments.get("code")
        written: dict[str, str] = {}  # /mnt/data/<path> → the File made from it (what ``annotate`` links)
        if not isinstance(code, str):
            code = ""
            outputs = [_logs("Error: the code_interpreter call needs a string argument 'code'.")]
        else:
            ctx.emit_delta({"type": "code_interpreter", "code_interpreter": {"input": code}})
            outputs = await self._execute(ctx, call_id, code, written)
        if outputs:
            indexed = [{"index": i, **o} for i, o in enumerate(outputs)]
            ctx.emit_delta({"type": "code_interpreter", "code_interpreter": {"outputs": indexed}})
        call = {"id": call_id, "type": "code_interpreter", "code_interpreter": {"input": code, "outputs": outputs}}
        if written:
            call[PRIVATE] = {"files": written}
        return call

    def replay(self, tool_call: dict[str, Any]) -> tuple[str, str]:
        ci = tool_call.get("code_interpreter") or {}
        parts = []
        for out in ci.get("outputs") or []:
            if out.get("type") == "logs":
                parts.append(str(out.get("logs", "")))
            elif out.get("type") == "image":
                parts.append(f"[image displayed: {out['image']['file_id']}]")
        return json.dumps({"code": ci.get("input", "")}), "\n".join(parts) or "(no output)"

    async def annotate(self, ctx: ToolContext, text: str, tool_calls: list[dict[str, Any]]) -> Annotated:
        """``sandbox:/mnt/data/...`` links to files this run's code wrote (recorded with its calls), or else
        to the newest File earlier runs of the thread wrote at that path, become ``file_path`` annotations."""
        links = await self._links(ctx, text, tool_calls)
        annotations = []
        for m in _LINK.finditer(text):
            path = unquote(m.group(1)).rstrip(".,;:!?")
            file_id = links.get(path)
            if file_id is not None:
                end = m.start() + len("sandbox:") + len(m.group(1).rstrip(".,;:!?"))
                annotations.append(
                    {
                        "type": "file_path",
                        "text": text[m.start() : end],
                        "start_index": m.start(),
                        "end_index": end,
                        "file_path": {"file_id": file_id},
                    }
                )
        images = [
            {"type": "image_file", "image_file": {"file_id": out["image"]["file_id"]}}
            for call in tool_calls
            for out in (call.get("code_interpreter") or {}).get("outputs") or []
            if out.get("type") == "image"
        ]
        return Annotated(annotations=annotations, extra_parts=images)

    async def _links(self, ctx: ToolContext, text: str, tool_calls: list[dict[str, Any]]) -> dict[str, str]:
        links: dict[str, str] = {}
        for call in tool_calls:
            links.update(private(call).get("files") or {})
        paths = {unquote(m.group(1)).rstrip(".,;:!?") for m in _LINK.finditer(text)}
        if paths - links.keys():
            links = {**await files.thread_links(ctx.db, ctx.run.thread_id), **links}
        return links

    # --- one execution ---

    async def _execute(
        self, ctx: ToolContext, call_id: str, code: str, written: dict[str, str]
    ) -> list[dict[str, Any]]:
        if self.pool is None:
            return [_logs(f"Error: code_interpreter is not available on this server: {self.unavailable}.")]
        try:
            async with self.pool.lease(ctx.run.thread_id) as lease:
                if lease.fresh and self.hosts is not None and await self.hosts.arrive(ctx.run.thread_id):
                    lease.reset = lease.reset or "moved"
                notes = await self._sync_files(ctx, lease)
                assert lease.session is not None
                before = await lease.session.list_files()
                result = await lease.session.execute(code, self.settings.code_interpreter_timeout_seconds)
                outputs = await self._collect(ctx, lease, call_id, before, result, notes, written)
        except SandboxUnavailable as exc:
            return [_logs(f"Error: code_interpreter could not start a session: {exc}.")]
        return outputs

    async def _sync_files(self, ctx: ToolContext, lease: Lease) -> list[str]:
        """Put the run's files (and, in a new session, the thread's earlier outputs) into /mnt/data."""
        assert lease.session is not None
        placed: dict[str, str] = lease.state.setdefault("placed", {})
        wanted = await files.input_files(ctx.db, ctx.run)
        restored: list[str] = []
        if lease.fresh:
            taken = {f.name for f in wanted}
            for out in await files.earlier_outputs(ctx.db, ctx.run.thread_id):
                if out.name not in taken:
                    wanted.append(out)
                    restored.append(out.name)
        copied: dict[str, str] = lease.state.setdefault("copied", {})
        for f in wanted:
            if placed.get(f.file_id) == f.name:
                continue
            data = await files.read_blob(ctx.blobs, f.blob_key)
            await lease.session.put_file(f.name, data)
            placed[f.file_id] = f.name
            copied[f.name] = files.digest(data)  # unchanged, it is not copied back out
        notes: list[str] = []
        if lease.fresh and lease.reset is not None:
            why = {
                "idle": "it was idle too long",
                "crashed": "it crashed",
                "moved": "it ran in another server process, which has stopped",
            }[lease.reset]
            names = ", ".join(sorted({f.name for f in wanted})) or "none"
            notes.append(
                f"[The previous Python session of this thread ended because {why}; this is a new session, so "
                f"earlier variables and imports are gone. Files restored in /mnt/data: {names}.]"
            )
        return notes

    async def _collect(
        self,
        ctx: ToolContext,
        lease: Lease,
        call_id: str,
        before: dict[str, FileInfo],
        result: Execution,
        notes: list[str],
        written: dict[str, str],
    ) -> list[dict[str, Any]]:
        """Turn changed files, then displayed images, into Files within the execution's and session's
        budget; ``written`` gets each changed file's path and File."""
        assert lease.session is not None
        copied: dict[str, str] = lease.state.setdefault("copied", {})  # path → digest of what was last copied
        quota = self.settings.code_interpreter_session_output_bytes
        cap = self.settings.code_interpreter_max_output_files
        budget = files.Budget(cap, quota - lease.state.get("stored_bytes", 0), quota)
        changed = [
            info
            for name, info in (await lease.session.list_files()).items()
            if before.get(name) != info and files.is_output_candidate(name)
        ]
        for info in changed:
            if info.name not in copied and not budget.fits(info.size):
                budget.refuse(info.name, info.size, info.disk_bytes)
                continue
            try:
                data = await lease.session.get_file(info.name, self.settings.code_interpreter_max_file_bytes)
            except (OSError, ValueError):
                continue
            digest = files.digest(data)
            if copied.get(info.name) == digest:
                continue  # touched or rewritten, but the same content as the File already made from it
            if not budget.fits(len(data)):
                budget.refuse(info.name, len(data), info.disk_bytes)
                continue
            path = f"/mnt/data/{info.name}"
            written[path] = await files.save_output(ctx.db, ctx.blobs, path, data)
            copied[info.name] = digest
            budget.spend(len(data))
        outputs: list[dict[str, Any]] = []
        images: list[dict[str, Any]] = []
        for i, png in enumerate(result.images):
            if not budget.fits(len(png)):
                budget.images_over += 1
                continue
            file_id = await files.save_output(ctx.db, ctx.blobs, f"{call_id}-{i}.png", png)
            budget.spend(len(png))
            images.append({"type": "image", "image": {"file_id": file_id}})
        lease.state["stored_bytes"] = quota - budget.session_bytes_left
        text = _log_text(result, [*notes, *budget.notes(cap, result.images_dropped)])
        if text:
            outputs.append(_logs(text))
        return outputs + images


def _logs(text: str) -> dict[str, Any]:
    return {"type": "logs", "logs": text}


def _log_text(result: Execution, notes: list[str]) -> str:
    parts = [*notes]
    if result.stdout:
        parts.append(result.stdout.rstrip("\n"))
    if result.stderr:
        parts.append(result.stderr.rstrip("\n"))
    if result.error:
        parts.append(result.error.rstrip("\n"))
    if result.detail:
        parts.append(result.detail)
    return "\n".join(parts)
