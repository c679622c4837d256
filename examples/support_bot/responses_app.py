"""The support bot on the Responses API: ``assistants_app.py`` after the migration.

The same bot (the manual through ``file_search``, orders through ``lookup_order``), with its configuration in
code instead of an assistant object, a conversation instead of a thread, and the tool loop as
``function_call`` items out and ``function_call_output`` items in. docs/migrating.md explains each change.

A conversation id and a thread id are interchangeable on assistantd, so ``answer`` continues threads the
Assistants app made. Run it against assistantd (``OPENAI_BASE_URL``, default ``http://127.0.0.1:8000/v1``)::

    python examples/support_bot/responses_app.py "How long is the warranty?" "Where is order 1234?"
"""

from __future__ import annotations

import json
import os
import sys

from openai import OpenAI
from openai.types.responses import ResponseInputParam, ToolParam

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


def tools(vector_store_id: str) -> list[ToolParam]:
    """What the assistant's ``tools`` and ``tool_resources`` held, sent with each request."""
    return [
        {"type": "file_search", "vector_store_ids": [vector_store_id]},
        {
            "type": "function",
            "name": "lookup_order",
            "description": "The status of a customer's order.",
            "parameters": {
                "type": "object",
                "properties": {"order_id": {"type": "string"}},
                "required": ["order_id"],
                "additionalProperties": False,
            },
            "strict": True,
        },
    ]


def lookup_order(order_id: str) -> str:
    """The company function the model may call (here a dict; yours calls your order system)."""
    return json.dumps(ORDERS.get(order_id, {"error": f"no order {order_id}"}))


def call_function(name: str, arguments: str) -> str:
    if name == "lookup_order":
        return lookup_order(**json.loads(arguments))
    return json.dumps({"error": f"unknown function {name}"})


def setup(client: OpenAI) -> str:
    """Once: the manual in a vector store. Returns its id (an existing assistant's store works as well)."""
    store = client.vector_stores.create(name="Acme manual")
    client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=("manual.md", MANUAL.encode()))
    return store.id


def start(client: OpenAI) -> str:
    """One conversation per customer conversation."""
    return client.conversations.create().id


def answer(client: OpenAI, vector_store_id: str, conversation_id: str, question: str) -> str:
    """Ask in the conversation (a thread id works too), answering the model's function calls; return its reply."""
    response = client.responses.create(
        model=MODEL,
        instructions=INSTRUCTIONS,
        tools=tools(vector_store_id),
        conversation=conversation_id,
        input=question,
    )
    while calls := [item for item in response.output if item.type == "function_call"]:
        outputs: ResponseInputParam = [
            {
                "type": "function_call_output",
                "call_id": call.call_id,
                "output": call_function(call.name, call.arguments),
            }
            for call in calls
        ]
        response = client.responses.create(
            model=MODEL,
            instructions=INSTRUCTIONS,
            tools=tools(vector_store_id),
            conversation=conversation_id,
            input=outputs,  # the conversation holds the calls they answer
        )
    if response.status != "completed":
        raise RuntimeError(
            f"response {response.id} ended {response.status}: {response.error or response.incomplete_details}"
        )
    return response.output_text


def main() -> None:
    client = OpenAI(
        base_url=os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1"),
        api_key=os.environ.get("OPENAI_API_KEY", "sk-local"),
    )
    vector_store_id = setup(client)
    conversation_id = start(client)
    for question in sys.argv[1:] or ["How long is the warranty?", "Where is my order 1234?"]:
        print("user >", question)
        print("bot  >", answer(client, vector_store_id, conversation_id, question))
    print("conversation:", conversation_id)


if __name__ == "__main__":
    main()
