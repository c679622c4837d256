"""The OpenAI Agents SDK for JS (``@openai/agents``, pinned in js/package.json) against assistantd: a run with a
tool (the loop), a streamed run, and ``previousResponseId``. (0.20.0 sends ``stream: false`` for a plain run,
unlike what responses-clients.md noted for an earlier capture.)"""

from __future__ import annotations

from assistantd.backends.scripted import Call
from tests.clients.conftest import Served, run_node

ECHO = "(scripted demo backend, not a language model) You said: "


def test_tool_loop(served: Served) -> None:
    served.backend.add(Call(("get_weather", '{"city": "Paris"}')))
    out = run_node("agents_js.mjs", served, "tool_loop")
    assert out["final"] == "The tool returned: sunny in Paris"
    posts = [p.request_json() for p in served.recorder.posts()]
    assert posts[0]["instructions"] == "Answer with the tool's result."
    assert [t["name"] for t in posts[0]["tools"]] == ["get_weather"]


def test_streamed_run(served: Served) -> None:
    served.backend.add(Call(("get_weather", '{"city": "Oslo"}')))
    out = run_node("agents_js.mjs", served, "streamed")
    assert out["final"] == out["deltas"] == "The tool returned: sunny in Oslo"
    assert [p.request_json()["stream"] for p in served.recorder.posts()] == [True, True]


def test_previous_response_id(served: Served) -> None:
    out = run_node("agents_js.mjs", served, "previous_response_id")
    assert out["final"] == ECHO + "second turn"
    second = served.recorder.posts()[1].request_json()
    assert second["previous_response_id"] == out["first"]
    prompt = served.backend.requests[1].messages
    assert [m.role for m in prompt if m.role in ("user", "assistant")] == ["user", "assistant", "user"]


def test_conversation_id(served: Served) -> None:
    served.backend.add(Call(("get_weather", '{"city": "Paris"}')))
    out = run_node("agents_js.mjs", served, "conversation")
    assert out["first"] == "The tool returned: sunny in Paris"
    assert out["second"] == ECHO + "and now?"
    assert out["items"] == ["message", "function_call", "function_call_output", "message", "message", "message"]
