"""Engines, transactions and migrations. The only place that knows which SQL dialect runs.

Services and query modules see one small async ``Conn`` (``await conn.execute(stmt)``) whatever the
database:

* **SQLite** (embedded default): statements run on the event loop's own thread through SQLAlchemy's
  synchronous pysqlite driver. A statement on a local WAL database takes microseconds, far less than
  the thread hop per statement that aiosqlite costs (measured 0.47 ms per write transaction through
  aiosqlite against ~0.1 ms inline; see ``bench/``). SQLite has a single writer: writes are serialized
  by an asyncio lock around one connection (``BEGIN IMMEDIATE``), and reads use other connections that
  WAL lets run beside it. One process owns a SQLite database.
* **PostgreSQL**: a real ``AsyncConnection`` (psycopg 3, async), a pool per process, many processes at
  once. ``postgresql://`` URLs (what managed services print) are run with psycopg; Alembic uses the same
  driver synchronously, so one driver covers both.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

import orjson
from sqlalchemy import create_engine, event, pool
from sqlalchemy.engine import Connection, Dialect, Engine, Result, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.sql import Executable

from assistantd.observability.metrics import PoolUse
from assistantd.store import scope
from assistantd.store.private import private_dir, private_sqlite

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class DatabaseUnreachable(Exception):
    """The database cannot be used: it cannot be opened or migrated, or lacks what assistantd needs (pgvector
    on PostgreSQL). The message is one line (a URL in it has its password hidden)."""


class Conn(Protocol):
    """A connection inside one transaction (or a read). ``AsyncConnection`` satisfies it."""

    @property
    def dialect(self) -> Dialect: ...

    async def execute(self, statement: Executable, parameters: Any = None) -> Result[Any]: ...


class InlineConn:
    """An async face on a synchronous connection, for drivers whose calls never wait on a network."""

    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @property
    def dialect(self) -> Dialect:
        return self._conn.dialect

    async def execute(self, statement: Executable, parameters: Any = None) -> Result[Any]:
        return self._conn.execute(statement, parameters)


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Manage transactions ourselves (see the "begin" listener); pysqlite's implicit BEGIN is too lazy.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA cache_size=-65536")
    cur.close()


def _begin_with(statement: str) -> Any:
    def begin(conn: Any) -> None:
        conn.exec_driver_sql(statement)

    return begin


class Database:
    """Transactions for services: ``async with db.write() as conn`` / ``async with db.read() as conn``."""

    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int = 20, pool_timeout: float = 10.0) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = is_sqlite_url(url)
        self._write_lock = asyncio.Lock()
        self._async: AsyncEngine | None = None
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
                path = Path(parsed.database)
                if not path.parent.exists():
                    private_dir(path.parent)
                private_sqlite(path)  # 0600 before SQLite opens it: its WAL and -shm files follow its mode
            sync_url = parsed.set(drivername="sqlite")
            args = {"check_same_thread": False}
            json_kw = {"json_serializer": _dumps, "json_deserializer": orjson.loads}
            # Readers: an unbounded pool, since a blocked checkout would block the event loop itself.
            self.writer: Engine = create_engine(sync_url, connect_args=args, poolclass=pool.StaticPool, **json_kw)
            self.reader: Engine = create_engine(sync_url, connect_args=args, pool_size=8, max_overflow=-1, **json_kw)
            for engine, begin in ((self.writer, "BEGIN IMMEDIATE"), (self.reader, "BEGIN")):
                event.listen(engine, "connect", _sqlite_pragmas)
                event.listen(engine, "begin", _begin_with(begin))
                scope.install(engine)
        else:
            self._async = create_async_engine(
                driver_url(url),
                pool_size=pool_size,
                max_overflow=max_overflow,
                pool_timeout=pool_timeout,
                pool_pre_ping=True,
                json_serializer=_dumps,
                json_deserializer=orjson.loads,
            )
            scope.install(self._async.sync_engine)

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[Conn]:
        """A short write transaction; commits on success, rolls back on any exception."""
        if self._async is not None:
            async with self._async.begin() as aconn:
                yield aconn
            return
        async with self._write_lock:
            with self.writer.begin() as conn:
                yield InlineConn(conn)

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[Conn]:
        if self._async is not None:
            async with self._async.connect() as aconn:
                yield aconn
            return
        with self.reader.connect() as conn:
            yield InlineConn(conn)

    async def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (one process at a time on PostgreSQL: the others
        wait on an advisory lock, then find nothing to do)."""
        from sqlalchemy.exc import OperationalError

        try:
            await asyncio.to_thread(upgrade_to_head, self.url)
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
            shown = make_url(self.url).render_as_string(hide_password=True)
            raise DatabaseUnreachable(f"cannot open the database {shown}: {reason}") from None

    def pool_use(self) -> list[PoolUse]:
        """This process's connection pools now (``assistantd_db_pool_*``): on SQLite the one writer connection
        (checked out while a write transaction holds the lock) and the readers' pool; on PostgreSQL the pool."""
        if self._async is not None:
            return [_queue_pool_use("main", self._async.sync_engine.pool)]
        writing = int(self._write_lock.locked())
        return [PoolUse("writer", 1, writing, 1 - writing), _queue_pool_use("reader", self.reader.pool)]

    async def dispose(self) -> None:
        if self._async is not None:
            await self._async.dispose()
        else:
            self.writer.dispose()
            self.reader.dispose()


def _queue_pool_use(name: str, p: pool.Pool) -> PoolUse:
    if not isinstance(p, pool.QueuePool):  # AsyncAdaptedQueuePool is one
        return PoolUse(name, 0, 0, 0)
    return PoolUse(name, p.size(), p.checkedout(), p.checkedin())


def is_sqlite_url(url: str) -> bool:
    """Whether ``url`` names a SQLite database (without opening or creating anything)."""
    return make_url(url).get_backend_name() == "sqlite"


def driver_url(url: str) -> str:
    """``url`` with the driver assistantd runs it with (psycopg 3 for PostgreSQL, in both its async and
    sync forms; pysqlite for SQLite), whatever driver the URL names (``postgresql+asyncpg://``
    included): the URL an operator copies from a console just works."""
    parsed = make_url(url)
    driver = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}[parsed.get_backend_name()]
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


_alembic = threading.Lock()
"""Alembic's context is module state: one migration per process at a time (processes queue on PostgreSQL's
advisory lock instead)."""


def upgrade_to_head(url: str) -> None:
    with _alembic:
        _upgrade(url)


def _upgrade(url: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", driver_url(url).replace("%", "%%"))
    command.upgrade(cfg, "head")
