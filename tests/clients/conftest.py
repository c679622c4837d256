"""Real clients against a real ``assistantd`` on loopback (issue 9, "Real clients that must work unchanged").

The app is the one ``assistantd serve`` runs, under the same uvicorn server (``tests/_serve.py``), with the
scripted backend as the model (its offline demo unless a test queues turns). A small ASGI wrapper records
every exchange (request body, response status and body) so a failing client's assertion shows exactly what it
sent and got back. JS clients run as ``node`` subprocesses from ``tests/clients/js`` (``npm ci`` there installs
them; ``scripts/test`` does it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from assistantd import Settings, create_app
from assistantd.backends.scripted import ScriptedBackend
from tests._serve import serve_in_thread

pytestmark = pytest.mark.e2e

JS = Path(__file__).resolve().parent / "js"
NODE_TIMEOUT = 120.0


@dataclass
class Exchange:
    method: str
    path: str
    query: str
    body: bytes
    status: int = 0
    response: bytearray = field(default_factory=bytearray)

    def request_json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def __str__(self) -> str:
        body = bytes(self.response)
        shown = body.decode(errors="replace")
        if len(body) > 3000:  # the start and the end (a stream's last events say how it ended)
            shown = f"{body[:1500].decode(errors='replace')} ... {body[-1500:].decode(errors='replace')}"
        return f"{self.method} {self.path}?{self.query} {self.body[:1500]!r}\n  -> {self.status} {shown}"


class Recorder:
    """An ASGI wrapper keeping every HTTP exchange in arrival order (``exchanges``)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.exchanges: list[Exchange] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ex = Exchange(scope["method"], scope["path"], scope.get("query_string", b"").decode(), b"")
        self.exchanges.append(ex)
        chunks: list[bytes] = []

        async def recv() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                ex.body = b"".join(chunks)
            return message

        async def snd(message: Any) -> None:
            if message["type"] == "http.response.start":
                ex.status = message["status"]
            elif message["type"] == "http.response.body":
                ex.response += message.get("body", b"")
            await send(message)

        await self.app(scope, recv, snd)

    def posts(self, path: str = "/v1/responses") -> list[Exchange]:
        return [e for e in self.exchanges if e.method == "POST" and e.path == path]

    def dump(self) -> str:
        return "\n".join(str(e) for e in self.exchanges)


@dataclass
class Served:
    base_url: str  # ends with /v1
    backend: ScriptedBackend
    recorder: Recorder


@pytest.fixture
def served(settings: Settings) -> Iterator[Served]:
    backend = ScriptedBackend()
    recorder = Recorder(create_app(settings, model_backend=backend))
    with serve_in_thread(recorder) as url:
        yield Served(url + "/v1", backend, recorder)


def node_bin() -> str:
    """``node``, or a failure saying how to get it: these tests never skip silently."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the real-client tests need Node.js 20+ and npm (CI has them)")
    if not (JS / "node_modules").is_dir():
        pytest.fail(f"{JS}/node_modules is missing: run `npm ci` in tests/clients/js (scripts/test does)")
    return node


def run_node(script: str, served: Served, *args: str, env: dict[str, str] | None = None) -> Any:
    """Run ``js/<script>`` against ``served``; return the JSON object its last stdout line prints. A non-zero
    exit fails with the script's output and every HTTP exchange the server saw."""
    full_env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "OPENAI_BASE_URL": served.base_url,
        "OPENAI_API_KEY": "sk-test",
        "NO_PROXY": "127.0.0.1,localhost",
        **(env or {}),
    }
    proc = subprocess.run(
        [node_bin(), str(JS / script), *args],
        cwd=JS,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=False,
    )
    where = f"{script} {' '.join(args)}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}\nexchanges:\n"
    assert proc.returncode == 0, where + served.recorder.dump()
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines, where + served.recorder.dump()
    return json.loads(lines[-1])
