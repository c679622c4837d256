"""An upstream that starts a chunked body and breaks it, then closes: every run ends ``failed`` promptly,
none stays ``in_progress`` (issue 8, point 19). The upstream is a raw socket server, since no HTTP
framework will send a malformed body on purpose."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.backends._fake_upstream import _chunk
from tests.runs._helpers import TIME, WEATHER, wait_status


async def _start(client: openai.AsyncOpenAI, model: str) -> Any:
    a = await client.beta.assistants.create(model=model, tools=[WEATHER, TIME])
    t = await client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    return await client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id)


BROKEN = {
    "bad-chunk-size": lambda first: f"{len(first):x}\r\n".encode() + first + b"\r\nzz-not-hex\r\n",
    "no-chunk": lambda first: b"",
    "truncated-chunk": lambda first: b"ffff\r\n" + first,
    "bad-header": lambda first: b"",
}


@pytest.fixture(params=sorted(BROKEN))
def broken_chunked(request: pytest.FixtureRequest) -> Iterator[str]:
    """A raw HTTP server that starts a chunked stream, sends a malformed chunked body, and closes."""
    kind = request.param
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            try:
                with conn:
                    conn.settimeout(2)
                    data = b""
                    while b"\r\n\r\n" not in data:
                        got = conn.recv(65536)
                        if not got:
                            break
                        data += got
                    head, _, rest = data.partition(b"\r\n\r\n")
                    length = next(
                        (
                            int(line.split(b":")[1])
                            for line in head.split(b"\r\n")
                            if line.lower().startswith(b"content-length")
                        ),
                        0,
                    )
                    while len(rest) < length:
                        got = conn.recv(65536)
                        if not got:
                            break
                        rest += got
                    first = b"data: " + json.dumps(_chunk({"content": "Hi"})).encode() + b"\n\n"
                    extra = (
                        b"Transfer-Encoding: chunked, gzip\r\nContent-Length: 12\r\n" if kind == "bad-header" else b""
                    )
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
                        + extra
                        + b"\r\n"
                        + BROKEN[kind](first)
                    )
            except OSError:  # a client that connected and sent nothing in time: serve the next one
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


@pytest.fixture
def upstream_url(broken_chunked: str) -> str:
    return broken_chunked


@pytest.mark.settings(upstream_timeout_seconds=10.0)
async def test_malformed_chunked_encoding_never_leaves_runs_in_progress(client: openai.AsyncOpenAI) -> None:
    runs = await asyncio.gather(*(_start(client, "m") for _ in range(42)))
    for run in runs:
        done = await wait_status(client, run.thread_id, run.id, timeout=30)
        assert done.status == "failed", done
        assert done.last_error is not None and done.last_error.code == "server_error"
