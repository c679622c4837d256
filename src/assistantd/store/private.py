"""Data at rest is private to the server's user: directories 0700, files 0600.

Threads, uploaded files and search indexes are other people's data. Modes are set explicitly (``mkdir``
and ``os.open`` with a mode, then ``chmod`` where the process umask may have widened nothing but older
versions did), never left to the umask. Data left readable by an older version is tightened at start-up,
with a log line saying so.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("assistantd")

DIR_MODE = 0o700
FILE_MODE = 0o600
_OTHERS = stat.S_IRWXG | stat.S_IRWXO
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
"""The files SQLite keeps beside a database; it creates them with the database file's own mode."""


def private_dir(path: Path, *, what: str = "directory") -> bool:
    """Create ``path`` (0700) or tighten it to 0700; True when it existed open to others (an older
    version's), so the caller can tighten what is inside."""
    try:
        path.mkdir(mode=DIR_MODE, parents=True)
    except FileExistsError:
        pass
    else:
        os.chmod(path, DIR_MODE)  # mkdir's mode passed through the umask: make it exact
        return False
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & _OTHERS:
        return False
    os.chmod(path, DIR_MODE)
    log.warning("%s %s was open to other users (mode %o): tightened to 0700", what, path, mode)
    return True


def private_file(path: Path) -> None:
    """Create ``path`` empty (0600) if missing, or tighten it to 0600."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def tighten_files(directory: Path) -> int:
    """Make every regular file directly in ``directory`` 0600; returns how many were changed."""
    changed = 0
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_file(follow_symlinks=False) and stat.S_IMODE(entry.stat().st_mode) & _OTHERS:
                os.chmod(entry.path, FILE_MODE)
                changed += 1
    return changed


def private_sqlite(path: Path) -> None:
    """A SQLite database file created 0600 before SQLite opens it (so its WAL and shared-memory files
    are 0600 too), and side files an older version left readable tightened."""
    private_file(path)
    for suffix in SQLITE_SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists() and stat.S_IMODE(side.stat().st_mode) & _OTHERS:
            os.chmod(side, FILE_MODE)
