"""One typed repository per table."""

from __future__ import annotations

from sqlalchemy import Table

from assistantd.store import tables as t
from assistantd.store._crud import Repo
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


assistants = Repo(_table(t.AssistantRow), AssistantRecord)
threads = Repo(_table(t.ThreadRow), ThreadRecord)
messages = Repo(_table(t.MessageRow), MessageRecord)
files = Repo(_table(t.FileRow), FileRecord)
runs = Repo(_table(t.RunRow), RunRecord)
run_steps = Repo(_table(t.RunStepRow), RunStepRecord)
