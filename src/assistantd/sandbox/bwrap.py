"""The embedded sandboxes: an ipykernel per session, started through bubblewrap (or, opted into, without).

``BwrapSandbox`` runs each kernel as its own unprivileged uid (``setpriv``), under rlimits (``prlimit``),
inside bubblewrap: new user, pid, network, ipc and uts namespaces, no capabilities, a read-only system
(``/usr``, the sandbox venv, ``/etc/fonts``), a private size-limited ``/tmp`` and the session's own
``/mnt/data``. The measured recipe and its pitfalls are in docs/code_interpreter.md.

``SubprocessSandbox`` keeps the uid switch and the rlimits but has **no** filesystem or network isolation:
only for machines without bubblewrap, and only when the operator says so.
"""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import zmq
import zmq.asyncio

from assistantd.sandbox.base import SandboxUnavailable
from assistantd.sandbox.kernel import KernelSession, OutputLimits

SANDBOX_UID = 65534
"""The uid (and gid) code sees inside bubblewrap: ``nobody``."""
_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "MPLCONFIGDIR": "/tmp/mpl",
    "IPYTHONDIR": "/tmp/ipython",
    "PYTHONDONTWRITEBYTECODE": "1",
    "OPENBLAS_NUM_THREADS": "1",
}


@dataclass(frozen=True)
class Limits:
    """Resource limits of one session (rlimits, per session process tree) and of one execution."""

    cpu_seconds: int = 3600
    memory_bytes: int = 2 << 30
    processes: int = 64
    file_bytes: int = 100 << 20
    tmp_bytes: int = 256 << 20
    output: OutputLimits = field(default_factory=OutputLimits)


@dataclass(frozen=True)
class SandboxConfig:
    python: Path
    """The sandbox venv's interpreter (``assistantd setup-sandbox`` builds it)."""
    root: Path
    """Where session directories are made; every parent must be traversable by the sandbox uids."""
    uid_base: int = 20000
    uids: int = 64
    """Sessions run as uids ``uid_base … uid_base+uids-1``, one each, so rlimits never mix sessions."""
    limits: Limits = field(default_factory=Limits)
    start_timeout: float = 30.0
    preload: bool = True
    """Import numpy, pandas and matplotlib when a session starts (slower start, fast first call)."""


class _KernelSandbox:
    name = "kernel"

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._free = list(range(config.uid_base, config.uid_base + config.uids))
        self._zmq: zmq.asyncio.Context | None = None

    @property
    def _context(self) -> zmq.asyncio.Context:
        if self._zmq is None:
            self._zmq = zmq.asyncio.Context()
            # A single message larger than this (a gigabyte print) is dropped by ZeroMQ instead of buffered.
            self._zmq.setsockopt(zmq.MAXMSGSIZE, max(2 * self.config.limits.output.flood_bytes, 64 << 20))
        return self._zmq

    def close(self) -> None:
        """Release the messaging context (after every session is shut down)."""
        if self._zmq is not None:
            self._zmq.destroy(linger=0)
            self._zmq = None

    @property
    def venv(self) -> Path:
        return Path(os.path.abspath(self.config.python)).parent.parent

    def _prlimit(self) -> list[str]:
        lim = self.config.limits
        return [
            "prlimit",
            f"--cpu={lim.cpu_seconds}",
            f"--as={lim.memory_bytes}",
            f"--nproc={lim.processes}",
            f"--fsize={lim.file_bytes}",
            "--core=0",
        ]

    def _env(self) -> list[str]:
        return ["env", "-i", *(f"{k}={v}" for k, v in _ENV.items())]

    def _kernel(self) -> list[str]:
        return [str(self.config.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]

    def argv(self, uid: int, home: Path) -> list[str]:
        raise NotImplementedError

    def check(self) -> None:
        for tool in ("env", "setpriv", "prlimit"):
            if shutil.which(tool) is None:
                raise SandboxUnavailable(f"'{tool}' is not installed")
        if os.geteuid() != 0:
            raise SandboxUnavailable("the server must run as root to start sessions as the sandbox uids")
        if not self.config.python.exists():
            raise SandboxUnavailable(
                f"the sandbox Python {self.config.python} does not exist; run 'assistantd setup-sandbox'"
            )
        _check_traversable(self.config.root)

    async def start_session(self) -> KernelSession:
        if not self._free:
            raise SandboxUnavailable(f"all {self.config.uids} sandbox uids are in use")
        uid = self._free.pop(0)
        sid = secrets.token_hex(8)
        home = self.config.root / sid
        try:
            await asyncio.to_thread(_make_home, self.config.root, home, uid)
            session = KernelSession(
                sid,
                home,
                self.argv(uid, home),
                owner=(uid, uid),
                limits=self.config.limits.output,
                context=self._context,
                on_close=lambda: self._free.append(uid),
                cwd=self._cwd(home),
                preload=self.config.preload,
            )
        except BaseException:
            self._free.append(uid)
            raise
        try:
            await session.start(self.config.start_timeout)
        except BaseException:
            await session.shutdown()
            raise
        return session

    def _cwd(self, home: Path) -> Path | None:
        return None


class BwrapSandbox(_KernelSandbox):
    """Sessions isolated by bubblewrap (the default)."""

    name = "bubblewrap"

    def argv(self, uid: int, home: Path) -> list[str]:
        run = str(home / "run")
        binds = ["--bind", str(home / "data"), "/mnt/data", "--bind", run, run, "--chdir", "/mnt/data"]
        return self._command(uid, binds, self._kernel())

    def _command(self, uid: int, binds: list[str], command: list[str]) -> list[str]:
        venv = str(self.venv)
        return [
            *self._env(),
            *("setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"),
            *self._prlimit(),
            *("bwrap", "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent"),
            *("--new-session", "--cap-drop", "ALL", "--hostname", "sandbox"),
            *("--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64"),
            *("--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin"),
            *("--ro-bind", venv, venv, "--ro-bind-try", "/etc/fonts", "/etc/fonts"),
            *("--proc", "/proc", "--dev", "/dev", "--size", str(self.config.limits.tmp_bytes), "--tmpfs", "/tmp"),
            *("--size", str(self.config.limits.tmp_bytes), "--tmpfs", "/dev/shm", "--remount-ro", "/dev"),
            *binds,
            *("--unsetenv", "JPY_PARENT_PID", "--remount-ro", "/"),
            *("--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)),
            *command,
        ]

    def check(self) -> None:
        if shutil.which("bwrap") is None:
            raise SandboxUnavailable("bubblewrap ('bwrap') is not installed; install the 'bubblewrap' package")
        super().check()
        failure = _probe(
            tuple(self._command(self.config.uid_base, [], [str(self.config.python), "-c", "import ipykernel"]))
        )
        if failure:
            raise SandboxUnavailable(f"a test sandbox failed to start: {failure}")


class SubprocessSandbox(_KernelSandbox):
    """Sessions with a uid switch and rlimits but **no isolation**: the code sees the host's files and network."""

    name = "unsandboxed subprocess"

    def argv(self, uid: int, home: Path) -> list[str]:
        setpriv = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
        return [*self._env(), *setpriv, *self._prlimit(), *self._kernel()]

    def _cwd(self, home: Path) -> Path | None:
        return home / "data"


@functools.lru_cache(maxsize=8)
def _probe(argv: tuple[str, ...]) -> str:
    """Run a throwaway sandbox once per command line and process; returns the error ('' when it worked)."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    return "" if done.returncode == 0 else (done.stderr.strip()[-500:] or f"exit status {done.returncode}")


def _check_traversable(root: Path) -> None:
    path = root.resolve()
    for parent in [path, *path.parents]:
        if not parent.exists():
            continue
        if not parent.stat().st_mode & stat.S_IXOTH:
            raise SandboxUnavailable(
                f"the sandbox directory {root} is not reachable by the sandbox uids ({parent} is not "
                "world-traversable); set ASSISTANTD_CODE_INTERPRETER_DIR to a directory whose parents are"
            )


def _make_home(root: Path, home: Path, uid: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o711)
    home.mkdir(mode=0o711)
    for sub in ("data", "run"):
        path = home / sub
        path.mkdir(mode=0o700)
        os.chown(path, uid, uid)
