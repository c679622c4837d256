"""The progress bar on stderr: ``tqdm``'s when it is installed (it is not a dependency of assistantd, so it
is looked up at run time), otherwise one line rewritten in place. Off when stderr is not a terminal."""

from __future__ import annotations

import importlib
import sys
import time
from typing import Any, Protocol, TextIO

REDRAW_SECONDS = 0.2


class Progress(Protocol):
    def advance(self) -> None: ...

    def close(self) -> None: ...


class NoProgress:
    def advance(self) -> None:
        pass

    def close(self) -> None:
        pass


class LineProgress:
    """``importing 1,234/12,310 objects (10%)``, redrawn at most five times a second."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self._drawn = 0.0

    def advance(self) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self._drawn >= REDRAW_SECONDS or self.done == self.total:
            self._drawn = now
            self._draw()

    def _draw(self) -> None:
        share = 100 * self.done // self.total if self.total else 100
        self.stream.write(f"\rimporting {self.done:,}/{self.total:,} objects ({share}%)")
        self.stream.flush()

    def close(self) -> None:
        self._draw()
        self.stream.write("\n")
        self.stream.flush()


class TqdmProgress:
    def __init__(self, bar: Any) -> None:
        self.bar = bar

    def advance(self) -> None:
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def progress(total: int, enabled: bool, stream: TextIO | None = None) -> Progress:
    """A bar over ``total`` objects, or nothing when not ``enabled`` or stderr is not a terminal."""
    out = stream or sys.stderr
    if not enabled or not (stream is not None or out.isatty()):
        return NoProgress()
    try:
        tqdm = importlib.import_module("tqdm")
    except ImportError:
        return LineProgress(total, out)
    return TqdmProgress(tqdm.tqdm(total=total, unit="obj", desc="importing", file=out))
