from __future__ import annotations

import openai


async def test_assistant_roundtrip(client: openai.AsyncOpenAI) -> None:
    a = await client.beta.assistants.create(model="gpt-4o", name="Bot", instructions="Be nice",
                                            tools=[{"type": "code_interpreter"}], metadata={"k": "v"})
    assert a.id.startswith("asst_")
    got = await client.beta.assistants.retrieve(a.id)
    assert got.name == "Bot"
    page = await client.beta.assistants.list()
    assert page.data[0].id == a.id
    t = await client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    msgs = await client.beta.threads.messages.list(t.id)
    assert msgs.data[0].content[0].text.value == "hi"  # type: ignore[union-attr]
    f = await client.files.create(file=("a.txt", b"hello"), purpose="assistants")
    content = await client.files.content(f.id)
    assert content.read() == b"hello"
