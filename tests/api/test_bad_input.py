"""A client's mistake is a 400 naming the field, never a 5xx, and stores nothing.

Found by fuzzing: an integer past 64 bits in a run's token limits, and a lone UTF-16 surrogate (the JSON
escape ``"\\ud800"``, valid JSON but not valid Unicode) in message text, which SQLite, orjson and every
upstream refuse. Bodies are sent as raw JSON text: the SDK would not produce them.
"""

from __future__ import annotations

import json

import httpx2
import openai
import pytest

from assistantd import Settings
from assistantd.wire._limits import MAX_MESSAGE_CHARS
from tests._support import assert_error, db_count

LONE = '"a\\ud800b"'  # JSON text: a string holding an unpaired high surrogate
HUGE = "1" + "0" * 30  # 10^30, past any 64-bit column


@pytest.fixture
async def ids(client: openai.AsyncOpenAI) -> dict[str, str]:
    assistant = await client.beta.assistants.create(model="m")
    thread = await client.beta.threads.create()
    message = await client.beta.threads.messages.create(thread.id, role="user", content="kept")
    return {"ASST": assistant.id, "THREAD": thread.id, "MSG": message.id}


CASES = [
    # (path, body as JSON text, param)
    ("/threads/THREAD/messages", f'{{"role": "user", "content": {LONE}}}', "content"),
    (
        "/threads/THREAD/messages",
        f'{{"role": "user", "content": [{{"type": "text", "text": {LONE}}}]}}',
        "content[0].text",
    ),
    ("/threads", f'{{"messages": [{{"role": "user", "content": {LONE}}}]}}', "messages[0].content"),
    (
        "/threads/THREAD/runs",
        f'{{"assistant_id": "ASST", "additional_messages": [{{"role": "user", "content": {LONE}}}]}}',
        "additional_messages[0].content",
    ),
    (
        "/threads/runs",
        f'{{"assistant_id": "ASST", "thread": {{"messages": [{{"role": "user", "content": {LONE}}}]}}}}',
        "thread.messages[0].content",
    ),
    ("/threads/THREAD/runs", f'{{"assistant_id": "ASST", "max_prompt_tokens": {HUGE}}}', "max_prompt_tokens"),
    ("/threads/THREAD/runs", f'{{"assistant_id": "ASST", "max_completion_tokens": {HUGE}}}', "max_completion_tokens"),
    ("/threads/runs", f'{{"assistant_id": "ASST", "max_prompt_tokens": {HUGE}}}', "max_prompt_tokens"),
    (
        "/threads/THREAD/runs",
        f'{{"assistant_id": "ASST", "truncation_strategy": {{"type": "last_messages", "last_messages": {HUGE}}}}}',
        "truncation_strategy.last_messages",
    ),
    (
        "/threads/THREAD/runs/run_abc/submit_tool_outputs",
        f'{{"tool_outputs": [{{"tool_call_id": "call_1", "output": {LONE}}}]}}',
        "tool_outputs[0].output",
    ),
    (
        "/assistants",
        f'{{"model": "m", "tools": [{{"type": "function", "function": {{"name": "f", "description": {LONE}}}}}]}}',
        "tools[0].function.description",
    ),
    (
        "/assistants/ASST",
        f'{{"response_format": {{"type": "json_schema", "json_schema": {{"name": "s", "description": {LONE}}}}}}}',
        "response_format.json_schema.description",
    ),
    ("/vector_stores/vs_abc/files", f'{{"file_id": "file-abc", "attributes": {{"k": {LONE}}}}}', "attributes"),
    ("/vector_stores/vs_abc/files", f'{{"file_id": "file-abc", "attributes": {{"k": {HUGE}}}}}', "attributes"),
]


@pytest.mark.parametrize(("path", "body", "param"), CASES)
async def test_rejected_with_400_naming_the_field(
    raw: httpx2.AsyncClient, ids: dict[str, str], settings: Settings, path: str, body: str, param: str
) -> None:
    for placeholder, value in ids.items():
        path, body = path.replace(placeholder, value), body.replace(f'"{placeholder}"', json.dumps(value))
    before = {t: db_count(settings, t) for t in ("messages", "threads", "runs", "assistants")}
    r = await raw.post(path, content=body.encode(), headers={"content-type": "application/json"})
    assert_error(r, 400, param=param)
    assert {t: db_count(settings, t) for t in before} == before


async def test_message_text_is_at_most_256000_characters(
    client: openai.AsyncOpenAI, ids: dict[str, str], settings: Settings
) -> None:
    thread = ids["THREAD"]
    at_limit = await client.beta.threads.messages.create(thread, role="user", content="x" * MAX_MESSAGE_CHARS)
    assert at_limit.content[0].text.value == "x" * MAX_MESSAGE_CHARS  # type: ignore[union-attr]
    with pytest.raises(openai.BadRequestError) as exc:
        await client.beta.threads.messages.create(thread, role="user", content="x" * (MAX_MESSAGE_CHARS + 1))
    assert exc.value.param == "content" and "256000" in exc.value.message
    half = {"type": "text", "text": "y" * (MAX_MESSAGE_CHARS // 2 + 1)}
    with pytest.raises(openai.BadRequestError) as exc:
        await client.beta.threads.messages.create(thread, role="user", content=[half, half])  # type: ignore[list-item]
    assert exc.value.param == "content" and "in all" in exc.value.message
    with pytest.raises(openai.BadRequestError) as exc:
        await client.beta.threads.create(messages=[{"role": "user", "content": "z" * (MAX_MESSAGE_CHARS + 1)}])
    assert exc.value.param == "messages[0].content"
    assert db_count(settings, "messages") == 2


async def test_a_valid_surrogate_pair_is_a_character(client: openai.AsyncOpenAI, raw: httpx2.AsyncClient) -> None:
    """``"\\ud83d\\ude00"`` (how ``json.dumps`` writes an emoji) is one valid character, not an error."""
    thread = await client.beta.threads.create()
    body = b'{"role": "user", "content": "smile \\ud83d\\ude00"}'
    r = await raw.post(f"/threads/{thread.id}/messages", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    assert r.json()["content"][0]["text"]["value"] == "smile \U0001f600"


async def test_nul_character_is_a_400_naming_the_field(
    client: openai.AsyncOpenAI, ids: dict[str, str], settings: Settings
) -> None:
    """PostgreSQL cannot store U+0000, so no backend accepts it: a 400 naming the field, nothing stored."""
    thread = ids["THREAD"]
    before = db_count(settings, "messages")
    with pytest.raises(openai.BadRequestError) as exc:
        await client.beta.threads.messages.create(thread, role="user", content="a\x00b")
    assert exc.value.param == "content" and "U+0000" in exc.value.message
    with pytest.raises(openai.BadRequestError) as exc:
        await client.beta.threads.update(thread, metadata={"k\x00": "v"})
    assert exc.value.param == "metadata.k\x00"
    with pytest.raises(openai.BadRequestError) as exc:
        await client.responses.create(
            model="m", input=[{"role": "user", "content": [{"type": "input_text", "text": "\x00"}]}]
        )
    assert exc.value.param == "input[0].content[0].text"
    assert db_count(settings, "messages") == before
    ok = await client.beta.threads.messages.create(thread, role="user", content="a\\u0000b")  # a backslash, not NUL
    assert ok.content[0].text.value == "a\\u0000b"  # type: ignore[union-attr]
