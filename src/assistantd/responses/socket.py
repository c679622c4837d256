"""``wss://…/v1/responses``: OpenAI's WebSocket mode of the Responses API.

A client sends ``{"type": "response.create", ...a create body...}`` messages and receives each response's
stream events as JSON text messages, one response at a time per connection, with no ``[DONE]``. A bad
request is an ``error`` message (``{"type": "error", "status", "error": {"type", "code", "message",
"param"}}``) and the connection stays open.

``store: false`` responses are kept for the connection that made them: the newest one can be continued
with ``previous_response_id`` on the same connection only (anywhere else it is
``previous_response_not_found``); a newer one, a failed continuation of it, or the end of the connection
removes it.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from assistantd.api.deps import authenticate
from assistantd.errors import ApiError
from assistantd.responses import protocol
from assistantd.responses.service import Responses
from assistantd.runs.events import END_EVENTS, RunStream

router = APIRouter()


def _error(
    status: int, message: str, *, code: str, type_: str = "invalid_request_error", param: str | None = None
) -> str:
    body = {
        "type": "error",
        "status": status,
        "error": {"type": type_, "code": code, "message": message, "param": param},
    }
    return json.dumps(body)


class Connection:
    """One WebSocket's state: its id, and the ``store: false`` response it may continue."""

    def __init__(self, responses: Responses, socket: WebSocket) -> None:
        self.responses = responses
        self.socket = socket
        self.id = "ws_" + secrets.token_hex(8)
        self.kept: str | None = None

    async def handle(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            await self.socket.send_text(_error(400, "The message is not valid JSON.", code="invalid_json"))
            return
        if not isinstance(message, dict) or message.get("type") != "response.create":
            await self.socket.send_text(
                _error(400, "Expected a message of type 'response.create'.", code="invalid_request", param="type")
            )
            return
        body: dict[str, Any] = {k: v for k, v in message.items() if k != "type"}
        body["stream"] = True
        body.pop("background", None)
        previous = body.get("previous_response_id")
        try:
            req = protocol.parse(protocol.CreateResponse, body)
            result = await self.responses.create(req, socket=self.id)
        except ApiError as exc:
            if previous is not None and previous == self.kept:
                await self._evict()  # a failed continuation ends the chain it tried to continue
            await self.socket.send_text(
                _error(exc.status, exc.message, code=exc.code or exc.type, type_=exc.type, param=exc.param)
            )
            return
        assert isinstance(result, RunStream)
        final: dict[str, Any] | None = None
        while batch := await result.next_batch():
            for event in batch:
                if event.event.startswith(":"):
                    continue  # an internal marker
                await self.socket.send_text(json.dumps(event.data))
                if event.event in END_EVENTS:
                    final = event.data.get("response")
        await self._settle(previous, final)

    async def _settle(self, previous: str | None, final: dict[str, Any] | None) -> None:
        """Keep the newest ``store: false`` response for continuation; a failed continuation forgets the
        response it continued."""
        if final is None:
            return
        failed = final.get("status") == "failed"
        if failed and previous is not None and previous == self.kept:
            await self._evict()
        if final.get("store") is False and not failed:
            if self.kept is not None and self.kept != final["id"]:
                await self._evict()
            self.kept = str(final["id"])

    async def _evict(self) -> None:
        if self.kept is not None:
            kept, self.kept = self.kept, None
            await self.responses.forget(kept)

    async def close(self) -> None:
        await self._evict()


@router.websocket("/responses")
async def responses_socket(websocket: WebSocket) -> None:
    try:
        await authenticate(websocket)
    except ApiError:
        await websocket.close(code=1008, reason="invalid or missing API key")
        return
    service = websocket.app.state.responses
    assert isinstance(service, Responses)
    await websocket.accept()
    connection = Connection(service, websocket)
    try:
        while True:
            await connection.handle(await websocket.receive_text())
    except WebSocketDisconnect:
        pass
    finally:
        await connection.close()
