"""One typed repository per table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table

from assistantd.store import tables as t
from assistantd.store._crud import Repo
from assistantd.store.db import Conn
from assistantd.store.records import (
    AssistantRecord,
    FileRecord,
    MessageRecord,
    RunRecord,
    RunStepRecord,
    ThreadRecord,
)


def _table(cls: type[t.Base]) -> Table:
    table = cls.__table__
    assert isinstance(table, Table)
    return table


class ThreadRepo(Repo[ThreadRecord]):
    """Threads (conversations): one deleted through the Conversations API is kept but found by neither API."""

    async def get(self, conn: Conn, object_id: str) -> ThreadRecord | None:
        thread = await super().get(conn, object_id)
        return None if thread is None or thread.deleted_at is not None else thread

    async def update(self, conn: Conn, object_id: str, values: dict[str, Any]) -> bool:
        return await self.get(conn, object_id) is not None and await super().update(conn, object_id, values)

    async def delete(self, conn: Conn, object_id: str) -> bool:
        return await self.get(conn, object_id) is not None and await super().delete(conn, object_id)


assistants = Repo(_table(t.AssistantRow), AssistantRecord)
threads = ThreadRepo(_table(t.ThreadRow), ThreadRecord)
messages = Repo(_table(t.MessageRow), MessageRecord)
files = Repo(_table(t.FileRow), FileRecord)
runs = Repo(_table(t.RunRow), RunRecord)
run_steps = Repo(_table(t.RunStepRow), RunStepRecord)
