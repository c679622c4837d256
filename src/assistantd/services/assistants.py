"""Assistants: create, list, retrieve, modify, delete; and their versions (our extension).

An assistant is a prompt with versions: create writes version 1 and every modify, whatever it changes (even
only ``metadata``, or nothing), writes the next one, a snapshot of every field. Version N is thus the state
after the Nth write, which a ``prompt={"id": "asst_...", "version": "N"}`` reference runs and a run records
(``assistant_version`` in its options). Versions go when the assistant is deleted (the foreign key cascades).
"""

from __future__ import annotations

from typing import Any

from assistantd.errors import InvalidRequest
from assistantd.ids import new_id
from assistantd.organization.limits import enforce_indexing
from assistantd.services._context import Context, WireObject, now
from assistantd.services._refs import check_id, indexed_file_ids, missing, tool_resources_json
from assistantd.store import prompts as versions
from assistantd.store import repos
from assistantd.store._crud import PageParams
from assistantd.store.records import AssistantRecord
from assistantd.wire.assistants import AssistantCreate, AssistantModify
from assistantd.wire.common import deleted, dump, list_page


def to_wire(a: AssistantRecord) -> WireObject:
    """``openai.types.beta.Assistant``."""
    return {"id": a.id, "object": "assistant", "created_at": a.created_at, **_fields(a)}


def version_to_wire(v: versions.AssistantVersionRecord) -> WireObject:
    """``assistant.version`` (our extension): the assistant's fields as they were at ``version``."""
    return {
        "object": "assistant.version",
        "assistant_id": v.assistant_id,
        "version": v.version,
        "created_at": v.created_at,
        **_fields(v),
    }


def _fields(a: AssistantRecord | versions.AssistantVersionRecord) -> WireObject:
    """What an assistant is, as OpenAI renders it (with its defaults filled in)."""
    return {
        "name": a.name,
        "description": a.description,
        "model": a.model,
        "instructions": a.instructions,
        "tools": a.tools,
        "tool_resources": a.tool_resources or {},
        "metadata": a.metadata or {},
        "top_p": 1.0 if a.top_p is None else a.top_p,
        "temperature": 1.0 if a.temperature is None else a.temperature,
        "reasoning_effort": a.reasoning_effort,
        "response_format": "auto" if a.response_format is None else a.response_format,
    }


def version_cursor(value: str | None, param: str) -> int | None:
    """A version list's ``after``/``before``: a version number."""
    if value is None:
        return None
    if not value.isdigit():
        raise InvalidRequest(f"Invalid '{param}': '{value[:64]}'. Expected a version number.", param=param)
    return int(value)


def version_page(page: PageParams) -> versions.VersionPage:
    return versions.VersionPage(
        limit=page.limit,
        order=page.order,
        after=version_cursor(page.after, "after"),
        before=version_cursor(page.before, "before"),
    )


def version_list(data: list[WireObject], has_more: bool) -> WireObject:
    """OpenAI's list envelope, with version numbers (as strings) for ``first_id``/``last_id``: the cursors."""
    return {
        "object": "list",
        "data": data,
        "first_id": str(data[0]["version"]) if data else None,
        "last_id": str(data[-1]["version"]) if data else None,
        "has_more": has_more,
    }


def _response_format(value: Any) -> Any:
    return value if isinstance(value, str) or value is None else dump(value)


class Assistants:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def get_record(self, assistant_id: str, param: str = "assistant_id") -> AssistantRecord:
        check_id("assistant", assistant_id, param)
        async with self.ctx.db.read() as conn:
            record = await repos.assistants.get(conn, assistant_id)
        if record is None:
            raise missing("assistant", assistant_id, param if param != "assistant_id" else None)
        return record

    async def create_assistant(self, req: AssistantCreate) -> WireObject:
        await enforce_indexing(self.ctx.db, self.ctx.settings, indexed_file_ids(req.tool_resources))
        values: dict[str, Any] = {
            "id": new_id("assistant"),
            "created_at": now(),
            "model": req.model,
            "name": req.name,
            "description": req.description,
            "instructions": req.instructions,
            "tools": [dump(t) for t in req.tools or []],
            "metadata": req.metadata or {},
            "temperature": req.temperature,
            "top_p": req.top_p,
            "response_format": _response_format(req.response_format),
            "reasoning_effort": req.reasoning_effort,
        }
        async with self.ctx.db.write() as conn:
            resources = req.tool_resources.model_dump(exclude_none=True) if req.tool_resources else None
            values["tool_resources"] = await tool_resources_json(conn, resources)
            await repos.assistants.insert(conn, values)
            record = AssistantRecord(**values)
            await versions.add_assistant_version(conn, record, record.created_at)
        return to_wire(record)

    async def list_assistants(self, page: PageParams) -> WireObject:
        async with self.ctx.db.read() as conn:
            records, has_more = await repos.assistants.page(conn, page)
        return list_page([to_wire(r) for r in records], has_more)

    async def retrieve_assistant(self, assistant_id: str) -> WireObject:
        return to_wire(await self.get_record(assistant_id))

    async def modify_assistant(self, assistant_id: str, req: AssistantModify) -> WireObject:
        check_id("assistant", assistant_id, "assistant_id")
        await enforce_indexing(self.ctx.db, self.ctx.settings, indexed_file_ids(req.tool_resources))
        given = req.model_fields_set
        values: dict[str, Any] = {}
        for name in (
            "model",
            "name",
            "description",
            "instructions",
            "temperature",
            "top_p",
            "reasoning_effort",
        ):
            if name in given:
                values[name] = getattr(req, name)
        if "tools" in given:
            values["tools"] = [dump(t) for t in req.tools or []]
        if "metadata" in given:
            values["metadata"] = req.metadata or {}
        if "response_format" in given:
            values["response_format"] = _response_format(req.response_format)
        async with self.ctx.db.write() as conn:
            if "tool_resources" in given:
                resources = req.tool_resources.model_dump(exclude_none=True) if req.tool_resources else None
                values["tool_resources"] = await tool_resources_json(conn, resources)
            before = await versions.lock_assistant(conn, assistant_id)
            if before is None:
                raise missing("assistant", assistant_id)
            if not await versions.has_assistant_versions(conn, assistant_id):
                await versions.add_assistant_version(conn, before, before.created_at)  # made before versions
            if values:
                await repos.assistants.update(conn, assistant_id, values)
            record = await repos.assistants.get(conn, assistant_id)
            assert record is not None
            await versions.add_assistant_version(conn, record, now())
        return to_wire(record)

    async def list_assistant_versions(self, assistant_id: str, page: PageParams) -> WireObject:
        """``GET /v1/assistants/{id}/versions`` (our extension): newest first unless ``order=asc``."""
        cursor = version_page(page)
        await self.get_record(assistant_id)
        async with self.ctx.db.read() as conn:
            records, has_more = await versions.page_assistant_versions(conn, assistant_id, cursor)
        return version_list([version_to_wire(r) for r in records], has_more)

    async def delete_assistant(self, assistant_id: str) -> WireObject:
        check_id("assistant", assistant_id, "assistant_id")
        async with self.ctx.db.write() as conn:
            if not await repos.assistants.delete(conn, assistant_id):
                raise missing("assistant", assistant_id)
        return deleted(assistant_id, "assistant.deleted")
