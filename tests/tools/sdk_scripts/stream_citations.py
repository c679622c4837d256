"""Run by tests/tools/test_citations_stream.py under each SDK (3.57.0 and 1.109.1): streams a file_search run
with ``AssistantEventHandler`` and checks that the SDK's snapshot of the message, built from the deltas, is
the message the server stored. Usage: ``stream_citations.py BASE_URL FILE_NAME FILE_TEXT``."""

from __future__ import annotations

import sys

from openai import AssistantEventHandler, OpenAI


class Handler(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.received = ""
        self.snapshot = None

    def on_message_delta(self, delta, snapshot):  # type: ignore[no-untyped-def]
        for part in delta.content or []:
            if part.type == "text" and part.text is not None:
                self.received += part.text.value or ""
                for a in part.text.annotations or []:
                    assert self.received[a.start_index : a.end_index] == a.text, (self.received, a)
        self.snapshot = snapshot.model_copy(deep=True)


def spans(text):  # type: ignore[no-untyped-def]
    return [(a.type, a.text, a.start_index, a.end_index) for a in text.annotations]


def main(base_url: str, name: str, body: str) -> None:
    client = OpenAI(base_url=base_url, api_key="sk-test", max_retries=0)
    vector_stores = client.vector_stores if hasattr(client, "vector_stores") else client.beta.vector_stores
    store = vector_stores.create(name="manuals")
    vector_stores.files.upload_and_poll(vector_store_id=store.id, file=(name, body.encode()))
    assistant = client.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Warranty and care?"}])
    handler = Handler()
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id, event_handler=handler) as s:
        s.until_done()
    stored = client.beta.threads.messages.list(thread_id=thread.id).data[0].content[0].text
    assert handler.snapshot is not None
    snap = handler.snapshot.content[0].text
    assert handler.received == stored.value, (handler.received, stored.value)
    assert snap.value == stored.value, (snap.value, stored.value)
    assert spans(snap) == spans(stored), (spans(snap), spans(stored))
    print(f"OK {len(stored.annotations)} citations")


if __name__ == "__main__":
    main(*sys.argv[1:4])
