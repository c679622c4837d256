"""OpenAI's Assistants function-calling quickstart, polled: the weather bot with ``get_current_temperature`` and
``get_rain_probability``, ``create_and_poll`` → ``requires_action`` → ``submit_tool_outputs_and_poll``.

Copied from the platform docs (https://platform.openai.com/docs/assistants/tools/function-calling, steps 1-3 and
the "without streaming" tab, mirrored in openai/openai-cookbook ``examples/data/oai_docs/
tool-function-calling.txt`` and ``function-calling-run-example--polling.txt``). Unchanged but for formatting; the
client comes from ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY``, which the SDK reads. The checks after the example
exit non-zero when the outcome is wrong.
"""
# ruff: noqa: E402

import os

assert os.environ["OPENAI_BASE_URL"].startswith("http://127.0.0.1:"), "run this against a local assistantd only"

# ---- the docs' example, unchanged ------------------------------------------------------------------------------
from openai import OpenAI

client = OpenAI()

assistant = client.beta.assistants.create(
    instructions="You are a weather bot. Use the provided functions to answer questions.",
    model="gpt-4o",
    tools=[
        {
            "type": "function",
            "function": {
                "name": "get_current_temperature",
                "description": "Get the current temperature for a specific location",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "location": {"type": "string", "description": "The city and state, e.g., San Francisco, CA"},
                        "unit": {
                            "type": "string",
                            "enum": ["Celsius", "Fahrenheit"],
                            "description": "The temperature unit to use. Infer this from the user's location.",
                        },
                    },
                    "required": ["location", "unit"],
                },
            },
        },
        {
            "type": "function",
            "function": {
                "name": "get_rain_probability",
                "description": "Get the probability of rain for a specific location",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "location": {"type": "string", "description": "The city and state, e.g., San Francisco, CA"}
                    },
                    "required": ["location"],
                },
            },
        },
    ],
)

thread = client.beta.threads.create()
message = client.beta.threads.messages.create(
    thread_id=thread.id,
    role="user",
    content="What's the weather in San Francisco today and the likelihood it'll rain?",
)

run = client.beta.threads.runs.create_and_poll(
    thread_id=thread.id,
    assistant_id=assistant.id,
)

if run.status == "completed":
    messages = client.beta.threads.messages.list(thread_id=thread.id)
    print(messages)
else:
    print(run.status)

first_run = run  # (checks) keep the requires_action run the example overwrites below

# Define the list to store tool outputs
tool_outputs = []

# Loop through each tool in the required action section
for tool in run.required_action.submit_tool_outputs.tool_calls:
    if tool.function.name == "get_current_temperature":
        tool_outputs.append({"tool_call_id": tool.id, "output": "57"})
    elif tool.function.name == "get_rain_probability":
        tool_outputs.append({"tool_call_id": tool.id, "output": "0.06"})

# Submit all tool outputs at once after collecting them in a list
if tool_outputs:
    try:
        run = client.beta.threads.runs.submit_tool_outputs_and_poll(
            thread_id=thread.id, run_id=run.id, tool_outputs=tool_outputs
        )
        print("Tool outputs submitted successfully.")
    except Exception as e:
        print("Failed to submit tool outputs:", e)
else:
    print("No tool outputs to submit.")

if run.status == "completed":
    messages = client.beta.threads.messages.list(thread_id=thread.id)
    print(messages)
else:
    print(run.status)

# ---- checks ----------------------------------------------------------------------------------------------------
import json

assert first_run.status == "requires_action", f"first poll ended {first_run.status}: {first_run.last_error}"
assert first_run.required_action.type == "submit_tool_outputs", first_run.required_action
calls = first_run.required_action.submit_tool_outputs.tool_calls
assert sorted(c.function.name for c in calls) == ["get_current_temperature", "get_rain_probability"], calls
for call in calls:
    assert call.type == "function" and call.id.startswith("call_"), call
    assert json.loads(call.function.arguments)["location"] == "San Francisco, CA", call.function.arguments
assert len(tool_outputs) == 2, tool_outputs
assert run.id == first_run.id, (run.id, first_run.id)
assert run.status == "completed", f"run ended {run.status}: {run.last_error}"
assert run.required_action is None, run.required_action
reply = messages.data[0]
assert reply.role == "assistant" and reply.run_id == run.id, reply
text = reply.content[0].text.value
# The fake model quotes the tool messages it was sent: the outputs reached it as `tool` messages.
assert text == "The tools said: get_current_temperature returned 57; get_rain_probability returned 0.06.", text
steps = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc").data
assert [(s.type, s.status) for s in steps] == [("tool_calls", "completed"), ("message_creation", "completed")], steps
outputs = {c.id: c.function.output for c in steps[0].step_details.tool_calls}
assert outputs == {o["tool_call_id"]: o["output"] for o in tool_outputs}, outputs
print("OK function_calling_polling")
