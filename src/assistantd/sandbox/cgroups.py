"""Memory and process limits per session, across all its processes, through the kernel's cgroup controllers.

``RLIMIT_AS`` bounds each process, not a session: three processes of one session held 5.0 GB under a
2 GiB limit. Where the memory controller is usable, each session gets its own cgroup with ``memory_bytes``
as the limit of all its processes together (page cache and its ``/tmp`` and ``/dev/shm`` included; no
swap) and ``processes`` as its task limit; past the memory limit the kernel's OOM killer ends the largest
process of that session only. cgroup v2 is used when the memory and pids controllers are delegated to
the server's cgroup (or can be, when the server is alone in it); otherwise cgroup v1's ``memory`` and
``pids`` hierarchies. With neither, ``Cgroups.unavailable`` says why and only the rlimits apply.

The cgroups of one instance sit under ``assistantd-<uid start>`` in the server's own cgroup, named by the
instance's uid claim (``uids.py``); at start-up those whose claim is gone are emptied and removed.
A process joins its session's cgroup before it drops privileges: the kernel command line starts with a
``/bin/sh`` stanza that writes its pid to each ``cgroup.procs`` and then ``exec``s the rest.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

_ROOT = Path("/sys/fs/cgroup")
_JOIN = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'
_PREFIX = "assistantd-"


@dataclass(frozen=True)
class SessionCgroup:
    dirs: tuple[Path, ...]

    def join_argv(self) -> list[str]:
        """Put in front of a command line: joins these cgroups, then runs the command."""
        return ["/bin/sh", "-c", _JOIN, "cgjoin", *(str(d / "cgroup.procs") for d in self.dirs), "--"]

    def peak_bytes(self) -> int | None:
        for d in self.dirs:
            for name in ("memory.peak", "memory.max_usage_in_bytes"):
                with contextlib.suppress(OSError, ValueError):
                    return int((d / name).read_text())
        return None

    def remove(self, timeout: float = 5.0) -> None:
        """Kill what is left in the cgroups and remove them (waits for the processes to be gone)."""
        for d in self.dirs:
            _remove(d, timeout)


class Cgroups:
    """The cgroup parents of this instance's sessions, or why there are none (``unavailable``)."""

    def __init__(self, version: str, parents: tuple[Path, ...], memory_bytes: int, processes: int) -> None:
        self.version = version
        self.parents = parents
        self.memory_bytes = memory_bytes
        self.processes = processes
        self.unavailable: str | None = None

    @classmethod
    def none(cls, why: str) -> Cgroups:
        out = cls("", (), 0, 0)
        out.unavailable = why
        return out

    @classmethod
    def setup(cls, instance: str, memory_bytes: int, processes: int, root: Path = _ROOT) -> Cgroups:
        """Find usable controllers, create this instance's parents, and remove what crashed processes left."""
        reasons = []
        for version, finder in (("v2", _v2_bases), ("v1", _v1_bases)):
            try:
                bases = finder(root)
                parents = tuple(_make_instance(b, _PREFIX + instance, version) for b in bases)
                groups = cls(version, parents, memory_bytes, processes)
                probe = groups.create("probe")
                probe.remove()
                return groups
            except (OSError, ValueError) as exc:
                reasons.append(f"cgroup {version}: {exc}")
        return cls.none("; ".join(reasons))

    def describe(self) -> str:
        if self.unavailable is not None:
            return f"no usable cgroup ({self.unavailable})"
        return f"cgroup {self.version} ({', '.join(str(p) for p in self.parents)})"

    def create(self, name: str) -> SessionCgroup:
        dirs = []
        try:
            for parent in self.parents:
                d = parent / name
                if d.exists():
                    _remove(d, 2.0)
                d.mkdir()
                dirs.append(d)
                _limit(d, self.memory_bytes, self.processes)
        except BaseException:
            SessionCgroup(tuple(dirs)).remove()
            raise
        return SessionCgroup(tuple(dirs))

    def remove_parents(self) -> None:
        """Remove this instance's (empty) parents when it closes."""
        for parent in self.parents:
            with contextlib.suppress(OSError):
                _remove(parent, 1.0)

    def remove_leftovers(self, instances_gone: set[str]) -> int:
        """Remove the cgroups of this instance's earlier processes and of instances no longer running."""
        count = 0
        for parent in self.parents:
            for child in list(parent.iterdir()) if parent.exists() else []:
                if child.is_dir():
                    _remove(child, 2.0)
                    count += 1
            for sibling in parent.parent.iterdir():
                gone = sibling.name.startswith(_PREFIX) and sibling.name[len(_PREFIX) :] in instances_gone
                if gone and sibling != parent:
                    for child in [c for c in sibling.iterdir() if c.is_dir()]:
                        _remove(child, 2.0)
                    _remove(sibling, 2.0)
        return count


def _limit(d: Path, memory_bytes: int, processes: int) -> None:
    if (d / "memory.max").exists():  # v2
        (d / "memory.max").write_text(str(memory_bytes))
        if (d / "memory.swap.max").exists():
            (d / "memory.swap.max").write_text("0")
    elif (d / "memory.limit_in_bytes").exists():  # v1 memory
        (d / "memory.limit_in_bytes").write_text(str(memory_bytes))
        with contextlib.suppress(OSError):  # only where swap accounting is on
            (d / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
    if (d / "pids.max").exists():
        (d / "pids.max").write_text(str(processes))


def _own_path(controller: str) -> str:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _num, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path
    raise ValueError(f"this process is in no {controller or 'unified'} cgroup")


def _v2_bases(root: Path) -> list[Path]:
    mount = root if (root / "cgroup.controllers").exists() else root / "unified"
    base = mount / _own_path("").lstrip("/")
    available = (base / "cgroup.controllers").read_text().split()
    if "memory" not in available or "pids" not in available:
        raise ValueError(f"memory and pids controllers not delegated to {base} (has: {' '.join(available) or 'none'})")
    return [base]


def _v1_bases(root: Path) -> list[Path]:
    bases = []
    for controller in ("memory", "pids"):
        base = root / controller / _own_path(controller).lstrip("/")
        if not (base / "cgroup.procs").exists():
            raise ValueError(f"no {controller} hierarchy at {base}")
        bases.append(base)
    return bases


def _make_instance(base: Path, name: str, version: str) -> Path:
    parent = base / name
    parent.mkdir(exist_ok=True)
    if version == "v2":
        enabled = (base / "cgroup.subtree_control").read_text().split()
        if "memory" not in enabled or "pids" not in enabled:
            _enable(base)
        (parent / "cgroup.subtree_control").write_text("+memory +pids")
    return parent


def _enable(base: Path) -> None:
    """Enable memory and pids for ``base``'s children; a cgroup with processes cannot (no internal processes),
    so when this server is the only one in it, it first moves into a ``server`` leaf of its own."""
    try:
        (base / "cgroup.subtree_control").write_text("+memory +pids")
        return
    except OSError:
        procs = (base / "cgroup.procs").read_text().split()
        if procs and set(procs) != {str(os.getpid())}:
            raise
    leaf = base / "server"
    leaf.mkdir(exist_ok=True)
    (leaf / "cgroup.procs").write_text(str(os.getpid()))
    (base / "cgroup.subtree_control").write_text("+memory +pids")


def _remove(d: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            d.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
        if (d / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                (d / "cgroup.kill").write_text("1")
        else:
            with contextlib.suppress(OSError, ValueError):
                for pid in (d / "cgroup.procs").read_text().split():
                    with contextlib.suppress(OSError):
                        os.kill(int(pid), signal.SIGKILL)
        time.sleep(0.02)
