"""Several processes of one role: ``assistantd serve --workers N`` and ``assistantd worker --processes N``.

The parent binds the listening socket (if any), migrates the database once, then forks ``N`` children
that each build their own app, event loop and database pool (nothing is shared across a fork but the
socket: the kernel spreads connections over the processes accepting on it). The parent only supervises:
a child that exits unexpectedly is started again (after a pause, so a child that cannot start does not
spin), and ``SIGTERM``/``SIGINT`` are passed on to every child, which then finish what they serve.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable
from types import FrameType

log = logging.getLogger("assistantd")

RESTART_PAUSE_SECONDS = 1.0


def supervise(count: int, child: Callable[[int], int]) -> int:
    """Run ``child(slot)`` in ``count`` forked processes (slots ``0 .. count - 1``; a replacement keeps its
    slot) until told to stop; 0 unless a child never started."""
    stopping = False
    children: dict[int, int] = {}  # pid -> slot

    def spawn(slot: int) -> None:
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 1
            try:
                code = child(slot)
            finally:
                os._exit(code)
        children[pid] = slot

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    started = time.monotonic()
    failed_early = False
    try:
        for slot in range(count):
            spawn(slot)
        log.info("started %d processes: %s", count, " ".join(str(p) for p in children))
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            if pid not in children or stopping:
                children.pop(pid, None)
                continue
            slot = children.pop(pid)
            code = os.waitstatus_to_exitcode(status)
            if time.monotonic() - started < 10 and code != 0:
                failed_early = True
            log.warning("process %d (slot %d) exited with %d; starting another", pid, slot, code)
            time.sleep(RESTART_PAUSE_SECONDS)
            if not stopping:
                spawn(slot)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 1 if failed_early and not stopping else 0
