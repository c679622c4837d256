"""Data at rest is private to the server's user: the data dir and file store 0700; the database (with its
WAL and shared-memory files), the search index and uploaded files 0600, whatever the umask. Data an older
version left readable is tightened at start-up, with a log line."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistantd import Settings
from tests._support import make_file, serve


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask of 0: nothing may rely on the umask to keep data private."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def _stored(data: Path) -> list[Path]:
    names = ["assistantd.db", "assistantd.db-wal", "assistantd.db-shm", "index.db", "index.db-wal", "index.db-shm"]
    return [data / n for n in names if (data / n).exists()] + [p for p in (data / "files").iterdir()]


def _on_sqlite(settings: Settings) -> bool:
    """On PostgreSQL (``TEST_DATABASE=postgresql``) the data dir holds only the files: the rows are the
    database server's to protect."""
    return settings.effective_database_url.startswith("sqlite")


async def test_data_is_created_private(settings: Settings, open_umask: None) -> None:
    data = settings.data_dir
    async with serve(settings) as client:
        uploaded = await make_file(client, b"secret")
        thread = await client.beta.threads.create(messages=[{"role": "user", "content": "secret"}])
        await client.beta.threads.messages.list(thread.id)
        assert mode(data / "files") == 0o700
        assert (data / "files" / uploaded.id).exists()
        stored = _stored(data)
        database = {"assistantd.db", "assistantd.db-wal", "assistantd.db-shm"} if _on_sqlite(settings) else set()
        assert {p.name for p in stored} >= {*database, uploaded.id}
        assert {p.name: oct(mode(p)) for p in stored} == {p.name: oct(0o600) for p in stored}


async def test_data_left_readable_by_an_older_version_is_tightened(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    data = settings.data_dir
    async with serve(settings) as client:
        uploaded = await make_file(client, b"secret")
    for path in _stored(data):
        path.chmod(0o644)
    (data / "files").chmod(0o755)
    if _on_sqlite(settings):
        (data / "assistantd.db-wal").touch(0o644)  # as a crash would leave it
        os.chmod(data / "assistantd.db-wal", 0o644)
    async with serve(settings) as client:
        assert (await client.files.retrieve(uploaded.id)).bytes == 6
        assert mode(data / "files") == 0o700
        assert {p.name: oct(mode(p)) for p in _stored(data)} == {p.name: oct(0o600) for p in _stored(data)}
    assert "tightened to 0700" in caplog.text and "made 1 stored files" in caplog.text


async def test_data_dir_is_0700(settings: Settings, open_umask: None) -> None:
    async with serve(settings):
        assert mode(settings.data_dir) == 0o700
    settings.data_dir.chmod(0o755)  # an older version's
    async with serve(settings):
        assert mode(settings.data_dir) == 0o700
