"""Annotations and content convert both ways between a thread message and a conversation item:
``file_citation`` with ``start_index``/``end_index``/``text`` ↔ ``index``; ``file_path`` ↔ ``container_file_citation``
(when the file is in a container) or ``file_path``."""

from __future__ import annotations

from assistantd import items
from assistantd.responses.render import item_json
from assistantd.services.message_items import call_items, message_item, row_values
from assistantd.store.records import MessageRecord
from assistantd.store.responses import StoredItem, item_data

CITED = {
    "type": "text",
    "text": {
        "value": "Reset it【4:0†manual.txt】. See sandbox:/mnt/data/plot.png",
        "annotations": [
            {
                "type": "file_citation",
                "text": "【4:0†manual.txt】",
                "start_index": 8,
                "end_index": 24,
                "file_citation": {"file_id": "file-abc"},
            },
            {
                "type": "file_path",
                "text": "sandbox:/mnt/data/plot.png",
                "start_index": 30,
                "end_index": 56,
                "file_path": {"file_id": "file-plot"},
            },
        ],
    },
}


def _record(content: list[dict[str, object]], role: str = "assistant") -> MessageRecord:
    return MessageRecord("msg_1", "thread_1", 1, role, "completed", content, None, "run_1", [], {}, None, 1, None)


def test_thread_message_as_item() -> None:
    item = message_item(_record([CITED, {"type": "image_file", "image_file": {"file_id": "file-img"}}]))
    assert item.role == "assistant" and len(item.parts) == 2
    wire = item_json(item)
    text = wire["content"][0]
    assert text["type"] == "output_text" and text["text"].startswith("Reset it")
    assert text["annotations"][0] == {"type": "file_citation", "file_id": "file-abc", "filename": "", "index": 24}
    assert text["annotations"][1] == {"type": "file_path", "file_id": "file-plot", "index": 56}


def test_item_as_thread_message_keeps_indices() -> None:
    item = message_item(_record([CITED]))
    values = row_values("thread_1", StoredItem(item.id, "output", "message", item_data(item)), 5)
    annotations = values["content"][0]["text"]["annotations"]
    assert annotations == CITED["text"]["annotations"]  # type: ignore[index]
    # A container file cited by a response is a file_path in the thread view.
    cited = items.MessageItem(
        "msg_2",
        "assistant",
        (items.TextPart("see x", (items.Citation("path", "cfile_1", 4, 5, "x", "x.csv", "cntr_1"),)),),
    )
    assert item_json(cited)["content"][0]["annotations"][0]["type"] == "container_file_citation"
    values = row_values("thread_1", StoredItem("msg_2", "output", "message", item_data(cited)), 5)
    assert values["content"][0]["text"]["annotations"][0]["type"] == "file_path"
    assert values["data"]["parts"][0]["citations"][0]["container_id"] == "cntr_1"  # kept for the Responses view


def test_input_file_and_developer_role_survive_the_round_trip() -> None:
    item = items.MessageItem("msg_3", "developer", (items.TextPart("rules"), items.FilePart("file-doc", "doc.pdf")))
    values = row_values("conv_1", StoredItem("msg_3", "input", "message", item_data(item)), 5)
    assert values["attachments"] == [{"file_id": "file-doc", "tools": []}]
    back = message_item(MessageRecord(**{k: v for k, v in values.items() if k != "tokens"}))
    assert back == item


def test_run_tool_calls_as_items() -> None:
    made = call_items(
        {"id": "call_9", "type": "function", "function": {"name": "f", "arguments": "{}", "output": "ok"}}
    )
    assert [type(i) for i in made] == [items.FunctionCallItem, items.FunctionOutputItem]
    assert {i.call_id for i in made} == {"call_9"}  # type: ignore[union-attr]
    code = call_items(
        {
            "id": "call_8",
            "type": "code_interpreter",
            "code_interpreter": {"input": "1+1", "outputs": [{"type": "logs", "logs": "2"}]},
        }
    )
    assert isinstance(code[0], items.CodeInterpreterCallItem) and code[0].outputs[0].logs == "2"
