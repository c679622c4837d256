"""Every 4xx uses OpenAI's envelope and maps to the right SDK exception; no body, however malformed,
produces a 5xx (or a retried 409)."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests._schema import assert_schema
from tests._support import check_envelope, make_file

# --- the envelope on every kind of rejection ---------------------------------------------------------

REJECTIONS: list[tuple[str, str, Any, int]] = [
    ("GET", "/nowhere", None, 404),
    ("GET", "/assistants/asst_missing", None, 404),
    ("GET", "/threads/undefined", None, 400),
    ("PUT", "/assistants", None, 405),
    ("PATCH", "/threads/thread_x", {}, 405),
    ("POST", "/assistants", b"{", 400),
    ("POST", "/assistants", {"model": "m", "unknown": 1}, 400),
    ("POST", "/threads", {"messages": [{"role": "user", "content": 1}]}, 400),
    ("GET", "/assistants?limit=1000", None, 400),
    ("GET", "/files/file-missing/content", None, 404),
    ("POST", "/files", b"not multipart", 400),
    ("GET", "/models/none", None, 404),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), REJECTIONS)
async def test_every_rejection_has_the_envelope(
    raw: httpx2.AsyncClient, method: str, path: str, body: Any, status: int
) -> None:
    kwargs: dict[str, Any] = {}
    if isinstance(body, bytes):
        kwargs = {"content": body, "headers": {"content-type": "application/json"}}
    elif body is not None:
        kwargs = {"json": body}
    r = await raw.request(method, path, **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    error = check_envelope(r.json())
    assert error["type"] == "invalid_request_error"


async def test_sdk_exception_classes(client: openai.AsyncOpenAI) -> None:
    cases: list[tuple[Any, type[openai.APIStatusError]]] = [
        (client.beta.assistants.retrieve("asst_missing"), openai.NotFoundError),
        (client.beta.threads.retrieve("undefined"), openai.BadRequestError),
        (client.beta.assistants.create(model="m", temperature=9), openai.BadRequestError),
        (client.files.retrieve("file-missing"), openai.NotFoundError),
        (client.models.retrieve("missing"), openai.NotFoundError),
    ]
    for call, cls in cases:
        with pytest.raises(cls) as exc:
            await call
        error = check_envelope(exc.value.response.json())
        assert exc.value.body == error
        assert exc.value.type == error["type"] and exc.value.code == error["code"]
        assert error["message"] in str(exc.value)
        assert exc.value.response.headers.get("x-request-id", "").startswith("req_")


async def test_errors_quoting_unencodable_input_still_render(raw: httpx2.AsyncClient) -> None:
    """Lone surrogates (valid JSON escapes, invalid Unicode) are quoted back without a 500."""
    bodies = [
        '{"model": "m", "\\ud800": 1}',
        '{"model": "m", "reasoning_effort": "\\udfff"}',
        '{"model": "m", "metadata": {"\\ud800": "v"}}',
        '{"model": "m", "tools": [{"type": "\\ud800"}]}',
        '{"model": "m", "tools": [{"type": "function", "function": {"name": "f", "parameters": {"\\ud800": 1}}}]}',
    ]
    for body in bodies:
        r = await raw.post("/assistants", content=body.encode(), headers={"content-type": "application/json"})
        assert r.status_code == 400, r.text
        check_envelope(r.json())


@pytest.mark.parametrize(
    ("parameters", "param"),
    [
        ({"a": 10**30}, "tools[0].function.parameters"),
        ({"a": float("nan")}, "tools[0].function.parameters"),
        ({"a": float("inf")}, "tools[0].function.parameters"),
        (json.loads('{"a":' * 100 + "1" + "}" * 100), "tools[0].function.parameters"),
    ],
)
async def test_free_form_json_that_cannot_be_echoed_is_rejected(
    raw: httpx2.AsyncClient, parameters: Any, param: str
) -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": parameters}}
    content = json.dumps({"model": "m", "tools": [tool]}).encode()
    r = await raw.post("/assistants", content=content, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert check_envelope(r.json())["param"] == param


# --- fuzz: random bodies at every create/modify endpoint ----------------------------------------------

_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | _text
    | st.sampled_from(["auto", "user", "assistant", "text", "function", "file-x", "asst_x", ""])
)
_json = st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4), max_leaves=12
)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a plausible value for the field, sometimes anything at all."""
    return st.one_of(strategy, strategy, _json)


_ids = st.sampled_from(["FILE", "file-missing", "undefined", "vs_x", ""]) | _text
_metadata = _maybe(st.dictionaries(_text, _text | st.text(max_size=600), max_size=18))
_function = st.fixed_dictionaries(
    {"name": _maybe(st.sampled_from(["f", "get_weather", "bad name", ""]))},
    optional={"description": _maybe(_text), "parameters": _json, "strict": _maybe(st.booleans())},
)
_tool = st.fixed_dictionaries(
    {"type": _maybe(st.sampled_from(["code_interpreter", "file_search", "function", "retrieval"]))},
    optional={
        "function": _maybe(_function),
        "file_search": _maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "max_num_results": _maybe(st.integers(-5, 60)),
                    "ranking_options": _maybe(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "ranker": _maybe(st.sampled_from(["auto", "default_2024_08_21", "x"])),
                                "score_threshold": _maybe(st.floats(-1, 2)),
                            },
                        )
                    ),
                },
            )
        ),
    },
)
_tool_resources = _maybe(
    st.fixed_dictionaries(
        {},
        optional={
            "code_interpreter": _maybe(
                st.fixed_dictionaries({}, optional={"file_ids": _maybe(st.lists(_ids, max_size=22))})
            ),
            "file_search": _maybe(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "vector_store_ids": _maybe(st.lists(_ids, max_size=2)),
                        "vector_stores": _maybe(st.lists(st.dictionaries(_text, _json, max_size=2), max_size=2)),
                    },
                )
            ),
        },
    )
)
_response_format = _maybe(
    st.sampled_from(["auto", {"type": "text"}, {"type": "json_object"}, {"type": "json_schema"}])
    | st.fixed_dictionaries(
        {
            "type": st.just("json_schema"),
            "json_schema": st.fixed_dictionaries(
                {"name": _maybe(_text)}, optional={"schema": _json, "strict": _json, "description": _json}
            ),
        }
    )
)
_part = st.fixed_dictionaries(
    {"type": _maybe(st.sampled_from(["text", "image_file", "image_url", "refusal"]))},
    optional={
        "text": _maybe(_text),
        "image_file": _maybe(st.fixed_dictionaries({"file_id": _ids}, optional={"detail": _json})),
        "image_url": _maybe(st.fixed_dictionaries({"url": _maybe(_text)}, optional={"detail": _json})),
    },
)
_attachment = st.fixed_dictionaries(
    {"file_id": _maybe(_ids)},
    optional={
        "tools": _maybe(
            st.lists(
                st.fixed_dictionaries(
                    {"type": _maybe(st.sampled_from(["code_interpreter", "file_search", "function"]))}
                ),
                max_size=3,
            )
        )
    },
)
_message = st.fixed_dictionaries(
    {},
    optional={
        "role": _maybe(st.sampled_from(["user", "assistant", "system"])),
        "content": _maybe(_text | st.lists(_part, max_size=3)),
        "attachments": _maybe(st.lists(_attachment, max_size=3)),
        "metadata": _metadata,
    },
)
_assistant_fields = {
    "model": _maybe(_text),
    "name": _maybe(_text | st.just("n" * 257)),
    "description": _maybe(_text),
    "instructions": _maybe(_text),
    "reasoning_effort": _maybe(st.sampled_from(["low", "high", "none", "extreme"])),
    "tools": _maybe(st.lists(_tool, max_size=3)),
    "tool_resources": _tool_resources,
    "metadata": _metadata,
    "temperature": _maybe(st.floats(-1, 3)),
    "top_p": _maybe(st.floats(-1, 2)),
    "response_format": _response_format,
}
_extra = st.dictionaries(st.sampled_from(["x", "file_ids", "stream", "thread"]), _json, max_size=1)


def _body(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    known = st.fixed_dictionaries({}, optional=fields)
    with_extra = st.tuples(known, _extra).map(lambda t: {**t[0], **t[1]})
    return st.one_of(known, known, with_extra, _json)


ENDPOINTS: dict[str, tuple[str, st.SearchStrategy[Any], str]] = {
    "create_assistant": ("/assistants", _body(_assistant_fields), "AssistantObject"),
    "modify_assistant": ("/assistants/ASSISTANT", _body(_assistant_fields), "AssistantObject"),
    "create_thread": (
        "/threads",
        _body(
            {
                "messages": _maybe(st.lists(_message, max_size=3)),
                "tool_resources": _tool_resources,
                "metadata": _metadata,
            }
        ),
        "ThreadObject",
    ),
    "modify_thread": (
        "/threads/THREAD",
        _body({"tool_resources": _tool_resources, "metadata": _metadata}),
        "ThreadObject",
    ),
    "create_message": ("/threads/THREAD/messages", st.one_of(_message, _json), "MessageObject"),
    "modify_message": ("/threads/THREAD/messages/MESSAGE", _body({"metadata": _metadata}), "MessageObject"),
}


def _encode(body: Any, ids: dict[str, str]) -> bytes:
    text = json.dumps(body)  # NaN/Infinity and surrogate escapes included: clients do send them
    for placeholder, value in ids.items():
        text = text.replace(f'"{placeholder}"', json.dumps(value))
    return text.encode()


@pytest.fixture
async def objects(client: openai.AsyncOpenAI) -> dict[str, str]:
    f = await make_file(client)
    thread = await client.beta.threads.create()
    message = await client.beta.threads.messages.create(thread.id, role="user", content="x")
    assistant = await client.beta.assistants.create(model="m")
    return {"FILE": f.id, "THREAD": thread.id, "MESSAGE": message.id, "ASSISTANT": assistant.id}


def _fuzz(endpoint: str) -> Any:
    """A property test posting random bodies to one endpoint.

    Bodies are drawn by ``@given`` itself (not ``st.data()`` inside the coroutine): hypothesis stops an
    over-long draw by raising a ``BaseException``, which would take down anyio's shared test runner.
    """
    path, strategy, schema = ENDPOINTS[endpoint]

    @settings(
        max_examples=120,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(body=strategy)
    async def test(raw: httpx2.AsyncClient, objects: dict[str, str], body: Any) -> None:
        url = path
        for placeholder, value in objects.items():
            url = url.replace(placeholder, value)
        r = await raw.post(url, content=_encode(body, objects), headers={"content-type": "application/json"})
        assert r.status_code < 500 and r.status_code != 409, r.text
        if r.status_code == 200:
            assert_schema(r.json(), schema)
        else:
            assert r.status_code in (400, 404), r.text
            check_envelope(r.json())

    return test


test_fuzz_create_assistant = _fuzz("create_assistant")
test_fuzz_modify_assistant = _fuzz("modify_assistant")
test_fuzz_create_thread = _fuzz("create_thread")
test_fuzz_modify_thread = _fuzz("modify_thread")
test_fuzz_create_message = _fuzz("create_message")
test_fuzz_modify_message = _fuzz("modify_message")
