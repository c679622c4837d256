"""Neutral items and item events → the Responses wire, checked against the SDK's own types and accumulator.

Every stream built here goes through ``tests/_responses_sse.validate_response_events``: each event parses as
the SDK's ``ResponseStreamEvent``, the sequence follows OpenAI's documented order, and the SDK's
``ResponseStreamState`` (what ``responses.stream()`` runs) accepts it and ends on the same output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from openai.types.conversations import ConversationItem
from openai.types.responses import Response, ResponseItem, ResponseOutputItem
from pydantic import TypeAdapter

from assistantd import items
from assistantd.responses import protocol
from assistantd.responses.render import (
    RequestEcho,
    ResponseError,
    ResponseView,
    Usage,
    entry_json,
    item_json,
    response_json,
)
from assistantd.responses.stream import ResponseEvents, sse_bytes
from tests._responses_sse import parse_sse, validate_response_events

OUTPUT_ITEM: TypeAdapter[Any] = TypeAdapter(ResponseOutputItem)
RESPONSE_ITEM: TypeAdapter[Any] = TypeAdapter(ResponseItem)
CONVERSATION_ITEM: TypeAdapter[Any] = TypeAdapter(ConversationItem)
ALL = frozenset(protocol.INCLUDABLE)

CITE = items.Citation("file", "file-1", 5, 17, "【0†a.txt】", "a.txt")
PATH = items.Citation("path", "cfile_1", 0, 24, "sandbox:/mnt/data/plot.png", "plot.png", "cntr_1")
FILE_PATH = items.Citation("path", "file-9", 2, 3, "sandbox:/mnt/data/x", "x")


def view(status: Any = "in_progress", output: Sequence[items.Item] = (), **kw: Any) -> ResponseView:
    return ResponseView("resp_1", 1_700_000_000, "m", status, kw.pop("echo", RequestEcho()), output, **kw)


def play(
    feed: Callable[[ResponseEvents], list[dict[str, Any]]],
    final: ResponseView,
    include: frozenset[str] = frozenset(),
    *,
    background: bool = False,
) -> list[dict[str, Any]]:
    """A whole stream: lifecycle around the item events ``feed`` renders; validated, and sent through SSE."""
    r = ResponseEvents(include)
    first = view("queued" if background else "in_progress")
    events = r.created(response_json(first, include))
    if background:
        events += r.queued(response_json(first, include))
    events += r.in_progress(response_json(view(), include))
    events += feed(r)
    end = {"completed": r.completed, "failed": r.failed, "incomplete": r.incomplete}[final.status]
    events += end(response_json(final, include))
    assert parse_sse(b"".join(sse_bytes(e) for e in events)) == events
    validate_response_events(events)
    Response.model_validate(events[-1]["response"])
    return events


def feed_all(*batches: items.ItemEvent) -> Callable[[ResponseEvents], list[dict[str, Any]]]:
    def run(r: ResponseEvents) -> list[dict[str, Any]]:
        return [e for ev in batches for e in r.feed(ev)]

    return run


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def test_text_sequence_is_openais() -> None:
    msg = items.MessageItem("msg_1", "assistant", (items.TextPart("See 【0†a.txt】 now", (CITE,)),))
    events = play(
        feed_all(
            items.ItemAdded(items.MessageItem("msg_1", "assistant", (), "in_progress")),
            items.PartAdded("msg_1", 0, items.TextPart("")),
            items.TextDelta("msg_1", 0, "See "),
            items.TextDelta("msg_1", 0, "【0†a.txt】"),
            items.CitationAdded("msg_1", 0, 0, CITE),
            items.TextDelta("msg_1", 0, " now"),
            items.PartDone("msg_1", 0, msg.parts[0]),
            items.ItemDone(msg),
        ),
        view("completed", [msg], usage=Usage(10, 3), completed_at=1_700_000_001),
    )
    assert types(events) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.annotation.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert events[6]["annotation"] == {"type": "file_citation", "file_id": "file-1", "filename": "a.txt", "index": 17}
    assert events[6]["annotation_index"] == 0
    assert events[2]["item"] == {
        "type": "message",
        "id": "msg_1",
        "role": "assistant",
        "status": "in_progress",
        "content": [],
    }
    final = events[-1]["response"]
    assert final["usage"] == {
        "input_tokens": 10,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": 3,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 13,
    }
    assert Response.model_validate(final).output_text == "See 【0†a.txt】 now"


def test_function_call_sequence() -> None:
    call = items.FunctionCallItem("fc_1", "call_1", "get_weather", '{"city":"Paris"}')
    events = play(
        feed_all(
            items.ItemAdded(items.FunctionCallItem("fc_1", "call_1", "get_weather", "", "in_progress")),
            items.ArgumentsDelta("fc_1", '{"city":'),
            items.ArgumentsDelta("fc_1", '"Paris"}'),
            items.ItemDone(call),
        ),
        view("completed", [call], usage=Usage(1, 1)),
    )
    assert types(events)[2:-1] == [
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
    ]
    assert events[2]["item"]["arguments"] == "" and events[5]["name"] == "get_weather"
    assert events[-2]["item"] == {
        "type": "function_call",
        "id": "fc_1",
        "call_id": "call_1",
        "name": "get_weather",
        "arguments": '{"city":"Paris"}',
        "status": "completed",
    }


def test_file_search_then_cited_message_with_and_without_results() -> None:
    result = items.SearchResult("file-1", "a.txt", 0.9, "chunk", {"k": "v"})
    fs = items.FileSearchCallItem("fs_1", "fs_1", ("q",), (result,))
    msg = items.MessageItem("msg_1", "assistant", (items.TextPart("x【0†a.txt】", (CITE,)),))
    for include in (frozenset(), frozenset({"file_search_call.results"})):
        events = play(
            feed_all(
                items.ItemAdded(items.FileSearchCallItem("fs_1", "fs_1", ("q",), (), "in_progress")),
                items.ToolPhase("fs_1", "searching"),
                items.ItemDone(fs),
                items.ItemDone(msg),  # a message that arrives whole
            ),
            view("completed", [fs, msg]),
            include,
        )
        assert types(events)[2:7] == [
            "response.output_item.added",
            "response.file_search_call.in_progress",
            "response.file_search_call.searching",
            "response.file_search_call.completed",
            "response.output_item.done",
        ]
        assert [e["output_index"] for e in events if e["type"].startswith("response.output_item")] == [0, 0, 1, 1]
        results = events[-1]["response"]["output"][0]["results"]
        if include:
            assert results == [
                {"file_id": "file-1", "filename": "a.txt", "score": 0.9, "text": "chunk", "attributes": {"k": "v"}}
            ]
        else:
            assert results is None


def test_code_interpreter_sequence_outputs_and_container_citation() -> None:
    logs = items.CodeOutput("logs", logs="4\n")
    image = items.CodeOutput("image", file_id="cfile_1")
    ci = items.CodeInterpreterCallItem("ci_1", "ci_1", "print(2+2)", (logs, image), "cntr_1")
    msg = items.MessageItem("msg_1", "assistant", (items.TextPart("sandbox:/mnt/data/plot.png", (PATH,)),))
    events = play(
        feed_all(
            items.ItemAdded(items.CodeInterpreterCallItem("ci_1", "ci_1", "", (), "cntr_1", "in_progress")),
            items.CodeDelta("ci_1", "print("),
            items.CodeDelta("ci_1", "2+2)"),
            items.ToolPhase("ci_1", "interpreting"),
            items.ItemDone(ci),
            items.ItemDone(msg),
        ),
        view("completed", [ci, msg]),
        frozenset({"code_interpreter_call.outputs"}),
    )
    assert types(events)[2:10] == [
        "response.output_item.added",
        "response.code_interpreter_call.in_progress",
        "response.code_interpreter_call_code.delta",
        "response.code_interpreter_call_code.delta",
        "response.code_interpreter_call_code.done",
        "response.code_interpreter_call.interpreting",
        "response.code_interpreter_call.completed",
        "response.output_item.done",
    ]
    out = events[-1]["response"]["output"]
    assert out[0]["container_id"] == "cntr_1"
    assert out[0]["outputs"] == [
        {"type": "logs", "logs": "4\n"},
        {"type": "image", "url": "/v1/containers/cntr_1/files/cfile_1/content"},
    ]
    assert out[1]["content"][0]["annotations"] == [
        {
            "type": "container_file_citation",
            "container_id": "cntr_1",
            "file_id": "cfile_1",
            "filename": "plot.png",
            "start_index": 0,
            "end_index": 24,
        }
    ]
    assert item_json(ci)["outputs"] is None  # not asked for


def test_reasoning_summary_then_text() -> None:
    rs = items.ReasoningItem("rs_1", ("Thinking hard.",), encrypted_content="opaque")
    msg = items.MessageItem("msg_1", "assistant", (items.TextPart("42"),))
    events = play(
        feed_all(
            items.ItemAdded(items.ReasoningItem("rs_1", status="in_progress")),
            items.PartAdded("rs_1", 0, items.TextPart("")),
            items.TextDelta("rs_1", 0, "Thinking "),
            items.TextDelta("rs_1", 0, "hard."),
            items.PartDone("rs_1", 0, items.TextPart("Thinking hard.")),
            items.ItemDone(rs),
            items.ItemAdded(items.MessageItem("msg_1", "assistant", (), "in_progress")),
            items.TextDelta("msg_1", 0, "42"),  # no PartAdded: the renderer opens the part
            items.ItemDone(msg),
        ),
        view("completed", [rs, msg], usage=Usage(5, 7, reasoning_tokens=4)),
        frozenset({"reasoning.encrypted_content"}),
    )
    assert types(events)[2:9] == [
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
    ]
    assert events[8]["item"]["summary"] == [{"type": "summary_text", "text": "Thinking hard."}]
    assert events[8]["item"]["encrypted_content"] == "opaque"
    assert "encrypted_content" not in item_json(rs)


def test_refusal_sequence() -> None:
    msg = items.MessageItem("msg_1", "assistant", (items.RefusalPart("I can't."),))
    events = play(
        feed_all(
            items.ItemAdded(items.MessageItem("msg_1", "assistant", (), "in_progress")),
            items.PartAdded("msg_1", 0, items.RefusalPart("")),
            items.TextDelta("msg_1", 0, "I can't."),
            items.ItemDone(msg),
        ),
        view("completed", [msg]),
    )
    assert types(events)[3:7] == [
        "response.content_part.added",
        "response.refusal.delta",
        "response.refusal.done",
        "response.content_part.done",
    ]
    assert events[-1]["response"]["output"][0]["content"] == [{"type": "refusal", "refusal": "I can't."}]


def test_mcp_sequences() -> None:
    tool = items.McpTool("ask", {"type": "object"}, "Ask a question")
    listed = items.McpListToolsItem("mcpl_1", "wiki", (tool,))
    call = items.McpCallItem("mcp_1", "wiki", "ask", '{"q":"x"}', output="answer")
    broken = items.McpCallItem("mcp_2", "wiki", "ask", "{}", error="boom", status="failed")
    approval = items.McpApprovalRequestItem("mcpr_1", "wiki", "ask", "{}")
    events = play(
        feed_all(
            items.ItemAdded(items.McpListToolsItem("mcpl_1", "wiki", (), status="in_progress")),
            items.ItemDone(listed),
            items.ItemAdded(items.McpCallItem("mcp_1", "wiki", "ask", "", status="in_progress")),
            items.ArgumentsDelta("mcp_1", '{"q":"x"}'),
            items.ToolPhase("mcp_1", "calling"),
            items.ItemDone(call),
            items.ItemDone(broken),
            items.ItemDone(approval),
        ),
        view("completed", [listed, call, broken, approval]),
    )
    assert types(events)[2:13] == [
        "response.output_item.added",
        "response.mcp_list_tools.in_progress",
        "response.mcp_list_tools.completed",
        "response.output_item.done",
        "response.output_item.added",
        "response.mcp_call.in_progress",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.mcp_call.completed",
        "response.output_item.done",
        "response.output_item.added",
    ]
    assert "response.mcp_call.failed" in types(events)


def test_whole_items_play_as_full_sequences() -> None:
    """A non-streamed turn rendered as a stream: every item arrives done."""
    output: list[items.Item] = [
        items.ReasoningItem("rs_1", ("a", "b")),
        items.FunctionCallItem("fc_1", "call_1", "f", "{}"),
        items.CodeInterpreterCallItem("ci_1", "ci_1", "1", container_id="cntr_1"),
        items.MessageItem("msg_1", "assistant", (items.TextPart("hi", (CITE, FILE_PATH)), items.TextPart("two"))),
    ]

    def run(r: ResponseEvents) -> list[dict[str, Any]]:
        return [e for i in output for e in r.item(i)]

    events = play(run, view("completed", output), ALL)
    assert types(events).count("response.output_text.annotation.added") == 2
    assert types(events).count("response.reasoning_summary_part.added") == 2


def test_background_failed_incomplete_and_error() -> None:
    msg = items.MessageItem("msg_1", "assistant", (items.TextPart("partial"),), "incomplete")
    events = play(
        feed_all(items.ItemDone(msg)), view("incomplete", [msg], incomplete_reason="max_output_tokens"), background=True
    )
    assert types(events)[:3] == ["response.created", "response.queued", "response.in_progress"]
    assert events[0]["response"]["status"] == "queued"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}

    def fail(r: ResponseEvents) -> list[dict[str, Any]]:
        return r.error("The upstream failed.", code="server_error")

    events = play(fail, view("failed", error=ResponseError("server_error", "The upstream failed.")))
    assert events[-2] == {
        "type": "error",
        "sequence_number": 2,
        "code": "server_error",
        "message": "The upstream failed.",
        "param": None,
    }
    assert events[-1]["response"]["error"] == {"code": "server_error", "message": "The upstream failed."}


def test_renderer_refuses_events_out_of_order() -> None:
    r = ResponseEvents()
    with pytest.raises(ValueError, match="before its ItemAdded"):
        r.feed(items.TextDelta("msg_x", 0, "a"))
    r.feed(items.ItemAdded(items.MessageItem("msg_1", "assistant", ())))
    with pytest.raises(ValueError, match="added twice"):
        r.feed(items.ItemAdded(items.MessageItem("msg_1", "assistant", ())))
    r.feed(items.ItemDone(items.MessageItem("msg_1", "assistant", ())))
    with pytest.raises(ValueError, match="after its ItemDone"):
        r.feed(items.ItemDone(items.MessageItem("msg_1", "assistant", ())))


def test_response_object_has_every_field_clients_require() -> None:
    req = protocol.parse(
        protocol.CreateResponse,
        {
            "model": "m",
            "input": "x",
            "instructions": "be nice",
            "metadata": {"a": "b"},
            "temperature": 0.5,
            "conversation": "conv_1",
            "prompt": {"id": "pmpt_1"},
            "tools": [
                {"type": "function", "name": "f", "parameters": {"type": "object"}},
                {"type": "file_search", "vector_store_ids": ["vs_1"]},
                {"type": "code_interpreter", "container": {"type": "auto", "file_ids": ["file-1"]}},
                {"type": "mcp", "server_label": "s", "server_url": "http://127.0.0.1:1/mcp", "headers": {"X": "y"}},
                {"type": "web_search"},
            ],
            "text": {"format": {"type": "json_schema", "name": "S", "schema": {"type": "object"}}},
            "reasoning": {"effort": "low"},
            "background": True,
            "safety_identifier": "u1",
            "prompt_cache_key": "k",
        },
    )
    body = response_json(view("queued", echo=RequestEcho.of(req, container_ids={2: "cntr_9"})))
    required = {
        "id", "object", "created_at", "status", "completed_at", "background", "model", "output", "tools",
        "tool_choice", "parallel_tool_calls", "temperature", "top_p", "instructions", "metadata", "error",
        "incomplete_details", "max_output_tokens", "max_tool_calls", "previous_response_id", "conversation",
        "prompt", "reasoning", "service_tier", "store", "text", "top_logprobs", "truncation", "usage", "user",
        "safety_identifier", "prompt_cache_key", "presence_penalty", "frequency_penalty",
    }  # fmt: skip
    assert required <= body.keys()
    assert isinstance(body["created_at"], int) and body["object"] == "response"
    assert body["conversation"] == {"id": "conv_1"} and body["tool_choice"] == "auto"
    assert body["temperature"] == 0.5 and body["top_p"] == 1.0 and body["background"] is True
    assert body["tools"][2] == {"type": "code_interpreter", "container": "cntr_9"}
    assert body["tools"][4] == {"type": "web_search"}
    assert body["text"]["format"]["name"] == "S" and body["reasoning"] == {"effort": "low", "summary": None}
    parsed = Response.model_validate(body)
    assert parsed.tools[0].type == "function" and parsed.tools[0].strict is True
    assert parsed.prompt is not None and parsed.prompt.id == "pmpt_1"


def test_item_json_validates_as_sdk_output_input_and_conversation_items() -> None:
    out: list[items.Item] = [
        items.MessageItem("msg_1", "assistant", (items.TextPart("t", (CITE, PATH, FILE_PATH)), items.RefusalPart("r"))),
        items.FunctionCallItem("fc_1", "call_1", "f", "{}"),
        items.FileSearchCallItem("fs_1", "fs_1", ("q",), (items.SearchResult("file-1", "a", 0.5, "t"),)),
        items.CodeInterpreterCallItem(
            "ci_1", "ci_1", "x", (items.CodeOutput("image", url="data:image/png;base64,AA"),), "c"
        ),
        items.ReasoningItem("rs_1", ("s",), "enc"),
        items.McpCallItem("mcp_1", "s", "t", "{}", output="o"),
        items.McpListToolsItem("mcpl_1", "s", (items.McpTool("t", {"type": "object"}),)),
        items.McpApprovalRequestItem("mcpr_1", "s", "t", "{}"),
    ]
    for item in out:
        body = item_json(item, ALL)
        assert OUTPUT_ITEM.validate_python(body).type == item.type
        assert CONVERSATION_ITEM.validate_python(body).type == item.type
    inputs: list[items.Item] = [
        items.MessageItem(
            "msg_2",
            "user",
            (items.TextPart("hi"), items.ImagePart(url="https://x/y.png"), items.FilePart("file-1", "a.pdf")),
        ),
        items.MessageItem("msg_3", "developer", (items.TextPart("sys"),)),
        items.FunctionOutputItem("fco_1", "call_1", "out"),
        items.McpApprovalResponseItem("mcpa_1", "mcpr_1", True),
    ]
    for item in inputs:
        body = item_json(item)
        assert RESPONSE_ITEM.validate_python(body).type == item.type
        assert CONVERSATION_ITEM.validate_python(body).type == item.type
    user = item_json(inputs[0])
    assert [c["type"] for c in user["content"]] == ["input_text", "input_image", "input_file"]
    foreign = protocol.ForeignInput("web_search_call", {"type": "web_search_call", "id": "ws_1", "status": "completed"})
    assert entry_json(foreign) == foreign.raw


def test_sdk_stream_helper_reads_the_bytes() -> None:
    """The SDK's whole ``responses.stream()`` path (SSE decoding, accumulator, ``get_final_response`` and
    ``text_format`` parsing) over the bytes we send; the transport only replays them."""
    import httpx2
    import openai
    import pydantic

    class Answer(pydantic.BaseModel):
        n: int

    text = '{"n": 42}'
    msg = items.MessageItem("msg_1", "assistant", (items.TextPart(text),))
    call = items.FunctionCallItem("fc_1", "call_1", "f", '{"a":1}')
    events = play(
        feed_all(
            items.ItemAdded(items.MessageItem("msg_1", "assistant", (), "in_progress")),
            items.TextDelta("msg_1", 0, text[:4]),
            items.TextDelta("msg_1", 0, text[4:]),
            items.ItemDone(msg),
            items.ItemDone(call),
        ),
        view("completed", [msg, call], usage=Usage(3, 4)),
    )
    body = b"".join(sse_bytes(e) for e in events)
    transport = httpx2.MockTransport(
        lambda request: httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    )
    client = openai.OpenAI(base_url="http://test/v1", api_key="k", http_client=httpx2.Client(transport=transport))
    with client.responses.stream(model="m", input="x", text_format=Answer) as stream:
        seen = [e.type for e in stream]
        final = stream.get_final_response()
    assert seen == types(events)
    assert final.output_text == text and final.output_parsed == Answer(n=42)
    assert final.usage is not None and final.usage.total_tokens == 7
