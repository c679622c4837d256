"""A SQLite file used from worker threads: one connection per thread, one writer at a time, and a close
that waits for the operations in flight (a thread outlives the asyncio task that was cancelled)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from assistantd.store.private import private_dir, private_sqlite

T = TypeVar("T")


class SqliteFile:
    def __init__(self, path: Path, *, cache_kib: int) -> None:
        self.path = path
        if not path.parent.exists():
            private_dir(path.parent)
        private_sqlite(path)  # 0600 before SQLite opens it: its WAL and -shm files follow its mode
        self._cache_kib = cache_kib
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._write_lock = threading.Lock()
        self._idle = threading.Condition()
        self._busy = 0
        self._closed = False

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit: transactions are explicit, in ``_write``)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # No statement cache: CPython's is a per-connection dict that is not thread-safe, and a cursor
            # of this connection can be finalised by the garbage collector on another thread (a cycle
            # through a traceback), which corrupted it now and then under load ("bad parameter or other
            # API misuse" in executemany; python/cpython#118172). SQLite itself is serialized here.
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, cached_statements=0)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute(f"PRAGMA cache_size=-{self._cache_kib}")
            self._local.conn = conn
            self._connections.append(conn)
        return conn

    async def _run(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in a worker thread, as one operation ``close`` waits for."""
        return await asyncio.to_thread(self._guarded, fn)

    def _guarded(self, fn: Callable[[], T]) -> T:
        with self._idle:
            if self._closed:
                raise RuntimeError(f"{self.path} is closed")
            self._busy += 1
        try:
            return fn()
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def _write(self, fn: Callable[[sqlite3.Connection], T], *, derived: bool = True) -> T:
        """``fn`` in one ``BEGIN IMMEDIATE`` transaction, the only writer of the file meanwhile. ``derived``:
        the write changes data that ``_written`` caches derive from."""
        with self._write_lock:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                out = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            if derived:
                self._written()
            return out

    def _written(self) -> None:
        """Called after each committed write (caches derived from the data go stale)."""

    def close(self, timeout: float = 30.0) -> None:
        """Close every connection once the operations in flight are done (blocks: call it in a thread)."""
        with self._idle:
            self._closed = True
            self._idle.wait_for(lambda: self._busy == 0, timeout)
            for conn in self._connections:
                conn.close()
            self._connections.clear()
