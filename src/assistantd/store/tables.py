"""SQLAlchemy 2 tables. ORM classes never leave ``store/``; services get domain records.

Every table has an integer ``seq`` (insertion order) that lists are ordered and paginated by, because
``created_at`` has one-second resolution and IDs are random. Nested API structures (tools, content parts,
tool_resources) are JSON columns: their shape is fixed by OpenAI, not by our queries.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from assistantd.store.scope import DEFAULT_PROJECT

Json = JSON().with_variant(JSONB(), "postgresql")
Seq = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


def project_column(*, index: bool = True) -> Mapped[str]:
    """The project a row belongs to (``store/scope.py`` confines every statement to it). Children carry it
    too, unindexed (they are found by their parent's ID): a child read by its own ID is then confined as
    well, whatever check of its parent a service makes or skips."""
    return mapped_column(String(64), server_default=DEFAULT_PROJECT, index=index)


class AssistantRow(Base):
    __tablename__ = "assistants"
    seq: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = project_column()
    created_at: Mapped[int] = mapped_column(BigInteger)
    model: Mapped[str] = mapped_column(String(256))
    name: Mapped[str | None] = mapped_column(String(256))
    description: Mapped[str | None] = mapped_column(String(512))
    instructions: Mapped[str | None] = mapped_column(Text)
    tools: Mapped[list[Any]] = mapped_column(Json)
    tool_resources: Mapped[dict[str, Any] | None] = mapped_column(Json)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", Json)
    temperature: Mapped[float | None] = mapped_column(Float)
    top_p: Mapped[float | None] = mapped_column(Float)
    response_format: Mapped[Any | None] = mapped_column(Json)
    reasoning_effort: Mapped[str | None] = mapped_column(String(16))


class ThreadRow(Base):
    __tablename__ = "threads"
    seq: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = project_column()
    created_at: Mapped[int] = mapped_column(BigInteger)
    tool_resources: Mapped[dict[str, Any] | None] = mapped_column(Json)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", Json)
    deleted_at: Mapped[int | None] = mapped_column(BigInteger)
    """Set when deleted through the Conversations API, which keeps the items (OpenAI's behaviour); a thread
    deleted through the Assistants API is removed with its messages and runs."""


class MessageRow(Base):
    """One item of a conversation's ordered log (a thread is a conversation). ``type`` ``message`` rows are
    the thread's messages (``content`` in the Assistants shape, ``data`` the neutral item when a response
    made it); every other type (function calls and outputs, tool calls, reasoning) keeps its neutral item
    in ``data`` and is seen only through the Conversations API and as model context."""

    __tablename__ = "messages"
    seq: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = project_column(index=False)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    thread_id: Mapped[str] = mapped_column(String(64), ForeignKey("threads.id", ondelete="CASCADE"))
    created_at: Mapped[int] = mapped_column(BigInteger)
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    content: Mapped[list[Any]] = mapped_column(Json)
    assistant_id: Mapped[str | None] = mapped_column(String(64))
    run_id: Mapped[str | None] = mapped_column(String(64))
    attachments: Mapped[list[Any] | None] = mapped_column(Json)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", Json)
    incomplete_details: Mapped[dict[str, Any] | None] = mapped_column(Json)
    completed_at: Mapped[int | None] = mapped_column(BigInteger)
    incomplete_at: Mapped[int | None] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(40), default="message", server_default="message")
    data: Mapped[dict[str, Any] | None] = mapped_column(Json)
    tokens: Mapped[int | None] = mapped_column(Integer)
    """The item's prompt tokens as model context, counted once (None until a turn first counts it)."""

    __table_args__ = (
        Index("ix_messages_thread_seq", "thread_id", "seq"),
        Index("ix_messages_run", "run_id"),
    )


class FileRow(Base):
    __tablename__ = "files"
    seq: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = project_column()
    created_at: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(1024))
    purpose: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    status_details: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[int | None] = mapped_column(BigInteger)
    blob_key: Mapped[str] = mapped_column(String(256))

    __table_args__ = (Index("ix_files_purpose_seq", "purpose", "seq"),)


class RunRow(Base):
    """An Assistants run or a response (``kind``): one record, one state machine, one queue.
    A response has no thread unless it continues a conversation; ``options`` holds what only responses have
    (``previous_response_id``, ``store``, ``background``, ``text``, ``include``, the tools as sent, ...)."""

    __tablename__ = "runs"
    seq: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = project_column()
    thread_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("threads.id", ondelete="CASCADE"))
    assistant_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(24))
    model: Mapped[str] = mapped_column(String(256))
    instructions: Mapped[str] = mapped_column(Text)
    tools: Mapped[list[Any]] = mapped_column(Json)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", Json)
    started_at: Mapped[int | None] = mapped_column(BigInteger)
    expires_at: Mapped[int | None] = mapped_column(BigInteger)
    cancelled_at: Mapped[int | None] = mapped_column(BigInteger)
    failed_at: Mapped[int | None] = mapped_column(BigInteger)
    completed_at: Mapped[int | None] = mapped_column(BigInteger)
    required_action: Mapped[dict[str, Any] | None] = mapped_column(Json)
    last_error: Mapped[dict[str, Any] | None] = mapped_column(Json)
    incomplete_details: Mapped[dict[str, Any] | None] = mapped_column(Json)
    usage: Mapped[dict[str, Any] | None] = mapped_column(Json)
    temperature: Mapped[float | None] = mapped_column(Float)
    top_p: Mapped[float | None] = mapped_column(Float)
    max_prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    max_completion_tokens: Mapped[int | None] = mapped_column(Integer)
    truncation_strategy: Mapped[dict[str, Any]] = mapped_column(Json)
    tool_choice: Mapped[Any] = mapped_column(Json)
    parallel_tool_calls: Mapped[bool] = mapped_column(Boolean)
    response_format: Mapped[Any] = mapped_column(Json)
    reasoning_effort: Mapped[str | None] = mapped_column(String(16))
    additional_instructions: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(16), default="run", server_default="run")
    options: Mapped[dict[str, Any] | None] = mapped_column(Json)

    __table_args__ = (
        Index("ix_runs_thread_seq", "thread_id", "seq"),
        Index("ix_runs_status", "status"),
    )


class ResponseItemRow(Base):
    """A response's input and output items, in order (``role``: ``input`` | ``output``). The context of a
    response is its ancestors' items along ``previous_response_id``, then its own."""

    __tablename__ = "response_items"
    seq: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = project_column(index=False)
    id: Mapped[str] = mapped_column(String(128))
    """The item's id; client-made ids are kept, so it is unique only within one response."""
    response_id: Mapped[str] = mapped_column(String(64), ForeignKey("runs.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(8))
    type: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_response_items_response_seq", "response_id", "seq"),)


class ResponseEventRow(Base):
    """The stream events of a background response, kept with it so ``GET ?stream=true`` replays them."""

    __tablename__ = "response_events"
    seq: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=True)
    response_id: Mapped[str] = mapped_column(String(64), ForeignKey("runs.id", ondelete="CASCADE"))
    sequence_number: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(Json)

    __table_args__ = (Index("ix_response_events_response_seq", "response_id", "sequence_number"),)


class RunStepRow(Base):
    __tablename__ = "run_steps"
    seq: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = project_column(index=False)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    run_id: Mapped[str] = mapped_column(String(64), ForeignKey("runs.id", ondelete="CASCADE"))
    thread_id: Mapped[str] = mapped_column(String(64))
    assistant_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))
    step_details: Mapped[dict[str, Any]] = mapped_column(Json)
    last_error: Mapped[dict[str, Any] | None] = mapped_column(Json)
    expired_at: Mapped[int | None] = mapped_column(BigInteger)
    cancelled_at: Mapped[int | None] = mapped_column(BigInteger)
    failed_at: Mapped[int | None] = mapped_column(BigInteger)
    completed_at: Mapped[int | None] = mapped_column(BigInteger)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", Json)
    usage: Mapped[dict[str, Any] | None] = mapped_column(Json)

    __table_args__ = (Index("ix_run_steps_run_seq", "run_id", "seq"),)


class RunEventRow(Base):
    """A run's or response's events, written by the process executing it so that streams in other processes
    follow it (PostgreSQL deployments; ``runs/pg_events.py``). No foreign key: rows outlive nothing for long
    (the sweeper removes them) and a run's deletion must not wait on them."""

    __tablename__ = "run_events"
    seq: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(Json)
    origin: Mapped[str] = mapped_column(String(32))
    """The process that wrote it (``PostgresEventLog.origin``): its own streams had it already."""
    created_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        Index("ix_run_events_run_seq", "run_id", "seq"),
        Index("ix_run_events_created", "created_at"),
    )


class KernelHostRow(Base):
    """Which process (its ``WorkerPool.owner``) holds the code_interpreter session of a thread or container,
    and until when unless renewed: their runs are claimed by that process while it lives (``store/jobs.py``)."""

    __tablename__ = "kernel_hosts"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    until: Mapped[float] = mapped_column(Float)


class JobRow(Base):
    """The persistent work queue: one row per run that a worker must advance."""

    __tablename__ = "jobs"
    seq: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), ForeignKey("runs.id", ondelete="CASCADE"), unique=True)
    available_at: Mapped[float] = mapped_column(Float)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[float | None] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    affinity: Mapped[str | None] = mapped_column(String(64))
    """The container whose code_interpreter session the run uses (a response's), besides its thread: a
    process holding that session claims the job (``kernel_hosts``)."""

    __table_args__ = (Index("ix_jobs_available", "available_at"),)


class VectorStoreRow(Base):
    __tablename__ = "vector_stores"
    seq: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = project_column()
    created_at: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(256))
    description: Mapped[str | None] = mapped_column(String(512))
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", Json)
    expires_after: Mapped[dict[str, Any] | None] = mapped_column(Json)
    expires_at: Mapped[int | None] = mapped_column(BigInteger)
    last_active_at: Mapped[int] = mapped_column(BigInteger)


class VectorStoreFileRow(Base):
    """A file attached to a vector store; its ``status`` is what the ingestion worker advances."""

    __tablename__ = "vector_store_files"
    seq: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = project_column(index=False)
    vector_store_id: Mapped[str] = mapped_column(String(64), ForeignKey("vector_stores.id", ondelete="CASCADE"))
    file_id: Mapped[str] = mapped_column(String(64), ForeignKey("files.id", ondelete="CASCADE"))
    created_at: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    last_error: Mapped[dict[str, Any] | None] = mapped_column(Json)
    usage_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    chunking_strategy: Mapped[dict[str, Any]] = mapped_column(Json)
    attributes: Mapped[dict[str, Any] | None] = mapped_column(Json)
    batch_id: Mapped[str | None] = mapped_column(String(64))
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    """The ingestion worker ingesting it now (any process), while ``lease_until`` (epoch seconds) is ahead."""
    lease_until: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        Index("ux_vector_store_files_store_file", "vector_store_id", "file_id", unique=True),
        Index("ix_vector_store_files_store_status", "vector_store_id", "status"),
        Index("ix_vector_store_files_batch", "batch_id"),
        Index("ix_vector_store_files_status", "status"),
        Index("ix_vector_store_files_file", "file_id"),
    )


class VectorStoreFileBatchRow(Base):
    __tablename__ = "vector_store_file_batches"
    seq: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = project_column(index=False)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    vector_store_id: Mapped[str] = mapped_column(String(64), ForeignKey("vector_stores.id", ondelete="CASCADE"))
    created_at: Mapped[int] = mapped_column(BigInteger)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
