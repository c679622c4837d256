"""Per-project limits: requests and tokens per minute, concurrent runs, stored bytes.

* **Requests per minute**, per project and per key: a token bucket in each API process (process-local: with
  N API processes a project may make up to N times the limit; set it per process).
* **Tokens per minute**, per project: the tokens its model requests spent in the last 60 seconds, read from
  the usage rows every process writes (so it holds across processes); checked before a run or response is
  created, as OpenAI checks before a request reaches the model.
* **Concurrent runs**, per project: runs and responses queued, in progress or waiting for tool outputs.
* **Stored bytes**, per project: the bytes of its files (vector stores index files, so their bytes are
  bounded through them), checked against an upload's declared length before a byte is read.

A limit reached is OpenAI's 429: ``rate_limit_exceeded`` with ``Retry-After`` (the SDK waits and retries)
or, for storage, ``insufficient_quota`` (the SDK does not retry); the request stores nothing. Responses
carry ``x-ratelimit-limit-requests``, ``x-ratelimit-remaining-requests`` and ``x-ratelimit-reset-requests``
(and the ``-tokens`` three on run-creating requests) when a limit is set.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from sqlalchemy import case, func, select

from assistantd.errors import RateLimited
from assistantd.settings import Settings
from assistantd.store.containers import ContainerFileRow
from assistantd.store.db import Database
from assistantd.store.scope import current_project
from assistantd.store.tables import FileRow, RunRow, VectorStoreFileRow
from assistantd.store.usage import UsageRow

FORM_OVERHEAD = 64 * 1024
"""Room for the multipart framing around an upload's file part (as ``api/_route.py`` allows)."""

ACTIVE = ("queued", "in_progress", "requires_action", "cancelling")


class QuotaExceeded(RateLimited):
    """OpenAI's 429 ``insufficient_quota``: not retried by the SDK."""

    type = "insufficient_quota"


@dataclass
class _Bucket:
    capacity: float
    tokens: float
    at: float = field(default_factory=time.monotonic)

    def take(self, rate_per_s: float) -> float:
        """Take one; 0.0 when taken, else the seconds until one is there."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * rate_per_s)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / rate_per_s


def _duration(seconds: float) -> str:
    """OpenAI's reset format: ``1s``, ``6m0s``, ``20ms``."""
    if seconds < 1:
        return f"{max(1, int(seconds * 1000))}ms"
    whole = math.ceil(seconds)
    return f"{whole // 60}m{whole % 60}s" if whole >= 60 else f"{whole}s"


class Limits:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.rpm = settings.rate_limit_requests_per_minute
        self.key_rpm = settings.rate_limit_key_requests_per_minute
        self.tpm = settings.rate_limit_tokens_per_minute
        self.concurrent_runs = settings.max_concurrent_runs_per_project
        self.storage = settings.project_storage_bytes
        self._buckets: dict[str, _Bucket] = {}

    def requests(self, project_id: str, key_id: str | None) -> dict[str, str]:
        """Count one request of the project (and key); its ``x-ratelimit-*`` headers, or a 429."""
        headers: dict[str, str] = {}
        for scope_key, rpm in ((f"p:{project_id}", self.rpm), (f"k:{key_id}", self.key_rpm if key_id else 0)):
            if rpm <= 0:
                continue
            bucket = self._buckets.get(scope_key)
            if bucket is None:
                if len(self._buckets) > 100_000:
                    self._buckets.clear()
                bucket = self._buckets[scope_key] = _Bucket(float(rpm), float(rpm))
            wait = bucket.take(rpm / 60.0)
            remaining = int(bucket.tokens)
            reset = (rpm - bucket.tokens) / (rpm / 60.0)
            if not headers or remaining < int(headers["x-ratelimit-remaining-requests"]):
                headers = {
                    "x-ratelimit-limit-requests": str(rpm),
                    "x-ratelimit-remaining-requests": str(remaining),
                    "x-ratelimit-reset-requests": _duration(reset),
                }
            if wait > 0:
                who = "project" if scope_key.startswith("p:") else "API key"
                raise _limited(
                    f"Rate limit reached for requests per minute on this {who}: limit {rpm}. Please try again "
                    f"in {_duration(wait)}.",
                    wait,
                    headers,
                )
        return headers

    async def before_run(self, project_id: str) -> dict[str, str]:
        """Checked before a run or response is made: tokens per minute and concurrent runs."""
        headers: dict[str, str] = {}
        if self.tpm <= 0 and self.concurrent_runs <= 0:
            return headers
        async with self.db.read() as conn:
            if self.tpm > 0:
                since = int(time.time()) - 60
                spent_stmt = select(func.coalesce(func.sum(UsageRow.input_tokens + UsageRow.output_tokens), 0)).where(
                    UsageRow.project_id == project_id, UsageRow.created_at >= since
                )
                spent = int((await conn.execute(spent_stmt)).scalar_one())
                headers = {
                    "x-ratelimit-limit-tokens": str(self.tpm),
                    "x-ratelimit-remaining-tokens": str(max(0, self.tpm - spent)),
                    "x-ratelimit-reset-tokens": _duration(60.0 if spent else 0.0),
                }
                if spent >= self.tpm:
                    raise _limited(
                        f"Rate limit reached for tokens per minute on this project: limit {self.tpm}, used "
                        f"{spent}. Please try again in 60s.",
                        60.0,
                        headers,
                    )
            if self.concurrent_runs > 0:
                active_stmt = select(func.count()).where(RunRow.project_id == project_id, RunRow.status.in_(ACTIVE))
                active = int((await conn.execute(active_stmt)).scalar_one())
                if active >= self.concurrent_runs:
                    raise _limited(
                        f"Too many concurrent runs on this project: limit {self.concurrent_runs}. Please try again "
                        "when one has finished.",
                        1.0,
                        headers,
                    )
        return headers

    async def before_upload(self, project_id: str, declared: int | None) -> None:
        """Refuse an upload whose declared length alone takes the project past its quota, before a byte of
        it is read (the multipart framing around the file is allowed for; the exact size is checked once
        the upload is spooled, before it is stored: ``enforce_storage``)."""
        if self.storage > 0:
            await _check_storage(self.db, self.storage, project_id, max(0, (declared or 0) - FORM_OVERHEAD))


async def enforce_storage(db: Database, settings: Settings, adding: int) -> None:
    """Refuse ``adding`` bytes more for the current project past its quota (``QuotaExceeded``)."""
    project_id = current_project.get()
    if settings.project_storage_bytes > 0 and project_id is not None:
        await _check_storage(db, settings.project_storage_bytes, project_id, adding)


async def enforce_indexing(db: Database, settings: Settings, file_ids: list[str]) -> None:
    """Refuse attaching ``file_ids`` to a vector store when their index would pass the current project's
    quota: a file's index (chunk text and vectors, its ``usage_bytes``) is counted as its size until it is
    built. Unknown IDs count nothing (the attach itself answers them with a 400)."""
    project_id = current_project.get()
    if settings.project_storage_bytes <= 0 or project_id is None or not file_ids:
        return
    async with db.read() as conn:
        sizes = select(func.coalesce(func.sum(FileRow.bytes), 0)).where(FileRow.id.in_(file_ids))
        adding = int((await conn.execute(sizes)).scalar_one())
    await _check_storage(db, settings.project_storage_bytes, project_id, adding)


async def _check_storage(db: Database, quota: int, project_id: str, adding: int) -> None:
    """Files, container files and vector stores' indexes (``usage_bytes``; an index still being built counts
    as its file's size) all count."""
    index = case((VectorStoreFileRow.status == "in_progress", FileRow.bytes), else_=VectorStoreFileRow.usage_bytes)
    totals = [
        select(func.coalesce(func.sum(FileRow.bytes), 0)).where(FileRow.project_id == project_id),
        select(func.coalesce(func.sum(ContainerFileRow.bytes), 0)).where(ContainerFileRow.project_id == project_id),
        select(func.coalesce(func.sum(index), 0))
        .select_from(VectorStoreFileRow)
        .join(FileRow, FileRow.id == VectorStoreFileRow.file_id)
        .where(VectorStoreFileRow.project_id == project_id),
    ]
    async with db.read() as conn:
        used = 0
        for total in totals:
            used += int((await conn.execute(total)).scalar_one())
    if used + adding > quota:
        raise QuotaExceeded(
            f"You exceeded your current quota: this project stores {used} bytes of files and vector stores, "
            f"{adding} more would pass its quota of {quota} bytes. Delete files or vector stores, or ask the "
            "operator to raise the quota.",
            code="insufficient_quota",
        )


def _limited(message: str, wait: float, headers: dict[str, str]) -> RateLimited:
    error = RateLimited(message, code="rate_limit_exceeded")
    error.headers = {**headers, "retry-after": str(max(1, math.ceil(wait)))}
    return error
