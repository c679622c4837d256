"""Finding a conversation by id (a ``conv_`` or ``thread_`` id: one id space), for both APIs."""

from __future__ import annotations

from assistantd.errors import InvalidRequest, NotFound
from assistantd.ids import has_prefix
from assistantd.store import repos
from assistantd.store.db import Conn
from assistantd.store.records import ThreadRecord


def check_conversation_id(value: str, param: str = "conversation_id") -> None:
    if not (has_prefix("conversation", value) or has_prefix("thread", value)):
        raise InvalidRequest(
            f"Invalid '{param}': '{value}'. Expected an ID that begins with 'conv'.", param=param, code="invalid_value"
        )


def not_found(conversation_id: str, param: str | None = None) -> NotFound:
    return NotFound(f"Conversation with id '{conversation_id}' not found.", param=param)


async def get_conversation(conn: Conn, conversation_id: str, param: str = "conversation_id") -> ThreadRecord:
    check_conversation_id(conversation_id, param)
    thread = await repos.threads.get(conn, conversation_id)
    if thread is None:
        raise not_found(conversation_id, param)
    return thread
