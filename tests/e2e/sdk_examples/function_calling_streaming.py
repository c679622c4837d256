"""OpenAI's Assistants function-calling quickstart, streamed: the weather bot, an ``AssistantEventHandler`` whose
``on_event`` answers ``thread.run.requires_action`` with ``submit_tool_outputs_stream``.

Copied from the platform docs (https://platform.openai.com/docs/assistants/tools/function-calling, steps 1-3 and
the "with streaming" tab, mirrored in openai/openai-cookbook ``examples/data/oai_docs/tool-function-calling.txt``
and ``function-calling-run-example--streaming.txt``). Unchanged but for formatting; the client comes from
``OPENAI_BASE_URL`` and ``OPENAI_API_KEY``, which the SDK reads. The checks after the example exit non-zero when
the outcome is wrong.
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

from openai import AssistantEventHandler
from typing_extensions import override


class EventHandler(AssistantEventHandler):
    @override
    def on_event(self, event):
        # Retrieve events that are denoted with 'requires_action'
        # since these will have our tool_calls
        if event.event == "thread.run.requires_action":
            run_id = event.data.id  # Retrieve the run ID from the event data
            self.handle_requires_action(event.data, run_id)

    def handle_requires_action(self, data, run_id):
        tool_outputs = []

        for tool in data.required_action.submit_tool_outputs.tool_calls:
            if tool.function.name == "get_current_temperature":
                tool_outputs.append({"tool_call_id": tool.id, "output": "57"})
            elif tool.function.name == "get_rain_probability":
                tool_outputs.append({"tool_call_id": tool.id, "output": "0.06"})

        # Submit all tool_outputs at the same time
        self.submit_tool_outputs(tool_outputs, run_id)

    def submit_tool_outputs(self, tool_outputs, run_id):
        # Use the submit_tool_outputs_stream helper
        with client.beta.threads.runs.submit_tool_outputs_stream(
            thread_id=self.current_run.thread_id,
            run_id=self.current_run.id,
            tool_outputs=tool_outputs,
            event_handler=EventHandler(),
        ) as stream:
            for text in stream.text_deltas:
                print(text, end="", flush=True)
            print()


with client.beta.threads.runs.stream(
    thread_id=thread.id,
    assistant_id=assistant.id,
    event_handler=EventHandler(),
) as stream:
    stream.until_done()

# ---- checks ----------------------------------------------------------------------------------------------------
import json

first = stream.get_final_run()
assert first.status == "requires_action", f"the first stream ended {first.status}: {first.last_error}"
calls = first.required_action.submit_tool_outputs.tool_calls
assert sorted(c.function.name for c in calls) == ["get_current_temperature", "get_rain_probability"], calls
for call in calls:
    assert call.type == "function" and call.id.startswith("call_"), call
    assert json.loads(call.function.arguments)["location"] == "San Francisco, CA", call.function.arguments
(tool_step,) = stream.get_final_run_steps()
assert tool_step.type == "tool_calls" and tool_step.status == "in_progress", tool_step
# The streamed tool-call deltas add up to what requires_action lists (ids and names sent once, arguments joined).
streamed_calls = {(c.id, c.function.name, c.function.arguments) for c in tool_step.step_details.tool_calls}
assert streamed_calls == {(c.id, c.function.name, c.function.arguments) for c in calls}, streamed_calls

run = client.beta.threads.runs.retrieve(thread_id=thread.id, run_id=first.id)
assert run.status == "completed", f"run ended {run.status}: {run.last_error}"
reply = client.beta.threads.messages.list(thread_id=thread.id).data[0]
assert reply.role == "assistant" and reply.run_id == run.id, reply
text = reply.content[0].text.value
# The fake model quotes the tool messages it was sent: the outputs reached it as `tool` messages.
assert text == "The tools said: get_current_temperature returned 57; get_rain_probability returned 0.06.", text
steps = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc").data
assert [(s.type, s.status) for s in steps] == [("tool_calls", "completed"), ("message_creation", "completed")], steps
outputs = {c.function.name: c.function.output for c in steps[0].step_details.tool_calls}
assert outputs == {"get_current_temperature": "57", "get_rain_probability": "0.06"}, outputs
print("OK function_calling_streaming")
