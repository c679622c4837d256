"""File operations on a session's ``/mnt/data`` from the host side, safe against what the code left there.

Sandboxed code owns that directory: it can plant symlinks (``data.csv -> /etc/shadow``), FIFOs or deep
trees. Every operation here walks with directory file descriptors and ``O_NOFOLLOW``, reads only regular
files, and writes through a fresh temporary name that is renamed into place, so the server never reads
or writes anything outside the directory.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from assistantd.sandbox.base import FileInfo

MAX_DEPTH = 4
MAX_ENTRIES = 2000
_TMP_PREFIX = ".assistantd-"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def check_name(name: str) -> None:
    """A plain file name: no separators, not ``.``/``..``, no NUL."""
    if not name or "/" in name or "\0" in name or name in (".", ".."):
        raise ValueError(f"bad file name {name!r}")


def put_file(root: Path, name: str, data: bytes, uid: int | None, gid: int | None) -> None:
    check_name(name)
    dir_fd = os.open(root, _DIR_FLAGS)
    try:
        tmp = f"{_TMP_PREFIX}{secrets.token_hex(8)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=dir_fd)
        try:
            with os.fdopen(fd, "wb", closefd=False) as out:
                out.write(data)
            if uid is not None and gid is not None:
                os.fchown(fd, uid, gid)
        finally:
            os.close(fd)
        try:
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except OSError:
            os.unlink(tmp, dir_fd=dir_fd)
            raise
    finally:
        os.close(dir_fd)


def remove_file(root: Path, name: str) -> bool:
    """Unlink ``<root>/<name>`` (a plain name) if it is there, whatever it is but a directory."""
    check_name(name)
    dir_fd = os.open(root, _DIR_FLAGS)
    try:
        os.unlink(name, dir_fd=dir_fd)
        return True
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return False
    finally:
        os.close(dir_fd)


def list_files(root: Path) -> dict[str, FileInfo]:
    out: dict[str, FileInfo] = {}
    dir_fd = os.open(root, _DIR_FLAGS)
    try:
        for info in _walk(dir_fd, "", 0, [0]):
            out[info.name] = info
    finally:
        os.close(dir_fd)
    return out


def _walk(dir_fd: int, prefix: str, depth: int, seen: list[int]) -> Iterator[FileInfo]:
    for name in sorted(os.listdir(dir_fd)):
        seen[0] += 1
        if seen[0] > MAX_ENTRIES:
            return
        if name.startswith(_TMP_PREFIX):
            continue
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            continue
        rel = f"{prefix}{name}"
        if stat.S_ISREG(st.st_mode):
            yield FileInfo(rel, st.st_size, st.st_mtime_ns, st.st_blocks * 512)
        elif stat.S_ISDIR(st.st_mode) and depth + 1 < MAX_DEPTH:
            try:
                sub = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
            except OSError:
                continue
            try:
                yield from _walk(sub, f"{rel}/", depth + 1, seen)
            finally:
                os.close(sub)


def get_file(root: Path, name: str, limit: int) -> bytes:
    parts = name.split("/")
    for part in parts:
        check_name(part)
    fds = [os.open(root, _DIR_FLAGS)]
    try:
        for part in parts[:-1]:
            fds.append(os.open(part, _DIR_FLAGS, dir_fd=fds[-1]))
        # O_NONBLOCK: opening a FIFO planted under this name must not hang the server.
        fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=fds[-1])
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ValueError(f"{name!r} is not a regular file")
            chunks: list[bytes] = []
            left = limit
            while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
                chunks.append(chunk)
                left -= len(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)
    finally:
        for d in fds:
            with contextlib.suppress(OSError):
                os.close(d)
