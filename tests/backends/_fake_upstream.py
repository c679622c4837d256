"""A fake OpenAI-compatible upstream: streamed ``POST /v1/chat/completions``, with faults chosen by model name.

It is a real HTTP server (served on loopback by ``tests._serve``), so the backend's httpx client, its
timeouts and its handling of dropped connections are exercised for real. Each request is recorded.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

Chunk = dict[str, Any]


def _chunk(delta: dict[str, Any], finish: str | None = None) -> Chunk:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "fake",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _usage(prompt: int, completion: int) -> Chunk:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "fake",
        "choices": [],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }


def text_chunks(*pieces: str, finish: str = "stop", usage: tuple[int, int] | None = (11, 3)) -> list[Chunk]:
    chunks = [_chunk({"role": "assistant", "content": ""})]
    chunks += [_chunk({"content": p}) for p in pieces]
    chunks.append(_chunk({}, finish))
    if usage is not None:
        chunks.append(_usage(*usage))
    return chunks


def tool_chunks(*calls: tuple[str, str], text: str = "", usage: tuple[int, int] = (20, 9)) -> list[Chunk]:
    """Each call's arguments arrive in three fragments, as OpenAI streams them."""
    chunks = [_chunk({"role": "assistant", "content": None})]
    if text:
        chunks.append(_chunk({"content": text}))
    for i, (name, arguments) in enumerate(calls):
        first = {"index": i, "id": f"call_up{i}", "type": "function", "function": {"name": name, "arguments": ""}}
        chunks.append(_chunk({"tool_calls": [first]}))
        third = len(arguments) // 3
        for piece in (arguments[:third], arguments[third : 2 * third], arguments[2 * third :]):
            chunks.append(_chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}))
    chunks.append(_chunk({}, "tool_calls"))
    chunks.append(_usage(*usage))
    return chunks


class Drop(Exception):
    """Raised inside a streamed body: uvicorn cuts the connection mid-response."""


@dataclass
class FakeUpstream:
    """Scenarios keyed by the requested model name; each gets the number of times it was called before."""

    scenarios: dict[str, Callable[[int], Response]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    closed_early: int = 0
    """Streams the client closed before the body ended."""

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self._complete, methods=["POST"])])

    def count(self, model: str) -> int:
        return sum(1 for r in self.requests if r["model"] == model)

    async def _complete(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        model = body["model"]
        n = self.calls[model]
        self.calls[model] += 1
        scenario = self.scenarios.get(model)
        if scenario is None:
            return error(404, f"The model '{model}' does not exist")
        return scenario(n)


def stream(chunks: list[Chunk], *, drop_after: int | None = None, raw: list[bytes] | None = None) -> Response:
    async def body() -> AsyncIterator[bytes]:
        for i, c in enumerate(chunks):
            if drop_after is not None and i == drop_after:
                raise Drop("connection dropped by the fake upstream")
            yield b"data: " + json.dumps(c).encode() + b"\n\n"
        for line in raw or []:
            yield line
        yield b"data: [DONE]\n\n"

    return StreamingResponse(body(), media_type="text/event-stream")


def stalled(upstream: FakeUpstream, seconds: float, *, first: str = "") -> Response:
    """Headers at once (and ``first`` as content, if given), then nothing for ``seconds``."""

    async def body() -> AsyncIterator[bytes]:
        try:
            if first:
                yield b"data: " + json.dumps(_chunk({"content": first})).encode() + b"\n\n"
            await asyncio.sleep(seconds)
            yield b"data: [DONE]\n\n"
        except BaseException:
            upstream.closed_early += 1
            raise

    return StreamingResponse(body(), media_type="text/event-stream")


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    kind = "rate_limit_error" if status == 429 else "server_error" if status >= 500 else "invalid_request_error"
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": None}}, status, headers=headers
    )
