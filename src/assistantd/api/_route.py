"""Request bodies are bounded before they are read: the route class every router uses.

FastAPI reads a JSON body whole into memory before any dependency runs, so the bound has to sit below it,
on the ASGI ``receive`` channel: a ``Content-Length`` past the limit is refused before a byte is read, and
a chunked body is cut off as soon as it passes the limit. JSON bodies are bounded by ``max_request_bytes``
(413, OpenAI's envelope; the SDK does not retry it); uploads, which stream to a spooled temporary file, by
``max_file_bytes`` (``UploadRoute``).

A JSON body holding the NUL character (``\u0000``) anywhere is refused with a 400 naming the field, on
every backend: PostgreSQL cannot store it in text or jsonb, and a request that works on one database and
fails on another is worse than one clear rule.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Message, Receive

from assistantd.api.deps import services
from assistantd.errors import InvalidRequest
from assistantd.services.files import too_large
from assistantd.settings import Settings

# Room for the multipart framing and the small form fields around an upload's file part.
FORM_OVERHEAD = 64 * 1024


class BodyTooLarge(HTTPException):
    """413 with OpenAI's envelope. An ``HTTPException`` because FastAPI lets only those out of its body read
    (anything else raised there becomes a generic 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            f"The request body is too large: the maximum is {limit} bytes. Send large files through "
            "/v1/files; a message's text may hold at most 256,000 characters.",
        )


def _declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    return int(value) if value is not None and value.isdigit() else None


def _bounded(receive: Receive, limit: int, error: Callable[[], Exception]) -> Receive:
    seen = 0

    async def receive_bounded() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise error()
        return message

    return receive_bounded


class WireRoute(APIRoute):
    """An ``APIRoute`` whose request body may hold at most ``limit(settings)`` bytes."""

    def limit(self, settings: Settings) -> int:
        return settings.max_request_bytes

    def error(self, settings: Settings) -> Exception:
        return BodyTooLarge(settings.max_request_bytes)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded_handler(request: Request) -> Response:
            if request.method in ("GET", "HEAD", "DELETE"):
                return await handler(request)
            settings = services(request).settings
            limit = self.limit(settings)
            declared = _declared_length(request)
            if declared is not None and declared > limit:
                raise self.error(settings)  # refused before a byte of the body is read
            receive = _bounded(request.receive, limit, lambda: self.error(settings))
            bounded = Request(request.scope, receive)
            if self.checks_text:
                _refuse_nul(await bounded.body())  # cached on the request: FastAPI parses the same bytes
            return await handler(bounded)

        return bounded_handler

    checks_text = True
    """JSON bodies are checked for NUL characters (uploads are bytes, and may hold any)."""


def _refuse_nul(body: bytes) -> None:
    if b"\\u0000" not in body:  # the only way JSON spells NUL; the scan costs microseconds
        return
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return  # FastAPI reports malformed JSON itself
    path = nul_path(value)
    if path is not None:
        raise InvalidRequest(
            f"Invalid '{path or 'body'}': the string contains the NUL character (U+0000), which cannot be stored.",
            param=path or None,
        )


def nul_path(value: Any, path: str = "") -> str | None:
    """The dotted path (``messages[0].content``) of the first string or key holding U+0000, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                return here
            found = nul_path(item, here)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = nul_path(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


class UploadRoute(WireRoute):
    """Uploads (multipart) may hold one file of up to ``max_file_bytes`` and a few small fields."""

    checks_text = False

    def limit(self, settings: Settings) -> int:
        return settings.max_file_bytes + FORM_OVERHEAD

    def error(self, settings: Settings) -> Exception:
        return too_large(settings.max_file_bytes)
