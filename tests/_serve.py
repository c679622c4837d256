"""Serve an ASGI app with a real uvicorn on a loopback port, in a thread (as httpx's ``serve_in_thread``).

The server is the one ``assistantd serve`` runs (``assistantd.server``: the same protocol guards and uvicorn
options), on a free port, without signal handlers and with quieter logs.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

from assistantd.server import Server, build_config
from assistantd.settings import Settings


class _Server(Server):
    def install_signal_handlers(self) -> None:
        """The test process keeps its own signal handlers."""


@contextlib.contextmanager
def serve_in_thread(app: Any, *, lifespan: str = "on", settings: Settings | None = None) -> Iterator[str]:
    """Start ``app`` on ``127.0.0.1`` and a free port; yield its base URL; stop it on exit. ``settings``
    supplies the server's own limits (header timeout, connection bound); the defaults otherwise."""
    config = build_config(
        app,
        settings or Settings(),
        host="127.0.0.1",
        port=0,
        lifespan=lifespan,
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
    server = _Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30  # a loaded CI machine can take long to start
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        assert time.monotonic() < deadline, "uvicorn took more than 30 s to start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
