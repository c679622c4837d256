"""The ``Sandbox`` seam: somewhere to run model-written Python, one stateful session per thread.

A ``Sandbox`` starts sessions; a ``SandboxSession`` runs code (state survives between calls) and holds
the files the code sees in ``/mnt/data``. ``SessionPool`` (``pool.py``) keeps sessions per thread on top
of any ``Sandbox``. Implementations: ``BwrapSandbox`` (bubblewrap, the default) and ``SubprocessSandbox``
(rlimits only, no isolation: an explicit opt-in for machines without bubblewrap).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

ExecutionStatus = Literal["ok", "error", "timeout", "output_limit", "crashed"]
"""How an execution ended: normally, with a Python exception, interrupted after the wall-clock limit,
interrupted after flooding output, or with the session's process gone (segfault, killed)."""


class SandboxUnavailable(Exception):
    """The sandbox cannot run code on this machine (e.g. bubblewrap is missing); the message says why."""


@dataclass
class Execution:
    """What one ``execute`` produced."""

    status: ExecutionStatus
    stdout: str = ""
    """Standard output and the text of results and displays, capped (head and tail kept)."""
    stderr: str = ""
    """Standard error, capped the same way."""
    error: str | None = None
    """The exception's traceback (plain text) when the code raised."""
    images: list[bytes] = field(default_factory=list)
    """PNG images the code displayed (matplotlib figures), in order, at most ``OutputLimits.max_images``."""
    images_dropped: int = 0
    """Images displayed past that cap (not kept)."""
    truncated_chars: int = 0
    """How many characters of output were dropped from the middle to respect the cap."""
    detail: str | None = None
    """A sentence for the model when the status is not ``ok``/``error`` (timeout, crash, flood)."""


@dataclass(frozen=True)
class FileInfo:
    """A regular file in ``/mnt/data`` (``name`` is its path relative to ``/mnt/data``)."""

    name: str
    size: int
    """Apparent size: the bytes a copy of it takes."""
    mtime_ns: int
    disk_bytes: int = 0
    """What it really occupies on disk (``st_blocks`` × 512): far less than ``size`` for a sparse file."""


class SandboxSession(Protocol):
    """A live Python session with its own ``/mnt/data``."""

    id: str

    async def execute(self, code: str, timeout: float) -> Execution:
        """Run ``code`` in the session's interpreter; never raises for anything the code does."""
        ...

    async def put_file(self, name: str, data: bytes) -> None:
        """Write ``/mnt/data/<name>`` (``name`` has no ``/``), replacing any file of that name."""
        ...

    async def remove_file(self, name: str) -> bool:
        """Remove ``/mnt/data/<name>`` (``name`` has no ``/``); False when there was none."""
        ...

    async def list_files(self) -> dict[str, FileInfo]:
        """The regular files under ``/mnt/data`` by relative path (symlinks and special files are skipped)."""
        ...

    async def get_file(self, name: str, limit: int) -> bytes:
        """The bytes of ``/mnt/data/<name>`` (at most ``limit``); never follows a symlink."""
        ...

    async def shutdown(self) -> None:
        """Stop the session and remove its files."""
        ...

    def alive(self) -> bool:
        """Whether the session's interpreter is still running."""
        ...


class Sandbox(Protocol):
    """Starts isolated Python sessions."""

    name: str
    """Short description for logs and messages, e.g. ``"bubblewrap"``."""

    def check(self) -> None:
        """Raise ``SandboxUnavailable`` when sessions cannot be started here (missing tools or venv)."""
        ...

    async def start_session(self) -> SandboxSession:
        """A fresh, ready session with an empty ``/mnt/data``."""
        ...

    def close(self) -> None:
        """Release what the sandbox holds once all its sessions are shut down."""
        ...

    def describe_limits(self) -> str:
        """One line for the start-up log: the uids and how memory is bounded (per session, or per process)."""
        ...
