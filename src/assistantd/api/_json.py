"""JSON responses rendered with orjson (lists of 100 messages are the hot path)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class WireResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def wire(content: Any, headers: dict[str, str] | None = None) -> WireResponse:
    return WireResponse(content, headers=headers)
