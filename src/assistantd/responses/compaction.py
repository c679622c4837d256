"""``POST /v1/responses/compact``: a long context replaced by the user's messages and one compaction item.

As OpenAI's: the user messages are kept verbatim, and everything else (assistant messages, tool calls and
results, reasoning, earlier compactions) is replaced by one ``compaction`` item. Here that item holds a
summary the upstream model writes in one turn over a transcript of the context; the client sends the output
back as the input of its next request, and the model is shown the summary where the turns were
(``runs/item_chat.py``). Nothing is stored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from assistantd import items
from assistantd.backends.base import ChatMessage, TextDelta, TurnEnd, TurnRequest, UpstreamError, Usage
from assistantd.backends.registry import Route
from assistantd.errors import InvalidRequest
from assistantd.responses import _compacted
from assistantd.responses._entries import new_item_id

INSTRUCTIONS = (
    "You compact conversations. Write a summary of the conversation below that lets an assistant continue it "
    "without the original: the user's goals and requests, decisions made, facts and names established, what "
    "tools were called and what they returned, work done so far, and what is still open. Be complete but "
    "concise; write plain text, no preamble."
)
MAX_TRANSCRIPT_CHARS = 400_000
"""Most characters of transcript sent for summarizing (the oldest part is cut beyond it)."""
MAX_SUMMARY_TOKENS = 4096


def transcript(context: Sequence[items.Item]) -> str:
    """The context as plain text lines the summarizing model reads."""
    lines: list[str] = []
    for item in context:
        if isinstance(item, items.MessageItem):
            text = "\n".join(
                p.text if isinstance(p, items.TextPart) else p.refusal if isinstance(p, items.RefusalPart) else "[file]"
                for p in item.parts
            )
            lines.append(f"{item.role}: {text}")
        elif isinstance(item, items.FunctionCallItem):
            lines.append(f"assistant called {item.name}({item.arguments}) [call {item.call_id}]")
        elif isinstance(item, items.FunctionOutputItem):
            lines.append(f"tool result [call {item.call_id}]: {item.output}")
        elif isinstance(item, items.McpCallItem):
            lines.append(
                f"assistant called {item.server_label}.{item.name}({item.arguments}): {item.output or item.error}"
            )
        elif isinstance(item, items.FileSearchCallItem):
            lines.append(f"assistant searched files for {json.dumps(list(item.queries))}")
        elif isinstance(item, items.CodeInterpreterCallItem):
            logs = "".join(o.logs for o in item.outputs if o.kind == "logs")
            lines.append(f"assistant ran code:\n{item.code}\noutput: {logs}")
        elif isinstance(item, items.CompactionItem):
            lines.append(f"summary of what came before: {item.summary}")
    text = "\n\n".join(lines)
    return text[-MAX_TRANSCRIPT_CHARS:]


async def summarize(
    route: Route, model: str, instructions: str | None, context: Sequence[items.Item]
) -> tuple[str, Usage]:
    """One upstream turn writing the summary; an upstream's refusal of the request is a 400."""
    system = (
        INSTRUCTIONS
        if not instructions
        else f"{INSTRUCTIONS}\n\nThe assistant's own instructions were:\n{instructions}"
    )
    request = TurnRequest(
        model=model,
        messages=[ChatMessage("system", system), ChatMessage("user", transcript(context) or "(empty)")],
        max_tokens=MAX_SUMMARY_TOKENS,
    )
    parts: list[str] = []
    usage = Usage(0, 0)
    try:
        async for event in route.backend.stream(request):
            if isinstance(event, TextDelta):
                parts.append(event.text)
            elif isinstance(event, TurnEnd) and event.usage is not None:
                usage = event.usage
    except UpstreamError as exc:
        if exc.retryable:
            raise
        raise InvalidRequest(f"The model could not compact this input: {exc.message}", param="input") from None
    return "".join(parts).strip(), usage


def compacted(context: Sequence[items.Item], summary: str) -> list[items.Item]:
    """The compacted window: the user's messages as they were, then the compaction item."""
    kept: list[items.Item] = [i for i in context if isinstance(i, items.MessageItem) and i.role == "user"]
    return [*kept, items.CompactionItem(new_item_id("cmp_"), summary, _compacted.encode(summary))]
