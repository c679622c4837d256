"""The data directory, checked before the server starts: it exists, is writable, and serves one server.

Two servers on one SQLite database and one vector index would each cache state the other changes, and
each would recover the other's in-flight runs as crashed. An advisory ``flock`` on ``assistantd.lock`` in
the directory, held for the life of the process (the kernel drops it when the process dies, however it
dies), makes the second one refuse to start, naming the first one's pid.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path
from typing import IO

from assistantd.store.private import private_dir

LOCK_NAME = "assistantd.lock"


class DataDirError(Exception):
    """The data directory cannot be used; the message names the path and the fix."""


def prepare(data_dir: Path, *, exclusive: bool = True) -> IO[str] | None:
    """Create ``data_dir`` if needed, check it is writable, and (``exclusive``: SQLite) lock it: keep the
    returned file open. On PostgreSQL the processes of a deployment share the directory (file bytes) and
    the database coordinates them, so nothing is locked."""
    path = data_dir.resolve()
    hint = "set ASSISTANTD_DATA_DIR, --data-dir or data_dir in the config file"
    try:
        private_dir(path, what="data dir")
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise DataDirError(f"data dir {path} is not usable: {exc.strerror or exc} ({hint})") from exc
    if not exclusive:
        return None
    lock = (path / LOCK_NAME).open("a+")
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        lock.close()
        raise DataDirError(
            f"data dir {path} is in use by another assistantd (pid {holder}); stop it, or {hint} to another one"
        ) from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock
