"""The Vercel AI SDK (``ai`` and ``@ai-sdk/openai``, pinned in js/package.json) through ``openai.responses(model)``:
generateText, and generateText / streamText with a tool (the SDK's own loop, replaying the whole history)."""

from __future__ import annotations

from assistantd.backends.scripted import Call
from tests.clients.conftest import Served, run_node

ECHO = "(scripted demo backend, not a language model) You said: "


def test_generate_text(served: Served) -> None:
    out = run_node("vercel_ai.mjs", served, "generate")
    assert out == {"text": ECHO + "hello vercel", "finish": "stop"}


def test_generate_text_with_tool(served: Served) -> None:
    served.backend.add(Call(("get_weather", '{"city": "Paris"}')))
    out = run_node("vercel_ai.mjs", served, "generate_tool")
    assert out == {"text": "The tool returned: sunny in Paris", "steps": 2, "calls": ["get_weather"]}
    second = served.recorder.posts()[1].request_json()
    assert [i.get("type", "message") for i in second["input"]][-2:] == ["function_call", "function_call_output"]


def test_stream_text_with_tool(served: Served) -> None:
    served.backend.add(Call(("get_weather", '{"city": "Oslo"}')))
    out = run_node("vercel_ai.mjs", served, "stream_tool")
    assert out["deltas"] == out["text"] == "The tool returned: sunny in Oslo"
    assert (out["steps"], out["calls"]) == (2, ["get_weather"])
    assert [p.request_json()["stream"] for p in served.recorder.posts()] == [True, True]
