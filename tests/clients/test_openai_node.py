"""openai-node (``openai`` on npm, pinned in js/package.json) against assistantd: create, retrieve, input items,
``responses.stream``, the function-call loop (chained, stateless replay, streamed) and background + resume."""

from __future__ import annotations

from tests.clients.conftest import Served, run_node

ECHO = "(scripted demo backend, not a language model) You said: "


def test_create_retrieve_input_items(served: Served) -> None:
    out = run_node("openai_node.mjs", served, "create")
    assert out["status"] == "completed"
    assert out["text"] == out["retrieved"] == ECHO + "hello node"
    assert [(i["type"], i["role"], i["content"][0]["text"]) for i in out["items"]] == [
        ("message", "user", "hello node")
    ]


def test_stream(served: Served) -> None:
    out = run_node("openai_node.mjs", served, "stream")
    assert out["deltas"] == out["text"] == ECHO + "stream node"
    types = out["types"]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-1] == "response.completed"


def test_function_loop_chained(served: Served) -> None:
    out = run_node("openai_node.mjs", served, "tools_chained")
    assert out == {"calls": ["get_weather"], "text": "The tool returned: sunny, 21C", "status": "completed"}
    second = served.recorder.posts()[1].request_json()
    assert second["previous_response_id"].startswith("resp_")


def test_function_loop_stateless_replay(served: Served) -> None:
    out = run_node("openai_node.mjs", served, "tools_replay")
    assert out == {"calls": ["get_weather"], "text": "The tool returned: rainy", "status": "completed"}
    assert [p.request_json()["store"] for p in served.recorder.posts()] == [False, False]


def test_function_loop_streamed(served: Served) -> None:
    out = run_node("openai_node.mjs", served, "tools_stream")
    assert out["calls"] == ["get_weather"]
    assert "response.function_call_arguments.done" in out["types"]
    assert out["deltas"] == out["text"] == "The tool returned: foggy"


def test_background_poll_and_resume(served: Served) -> None:
    out = run_node("openai_node.mjs", served, "background")
    assert out["initial"] in ("queued", "in_progress")
    assert out["status"] == "completed"
    assert out["text"] == out["resumed"] == ECHO + "background node"
    assert out["seqs"] and out["seqs"][0] == 2  # the SDK drops events up to starting_after=1
    # The SDK's resume fetches GET /responses/{id}?stream=true (its starting_after is applied client-side).
    assert any(e.method == "GET" and "stream=true" in e.query for e in served.recorder.exchanges)


def test_parse_zod_text_format(served: Served) -> None:
    out = run_node("openai_node.mjs", served, "parse")
    assert out["parsed"] == {"echo": "parse me"}
    sent = served.recorder.posts()[0].request_json()["text"]["format"]
    assert (sent["type"], sent["name"], sent["strict"]) == ("json_schema", "echo", True)
    assert out["format"]["type"] == "json_schema"


def test_background_stream_cancel_count_delete(served: Served) -> None:
    out = run_node("openai_node.mjs", served, "background_stream")
    assert out["text"] == ECHO + "bg stream"
    n = len(out["seqs"])
    assert out["seqs"] == list(range(n))
    assert out["again"] == list(range(4, n))  # the resumed stream starts after event 3
    assert out["cancel"]["status"] == 400  # cancelling a finished response: a client's mistake, never 409
    assert out["count"] > 0
    assert out["after"] == 404


def test_chain_right_after_each_stream(served: Served) -> None:
    out = run_node("openai_node.mjs", served, "chain_after_stream")
    assert out["texts"] == [[ECHO + f"turn {i}", "completed"] for i in range(10)]
    # The tenth turn's context holds the nine before it.
    users = [m for m in served.backend.requests[-1].messages if m.role == "user"]
    assert len(users) == 10
