"""A fake OpenAI-compatible upstream for benchmarks: ``/v1/chat/completions`` (streamed) and ``/v1/models``.

Written on raw asyncio streams so the fake itself costs little CPU. Two behaviours, chosen per process:

* ``instant``: streams a short answer (5 tokens) with no delay;
* ``realistic``: first token after ``--first-ms`` (200), then one token every ``--every-ms`` (20),
  ``--tokens`` (200) tokens in all.

A model name ending in ``-<n>`` (``fake-400``) asks for ``n`` tokens instead; one containing ``instant`` is
answered as in ``instant`` mode (one fake serves both kinds of scenario); one containing ``calls``, asked
with tools, calls the first tool (until the last message is a tool result).

    python bench/fake_upstream.py --port 0 --mode realistic     # prints "PORT <n>" once listening
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

CHUNK_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


def _chunk(payload: bytes) -> bytes:
    return f"{len(payload):x}\r\n".encode() + payload + b"\r\n"


def _event(obj: object) -> bytes:
    return _chunk(b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n")


class Fake:
    def __init__(self, mode: str, first_ms: float, every_ms: float, tokens: int) -> None:
        self.mode = mode
        self.first = first_ms / 1000
        self.every = every_ms / 1000
        self.tokens = tokens if mode == "realistic" else 5

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    if line.lower().startswith("content-length:"):
                        length = int(line.split(":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                if path.endswith("/models"):
                    payload = json.dumps(
                        {
                            "object": "list",
                            "data": [{"id": "fake-model", "object": "model", "created": 0, "owned_by": "bench"}],
                        }
                    ).encode()
                    writer.write(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                        + str(len(payload)).encode()
                        + b"\r\n\r\n"
                        + payload
                    )
                    await writer.drain()
                    continue
                if method != "POST" or not path.endswith("/chat/completions"):
                    writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                    await writer.drain()
                    continue
                request = json.loads(body or b"{}")
                model = request.get("model", "fake-model")
                messages = request.get("messages") or [{}]
                if "calls" in model and request.get("tools") and messages[-1].get("role") != "tool":
                    await self.call(writer, model, request["tools"][0]["function"]["name"], messages)
                else:
                    await self.stream(writer, model)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def call(self, writer: asyncio.StreamWriter, model: str, name: str, messages: list[dict[str, Any]]) -> None:
        """A turn that calls ``name`` (models named ``...calls...`` with tools, until a tool result comes).
        ``code_interpreter`` is given the code after ``code:`` in the last user message."""
        arguments = '{"q": "x"}'
        if name == "code_interpreter":
            said = next((m.get("content") for m in reversed(messages) if m.get("role") == "user"), "") or ""
            if isinstance(said, list):
                said = " ".join(str(p.get("text", "")) for p in said if isinstance(p, dict))
            arguments = json.dumps({"code": str(said).split("code:", 1)[-1].strip()})
        base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
        writer.write(CHUNK_HEAD)
        if self.mode == "realistic":
            await asyncio.sleep(self.first)
        call = {"index": 0, "id": f"call_{time.monotonic_ns()}", "type": "function"}
        delta = {"role": "assistant", "tool_calls": [{**call, "function": {"name": name, "arguments": arguments}}]}
        writer.write(_event({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}))
        writer.write(_event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}))
        writer.write(_chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
        await writer.drain()

    async def stream(self, writer: asyncio.StreamWriter, model: str) -> None:
        base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
        writer.write(CHUNK_HEAD)
        paced = self.mode == "realistic" and "instant" not in model
        if paced:
            await asyncio.sleep(self.first)
        tokens = self.tokens if paced else 5
        if model.rpartition("-")[2].isdigit():  # "fake-400": that many tokens
            tokens = int(model.rpartition("-")[2])
        for i in range(tokens):
            delta = {"role": "assistant", "content": "tok"} if i == 0 else {"content": " tok"}
            writer.write(_event({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}))
            await writer.drain()
            if paced and i < tokens - 1:
                await asyncio.sleep(self.every)
        writer.write(_event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
        writer.write(
            _event(
                {
                    **base,
                    "choices": [],
                    "usage": {"prompt_tokens": 10, "completion_tokens": tokens, "total_tokens": 10 + tokens},
                }
            )
        )
        writer.write(_chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
        await writer.drain()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mode", choices=["instant", "realistic"], default="instant")
    parser.add_argument("--first-ms", type=float, default=200)
    parser.add_argument("--every-ms", type=float, default=20)
    parser.add_argument("--tokens", type=int, default=200)
    args = parser.parse_args()
    fake = Fake(args.mode, args.first_ms, args.every_ms, args.tokens)
    server = await asyncio.start_server(fake.handle, "127.0.0.1", args.port, backlog=1024)
    print("PORT", server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
