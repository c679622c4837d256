"""A fake OpenAI-compatible model upstream on loopback, for the SDK example tests. Standard library only.

    python fake_upstream.py [--port N]

prints ``PORT <n>`` on its first stdout line once it listens on ``127.0.0.1:<n>``, then serves until killed:

- ``GET /v1/models``: one model list, as OpenAI returns it.
- ``POST /v1/chat/completions``: deterministic answers, streamed as OpenAI's ``chat.completion.chunk`` SSE (the
  ``stream_options.include_usage`` usage chunk, then ``data: [DONE]``), or as one ``chat.completion`` when
  ``stream`` is false:

  * tools ``get_current_temperature`` and ``get_rain_probability`` offered and no ``tool`` message yet: two
    parallel tool calls (the function-calling guide's weather example), their arguments streamed in fragments;
  * ``tool`` messages present: a text quoting every tool result, ``get_current_temperature returned 57; ...``;
    a ``tool`` message that answers no earlier assistant ``tool_calls`` id gets the 400 OpenAI sends;
  * anything else: ``x = 1``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WEATHER_TOOLS = ("get_current_temperature", "get_rain_probability")
PLAIN_ANSWER = "x = 1"
MODELS = ["gpt-4o", "gpt-4o-mini"]


def tool_calls_for(tool_names: list[str]) -> list[dict[str, Any]]:
    """The calls the real model makes for "What's the weather in San Francisco today and the likelihood it'll rain?"."""
    args = {
        "get_current_temperature": {"location": "San Francisco, CA", "unit": "Fahrenheit"},
        "get_rain_probability": {"location": "San Francisco, CA"},
    }
    return [
        {"id": f"call_{uuid.uuid4().hex[:24]}", "name": name, "arguments": json.dumps(args[name])}
        for name in WEATHER_TOOLS
        if name in tool_names
    ]


def answer(body: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]]] | str:
    """(text, tool_calls) for a chat request, or an error message for a 400."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array."
    offered = [
        t.get("function", {}).get("name")
        for t in body.get("tools") or []
        if isinstance(t, dict) and t.get("type") == "function"
    ]
    issued: dict[str, str] = {}  # tool_call_id -> function name, from the assistant messages so far
    results: list[str] = []
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ("system", "developer", "user", "assistant", "tool"):
            return f"Invalid message: {m!r}"
        for call in m.get("tool_calls") or []:
            issued[call["id"]] = call["function"]["name"]
        if m["role"] == "tool":
            call_id = m.get("tool_call_id")
            if call_id not in issued:
                return (
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding message "
                    f"with 'tool_calls' (tool_call_id {call_id!r})."
                )
            results.append(f"{issued[call_id]} returned {m.get('content')}")
    if results:
        return "The tools said: " + "; ".join(results) + ".", []
    if all(name in offered for name in WEATHER_TOOLS):
        return None, tool_calls_for(offered)
    return PLAIN_ANSWER, []


def fragments(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write("fake-upstream: " + (format % args) + "\n")

    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, param: str | None = None) -> None:
        error = {"message": message, "type": "invalid_request_error", "param": param, "code": None}
        self._json(status, {"error": error})

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            data = [{"id": m, "object": "model", "created": 1715367049, "owned_by": "system"} for m in MODELS]
            self._json(200, {"object": "list", "data": data})
        else:
            self._error(404, f"Unknown request URL: GET {self.path}.")

    def do_POST(self) -> None:
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._error(404, f"Unknown request URL: POST {self.path}.")
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        except ValueError:
            self._error(400, "We could not parse the JSON body of your request.")
            return
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            self._error(400, "you must provide a model parameter", "model")
            return
        result = answer(body)
        if isinstance(result, str):
            self._error(400, result, "messages")
            return
        text, calls = result
        prompt_tokens = sum(len(json.dumps(m)) // 4 for m in body["messages"])
        completion_tokens = max(1, len(text or "") // 4 + sum(len(c["arguments"]) // 4 + 5 for c in calls))
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(body["model"], text, calls, usage if include_usage else None)
        else:
            self._complete(body["model"], text, calls, usage)

    def _complete(self, model: str, text: str | None, calls: list[dict[str, Any]], usage: dict[str, int]) -> None:
        message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
        if calls:
            message["tool_calls"] = [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                for c in calls
            ]
        self._json(
            200,
            {
                "id": f"chatcmpl-{uuid.uuid4().hex}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "logprobs": None,
                        "finish_reason": "tool_calls" if calls else "stop",
                    }
                ],
                "usage": usage,
            },
        )

    def _stream(self, model: str, text: str | None, calls: list[dict[str, Any]], usage: dict[str, int] | None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> None:
            payload = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            if usage is not None:
                payload["usage"] = None
            self._send(f"data: {json.dumps(payload)}\n\n")

        if calls:
            chunk({"role": "assistant", "content": None, "refusal": None})
            for index, call in enumerate(calls):
                first = {"index": index, "id": call["id"], "type": "function"}
                chunk({"tool_calls": [{**first, "function": {"name": call["name"], "arguments": ""}}]})
                for piece in fragments(call["arguments"], 7):
                    chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            chunk({}, "tool_calls")
        else:
            chunk({"role": "assistant", "content": "", "refusal": None})
            for piece in fragments(text or "", 3):
                chunk({"content": piece})
            chunk({}, "stop")
        if usage is not None:
            self._send(f"data: {json.dumps({**base, 'choices': [], 'usage': usage})}\n\n")
        self._send("data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _send(self, frame: str) -> None:
        data = frame.encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
