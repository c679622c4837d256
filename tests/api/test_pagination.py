"""OpenAI's cursor pagination on every list: limit, order, after, before, first/last ids, has_more."""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import pytest

from tests._schema import assert_schema
from tests._support import assert_error, make_file


class Listing:
    """One list endpoint under test: how to add an item and how to list through the SDK."""

    def __init__(self, kind: str, client: openai.AsyncOpenAI, thread_id: str = "") -> None:
        self.kind = kind
        self.client = client
        self.thread_id = thread_id

    @property
    def path(self) -> str:
        return {
            "assistants": "/assistants",
            "messages": f"/threads/{self.thread_id}/messages",
            "files": "/files",
        }[self.kind]

    @property
    def schema(self) -> str:
        return {
            "assistants": "ListAssistantsResponse",
            "messages": "ListMessagesResponse",
            "files": "ListFilesResponse",
        }[self.kind]

    @property
    def supports_before(self) -> bool:
        return self.kind != "files"  # GET /files takes no `before` (OAS)

    async def make(self, n: int) -> list[str]:
        """``n`` new items, in creation order."""
        ids = []
        for i in range(n):
            if self.kind == "assistants":
                ids.append((await self.client.beta.assistants.create(model="m", name=str(i))).id)
            elif self.kind == "messages":
                m = await self.client.beta.threads.messages.create(self.thread_id, role="user", content=str(i))
                ids.append(m.id)
            else:
                ids.append((await make_file(self.client, name=f"{i}.txt")).id)
        return ids

    def list(self, **kw: Any) -> Any:
        if self.kind == "assistants":
            return self.client.beta.assistants.list(**kw)
        if self.kind == "messages":
            return self.client.beta.threads.messages.list(self.thread_id, **kw)
        return self.client.files.list(**kw)

    async def ids(self, **kw: Any) -> list[str]:
        page = await self.list(**kw)
        return [x.id for x in page.data]


@pytest.fixture(params=["assistants", "messages", "files"])
async def listing(request: pytest.FixtureRequest, client: openai.AsyncOpenAI) -> Listing:
    thread_id = (await client.beta.threads.create()).id if request.param == "messages" else ""
    return Listing(request.param, client, thread_id)


async def test_empty_list(listing: Listing, raw: httpx2.AsyncClient) -> None:
    r = await raw.get(listing.path)
    assert r.json() == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}


async def test_default_page(listing: Listing, raw: httpx2.AsyncClient) -> None:
    made = await listing.make(25)
    body = (await raw.get(listing.path)).json()
    assert_schema(body, listing.schema)
    ids = [x["id"] for x in body["data"]]
    if listing.kind == "files":  # default limit 10,000
        assert ids == made[::-1] and body["has_more"] is False
    else:  # default limit 20, newest first
        assert ids == made[::-1][:20] and body["has_more"] is True
    assert body["first_id"] == ids[0] and body["last_id"] == ids[-1]


@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_auto_pagination_yields_every_item_once(listing: Listing, order: str) -> None:
    made = await listing.make(45)
    expected = made[::-1] if order == "desc" else made
    seen = [x.id async for x in listing.list(limit=10, order=order)]
    assert seen == expected

    pages = []
    page = await listing.list(limit=10, order=order)
    while True:
        pages.append([x.id for x in page.data])
        if not page.has_next_page():
            break
        page = await page.get_next_page()
    assert [len(p) for p in pages] == [10, 10, 10, 10, 5]
    assert [i for p in pages for i in p] == expected


async def test_exact_multiple_ends_with_has_more_false(listing: Listing) -> None:
    made = await listing.make(20)
    first = await listing.list(limit=10)
    second = await listing.list(limit=10, after=first.data[-1].id)
    assert first.has_more is True and second.has_more is False
    assert [x.id for x in first.data + second.data] == made[::-1]
    assert [x.id async for x in listing.list(limit=10)] == made[::-1]


@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_after_and_before(listing: Listing, raw: httpx2.AsyncClient, order: str) -> None:
    made = await listing.make(12)
    expected = made[::-1] if order == "desc" else made
    r = await raw.get(listing.path, params={"limit": 5, "order": order})
    page1 = r.json()
    assert [x["id"] for x in page1["data"]] == expected[:5]
    r = await raw.get(listing.path, params={"limit": 5, "order": order, "after": page1["last_id"]})
    page2 = r.json()
    assert [x["id"] for x in page2["data"]] == expected[5:10]
    assert page2["first_id"] == expected[5] and page2["last_id"] == expected[9] and page2["has_more"] is True
    r = await raw.get(listing.path, params={"limit": 5, "order": order, "after": page2["last_id"]})
    assert [x["id"] for x in r.json()["data"]] == expected[10:] and r.json()["has_more"] is False
    if listing.supports_before:
        # `before` returns the page just in front of the cursor, still in the list's order.
        back = await listing.ids(limit=5, order=order, before=page2["first_id"])
        assert back == expected[:5]
        assert await listing.ids(limit=2, order=order, before=expected[5]) == expected[3:5]
        assert await listing.ids(limit=5, order=order, after=expected[2], before=expected[6]) == expected[3:6]
        assert await listing.ids(order=order, before=expected[0]) == []


async def test_limit_bounds(listing: Listing, raw: httpx2.AsyncClient) -> None:
    made = await listing.make(3)
    assert await listing.ids(limit=1) == [made[-1]]
    top = 10_000 if listing.kind == "files" else 100
    assert (await raw.get(listing.path, params={"limit": top})).status_code == 200
    for bad in (0, -1, top + 1):
        assert_error(await raw.get(listing.path, params={"limit": bad}), 400, param="limit")
    assert_error(
        await raw.get(listing.path, params={"limit": "ten"}), 400, param="limit", contains="expected an integer"
    )
    assert_error(
        await raw.get(listing.path, params={"order": "newest"}), 400, param="order", contains="Invalid value: 'newest'"
    )
    with pytest.raises(openai.BadRequestError):
        await listing.list(limit=0)


async def test_unknown_query_parameters_and_include_brackets_are_ignored(
    listing: Listing, raw: httpx2.AsyncClient
) -> None:
    made = await listing.make(2)
    params = {"include[]": "step_details.tool_calls[*].file_search.results[*].content", "foo": "bar"}
    r = await raw.get(listing.path, params=params)
    assert r.status_code == 200 and [x["id"] for x in r.json()["data"]] == made[::-1]


async def test_unknown_cursor_gives_an_empty_page(listing: Listing) -> None:
    await listing.make(2)
    prefix = {"assistants": "asst_", "messages": "msg_", "files": "file-"}[listing.kind]
    assert await listing.ids(after=prefix + "unknown") == []
