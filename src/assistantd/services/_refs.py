"""Checks on IDs and on references to other objects, with OpenAI's messages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from assistantd.errors import InvalidRequest, not_found
from assistantd.ids import EXPECTED_BEGINNING, Kind, has_prefix
from assistantd.store import repos, vector_stores
from assistantd.store.db import Conn

_NAMES: dict[Kind, str] = {
    "assistant": "assistant",
    "thread": "thread",
    "message": "message",
    "run": "run",
    "step": "run step",
    "file": "file",
    "vector_store": "vector store",
    "file_batch": "file batch",
    "call": "tool call",
}


def check_id(kind: Kind, value: str, param: str) -> None:
    """A malformed ID is a 400, as OpenAI's "Expected an ID that begins with 'thread'". A conversation's id
    is a thread id (one id space)."""
    if not has_prefix(kind, value) and not (kind == "thread" and has_prefix("conversation", value)):
        raise InvalidRequest(
            f"Invalid '{param}': '{value}'. Expected an ID that begins with '{EXPECTED_BEGINNING[kind]}'.",
            param=param,
        )


def missing(kind: Kind, value: str, param: str | None = None) -> Exception:
    return not_found(_NAMES[kind], value, param)


async def require_file(conn: Conn, file_id: str, param: str) -> None:
    """A file referenced from a body must exist: 400 naming the field (``attachments[0].file_id``)."""
    if not has_prefix("file", file_id) or await repos.files.get(conn, file_id) is None:
        raise InvalidRequest(f"No file found with id '{file_id}'.", param=param)


async def require_files(conn: Conn, file_ids: list[str], param: str) -> None:
    """Every file of a list field must exist: 400 naming the element (``file_ids[1]``)."""
    for i, file_id in enumerate(file_ids):
        await require_file(conn, file_id, f"{param}[{i}]")


def indexed_file_ids(resources: Any = None, messages: Iterable[Any] = ()) -> list[str]:
    """The files a request would index into a vector store it makes or extends: a ``tool_resources``
    ``file_search.vector_stores`` helper's ``file_ids``, and messages' attachments for ``file_search``. For
    the storage quota's check before the request's transaction (``organization.limits.enforce_indexing``)."""
    ids: list[str] = []
    file_search = getattr(resources, "file_search", None)
    for helper in getattr(file_search, "vector_stores", None) or []:
        ids.extend(helper.file_ids or [])
    for message in messages:
        for attachment in getattr(message, "attachments", None) or []:
            if any(tool.type == "file_search" for tool in attachment.tools or []):
                ids.append(attachment.file_id)
    return list(dict.fromkeys(ids))


async def tool_resources_json(
    conn: Conn, resources: dict[str, Any] | None, param: str = "tool_resources"
) -> dict[str, Any]:
    """Validate a request's tool_resources and return the stored form."""
    out: dict[str, Any] = {}
    if not resources:
        return out
    ci = resources.get("code_interpreter")
    if ci is not None:
        ids = list(dict.fromkeys(ci.get("file_ids") or []))
        await require_files(conn, ids, f"{param}.code_interpreter.file_ids")
        out["code_interpreter"] = {"file_ids": ids}
    fs = resources.get("file_search")
    if fs is not None:
        out["file_search"] = {"vector_store_ids": await _file_search_stores(conn, fs, f"{param}.file_search")}
    return out


async def _file_search_stores(conn: Conn, fs: dict[str, Any], param: str) -> list[str]:
    """``vector_store_ids`` (each must exist), or the ``vector_stores`` helper, which creates the store."""
    from assistantd.services.vector_stores import insert_store  # it imports this module

    ids = fs.get("vector_store_ids")
    helpers = fs.get("vector_stores")
    if ids and helpers:
        raise InvalidRequest(
            "Only one of 'vector_store_ids' or 'vector_stores' may be provided.", param=f"{param}.vector_stores"
        )
    if helpers:
        helper = helpers[0]
        store = await insert_store(
            conn,
            file_ids=helper.get("file_ids"),
            chunking=helper.get("chunking_strategy"),
            metadata=helper.get("metadata"),
            param=f"{param}.vector_stores[0].",
        )
        return [store.id]
    for i, store_id in enumerate(ids or []):
        check_id("vector_store", store_id, f"{param}.vector_store_ids[{i}]")
        if await vector_stores.stores.get(conn, store_id) is None:
            raise InvalidRequest(f"No vector store found with id '{store_id}'.", param=f"{param}.vector_store_ids[{i}]")
    return list(ids or [])
