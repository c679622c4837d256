"""Stored prompts (``/v1/prompts``, our extension): create, list, retrieve (at a version), update (which writes
a new version), list versions, delete.

Versions are immutable and numbered 1, 2, 3, ... per prompt; every update writes one, a full snapshot in which
the fields the update omits keep the previous version's values. A ``prompt`` object shows the newest version
(or the one ``?version=N`` asks for); ``prompt.version`` objects are the list of versions.
"""

from __future__ import annotations

from typing import Any

from assistantd.errors import InvalidRequest, NotFound
from assistantd.ids import EXPECTED_BEGINNING, has_prefix, new_id
from assistantd.prompts.protocol import PromptCreate, PromptUpdate, check_responses_fields, variable_json
from assistantd.services._context import Context, WireObject, now
from assistantd.services.assistants import version_list, version_page
from assistantd.store import prompts as store
from assistantd.store._crud import PageParams
from assistantd.store.db import Conn
from assistantd.wire.common import deleted, list_page

FIELDS = ("name", "model", "instructions", "tools", "text", "temperature", "top_p", "metadata", "variables")
"""What a version holds, besides its number and time."""


def _content(v: store.PromptVersionRecord) -> WireObject:
    return {
        "name": v.name,
        "model": v.model,
        "instructions": v.instructions,
        "tools": [_tool_echo(t) for t in v.tools],
        "text": v.text,
        "temperature": v.temperature,
        "top_p": v.top_p,
        "metadata": v.metadata or {},
        "variables": v.variables or {},
    }


def _tool_echo(tool: dict[str, Any]) -> dict[str, Any]:
    """A stored tool as shown: an MCP tool's credentials are kept for the model's calls, never echoed (as
    ``POST /v1/responses`` does not echo them)."""
    if tool.get("type") == "mcp":
        return {k: v for k, v in tool.items() if k not in ("authorization", "headers")}
    return tool


def to_wire(prompt: store.PromptRecord, v: store.PromptVersionRecord) -> WireObject:
    """``prompt``: the prompt at version ``v`` (its newest unless asked otherwise)."""
    return {"id": prompt.id, "object": "prompt", "created_at": prompt.created_at, "version": v.version, **_content(v)}


def version_to_wire(v: store.PromptVersionRecord) -> WireObject:
    """``prompt.version``: one entry of ``GET /v1/prompts/{id}/versions``."""
    return {
        "object": "prompt.version",
        "prompt_id": v.prompt_id,
        "version": v.version,
        "created_at": v.created_at,
        **_content(v),
    }


def check_prompt_id(prompt_id: str, param: str = "prompt_id") -> None:
    if not has_prefix("prompt", prompt_id):
        raise InvalidRequest(
            f"Invalid '{param}': '{prompt_id[:64]}'. Expected an ID that begins with '{EXPECTED_BEGINNING['prompt']}'.",
            param=param,
        )


def _missing(prompt_id: str) -> NotFound:
    return NotFound(f"No prompt found with id '{prompt_id}'.")


def _values(req: PromptCreate, previous: store.PromptVersionRecord | None) -> dict[str, Any]:
    """A version's columns: the request's fields, and the previous version's for those it omits."""
    given = req.model_fields_set
    values: dict[str, Any] = {}
    for name in FIELDS:
        if name in given or previous is None:
            value = getattr(req, name)
            if name == "variables" and value is not None:
                value = {k: variable_json(v) for k, v in value.items()}
            values[name] = value
        else:
            values[name] = getattr(previous, name)
    values["tools"] = values["tools"] or []
    values["metadata"] = values["metadata"] or {}
    check_responses_fields(values["tools"], values["text"])
    return values


class Prompts:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def create_prompt(self, req: PromptCreate) -> WireObject:
        values = _values(req, None)
        prompt = store.PromptRecord(id=new_id("prompt"), created_at=now(), version=1)
        async with self.ctx.db.write() as conn:
            await store.prompts.insert(conn, {"id": prompt.id, "created_at": prompt.created_at, "version": 1})
            await store.add_prompt_version(conn, prompt.id, 1, {**values, "created_at": prompt.created_at})
            version = await store.get_prompt_version(conn, prompt.id, 1)
        assert version is not None
        return to_wire(prompt, version)

    async def list_prompts(self, page: PageParams) -> WireObject:
        async with self.ctx.db.read() as conn:
            records, has_more = await store.prompts.page(conn, page)
            newest = await store.prompt_versions_of(conn, [(p.id, p.version) for p in records])
        return list_page([to_wire(p, newest[p.id]) for p in records if p.id in newest], has_more)

    async def retrieve_prompt(self, prompt_id: str, version: int | None = None) -> WireObject:
        check_prompt_id(prompt_id)
        async with self.ctx.db.read() as conn:
            prompt = await self._get(conn, prompt_id)
            record = await store.get_prompt_version(conn, prompt_id, prompt.version if version is None else version)
        if record is None:
            raise NotFound(f"Version '{version}' of prompt '{prompt_id}' not found.", param="version")
        return to_wire(prompt, record)

    async def update_prompt(self, prompt_id: str, req: PromptUpdate) -> WireObject:
        check_prompt_id(prompt_id)
        async with self.ctx.db.write() as conn:
            prompt = await store.lock_prompt(conn, prompt_id)
            if prompt is None:
                raise _missing(prompt_id)
            previous = await store.get_prompt_version(conn, prompt_id, prompt.version)
            assert previous is not None
            values = _values(req, previous)
            number = prompt.version + 1
            await store.add_prompt_version(conn, prompt_id, number, {**values, "created_at": now()})
            record = await store.get_prompt_version(conn, prompt_id, number)
        assert record is not None
        return to_wire(store.PromptRecord(prompt.id, prompt.created_at, number), record)

    async def list_prompt_versions(self, prompt_id: str, page: PageParams) -> WireObject:
        check_prompt_id(prompt_id)
        cursor = version_page(page)
        async with self.ctx.db.read() as conn:
            await self._get(conn, prompt_id)
            records, has_more = await store.page_prompt_versions(conn, prompt_id, cursor)
        return version_list([version_to_wire(r) for r in records], has_more)

    async def delete_prompt(self, prompt_id: str) -> WireObject:
        check_prompt_id(prompt_id)
        async with self.ctx.db.write() as conn:
            if not await store.prompts.delete(conn, prompt_id):
                raise _missing(prompt_id)
        return deleted(prompt_id, "prompt.deleted")

    async def _get(self, conn: Conn, prompt_id: str) -> store.PromptRecord:
        prompt = await store.prompts.get(conn, prompt_id)
        if prompt is None:
            raise _missing(prompt_id)
        return prompt
