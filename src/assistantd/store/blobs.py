"""File bytes behind a small seam. ``LocalBlobStore`` keeps them in a directory."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO, Protocol

from assistantd.store.private import FILE_MODE, private_dir, tighten_files

log = logging.getLogger("assistantd")


class BlobStore(Protocol):
    """Where uploaded file bytes live."""

    async def put(self, key: str, source: BinaryIO) -> int:
        """Store the stream under ``key``; returns the number of bytes written."""
        ...

    def open(self, key: str, chunk_size: int = 1 << 16) -> AsyncIterator[bytes]:
        """Stream the bytes stored under ``key``."""
        ...

    async def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A filesystem path to the bytes, when the store has one (lets the sandbox bind files)."""
        ...


class LocalBlobStore:
    """Blobs as files under one directory, written atomically (temp file + rename). The directory is 0700
    and each blob 0600: uploaded files are readable by the server's user only."""

    def __init__(self, root: Path) -> None:
        self.root = root
        if private_dir(root, what="file store"):
            tightened = tighten_files(root)
            if tightened:
                log.warning("made %d stored files in %s private (0600)", tightened, root)

    def _path(self, key: str) -> Path:
        if "/" in key or key.startswith("."):
            raise ValueError(f"bad blob key {key!r}")
        return self.root / key

    async def put(self, key: str, source: BinaryIO) -> int:
        return await asyncio.to_thread(self._put_sync, key, source)

    def _put_sync(self, key: str, source: BinaryIO) -> int:
        final = self._path(key)
        tmp = final.with_name(f".{key}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
            size = out.tell()
        os.replace(tmp, final)
        return size

    async def open(self, key: str, chunk_size: int = 1 << 16) -> AsyncIterator[bytes]:
        path = self._path(key)
        fh = await asyncio.to_thread(path.open, "rb")
        try:
            while chunk := await asyncio.to_thread(fh.read, chunk_size):
                yield chunk
        finally:
            fh.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)
