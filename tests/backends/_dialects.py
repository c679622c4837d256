"""Upstream stand-ins that behave like the model servers people run, served for real on loopback.

``DialectUpstream`` plays a tiny deterministic "model" behind ``POST /v1/chat/completions``, with the
habits of the server it stands in for:

* ``json_only`` (vLLM, SGLang): a body that is not ``Content-Type: application/json`` gets vLLM's 415;
* ``obeys_tool_choice`` (OpenAI): a forced ``tool_choice`` is obeyed on every request it is sent with,
  and ``parallel_tool_calls: false`` is honoured; without it (many small models and servers) both are
  ignored: the model calls the tools the user names, and answers in text otherwise;
* reasoning models (names starting ``o3`` or ``gpt-5``) refuse ``max_tokens`` and ``parallel_tool_calls``
  with OpenAI's error bodies;
* ``max_tokens_only`` (older servers): ``max_completion_tokens`` is refused as an unknown argument.

The model: after a tool result it reports it; when a tool is forced it calls it; otherwise it calls each
tool the last user message names (all of them, in one turn) and else echoes the user.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.backends._fake_upstream import text_chunks, tool_chunks


def openai_error(message: str, param: str | None, code: str | None, status: int = 400) -> JSONResponse:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}
    return JSONResponse(body, status)


@dataclass
class DialectUpstream:
    json_only: bool = False
    obeys_tool_choice: bool = True
    max_tokens_only: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    """What each refused request was refused for."""

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self._complete, methods=["POST"])])

    async def _complete(self, request: Request) -> Response:
        content_type = request.headers.get("content-type", "")
        self.content_types.append(content_type)
        if self.json_only and content_type.split(";")[0].strip() != "application/json":
            self.refused.append("content-type")
            return JSONResponse(
                {"detail": "Unsupported Media Type: Only 'application/json' is allowed"}, status_code=415
            )
        body = json.loads(await request.body())
        self.requests.append(body)
        refusal = self._refusal(body)
        if refusal is not None:
            return refusal
        chunks = self._answer(body)
        return StreamingResponse(_sse(chunks), media_type="text/event-stream")

    def _refusal(self, body: dict[str, Any]) -> Response | None:
        model = str(body["model"])
        reasoning = model.startswith(("o3", "gpt-5"))
        if reasoning and "max_tokens" in body:
            self.refused.append("max_tokens")
            return openai_error(
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                "max_tokens",
                "unsupported_parameter",
            )
        if reasoning and "parallel_tool_calls" in body:
            self.refused.append("parallel_tool_calls")
            return openai_error(
                "Unsupported parameter: 'parallel_tool_calls' is not supported with this model.",
                "parallel_tool_calls",
                "unsupported_parameter",
            )
        if self.max_tokens_only and "max_completion_tokens" in body:
            self.refused.append("max_completion_tokens")
            return openai_error("Unrecognized request argument supplied: max_completion_tokens", None, None)
        return None

    def _answer(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        messages = body["messages"]
        tools = [t["function"]["name"] for t in body.get("tools") or []]
        choice = body.get("tool_choice") if self.obeys_tool_choice else "auto"
        last = messages[-1]
        if isinstance(choice, dict):
            return tool_chunks((choice["function"]["name"], _arguments(choice["function"]["name"], messages)))
        if choice == "required" and tools:
            return tool_chunks((tools[0], _arguments(tools[0], messages)))
        if last["role"] == "tool":
            return text_chunks(f"The tool said: {last['content']}")
        user = next(m for m in reversed(messages) if m["role"] == "user")
        said = user["content"] if isinstance(user["content"], str) else json.dumps(user["content"])
        named = [t for t in tools if t in said] if choice != "none" else []
        if named:
            if self.obeys_tool_choice and body.get("parallel_tool_calls") is False:
                named = named[:1]
            return tool_chunks(*((name, _arguments(name, messages)) for name in named))
        return text_chunks(f"You said: {said}")


def _arguments(name: str, messages: list[dict[str, Any]]) -> str:
    if name == "file_search":
        return json.dumps({"queries": ["lid"]})
    return json.dumps({"city": "Paris"})


async def _sse(chunks: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    for chunk in chunks:
        yield b"data: " + json.dumps(chunk).encode() + b"\n\n"
    yield b"data: [DONE]\n\n"
