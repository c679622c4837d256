"""Host-wide claims on sandbox uid ranges, so two instances on one host never run sessions as the same uid.

Each session runs as its own uid, and ``RLIMIT_NPROC`` counts every process of a uid on the host: two
instances handing out the same uids would count each other's processes (one starved the other's threads)
and could signal each other's sessions. An instance claims its range ``[start, start+count)`` under
``lock_dir`` (``/run/assistantd``): a claim is a file ``uids-<start>-<count>.claim`` on which the instance
holds an ``flock`` for its whole life, so the kernel drops the claim when the process dies, however it dies.
Claims are made under a host-wide mutex (``uids.lock``). The configured base is taken when free; otherwise
the instance moves up to the first range no live claim overlaps, and says so in its limits description.

The claim also names the instance's leftovers: session directories are called ``u<start>-<id>``, so at
start-up every directory whose range has no live claim belonged to a process that is gone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DEFAULT_LOCK_DIR = Path("/run/assistantd")
_CLAIM = re.compile(r"^uids-(\d+)-(\d+)\.claim$")
_MAX_UID = 2**31 - 2


@dataclass
class UidClaim:
    """A live claim on uids ``start … start+count-1``; ``release`` (or the process ending) gives it back."""

    start: int
    count: int
    path: Path
    fd: int

    @property
    def uids(self) -> range:
        return range(self.start, self.start + self.count)

    def release(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                self.path.unlink()
            os.close(self.fd)
            self.fd = -1


@contextlib.contextmanager
def _mutex(lock_dir: Path) -> Iterator[None]:
    lock_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
    fd = os.open(lock_dir / "uids.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _live_claims(lock_dir: Path, own: UidClaim | None = None) -> list[range]:
    """Ranges held by running processes; claims whose holder is gone are deleted (call under the mutex)."""
    live: list[range] = []
    for name in os.listdir(lock_dir):
        m = _CLAIM.match(name)
        if m is None:
            continue
        path = lock_dir / name
        span = range(int(m.group(1)), int(m.group(1)) + int(m.group(2)))
        if own is not None and path == own.path:
            live.append(span)
            continue
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            live.append(span)  # its holder is alive
        else:
            with contextlib.suppress(OSError):
                path.unlink()
        finally:
            os.close(fd)
    return live


def claim(base: int, count: int, lock_dir: Path = DEFAULT_LOCK_DIR) -> UidClaim:
    """Claim ``count`` uids at ``base`` or, when another instance holds some of them, the next free range."""
    with _mutex(lock_dir):
        taken = sorted(_live_claims(lock_dir), key=lambda r: r.start)
        start = base
        moved = True
        while moved:
            moved = False
            for span in taken:
                if start < span.stop and span.start < start + count:
                    start, moved = span.stop, True
        if start + count > _MAX_UID:
            raise OSError(f"no free range of {count} sandbox uids at or above {base}")
        path = lock_dir / f"uids-{start}-{count}.claim"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return UidClaim(start, count, path, fd)


def unclaimed_starts(starts: set[int], lock_dir: Path, own: UidClaim) -> set[int]:
    """Which of these range starts no live instance holds any more (``own`` counts as not holding them:
    what carries its start was left by an earlier process, since this one has not started sessions yet)."""
    with _mutex(lock_dir):
        live = [r for r in _live_claims(lock_dir, own) if r.start != own.start]
    return {s for s in starts if not any(s in r for r in live)}
