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
import contextlib
import functools
import logging
import os
import re
import secrets
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import zmq
import zmq.asyncio

from assistantd.sandbox import uids as _uids
from assistantd.sandbox.base import SandboxUnavailable
from assistantd.sandbox.cgroups import Cgroups, SessionCgroup
from assistantd.sandbox.kernel import KernelSession, OutputLimits

log = logging.getLogger("assistantd.sandbox")

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
    """Resource limits of one session and of one execution. ``memory_bytes`` and ``processes`` bound the whole
    session (its cgroup) where cgroups are usable, and each process (``RLIMIT_AS``, ``RLIMIT_NPROC``) always."""

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
    """Sessions run as uids ``uid_base … uid_base+uids-1``, one each, so rlimits never mix sessions. The range
    is claimed host-wide (``uids.py``); when another instance holds it, the next free range is used."""
    lock_dir: Path = _uids.DEFAULT_LOCK_DIR
    """Where uid claims are kept: the same directory for every instance on the host."""
    cgroups: bool = True
    """Use a cgroup per session when the kernel allows it (``False``: rlimits only)."""
    limits: Limits = field(default_factory=Limits)
    start_timeout: float = 30.0
    preload: bool = True
    """Import numpy, pandas and matplotlib when a session starts (slower start, fast first call)."""


class _KernelSandbox:
    name = "kernel"

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._claim: _uids.UidClaim | None = None
        self._free: list[int] = []
        self._cgroups = Cgroups.none("not set up yet")
        self._zmq: zmq.asyncio.Context | None = None

    @property
    def _context(self) -> zmq.asyncio.Context:
        if self._zmq is None:
            self._zmq = zmq.asyncio.Context()
            # A single message larger than this (a gigabyte print) is dropped by ZeroMQ instead of buffered.
            self._zmq.setsockopt(zmq.MAXMSGSIZE, max(2 * self.config.limits.output.flood_bytes, 64 << 20))
        return self._zmq

    def close(self) -> None:
        """Release the messaging context, the instance's cgroups and its uid claim (after every session is
        shut down)."""
        if self._zmq is not None:
            self._zmq.destroy(linger=0)
            self._zmq = None
        self._cgroups.remove_parents()
        self._cgroups = Cgroups.none("closed")
        if self._claim is not None:
            self._claim.release()
            self._claim = None
            self._free = []

    @property
    def uids(self) -> range:
        """The uids this instance claimed (empty before ``prepare``)."""
        return self._claim.uids if self._claim is not None else range(0)

    def prepare(self) -> None:
        """Claim a uid range, set up cgroups and remove what a crashed earlier process left (idempotent)."""
        if self._claim is not None:
            return
        try:
            self._claim = _uids.claim(self.config.uid_base, self.config.uids, self.config.lock_dir)
        except OSError as exc:
            raise SandboxUnavailable(f"could not claim sandbox uids under {self.config.lock_dir}: {exc}") from exc
        self._free = list(self._claim.uids)
        lim = self.config.limits
        if self.config.cgroups:
            self._cgroups = Cgroups.setup(str(self._claim.start), lim.memory_bytes, lim.processes)
        else:
            self._cgroups = Cgroups.none("turned off")
        gone = _leftover_starts(self.config.root, self.config.lock_dir, self._claim)
        _remove_leftover_homes(self.config.root, gone)
        self._cgroups.remove_leftovers({str(s) for s in gone})

    def describe_limits(self) -> str:
        """One line for the start-up log: which uids, and whether memory is bounded per session or per process."""
        lim, n = self.config.limits, self.config.uids
        uids = f"uids {self.uids.start}-{self.uids.stop - 1}" if self._claim else "no uids claimed"
        if self._claim is not None and self._claim.start != self.config.uid_base:
            uids += f" (the configured base {self.config.uid_base} is held by another instance on this host)"
        if self._cgroups.unavailable is None:
            mem = (
                f"memory {_gib(lim.memory_bytes)} and {lim.processes} tasks per session across all its processes "
                f"({self._cgroups.describe()})"
            )
        else:
            mem = (
                f"memory {_gib(lim.memory_bytes)} per PROCESS only (RLIMIT_AS), up to {lim.processes} tasks per "
                f"session: one session could hold up to {_gib(lim.memory_bytes * lim.processes)}, all {n} up to "
                f"{_gib(lim.memory_bytes * lim.processes * n)}; {self._cgroups.describe()}"
            )
        return f"{self.name}: {uids}; {mem}"

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

    def _env(self, cgroup: SessionCgroup | None = None) -> list[str]:
        join = cgroup.join_argv() if cgroup is not None else []
        return ["env", "-i", *(f"{k}={v}" for k, v in _ENV.items()), *join]

    def _kernel(self) -> list[str]:
        return [str(self.config.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]

    def argv(self, uid: int, home: Path, cgroup: SessionCgroup | None = None) -> list[str]:
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
        self.prepare()

    async def start_session(self) -> KernelSession:
        self.prepare()
        if not self._free:
            raise SandboxUnavailable(f"all {self.config.uids} sandbox uids are in use")
        assert self._claim is not None
        uid = self._free.pop(0)
        sid = secrets.token_hex(8)
        home = self.config.root / f"u{self._claim.start}-{sid}"
        cgroup: SessionCgroup | None = None

        def release() -> None:
            if cgroup is not None:
                cgroup.remove()  # every process of the session is gone before its uid is handed out again
            self._free.append(uid)

        try:
            await asyncio.to_thread(_make_home, self.config.root, home, uid)
            if self._cgroups.unavailable is None:
                cgroup = await asyncio.to_thread(self._cgroups.create, sid)
            session = KernelSession(
                sid,
                home,
                self.argv(uid, home, cgroup),
                owner=(uid, uid),
                limits=self.config.limits.output,
                context=self._context,
                on_close=release,
                cwd=self._cwd(home),
                preload=self.config.preload,
            )
        except BaseException:
            await asyncio.to_thread(release)
            await asyncio.to_thread(shutil.rmtree, home, True)
            raise
        session.cgroup = cgroup
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

    def argv(self, uid: int, home: Path, cgroup: SessionCgroup | None = None) -> list[str]:
        run = str(home / "run")
        binds = ["--bind", str(home / "data"), "/mnt/data", "--bind", run, run, "--chdir", "/mnt/data"]
        return self._command(uid, binds, self._kernel(), cgroup)

    def _command(
        self, uid: int, binds: list[str], command: list[str], cgroup: SessionCgroup | None = None
    ) -> list[str]:
        venv = str(self.venv)
        return [
            *self._env(cgroup),
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
        failure = _probe(tuple(self._command(self.uids.start, [], [str(self.config.python), "-c", "import ipykernel"])))
        if failure:
            self.close()  # give the uid claim back: this sandbox will not be used
            raise SandboxUnavailable(f"a test sandbox failed to start: {failure}")


class SubprocessSandbox(_KernelSandbox):
    """Sessions with a uid switch and rlimits but **no isolation**: the code sees the host's files and network."""

    name = "unsandboxed subprocess"

    def argv(self, uid: int, home: Path, cgroup: SessionCgroup | None = None) -> list[str]:
        setpriv = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
        return [*self._env(cgroup), *setpriv, *self._prlimit(), *self._kernel()]

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
    """``root`` 0711 (every session uid passes through), the session's home 0710 group-owned by its own uid
    (only it passes), ``data`` and ``run`` 0700 owned by it: no other user can list or enter them."""
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o711)
    home.mkdir(mode=0o710)
    os.chown(home, 0, uid)
    os.chmod(home, 0o710)
    for sub in ("data", "run"):
        path = home / sub
        path.mkdir(mode=0o700)
        os.chown(path, uid, uid)


_HOME = re.compile(r"^u(\d+)-[0-9a-f]{16}$")
_LEGACY_HOME = re.compile(r"^[0-9a-f]{16}$")


def _leftover_starts(root: Path, lock_dir: Path, own: _uids.UidClaim) -> set[int]:
    """Uid-range starts named by session directories or cgroups whose instance is no longer running."""
    starts = {own.start}
    with contextlib.suppress(OSError):
        starts |= {int(m.group(1)) for n in os.listdir(root) if (m := _HOME.match(n))}
    return _uids.unclaimed_starts(starts, lock_dir, own)


def _remove_leftover_homes(root: Path, gone: set[int]) -> int:
    """Remove session directories (users' files) left by processes that are gone: crashed, or killed."""
    count = 0
    with contextlib.suppress(OSError):
        for name in os.listdir(root):
            m = _HOME.match(name)
            legacy = _LEGACY_HOME.match(name) and (root / name / "data").is_dir()
            if (m and int(m.group(1)) in gone) or legacy:
                shutil.rmtree(root / name, ignore_errors=True)
                count += 1
    if count:
        log.warning("removed %d session directories left in %s by an earlier server process", count, root)
    return count


def _gib(n: int) -> str:
    return f"{n / (1 << 30):g} GiB"
