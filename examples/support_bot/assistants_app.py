"""The support bot on the Assistants API: the code a team has today, before migrating.

It answers from a product manual (``file_search`` over a vector store) and looks orders up with a company
function (``lookup_order``), the tool loop being ``create_and_poll`` then ``submit_tool_outputs_and_poll``.
``responses_app.py`` beside it is the same bot on the Responses API; docs/migrating.md maps one onto the other.

Run it against assistantd (``OPENAI_BASE_URL``, default ``http://127.0.0.1:8000/v1``)::

    python examples/support_bot/assistants_app.py "How long is the warranty?" "Where is order 1234?"
"""

from __future__ import annotations

import json
import os
import sys

from openai import OpenAI
from openai.types.beta import FunctionToolParam
from openai.types.beta.threads.run_submit_tool_outputs_params import ToolOutput

MODEL = os.environ.get("SUPPORT_BOT_MODEL", "gpt-4o-mini")
INSTRUCTIONS = (
    "You are the support bot of Acme. Answer from the product manual (search it with file_search) and look "
    "orders up with lookup_order. Be brief."
)
MANUAL = """Acme X200 Coffee Grinder: manual

Warranty. The X200 has a three-year limited warranty covering parts and labour.
Cleaning. Unplug the grinder, then brush the burrs weekly. Never wash them with water.
Returns. Unused products can be returned within 30 days for a full refund.
"""
ORDERS = {"1234": {"status": "shipped", "carrier": "DHL", "eta": "2026-09-02"}}
LOOKUP_ORDER: FunctionToolParam = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "The status of a customer's order.",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}},
            "required": ["order_id"],
        },
    },
}


def lookup_order(order_id: str) -> str:
    """The company function the model may call (here a dict; yours calls your order system)."""
    return json.dumps(ORDERS.get(order_id, {"error": f"no order {order_id}"}))


def call_function(name: str, arguments: str) -> str:
    if name == "lookup_order":
        return lookup_order(**json.loads(arguments))
    return json.dumps({"error": f"unknown function {name}"})


def setup(client: OpenAI) -> str:
    """Once: the manual in a vector store, and the assistant that searches it. Returns the assistant's id."""
    store = client.vector_stores.create(name="Acme manual")
    client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=("manual.md", MANUAL.encode()))
    assistant = client.beta.assistants.create(
        model=MODEL,
        name="Acme support",
        instructions=INSTRUCTIONS,
        tools=[{"type": "file_search"}, LOOKUP_ORDER],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    return assistant.id


def start(client: OpenAI) -> str:
    """One thread per customer conversation."""
    return client.beta.threads.create().id


def answer(client: OpenAI, assistant_id: str, thread_id: str, question: str) -> str:
    """Add the question to the thread, run the assistant (answering its function calls), return its reply."""
    client.beta.threads.messages.create(thread_id, role="user", content=question)
    run = client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    while run.status == "requires_action" and run.required_action is not None:
        outputs: list[ToolOutput] = [
            {"tool_call_id": call.id, "output": call_function(call.function.name, call.function.arguments)}
            for call in run.required_action.submit_tool_outputs.tool_calls
        ]
        run = client.beta.threads.runs.submit_tool_outputs_and_poll(
            thread_id=thread_id, run_id=run.id, tool_outputs=outputs
        )
    if run.status != "completed":
        raise RuntimeError(f"run {run.id} ended {run.status}: {run.last_error}")
    [reply] = client.beta.threads.messages.list(thread_id, run_id=run.id, order="desc", limit=1).data
    return "".join(part.text.value for part in reply.content if part.type == "text")


def main() -> None:
    client = OpenAI(
        base_url=os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1"),
        api_key=os.environ.get("OPENAI_API_KEY", "sk-local"),
    )
    assistant_id = setup(client)
    thread_id = start(client)
    for question in sys.argv[1:] or ["How long is the warranty?", "Where is my order 1234?"]:
        print("user >", question)
        print("bot  >", answer(client, assistant_id, thread_id, question))
    print("thread:", thread_id)


if __name__ == "__main__":
    main()
