"""Any OpenAI-compatible ``/chat/completions`` upstream: OpenAI, vLLM, Ollama, llama.cpp, ...

Failures before the first streamed token (timeouts, 429, 5xx, dropped connections) are retried with
exponential backoff; after it, the turn fails: tokens already shown to a client cannot be taken back.
A 400 that refuses an optional field is adapted to once per model (``dialect.py``) and sent again.

Bodies go out as ``application/json`` (vLLM and SGLang refuse anything else). The stream is read with
bounds: a line longer than ``max_line_bytes`` or a body past ``max_response_bytes`` fails the turn, and
so does a gap longer than ``idle_timeout`` between chunks that carry data (SSE comments, which some
upstreams send as keep-alives, do not count).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
from opentelemetry import propagate, trace

from assistantd.backends.base import (
    ChatMessage,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    TurnEnd,
    TurnEvent,
    TurnRequest,
    UpstreamBadRequest,
    UpstreamError,
    UpstreamRateLimited,
    Usage,
)
from assistantd.backends.dialect import Dialect, TokenLimitParameter
from assistantd.observability import metrics, tracing


@contextlib.contextmanager
def map_backend_errors(base_url: str) -> Iterator[None]:
    """aiohttp failures → ``UpstreamError`` (retryable)."""
    try:
        yield
    except TimeoutError as exc:
        raise UpstreamError(f"The model upstream at {base_url} timed out.") from exc
    except aiohttp.ClientError as exc:
        raise UpstreamError(f"The model upstream at {base_url} could not be reached: {exc}.") from exc


def message_json(m: ChatMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in m.tool_calls
        ]
    if m.tool_call_id is not None:
        out["tool_call_id"] = m.tool_call_id
    return out


def request_json(req: TurnRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": req.model,
        "messages": [message_json(m) for m in req.messages],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if req.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    k: v
                    for k, v in (
                        ("name", t.name),
                        ("description", t.description),
                        ("parameters", t.parameters or {"type": "object", "properties": {}}),
                        ("strict", t.strict),
                    )
                    if v is not None
                },
            }
            for t in req.tools
        ]
        if req.tool_choice is not None:
            body["tool_choice"] = req.tool_choice
        if req.parallel_tool_calls is False:
            body["parallel_tool_calls"] = False
    for key in ("temperature", "top_p", "max_tokens", "response_format", "reasoning_effort"):
        value = getattr(req, key)
        if value is not None:
            body[key] = value
    if req.logprobs:
        body["logprobs"] = True
        if req.top_logprobs:
            body["top_logprobs"] = req.top_logprobs
    return body


class OpenAICompatBackend:
    """Streams ``POST {base_url}/chat/completions``. aiohttp rather than httpx: per streamed chunk it costs
    a fraction of the CPU (httpx's streaming stack was 40% of the server's profile under 64 streams)."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        api_key: str = "",
        *,
        timeout: float = 120.0,
        idle_timeout: float | None = None,
        max_retries: int = 2,
        backoff: float = 0.25,
        token_limit_parameter: TokenLimitParameter = "auto",
        max_line_bytes: int = 1024 * 1024,
        max_response_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.upstream = upstream_label(self.base_url)
        """The upstream's name in metrics and spans: its base URL without credentials, query or fragment."""
        self.headers = {"Content-Type": "application/json", "Accept": "text/event-stream, application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self.idle_timeout = idle_timeout or timeout
        self.timeout = aiohttp.ClientTimeout(
            total=None, connect=min(timeout, 10.0), sock_read=min(timeout, self.idle_timeout)
        )
        self.max_retries = max_retries
        self.backoff = backoff
        self.dialect = Dialect(token_limit_parameter)
        self.limits = _Limits(max_line_bytes, max_response_bytes, self.idle_timeout)

    async def stream(self, request: TurnRequest) -> AsyncIterator[TurnEvent]:
        body = request_json(request)
        attempt = 0
        adaptations = 0
        while True:
            started = False
            sent = self.dialect.apply(body)
            try:
                async for event in self._attempt(sent):
                    started = True
                    yield event
                return
            except _Refused as refused:
                adaptations += 1
                if adaptations > 4 or not self.dialect.learn(sent, refused.status, refused.error, refused.text):
                    raise refused.error_to_raise from None
                continue
            except UpstreamError as exc:
                if started or not exc.retryable or attempt >= self.max_retries:
                    raise
                delay = getattr(exc, "retry_after", None) or self.backoff * (2**attempt)
                attempt += 1
                await asyncio.sleep(delay * (0.75 + random.random() / 2))

    def _attempt(self, body: dict[str, Any]) -> AsyncIterator[TurnEvent]:
        """One HTTP request; measured and traced only when metrics or tracing are on."""
        if tracing.enabled() or metrics.current().enabled:
            return self._observed(body)
        return self._exchange(body, self.headers, None)

    async def _observed(self, body: dict[str, Any]) -> AsyncIterator[TurnEvent]:
        """``_exchange`` in an upstream-request span (not made current: this generator yields to its consumer
        between events), with its status, reason of failure and latency counted by upstream."""
        recorder = metrics.current()
        parts = urlsplit(self.base_url)
        span = tracing.tracer().start_span(
            "POST /chat/completions",
            kind=trace.SpanKind.CLIENT,
            attributes={
                "http.request.method": "POST",
                "url.full": f"{self.upstream}/chat/completions",
                "server.address": parts.hostname or "",
                "server.port": parts.port or (443 if parts.scheme == "https" else 80),
                "assistantd.upstream": self.upstream,
                "gen_ai.request.model": str(body.get("model", "")),
            },
        )
        headers = self.headers
        if tracing.enabled():
            headers = dict(self.headers)
            propagate.inject(headers, context=trace.set_span_in_context(span))
        status = "error"

        def answered(code: int) -> None:
            nonlocal status
            status = str(code)
            span.set_attribute("http.response.status_code", code)

        started = time.perf_counter()
        try:
            async for event in self._exchange(body, headers, answered):
                yield event
        except _Refused as refused:
            self._failed(recorder, span, "bad_request", refused.error_to_raise)
            raise
        except UpstreamError as exc:
            self._failed(recorder, span, _reason(exc, status), exc)
            raise
        finally:
            recorder.upstream_request(self.upstream, status, time.perf_counter() - started)
            span.end()

    def _failed(self, recorder: metrics.Metrics, span: trace.Span, reason: str, exc: UpstreamError) -> None:
        recorder.upstream_error(self.upstream, reason)
        span.set_attribute("error.type", reason)
        span.set_status(trace.StatusCode.ERROR, exc.message)

    async def _exchange(
        self, body: dict[str, Any], headers: dict[str, str], answered: Callable[[int], None] | None
    ) -> AsyncIterator[TurnEvent]:
        url = f"{self.base_url}/chat/completions"
        with map_backend_errors(self.base_url):
            async with self.http.post(url, data=orjson.dumps(body), headers=headers, timeout=self.timeout) as resp:
                if answered is not None:
                    answered(resp.status)
                if resp.status >= 400:
                    raw = await resp.content.read(64 * 1024)
                    error = _status_error(resp.status, resp.headers.get("retry-after"), raw)
                    if isinstance(error, UpstreamBadRequest):
                        raise _Refused(resp.status, raw, error)
                    raise error
                finished = False
                async for event in _parse_stream(_lines(resp, self.limits)):
                    if isinstance(event, TurnEnd):
                        finished = True
                    yield event
                if not finished:
                    raise UpstreamError("The model upstream closed the stream before finishing the answer.")


def upstream_label(base_url: str) -> str:
    """``scheme://host[:port]/path`` of a base URL: what names an upstream in metrics, spans and logs."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return f"{parts.scheme}://{netloc}{parts.path}".rstrip("/")


def _reason(exc: UpstreamError, status: str) -> str:
    """Why an upstream request failed, from a fixed set (a metric label)."""
    if isinstance(exc, UpstreamRateLimited):
        return "rate_limited"
    if isinstance(exc, UpstreamBadRequest):
        return "bad_request"
    if status != "error" and int(status) >= 400:
        return "server_error"
    if isinstance(exc.__cause__, TimeoutError):
        return "timeout"
    if isinstance(exc.__cause__, aiohttp.ClientError):
        return "connection"
    return "stream"


@dataclass(frozen=True, slots=True)
class _Limits:
    max_line_bytes: int
    max_response_bytes: int
    idle_timeout: float


class _Refused(Exception):
    """A 4xx refusal: maybe of an optional field the dialect can adapt to, else ``error_to_raise``."""

    def __init__(self, status: int, raw: bytes, error: UpstreamError) -> None:
        self.status = status
        self.text = raw.decode("utf-8", "replace")
        try:
            parsed = json.loads(self.text)
        except ValueError:
            parsed = None
        inner = parsed.get("error") if isinstance(parsed, dict) else None
        self.error: dict[str, Any] | None = (
            inner if isinstance(inner, dict) else parsed if isinstance(parsed, dict) else None
        )
        self.error_to_raise = error


def _status_error(status: int, retry_after: str | None, body: bytes) -> UpstreamError:
    text = body.decode("utf-8", "replace")
    try:
        detail = json.loads(text).get("error", {}).get("message") or text[:300]
    except (ValueError, AttributeError):
        detail = text[:300]
    message = f"The model upstream answered {status}: {detail}"
    if status == 429:
        err: UpstreamError = UpstreamRateLimited(message)
        if retry_after and retry_after.replace(".", "", 1).isdigit():
            err.retry_after = min(float(retry_after), 30.0)  # type: ignore[attr-defined]
        return err
    if status >= 500 or status == 408:
        return UpstreamError(message)
    return UpstreamBadRequest(message)


async def _lines(resp: aiohttp.ClientResponse, limits: _Limits) -> AsyncIterator[bytes]:
    """The body's data-carrying SSE lines, read in linear time within the limits (aiohttp's own line
    reader caps length with an exception of its own; this one fails the turn with a readable error)."""
    loop = asyncio.get_running_loop()
    buffer = bytearray()
    total = 0
    idle_deadline = loop.time() + limits.idle_timeout
    while True:
        # Silence is bounded by the request's read timeout (at most ``idle_timeout``); bytes that carry no
        # data (keep-alive comments) by the deadline checked here.
        chunk = await resp.content.readany()
        if loop.time() > idle_deadline:
            raise _idle(limits)
        if not chunk:
            break
        total += len(chunk)
        if total > limits.max_response_bytes:
            raise UpstreamError(
                f"The model upstream's answer exceeded {limits.max_response_bytes} bytes.", retryable=False
            )
        start = 0
        scan = len(buffer)
        buffer += chunk
        while (end := buffer.find(b"\n", scan)) != -1:
            line = bytes(buffer[start:end])
            start = scan = end + 1
            if line.startswith(b"data:"):
                idle_deadline = loop.time() + limits.idle_timeout
                yield line
        del buffer[:start]
        if len(buffer) > limits.max_line_bytes:
            raise UpstreamError(
                f"The model upstream sent a stream line longer than {limits.max_line_bytes} bytes.", retryable=False
            )
    if buffer.startswith(b"data:"):
        yield bytes(buffer)


def _idle(limits: _Limits) -> UpstreamError:
    return UpstreamError(f"The model upstream sent no data for {limits.idle_timeout:g} s.")


async def _parse_stream(lines: AsyncIterator[bytes]) -> AsyncIterator[TurnEvent]:
    """Chat-completions SSE chunks → turn events; one ``TurnEnd`` after the finish reason and usage."""
    finish: str | None = None
    usage: Usage | None = None
    indexes = _CallIndexes()
    async for line in lines:
        data = line[5:].strip()
        if data == b"[DONE]":
            break
        try:
            chunk = orjson.loads(data)
        except ValueError as exc:
            raise UpstreamError("The model upstream sent a malformed stream chunk.", retryable=False) from exc
        if not isinstance(chunk, dict):
            continue
        if chunk.get("error"):
            raise UpstreamError(f"The model upstream reported an error: {chunk['error']}", retryable=False)
        if isinstance(chunk.get("usage"), dict):
            u = chunk["usage"]
            usage = Usage(int(u.get("prompt_tokens") or 0), int(u.get("completion_tokens") or 0))
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if reasoning and isinstance(reasoning, str):
                yield ReasoningDelta(reasoning)
            if delta.get("content"):
                yield TextDelta(str(delta["content"]), _logprobs(choice))
            for tc in delta.get("tool_calls") or []:
                fn = tc.get("function") or {}
                yield ToolCallDelta(
                    index=indexes.of(tc),
                    id=tc.get("id"),
                    name=fn.get("name"),
                    arguments=fn.get("arguments") or "",
                )
            if choice.get("finish_reason"):
                finish = str(choice["finish_reason"])
    if finish is not None or usage is not None:
        yield TurnEnd(finish or "stop", usage)


def _logprobs(choice: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """A chunk's token log probabilities (``choice.logprobs.content``), kept only when well formed."""
    found = (choice.get("logprobs") or {}).get("content") if isinstance(choice.get("logprobs"), dict) else None
    if not isinstance(found, list):
        return ()
    out = []
    for t in found:
        if isinstance(t, dict) and isinstance(t.get("token"), str) and isinstance(t.get("logprob"), int | float):
            top = [
                {"token": str(x.get("token")), "logprob": float(x.get("logprob") or 0.0), "bytes": x.get("bytes")}
                for x in t.get("top_logprobs") or []
                if isinstance(x, dict)
            ]
            out.append(
                {"token": t["token"], "logprob": float(t["logprob"]), "bytes": t.get("bytes"), "top_logprobs": top}
            )
    return tuple(out)


class _CallIndexes:
    """The index of each streamed tool-call fragment. Upstreams that omit ``index`` (some llama.cpp and
    Ollama versions send every call whole) are told apart by ``id``: a new id is a new call."""

    def __init__(self) -> None:
        self._by_id: dict[str, int] = {}
        self._last = 0

    def of(self, fragment: dict[str, Any]) -> int:
        call_id = fragment.get("id")
        if isinstance(fragment.get("index"), int):
            index = int(fragment["index"])
        elif call_id and call_id not in self._by_id:
            index = max(self._by_id.values(), default=-1) + 1
        elif call_id:
            index = self._by_id[call_id]
        else:
            index = self._last
        if call_id:
            self._by_id.setdefault(call_id, index)
        self._last = index
        return index
