"""OpenAI's Assistants quickstart, polled: the Math Tutor with code_interpreter, ``create_and_poll``, then
``messages.list``.

Copied from the platform docs (https://platform.openai.com/docs/assistants/quickstart, steps 1-3, and its
"without streaming" tab, mirrored in openai/openai-cookbook ``examples/data/oai_docs/
overview-without-streaming.txt``). Unchanged but for formatting; the client comes from ``OPENAI_BASE_URL`` and
``OPENAI_API_KEY``, which the SDK reads. The checks after the example exit non-zero when the outcome is wrong.
"""

import os

assert os.environ["OPENAI_BASE_URL"].startswith("http://127.0.0.1:"), "run this against a local assistantd only"

# ---- the docs' example, unchanged ------------------------------------------------------------------------------
from openai import OpenAI  # noqa: E402

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

run = client.beta.threads.runs.create_and_poll(
    thread_id=thread.id,
    assistant_id=assistant.id,
    instructions="Please address the user as Jane Doe. The user has a premium account.",
)

if run.status == "completed":
    messages = client.beta.threads.messages.list(thread_id=thread.id)
    print(messages)
else:
    print(run.status)

# ---- checks ----------------------------------------------------------------------------------------------------
assert run.status == "completed", f"run ended {run.status}: {run.last_error}"
assert run.thread_id == thread.id and run.assistant_id == assistant.id, run
assert run.instructions == "Please address the user as Jane Doe. The user has a premium account.", run.instructions
assert run.tools and run.tools[0].type == "code_interpreter", run.tools
assert run.usage is not None and run.usage.total_tokens > 0, run.usage
listed = list(messages)
assert [m.role for m in listed] == ["assistant", "user"], [m.role for m in listed]  # newest first
reply, question = listed
assert reply.run_id == run.id and reply.assistant_id == assistant.id and reply.status == "completed", reply
assert reply.content[0].type == "text" and reply.content[0].text.value == "x = 1", reply.content
assert question.id == message.id, question
assert question.content[0].text.value == "I need to solve the equation `3x + 11 = 14`. Can you help me?"
print("OK quickstart_polling")
