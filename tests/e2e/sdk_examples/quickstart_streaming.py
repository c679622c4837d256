"""OpenAI's Assistants quickstart, streamed: the Math Tutor with code_interpreter, an ``AssistantEventHandler``
(on_text_created / on_text_delta / on_tool_call_created / on_tool_call_delta) and ``runs.stream(...)`` with
``stream.until_done()``.

Copied from the platform docs (https://platform.openai.com/docs/assistants/quickstart, steps 1-3, and its
"with streaming" tab, mirrored in openai/openai-cookbook ``examples/data/oai_docs/overview-with-streaming.txt``).
Unchanged but for formatting; the client comes from ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY``, which the SDK
reads. The checks after the example exit non-zero when the outcome is wrong.
"""
# ruff: noqa: E402, F541

import os

assert os.environ["OPENAI_BASE_URL"].startswith("http://127.0.0.1:"), "run this against a local assistantd only"

# ---- the docs' example, unchanged ------------------------------------------------------------------------------
from openai import OpenAI

client = OpenAI()

assistant = client.beta.assistants.create(
    name="Math Tutor",
    instructions="You are a personal math tutor. Write and run code to answer math questions.",
    tools=[{"type": "code_interpreter"}],
    model="gpt-4o",
)

thread = client.beta.threads.create()

message = client.beta.threads.messages.create(
    thread_id=thread.id, role="user", content="I need to solve the equation `3x + 11 = 14`. Can you help me?"
)

from openai import AssistantEventHandler
from typing_extensions import override

# First, we create a EventHandler class to define
# how we want to handle the events in the response stream.


class EventHandler(AssistantEventHandler):
    @override
    def on_text_created(self, text) -> None:
        print(f"\nassistant > ", end="", flush=True)

    @override
    def on_text_delta(self, delta, snapshot):
        print(delta.value, end="", flush=True)

    def on_tool_call_created(self, tool_call):
        print(f"\nassistant > {tool_call.type}\n", flush=True)

    def on_tool_call_delta(self, delta, snapshot):
        if delta.type == "code_interpreter":
            if delta.code_interpreter.input:
                print(delta.code_interpreter.input, end="", flush=True)
            if delta.code_interpreter.outputs:
                print(f"\n\noutput >", flush=True)
                for output in delta.code_interpreter.outputs:
                    if output.type == "logs":
                        print(f"\n{output.logs}", flush=True)


# Then, we use the `stream` SDK helper
# with the `EventHandler` class to create the Run
# and stream the response.

with client.beta.threads.runs.stream(
    thread_id=thread.id,
    assistant_id=assistant.id,
    instructions="Please address the user as Jane Doe. The user has a premium account.",
    event_handler=EventHandler(),
) as stream:
    stream.until_done()

# ---- checks ----------------------------------------------------------------------------------------------------
print()
final_run = stream.get_final_run()
assert final_run.status == "completed", f"run ended {final_run.status}: {final_run.last_error}"
assert final_run.thread_id == thread.id and final_run.assistant_id == assistant.id, final_run
assert final_run.usage is not None and final_run.usage.total_tokens > 0, final_run.usage
(streamed,) = stream.get_final_messages()
assert streamed.status == "completed" and streamed.run_id == final_run.id, streamed
assert streamed.content[0].type == "text" and streamed.content[0].text.value == "x = 1", streamed.content
assert [s.type for s in stream.get_final_run_steps()] == ["message_creation"], stream.get_final_run_steps()
# What the poller sees afterwards is what was streamed.
assert client.beta.threads.runs.retrieve(thread_id=thread.id, run_id=final_run.id).status == "completed"
stored = client.beta.threads.messages.list(thread_id=thread.id, run_id=final_run.id).data
assert [m.id for m in stored] == [streamed.id] and stored[0].content == streamed.content, stored
print("OK quickstart_streaming")
