"""``assistantd import`` in-process: an export imported into a data dir, then read back through the official
client, as the client code that holds the exported IDs will read it."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import openai
from openai.types.beta import Assistant

from assistantd import Settings
from assistantd.importer import Report, import_dump
from tests._support import db_count, serve
from tests.importer._exports import (
    T0,
    assistant,
    file,
    message,
    text,
    thread,
    vector_store,
    write_export,
    write_jsonl,
)


def _by_id(report: Report) -> dict[str | None, Any]:
    return {o.object_id: o for o in report.outcomes}


async def _wait_ingested(client: openai.AsyncOpenAI, store_id: str) -> Any:
    for _ in range(400):
        store = await client.vector_stores.retrieve(store_id)
        if store.file_counts.in_progress == 0:
            return store
        await asyncio.sleep(0.05)
    raise AssertionError(f"{store_id} still ingesting")


def _full_export(root: Path) -> Path:
    doc = b"Orders ship within 2 days. Returns are free for 30 days."
    image = b"\x89PNG fake"
    f1, f2 = file(1, doc), file(2, image, filename="chart.png", purpose="assistants_output")
    a1 = assistant(
        1,
        tools=[{"type": "file_search"}, {"type": "code_interpreter"}],
        tool_resources={
            "code_interpreter": {"file_ids": [f1["id"]]},
            "file_search": {"vector_store_ids": ["vs_imp0001"]},
        },
    )
    t1 = thread(1, messages=0, tool_resources={"file_search": {"vector_store_ids": ["vs_imp0001"]}})
    t1["messages"] = [
        message(
            t1["id"],
            0,
            T0 + 10,
            attachments=[{"file_id": f1["id"], "tools": [{"type": "file_search"}]}],
            content=[
                *text("What is the return policy?"),
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
            ],
        ),
        message(
            t1["id"],
            1,
            T0 + 11,
            role="assistant",
            content=[
                {
                    "type": "text",
                    "text": {
                        "value": "Free for 30 days【4:0†doc1.txt】.",
                        "annotations": [
                            {
                                "type": "file_citation",
                                "text": "【4:0†doc1.txt】",
                                "start_index": 16,
                                "end_index": 30,
                                "file_citation": {"file_id": f1["id"]},
                            }
                        ],
                    },
                },
                {"type": "image_file", "image_file": {"file_id": f2["id"]}},
            ],
        ),
    ]
    return write_export(
        root,
        assistants=[a1, assistant(2)],
        threads=[t1, thread(2, messages=4)],
        files={f1["id"]: doc, f2["id"]: image},
        file_lines=[f1, f2],
        vector_stores=[vector_store(1, [f1["id"]], metadata={"team": "support"})],
    )


async def test_every_kind_keeps_its_ids_and_fields(tmp_path: Path, settings: Settings) -> None:
    export = _full_export(tmp_path / "export")
    report = await import_dump(export, settings)
    assert report.exit_code == 0, report.render()
    counts = report.counts()
    assert counts["file"]["imported"] == 2 and counts["vector_store"]["imported"] == 1
    assert counts["assistant"]["imported"] == 2 and counts["thread"]["imported"] == 2
    assert counts["message"]["imported"] == 6 and not report.notes

    exported = {
        json.loads(line)["id"]: json.loads(line) for line in (export / "assistants.jsonl").read_text().splitlines()
    }
    async with serve(settings) as client:
        for assistant_id, original in exported.items():
            got = (await client.beta.assistants.retrieve(assistant_id)).to_dict()
            assert got.pop("reasoning_effort") is None  # the server's extension field
            assert got == Assistant.model_validate(original).to_dict()
        listed = [a.id async for a in client.beta.assistants.list(order="asc")]
        assert listed == ["asst_imp0001", "asst_imp0002"]

        t1 = await client.beta.threads.retrieve("thread_imp0001")
        assert t1.created_at == T0 + 1 and t1.metadata == {"user": "1"}
        assert t1.tool_resources is not None and t1.tool_resources.file_search is not None
        assert t1.tool_resources.file_search.vector_store_ids == ["vs_imp0001"]
        original = json.loads((export / "threads.jsonl").read_text().splitlines()[0])["messages"]
        got_messages = [m.to_dict() async for m in client.beta.threads.messages.list("thread_imp0001", order="asc")]
        assert got_messages == original
        desc = await client.beta.threads.messages.list("thread_imp0002")
        assert [m.content[0].text.value for m in desc.data] == [f"message {i} of thread_imp0002" for i in (3, 2, 1, 0)]  # type: ignore[union-attr]
        by_run = await client.beta.threads.messages.list("thread_imp0002", run_id="run_exported")
        assert len(by_run.data) == 2

        f1 = await client.files.retrieve("file-imp0001")
        assert (f1.filename, f1.bytes, f1.created_at, f1.purpose) == ("doc1.txt", 56, T0 + 1, "assistants")
        assert (await client.files.content("file-imp0002")).read() == b"\x89PNG fake"
        outputs = await client.files.list(purpose="assistants_output")
        assert [f.id for f in outputs.data] == ["file-imp0002"]

        store = await _wait_ingested(client, "vs_imp0001")
        assert store.name == "Store 1" and store.metadata == {"team": "support"} and store.created_at == T0 + 1
        assert store.file_counts.completed == 1
        hits = await client.vector_stores.search("vs_imp0001", query="return policy")
        assert hits.data and hits.data[0].file_id == "file-imp0001"

        # The imported thread is a thread like any other: new messages come after the imported ones.
        await client.beta.threads.messages.create("thread_imp0001", role="user", content="And exchanges?")
        last = await client.beta.threads.messages.list("thread_imp0001", limit=1)
        assert last.data[0].content[0].text.value == "And exchanges?"  # type: ignore[union-attr]


async def test_a_second_run_imports_nothing_and_changes_nothing(tmp_path: Path, settings: Settings) -> None:
    export = _full_export(tmp_path / "export")
    first = await import_dump(export, settings)
    assert first.exit_code == 0
    rows = {t: db_count(settings, t) for t in ("assistants", "threads", "messages", "files", "vector_store_files")}
    again = await import_dump(export, settings)
    assert again.exit_code == 0, again.render()
    assert again.imported == 0
    assert {o.status for o in again.outcomes} == {"present"}
    assert len(again.outcomes) == 7
    assert {t: db_count(settings, t) for t in rows} == rows
    assert "already present" in again.render()


async def test_import_beside_a_running_server(tmp_path: Path, client: openai.AsyncOpenAI, settings: Settings) -> None:
    """The app (the ``client`` fixture) is serving the same data dir while the import writes into it."""
    mine = await client.beta.assistants.create(model="gpt-4o", name="made here")
    report = await import_dump(_full_export(tmp_path / "export"), settings)
    assert report.exit_code == 0, report.render()
    assert (await client.beta.assistants.retrieve("asst_imp0002")).name == "Assistant 2"
    assert (await client.beta.assistants.retrieve(mine.id)).name == "made here"
    # The server's ingestion worker takes the imported store's files from its queue.
    store = await _wait_ingested(client, "vs_imp0001")
    assert store.file_counts.completed == 1 and store.status == "completed"


async def test_a_malformed_object_halfway_is_skipped_whole_and_the_rest_imported(
    tmp_path: Path, settings: Settings
) -> None:
    bad_message = thread(3, messages=3)
    bad_message["messages"][1]["content"] = "not a list of parts"
    export = write_export(
        tmp_path / "export",
        assistants=[assistant(1), '{"id": "asst_trunc', assistant(2, created_at="soon"), assistant(3)],
        threads=[thread(1), bad_message, thread(2, messages=2, metadata=[1]), thread(4)],
    )
    report = await import_dump(export, settings)
    assert report.exit_code == 1
    outcomes = _by_id(report)
    assert outcomes["asst_imp0002"].status == "invalid" and "created_at" in outcomes["asst_imp0002"].reason
    assert outcomes["thread_imp0003"].status == "invalid"
    assert outcomes["thread_imp0003"].reason.startswith("messages[1].content: Input should be a valid list")
    assert outcomes["thread_imp0002"].reason.startswith("metadata:")
    summary = report.render()
    assert "assistants.jsonl:2: malformed: not JSON" in summary
    assert "assistants.jsonl:3 asst_imp0002: malformed: created_at" in summary
    assert "threads.jsonl:2 thread_imp0003: malformed: messages[1].content" in summary
    # Nothing of the malformed thread was written, not even its well-formed first message.
    assert db_count(settings, "threads", "WHERE id = ?", "thread_imp0003") == 0
    assert db_count(settings, "messages", "WHERE thread_id = ?", "thread_imp0003") == 0
    async with serve(settings) as client:
        assert [a.id async for a in client.beta.assistants.list(order="asc")] == ["asst_imp0001", "asst_imp0003"]
        for thread_id in ("thread_imp0001", "thread_imp0004"):
            assert len((await client.beta.threads.messages.list(thread_id)).data) == 3
        try:
            await client.beta.threads.retrieve("thread_imp0003")
        except openai.NotFoundError:
            pass
        else:
            raise AssertionError("a malformed thread was imported")


async def test_separate_messages_file_and_a_mixed_jsonl(tmp_path: Path, settings: Settings) -> None:
    t = thread(1, messages=0)
    del t["messages"]
    msgs = [message(t["id"], i, T0 + 5 + i) for i in range(4)]
    export = write_export(tmp_path / "a", threads=[t], messages=[msgs[2], msgs[0], msgs[3], msgs[1]])
    report = await import_dump(export, settings)
    assert report.exit_code == 0, report.render()

    # One mixed file: each line's "object" says its kind; the file bytes sit in files/ beside it.
    mixed_thread = thread(2, messages=0)
    del mixed_thread["messages"]
    lines = [
        assistant(5),
        message(mixed_thread["id"], 1, T0 + 20),
        mixed_thread,
        file(7, b"abc"),
        message(mixed_thread["id"], 0, T0 + 19),
        {"object": "thread.run", "id": "run_1"},
        {"id": "asst_noobject"},
    ]
    mixed = write_jsonl(tmp_path / "b" / "export.jsonl", lines)
    (tmp_path / "b" / "files").mkdir()
    (tmp_path / "b" / "files" / "file-imp0007").write_bytes(b"abc")
    report = await import_dump(mixed, settings)
    outcomes = _by_id(report)
    assert outcomes["run_1"].status == "unsupported"
    assert outcomes["asst_noobject"].status == "invalid" and "'object'" in outcomes["asst_noobject"].reason
    assert report.counts()["message"]["imported"] == 2 and report.counts()["file"]["imported"] == 1
    async with serve(settings) as client:
        one = await client.beta.threads.messages.list(t["id"], order="asc")
        assert [m.id for m in one.data] == [m["id"] for m in msgs]
        two = await client.beta.threads.messages.list(mixed_thread["id"], order="asc")
        assert [m.content[0].text.value for m in two.data] == [  # type: ignore[union-attr]
            "message 0 of thread_imp0002",
            "message 1 of thread_imp0002",
        ]
        assert (await client.files.content("file-imp0007")).read() == b"abc"


async def test_messages_of_one_second_keep_their_order_in_a_newest_first_export(
    tmp_path: Path, settings: Settings
) -> None:
    """A thread created with its messages gives them one ``created_at``; ``messages.list()`` (newest first
    by default) exported them in reverse."""
    t = thread(1, messages=0)
    msgs = [message(t["id"], i, T0) for i in range(3)] + [message(t["id"], 3, T0 + 1)]
    t["messages"] = list(reversed(msgs))
    export = write_export(tmp_path / "export", threads=[t])
    assert (await import_dump(export, settings)).exit_code == 0
    async with serve(settings) as client:
        got = await client.beta.threads.messages.list(t["id"], order="asc")
        assert [m.id for m in got.data] == [m["id"] for m in msgs]


async def test_file_bytes_missing_or_wrong_or_inline(tmp_path: Path, settings: Settings) -> None:
    export = write_export(
        tmp_path / "export",
        file_lines=[
            file(1, b"12345"),
            file(2, b"123"),
            {**file(3, b"inline"), "content_b64": base64.b64encode(b"inline").decode()},
            {**file(4, b"x"), "content_b64": "***"},
        ],
        files={"file-imp0002": b"12"},
    )
    report = await import_dump(export, settings)
    assert report.exit_code == 1
    outcomes = _by_id(report)
    assert outcomes["file-imp0001"].status == "invalid" and "missing" in outcomes["file-imp0001"].reason
    assert "2 bytes" in outcomes["file-imp0002"].reason
    assert outcomes["file-imp0003"].status == "imported"
    assert "base64" in outcomes["file-imp0004"].reason
    assert db_count(settings, "files") == 1
    assert sorted(p.name for p in (settings.data_dir / "files").iterdir()) == ["file-imp0003"]


async def test_references_to_objects_not_exported_are_dropped_with_a_note(tmp_path: Path, settings: Settings) -> None:
    a = assistant(1, tool_resources={"code_interpreter": {"file_ids": ["file-gone"]}})
    t = thread(1, messages=1, tool_resources={"file_search": {"vector_store_ids": ["vs_gone"]}})
    t["messages"][0]["attachments"] = [{"file_id": "file-gone", "tools": [{"type": "code_interpreter"}]}]
    export = write_export(
        tmp_path / "export", assistants=[a], threads=[t], vector_stores=[vector_store(1, ["file-gone"])]
    )
    report = await import_dump(export, settings)
    assert report.exit_code == 0 and report.imported == 4
    notes = [(n.object_id, n.text) for n in report.notes]
    assert len(notes) == 4
    assert all("file-gone" in text or "vs_gone" in text for _, text in notes)
    assert "notes (4):" in report.render()
    async with serve(settings) as client:
        got = await client.beta.assistants.retrieve(a["id"])
        assert got.tool_resources is not None and got.tool_resources.code_interpreter is not None
        assert got.tool_resources.code_interpreter.file_ids == []
        assert (await client.beta.threads.messages.list(t["id"])).data[0].attachments == []


async def test_model_dump_output_is_accepted_too(tmp_path: Path, settings: Settings) -> None:
    """``model_dump()`` writes every unset field as null and ``json_schema.schema`` as ``schema_``."""
    fmt = {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True}}
    tools = [
        {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "default": None}}},
        {"type": "file_search", "file_search": {"max_num_results": 5}},
    ]
    original = Assistant.model_validate(assistant(1, response_format=fmt, tools=tools))
    export = write_export(tmp_path / "export", assistants=[original.model_dump(mode="json")])
    assert "schema_" in (export / "assistants.jsonl").read_text()
    report = await import_dump(export, settings)
    assert report.exit_code == 0, report.render()
    async with serve(settings) as client:
        got = (await client.beta.assistants.retrieve(original.id)).to_dict()
        assert got.pop("reasoning_effort") is None
        assert got == original.to_dict()


async def test_duplicates_within_the_export_and_ids_taken_elsewhere(tmp_path: Path, settings: Settings) -> None:
    one, two = thread(1, messages=2), thread(2, messages=0)
    two["messages"] = [{**one["messages"][0], "thread_id": two["id"]}]  # the same message ID in another thread
    export = write_export(tmp_path / "export", assistants=[assistant(1), assistant(1)], threads=[one, two])
    report = await import_dump(export, settings)
    outcomes = [(o.object_id, o.status) for o in report.outcomes]
    assert ("asst_imp0001", "duplicate") in outcomes and ("asst_imp0001", "imported") in outcomes
    assert ("thread_imp0002", "invalid") in outcomes
    assert report.exit_code == 1
    assert "already exists, in thread thread_imp0001" in report.render()
