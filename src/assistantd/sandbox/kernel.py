"""One IPython kernel (ipykernel) as a sandbox session, driven over ZeroMQ IPC sockets.

The kernel's command line comes from the sandbox (bubblewrap, or rlimits only) and is written as a
per-session kernelspec, because jupyter_client 8 ignores ``kernel_cmd``. ``interrupt_mode: message``
makes interrupts reach the kernel through the control channel (signals would stop at bwrap).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import re
import shutil
import signal
import subprocess
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any

import zmq.asyncio
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager

from assistantd.sandbox import _files
from assistantd.sandbox.base import Execution, ExecutionStatus, FileInfo
from assistantd.sandbox.cgroups import SessionCgroup

log = logging.getLogger("assistantd.sandbox")

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_POLL = 0.25
_INTERRUPT_GRACE = 3.0

# Run silently once the kernel is up. The guard makes writes to stdout/stderr fail once a cell has written
# more than the flood limit, so a runaway print loop stops in the kernel instead of shipping gigabytes
# (a single message past the limit is also dropped by ZeroMQ, see ``bwrap.py``).
_GUARD = """
def __assistantd_guard(limit):
    import contextlib, sys
    count = [0]
    @contextlib.contextmanager
    def tee(channel):
        # Replaces IPython's per-cell tee, which also kept every printed byte in the history.
        stream = getattr(sys, channel)
        original = stream.write
        if channel == "stdout":
            count[0] = 0
        def write(text, *args, **kwargs):
            count[0] += len(text)
            if count[0] > limit:
                raise RuntimeError(f"output limit exceeded: more than {limit} characters printed")
            return original(text, *args, **kwargs)
        stream.write = write
        try:
            yield
        finally:
            stream.write = original
    shell = get_ipython()
    shell._tee = tee
    shell.run_line_magic("colors", "nocolor")
__assistantd_guard(%d)
del __assistantd_guard
"""
# Load the heavy modules now (the first call stays fast) and reuse the font cache built by
# ``assistantd setup-sandbox``.
_PRELOAD = """
def __assistantd_warmup():
    import glob, os, shutil, sys
    cache = os.environ.get("MPLCONFIGDIR", "/tmp/mpl")
    os.makedirs(cache, exist_ok=True)
    for f in glob.glob(os.path.join(sys.prefix, "mplcache", "*.json")):
        shutil.copy(f, cache)
    import numpy, pandas, matplotlib.pyplot
__assistantd_warmup()
del __assistantd_warmup
"""
_FLOOD_MARK = "output limit exceeded: more than"


@dataclass(frozen=True)
class OutputLimits:
    max_chars: int = 20_000
    """Characters of stdout (and of stderr) kept for the model: the head and the tail."""
    flood_bytes: int = 64 * 1024 * 1024
    """Output past this many bytes interrupts the execution."""
    max_images: int = 20
    """Displayed images kept per execution; later ones are only counted (``Execution.images_dropped``)."""


class _Capped:
    """Keeps the first and last ``limit/2`` characters of a stream and counts what fell between."""

    def __init__(self, limit: int) -> None:
        self.half = max(limit // 2, 1)
        self.head: list[str] = []
        self.head_len = 0
        self.tail: deque[str] = deque()
        self.tail_len = 0
        self.dropped = 0

    def add(self, text: str) -> None:
        room = self.half - self.head_len
        if room > 0:
            self.head.append(text[:room])
            self.head_len += min(room, len(text))
            text = text[room:]
        if not text:
            return
        self.tail.append(text)
        self.tail_len += len(text)
        while self.tail_len > self.half:
            excess = self.tail_len - self.half
            first = self.tail[0]
            if len(first) <= excess:
                self.tail.popleft()
                cut = len(first)
            else:
                self.tail[0] = first[excess:]
                cut = excess
            self.tail_len -= cut
            self.dropped += cut

    def text(self) -> str:
        head, tail = "".join(self.head), "".join(self.tail)
        if self.dropped:
            return f"{head}\n... [{self.dropped} characters of output truncated] ...\n{tail}"
        return head + tail


class _Collector:
    def __init__(self, limits: OutputLimits) -> None:
        self.stdout = _Capped(limits.max_chars)
        self.stderr = _Capped(limits.max_chars)
        self.flood_bytes = limits.flood_bytes
        self.received = 0
        self.images: list[bytes] = []
        self.max_images = limits.max_images
        self.images_dropped = 0
        self.error: str | None = None
        self.idle = False

    @property
    def flooded(self) -> bool:
        return self.received > self.flood_bytes

    def handle(self, msg: dict[str, Any]) -> None:
        kind, content = msg["header"]["msg_type"], msg["content"]
        if kind == "stream":
            text = str(content.get("text", ""))
            self.received += len(text)
            (self.stderr if content.get("name") == "stderr" else self.stdout).add(text)
        elif kind in ("execute_result", "display_data"):
            data = content.get("data") or {}
            png = data.get("image/png")
            if isinstance(png, str):
                self.received += len(png)
                if len(self.images) < self.max_images:
                    self.images.append(base64.b64decode(png))
                else:
                    self.images_dropped += 1
            elif "text/plain" in data:
                text = str(data["text/plain"])
                self.received += len(text)
                self.stdout.add(text if text.endswith("\n") else text + "\n")
        elif kind == "error":
            self.error = _ANSI.sub("", "\n".join(content.get("traceback") or [])) or (
                f"{content.get('ename')}: {content.get('evalue')}"
            )
        elif kind == "status" and content.get("execution_state") == "idle":
            self.idle = True

    def result(self, status: ExecutionStatus, detail: str | None = None) -> Execution:
        if status == "ok" and self.error and _FLOOD_MARK in self.error:
            status, detail = (
                "output_limit",
                f"Execution printed more than {self.flood_bytes} characters; it was stopped.",
            )
            self.error = self.error.strip().splitlines()[-1]
        return Execution(
            status="error" if status == "ok" and self.error else status,
            stdout=self.stdout.text(),
            stderr=self.stderr.text(),
            error=self.error,
            images=self.images,
            images_dropped=self.images_dropped,
            truncated_chars=self.stdout.dropped + self.stderr.dropped,
            detail=detail,
        )


def describe_exit(code: int | None) -> str:
    """A readable cause for a kernel's exit status (bwrap reports a signal as 128+N)."""
    if code is None:
        return "it stopped responding"
    number = -code if code < 0 else code - 128 if code > 128 else 0
    if number:
        name = {
            signal.SIGSEGV: "a segmentation fault",
            signal.SIGKILL: "it was killed (out of memory or a resource limit)",
            signal.SIGXCPU: "it used up its CPU time limit",
            signal.SIGXFSZ: "it exceeded the file size limit",
            signal.SIGABRT: "it aborted",
            signal.SIGBUS: "a bus error",
        }.get(signal.Signals(number) if number in signal.valid_signals() else signal.SIGKILL)
        return f"{name or 'a signal'} (signal {number})"
    return f"it exited with status {code}"


class KernelSession:
    """A running kernel whose ``/mnt/data`` is the host directory ``data_dir``."""

    def __init__(
        self,
        session_id: str,
        home: Path,
        argv: list[str],
        *,
        owner: tuple[int, int] | None,
        limits: OutputLimits,
        context: zmq.asyncio.Context,
        on_close: Callable[[], None],
        cwd: Path | None = None,
        preload: bool = True,
    ) -> None:
        self.id = session_id
        self.home = home
        self.data_dir = home / "data"
        self.run_dir = home / "run"
        self._argv = argv
        self._owner = owner
        self._limits = limits
        self._context = context
        self._on_close = on_close
        self._cwd = cwd
        self._preload = preload
        self._lock = asyncio.Lock()
        self._closed = False
        self.km: AsyncKernelManager | None = None
        self.kc: Any = None
        self.cgroup: SessionCgroup | None = None
        """The session's own cgroup, where the kernel bounds memory per session (``cgroups.py``)."""

    async def start(self, timeout: float) -> None:
        spec_dir = self.home / "spec" / "sandbox"
        spec_dir.mkdir(mode=0o700, parents=True)
        spec_dir.parent.chmod(0o700)
        spec = {"argv": self._argv, "display_name": "sandbox", "language": "python", "interrupt_mode": "message"}
        (spec_dir / "kernel.json").write_text(json.dumps(spec))
        km = AsyncKernelManager(
            kernel_name="sandbox",
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec_dir.parent)]),
            transport="ipc",
            ip=str(self.run_dir / "k"),
            connection_file=str(self.run_dir / "connection.json"),
        )
        self.km = km
        km.write_connection_file()
        if self._owner is not None:
            os.chown(km.connection_file, *self._owner)
        quiet = subprocess.DEVNULL
        await km.start_kernel(cwd=str(self._cwd or self.data_dir), stdin=quiet, stdout=quiet, stderr=quiet)
        self.kc = km.client(context=self._context)
        # No heartbeat or stdin channel: liveness is the kernel process's (``alive``), and code never reads
        # stdin. A heartbeat thread per session would also reconnect in a loop once the kernel is killed.
        self.kc.start_channels(stdin=False, hb=False)
        await self.kc.wait_for_ready(timeout=timeout)
        warm = await self.execute(
            _GUARD % self._limits.flood_bytes + (_PRELOAD if self._preload else ""), timeout, silent=True
        )
        if warm.status != "ok":
            log.warning("sandbox warm-up failed: %s %s", warm.error or warm.detail, warm.stderr[-500:])

    def alive(self) -> bool:
        if self._closed or self.km is None:
            return False
        process = getattr(self.km.provisioner, "process", None)
        return process is not None and process.poll() is None

    def _exit_code(self) -> int | None:
        process = getattr(self.km.provisioner, "process", None) if self.km else None
        return None if process is None else process.poll()

    async def execute(self, code: str, timeout: float, *, silent: bool = False) -> Execution:
        async with self._lock:
            if not self.alive():
                cause = describe_exit(self._exit_code())
                return Execution("crashed", detail=f"The Python session is not running: {cause}.")
            await self._drain_replies()
            out = _Collector(self._limits)
            msg_id = self.kc.execute(
                code, silent=silent, store_history=not silent, allow_stdin=False, stop_on_error=False
            )
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while not out.idle:
                left = deadline - loop.time()
                if left <= 0:
                    return await self._stop(out, msg_id, "timeout", f"Execution timed out after {timeout:g} seconds.")
                if out.flooded:
                    mib = self._limits.flood_bytes // (1 << 20)
                    why = f"Execution produced more than {mib} MiB of output."
                    return await self._stop(out, msg_id, "output_limit", why)
                try:
                    msg = await self.kc.get_iopub_msg(timeout=min(left, _POLL))
                except Empty:
                    if not self.alive():
                        cause = describe_exit(self._exit_code())
                        return out.result("crashed", f"The Python session crashed: {cause}.")
                    if await self._replied(msg_id):
                        break  # finished, but its idle status was lost (a dropped oversized message)
                    continue
                if msg.get("parent_header", {}).get("msg_id") == msg_id:
                    out.handle(msg)
            return out.result("ok")

    async def _replied(self, msg_id: str) -> bool:
        """Whether the shell reply to ``msg_id`` has arrived (other replies are dropped)."""
        while True:
            try:
                reply = await self.kc.get_shell_msg(timeout=0)
            except Empty:
                return False
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return True

    async def _drain_replies(self) -> None:
        """Drop the shell replies of earlier executions (outputs arrive on iopub; only the queue matters)."""
        while True:
            try:
                await self.kc.get_shell_msg(timeout=0)
            except Empty:
                return

    async def _stop(self, out: _Collector, msg_id: str, status: ExecutionStatus, why: str) -> Execution:
        """Interrupt the running cell; kill the session when the interrupt does not take."""
        assert self.km is not None
        try:
            await self.km.interrupt_kernel()
        except Exception:  # the kernel may already be gone
            log.debug("interrupt failed", exc_info=True)
        loop = asyncio.get_running_loop()
        grace = loop.time() + _INTERRUPT_GRACE
        out.flood_bytes = 1 << 62
        while not out.idle and loop.time() < grace and self.alive():
            try:
                msg = await self.kc.get_iopub_msg(timeout=_POLL)
            except Empty:
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                out.handle(msg)
        if out.idle:
            out.error = None  # the KeyboardInterrupt traceback is ours, not the code's
            return out.result(status, f"{why} It was interrupted; the session and its variables are kept.")
        await self.kill()
        return out.result(status, f"{why} It did not stop when interrupted, so the session was restarted.")

    async def kill(self) -> None:
        if self.km is not None and self.km.has_kernel:
            try:
                await self.km.shutdown_kernel(now=True)
            except Exception:
                log.debug("kernel kill failed", exc_info=True)

    async def put_file(self, name: str, data: bytes) -> None:
        await asyncio.to_thread(_files.put_file, self.data_dir, name, data, *(self._owner or (None, None)))

    async def remove_file(self, name: str) -> bool:
        return await asyncio.to_thread(_files.remove_file, self.data_dir, name)

    async def list_files(self) -> dict[str, FileInfo]:
        return await asyncio.to_thread(_files.list_files, self.data_dir)

    async def get_file(self, name: str, limit: int) -> bytes:
        return await asyncio.to_thread(_files.get_file, self.data_dir, name, limit)

    async def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.kc is not None:
            self.kc.stop_channels()
        await self.kill()
        if self.km is not None:
            await self.km.cleanup_resources()
        await asyncio.to_thread(shutil.rmtree, self.home, True)
        await asyncio.to_thread(self._on_close)  # waits for the session's processes to be gone
