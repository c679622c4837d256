"""PostgreSQL as a backend: what an operator sees when the database is missing, busy or shared.

These tests start the session's embedded PostgreSQL (``tests/_postgres.py``) whichever backend the rest of
the suite runs on.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import openai
import psycopg
import pytest

from assistantd import Settings
from tests._cli import clean_env, run_cli
from tests._support import serve


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_database_is_one_error_line(tmp_path: Path) -> None:
    url = f"postgresql://app:s3cret@127.0.0.1:{_closed_port()}/assistantd"
    done = run_cli(
        "serve", "--port", "0", "--data-dir", str(tmp_path / "d"), env=clean_env(ASSISTANTD_DATABASE_URL=url)
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("assistantd: error: cannot open the database postgresql://app:***@127.0.0.1:")
    assert "s3cret" not in done.stderr and "Connection refused" in lines[0]


def test_postgres_scheme_and_other_drivers_are_accepted(postgres: Any) -> None:
    url = postgres.new_database()
    assert Settings(database_url=url.replace("postgresql://", "postgres://")).database_url == url
    assert Settings(database_url=url.replace("postgresql://", "postgresql+asyncpg://")).database_url


def test_processes_migrating_at_once_take_turns(postgres: Any) -> None:
    """Four processes starting together on an empty database: one migrates, the others wait on the advisory
    lock and find the schema at head."""
    name = "race_" + str(_closed_port())
    postgres.execute(f"create database {name}")
    url = postgres.url(name)
    script = (
        "import asyncio, sys; from assistantd.store.db import Database; asyncio.run(Database(sys.argv[1]).migrate())"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, url], stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from alembic_version").fetchone() == (1,)
        assert conn.execute("select count(*) from assistants").fetchone() == (0,)


async def test_database_refusing_connections_is_503_with_retry_after(postgres: Any, settings: Settings) -> None:
    """The SDK retries a 503 and honours Retry-After; once the database is back, the same process recovers."""
    name = "refuse_" + str(_closed_port())
    postgres.execute(f"create database {name} template template_assistantd")
    live = settings.model_copy(update={"database_url": postgres.url(name)})
    async with serve(live) as client:
        kept = await client.beta.assistants.create(model="m", name="kept")
        postgres.execute(f"alter database {name} allow_connections false")
        postgres.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s", name)
        with pytest.raises(openai.InternalServerError) as exc:
            await client.beta.assistants.retrieve(kept.id)
        assert exc.value.status_code == 503
        assert exc.value.response.headers["retry-after"] == "1"
        assert exc.value.code == "database_unavailable"
        postgres.execute(f"alter database {name} allow_connections true")
        assert (await client.beta.assistants.retrieve(kept.id)).name == "kept"


async def test_exhausted_pool_is_503_not_a_hung_request(postgres: Any, settings: Settings) -> None:
    """One connection in the pool, held by a request that waits on a table lock: the next request gets a
    503 after ``database_pool_timeout`` instead of queueing forever, and the first completes once the lock
    is gone."""
    import asyncio

    url = postgres.new_database()
    tight = settings.model_copy(
        update={"database_url": url, "database_pool_size": 1, "database_max_overflow": 0, "database_pool_timeout": 0.3}
    )
    async with serve(tight) as client:
        kept = await client.beta.assistants.create(model="m", name="kept")
        with psycopg.connect(url) as blocker:
            blocker.execute("lock table assistants in access exclusive mode")
            first = asyncio.create_task(client.beta.assistants.retrieve(kept.id))
            await asyncio.sleep(0.3)  # the first request now holds the pool's one connection, waiting
            with pytest.raises(openai.InternalServerError) as exc:
                await client.beta.assistants.retrieve(kept.id)
            assert exc.value.status_code == 503 and exc.value.response.headers["retry-after"] == "1"
            blocker.rollback()
        assert (await first).name == "kept"


def test_database_without_pgvector_is_one_error_line(postgres: Any, tmp_path: Path) -> None:
    """A role that may not create the extension, on a database that does not have it: the server refuses
    to start, with one line saying what to run."""
    name = "novector_" + str(_closed_port())
    postgres.execute("do $$ begin create role app_novector login; exception when duplicate_object then null; end $$")
    postgres.execute(f"create database {name} owner app_novector")
    url = postgres.url(name).replace("postgresql://postgres:", "postgresql://app_novector:")
    done = run_cli(
        "serve", "--port", "0", "--data-dir", str(tmp_path / "d"), env=clean_env(ASSISTANTD_DATABASE_URL=url)
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "the database has no pgvector extension and this role cannot create it" in lines[0]
    assert "create extension vector" in lines[0]


async def test_two_processes_share_the_ingestion_queue(postgres: Any, settings: Settings) -> None:
    """Two servers on one database and one blob directory: the files of a batch are claimed with leases,
    so each is ingested by exactly one of them (no chunk written twice: the chunk ids, drawn from one
    sequence, have no gaps) and the batch completes."""
    import asyncio

    shared = settings.model_copy(
        update={"database_url": postgres.new_database(), "embeddings": "hashing", "ingest_workers": 2}
    )
    async with serve(shared) as a, serve(shared) as b:
        uploaded = await asyncio.gather(
            *(
                a.files.create(
                    file=(f"note-{i}.txt", f"Note {i} is about topic {i % 5}.".encode()), purpose="assistants"
                )
                for i in range(60)
            )
        )
        store = await b.vector_stores.create(name="shared")
        batch = await a.vector_stores.file_batches.create(store.id, file_ids=[f.id for f in uploaded])
        for _ in range(600):
            batch = await b.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id)
            if batch.status != "in_progress":
                break
            await asyncio.sleep(0.05)
        assert batch.status == "completed" and batch.file_counts.completed == 60
        hits = await a.vector_stores.search(store.id, query="note 7 topic 2")
        assert hits.data and hits.data[0].filename == "note-7.txt"
    with psycopg.connect(shared.database_url) as conn:
        count, top = conn.execute("select count(*), max(id) from retrieval_chunks").fetchone() or (0, 0)
        assert count == top == 60
        owners = conn.execute("select count(distinct lease_owner) from vector_store_files").fetchone()
        assert owners is not None and owners[0] in (1, 2)
