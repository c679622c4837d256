"""Run the real ``assistantd`` command: one-shot invocations, and ``assistantd serve`` as a subprocess on a
free loopback port (``--port 0``; the port is read from its "serving on" log line), stopped by its PID."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ASSISTANTD = str(Path(sys.executable).with_name("assistantd"))
START_TIMEOUT = 90.0
_SERVING = re.compile(r"serving on (http://\S+?:\d+)")


def clean_env(**settings: str) -> dict[str, str]:
    """The test process's environment without any ASSISTANTD_/OPENAI_ variable, plus ``settings``. Spare
    sandbox sessions are off: these servers never run code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANTD_", "OPENAI_"))}
    env["ASSISTANTD_CODE_INTERPRETER_SPARE_SESSIONS"] = "0"
    env.update(settings)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ASSISTANTD, *args], env=env or clean_env(), cwd=cwd, capture_output=True, text=True, timeout=120
    )


class ServerProcess:
    """A running ``assistantd serve``: its process, its log lines so far, and its base URL once serving."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.url = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, predicate: Callable[[], Any], what: str, timeout: float = START_TIMEOUT) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if self.proc.poll() is not None:
                self._reader.join(timeout=5)
                raise AssertionError(f"assistantd exited with {self.proc.returncode} before {what}:\n{self.log}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {timeout:.0f} s:\n{self.log}")
            time.sleep(0.05)

    def wait_for_line(self, pattern: str, timeout: float = START_TIMEOUT) -> str:
        regex = re.compile(pattern)
        found: str = self.wait_for(
            lambda: next((line for line in list(self.lines) if regex.search(line)), None), repr(pattern), timeout
        )
        return found

    def health(self, timeout: float = 2.0) -> int:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=timeout) as response:
                status: int = response.status
                return status
        except urllib.error.HTTPError as exc:
            return exc.code

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._reader.join(timeout=5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


@contextlib.contextmanager
def serving(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, preexec: Callable[[], None] | None = None
) -> Iterator[ServerProcess]:
    """``assistantd serve --port 0 --data-dir DATA_DIR ARGS``, ready (``/health`` 200) on entry."""
    proc = subprocess.Popen(
        [ASSISTANTD, "serve", "--port", "0", "--data-dir", str(data_dir), *args],
        env=env or clean_env(),
        cwd=data_dir.parent,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec,
    )
    server = ServerProcess(proc)
    try:
        line = server.wait_for_line(_SERVING.pattern)
        match = _SERVING.search(line)
        assert match is not None
        server.url = match.group(1)
        server.wait_for(lambda: server.health() == 200, "GET /health 200")
        yield server
    finally:
        server.stop()
