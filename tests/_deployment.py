"""A PostgreSQL deployment of real processes on loopback: the services of ``deploy/compose.yaml`` (API
processes and workers, with their commands and environments) started as ``assistantd`` subprocesses against
the session's embedded PostgreSQL, a shared data directory and a paced fake model upstream
(``bench/fake_upstream.py``). Every process here is one this module started; each is stopped by its PID.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests._cli import ASSISTANTD, ServerProcess, clean_env

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "deploy" / "compose.yaml"
_SERVING = re.compile(r"serving on (http://\S+?:\d+)")


def compose_services() -> dict[str, dict[str, Any]]:
    """The compose file's services, anchors merged."""
    services: dict[str, dict[str, Any]] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def local_command(command: list[str]) -> list[str]:
    """A service's command for a loopback test: any free port, on 127.0.0.1."""
    out = list(command)
    for flag, value in (("--host", "127.0.0.1"), ("--port", "0")):
        if flag in out:
            out[out.index(flag) + 1] = value
    return out


@contextlib.contextmanager
def fake_upstream(*, first_ms: int = 30, every_ms: int = 10, tokens: int = 20) -> Iterator[str]:
    """``bench/fake_upstream.py`` in realistic mode; yields its base URL."""
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "fake_upstream.py"),
            "--mode",
            "realistic",
            "--first-ms",
            str(first_ms),
            "--every-ms",
            str(every_ms),
            "--tokens",
            str(tokens),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("PORT "), line
        yield f"http://127.0.0.1:{int(line.split()[1])}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


class Deployment:
    """Processes sharing one database and one data directory, started with a compose service's settings."""

    def __init__(self, database_url: str, data_dir: Path, upstream: str, **settings: str) -> None:
        self.data_dir = data_dir
        self.services = compose_services()
        env = {k: str(v) for k, v in self.services["api"]["environment"].items() if not str(v).startswith("${")}
        env.update(
            ASSISTANTD_DATABASE_URL=database_url,
            ASSISTANTD_DATA_DIR=str(data_dir),
            ASSISTANTD_UPSTREAM_BASE_URL=upstream,
            ASSISTANTD_EMBEDDINGS="hashing",
            ASSISTANTD_LEASE_SECONDS="3",
            ASSISTANTD_LOG_LEVEL="info",
        )
        env.update(settings)
        self.env = clean_env(**env)
        self.processes: list[ServerProcess] = []

    def _spawn(self, args: list[str]) -> ServerProcess:
        proc = subprocess.Popen(
            [ASSISTANTD, *args],
            env=self.env,
            cwd=self.data_dir.parent,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        server = ServerProcess(proc)
        self.processes.append(server)
        return server

    def api(self, command: list[str] | None = None) -> ServerProcess:
        """An API process (the compose ``api`` service's command unless ``command``), serving."""
        server = self._spawn(local_command(command or self.services["api"]["command"]))
        match = _SERVING.search(server.wait_for_line(_SERVING.pattern))
        assert match is not None
        server.url = match.group(1)
        server.wait_for(lambda: server.health() == 200, "GET /health 200")
        return server

    def worker(self) -> ServerProcess:
        """A worker (the compose ``worker`` service's command), ready."""
        server = self._spawn(local_command(self.services["worker"]["command"]))
        server.wait_for_line("worker ready")
        return server

    def kill(self, pid: int) -> None:
        """``kill -9`` one of this deployment's processes."""
        assert pid in {p.proc.pid for p in self.processes}, f"{pid} is not a process of this deployment"
        os.kill(pid, signal.SIGKILL)
        next(p for p in self.processes if p.proc.pid == pid).proc.wait(timeout=10)

    def stop(self) -> None:
        for server in reversed(self.processes):
            server.stop()
