"""The cases schemathesis found where the OpenAPI document and the server disagreed, kept as plain requests.

Each request is sent to the real app, and the answer is held against the document itself: a 200's body must
validate against the operation's documented response schema, and a 400 must be for a request the document
also calls invalid (its body or a parameter fails the documented schema). Before the fix, each of these was a
schema-valid request the server refused, or a response the document did not describe.
"""

from __future__ import annotations

import io
from typing import Any

import httpx2
import jsonschema
import pytest

Doc = dict[str, Any]
ROOT = "http://test"  # the ``raw`` client's base URL ends in /v1; the document's paths start with it


@pytest.fixture
async def doc(raw: httpx2.AsyncClient) -> Doc:
    response = await raw.get(ROOT + "/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def _valid(doc: Doc, schema: dict[str, Any], value: Any) -> bool:
    rooted = {**schema, "components": doc["components"]}
    return jsonschema.Draft202012Validator(rooted).is_valid(value)


def _operation(doc: Doc, method: str, template: str) -> dict[str, Any]:
    return dict(doc["paths"][template][method])


def _body_schema(doc: Doc, method: str, template: str) -> dict[str, Any]:
    return dict(_operation(doc, method, template)["requestBody"]["content"]["application/json"]["schema"])


def _ok_schema(doc: Doc, method: str, template: str) -> dict[str, Any]:
    return dict(_operation(doc, method, template)["responses"]["200"]["content"]["application/json"]["schema"])


def _param_schema(doc: Doc, method: str, template: str, name: str) -> dict[str, Any]:
    for parameter in _operation(doc, method, template)["parameters"]:
        if parameter["name"] == name:
            return dict(parameter["schema"])
    raise AssertionError(f"{method} {template} has no parameter {name}")


async def test_the_document_describes_every_answer(raw: httpx2.AsyncClient, doc: Doc) -> None:
    """No operation promises FastAPI's 422 (the server sends 400), every 200 names a schema (not "a string"),
    every error points at OpenAI's envelope, and every ID in a path carries the prefix the server checks."""
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            responses = operation["responses"]
            assert "422" not in responses, where
            assert {"400", "401", "404", "429", "500"} <= set(responses), where
            content = responses["200"]["content"]
            schema = next(iter(content.values()))["schema"]
            assert schema != {"type": "string"} or "text/event-stream" in content, where
            for status, answer in responses.items():
                if status != "200":
                    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
            for parameter in operation.get("parameters", []):
                if (
                    parameter["in"] == "path"
                    and parameter["name"].endswith("_id")
                    and parameter["name"]
                    not in (
                        "response_id",
                        "item_id",
                        "project_id",
                        "service_account_id",
                        "key_id",
                    )
                ):
                    assert "pattern" in parameter["schema"], f"{where}: {parameter['name']}"


async def test_a_malformed_id_in_a_path_is_invalid_under_the_document(raw: httpx2.AsyncClient, doc: Doc) -> None:
    response = await raw.get(ROOT + "/v1/assistants/0")
    assert response.status_code == 400
    assert not _valid(doc, _param_schema(doc, "get", "/v1/assistants/{assistant_id}", "assistant_id"), "0")


@pytest.mark.parametrize(
    ("method", "template", "path", "body"),
    [
        ("post", "/v1/assistants", "/v1/assistants", {"model": "m", "tools": None}),
        ("post", "/v1/conversations/{conversation_id}", None, {"metadata": None}),
        ("post", "/v1/vector_stores/{vector_store_id}/file_batches", None, {"files": None}),
        ("post", "/v1/vector_stores/{vector_store_id}/search", None, {"query": "\x1f"}),
        ("post", "/v1/conversations/{conversation_id}/items", None, {"items": [{"type": "no_such_item"}]}),
        ("post", "/v1/prompts", "/v1/prompts", {"tools": [{}]}),
        ("post", "/v1/responses", "/v1/responses", {"model": "m", "input": "hi", "include": [""]}),
    ],
)
async def test_a_refused_body_is_invalid_under_the_document(
    raw: httpx2.AsyncClient, doc: Doc, method: str, template: str, path: str | None, body: dict[str, Any]
) -> None:
    if path is None:
        path = template.format(**await _objects(raw))
    response = await raw.request(method.upper(), ROOT + path, json=body)
    assert response.status_code == 400, response.text
    assert not _valid(doc, _body_schema(doc, method, template), body)


@pytest.mark.parametrize(
    ("template", "name", "value"),
    [
        ("/v1/vector_stores/{vector_store_id}/files", "filter", ""),
        ("/v1/assistants/{assistant_id}/versions", "before", "x"),
    ],
)
async def test_a_refused_query_parameter_is_invalid_under_the_document(
    raw: httpx2.AsyncClient, doc: Doc, template: str, name: str, value: str
) -> None:
    path = template.format(**await _objects(raw))
    response = await raw.get(ROOT + path, params={name: value})
    assert response.status_code == 400, response.text
    assert not _valid(doc, _param_schema(doc, "get", template, name), value)


async def test_an_integer_past_64_bits_anywhere_is_a_400_not_a_500(raw: httpx2.AsyncClient) -> None:
    """Found by the fuzzer: a huge integer inside a foreign item (free-form JSON) reached the database's JSON
    encoder and was a 500."""
    huge = 2**63
    body = {"items": [{"type": "web_search_call", "id": "ws_1", "status": "completed", "extra": {"n": huge}}]}
    response = await raw.post(ROOT + "/v1/conversations", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"].startswith("items[0]")
    assert str(huge) in response.json()["error"]["message"]


async def test_answers_conform_to_the_documented_sdk_types(raw: httpx2.AsyncClient, doc: Doc) -> None:
    """The bodies the fuzzer found outside the document: an ``evals`` file, and objects the document once
    called strings."""
    upload = await raw.post(
        ROOT + "/v1/files", files={"file": ("a.txt", io.BytesIO(b"hello"))}, data={"purpose": "evals"}
    )
    assert upload.status_code == 200, upload.text
    assert _valid(doc, _ok_schema(doc, "post", "/v1/files"), upload.json())
    listed = await raw.get(ROOT + "/v1/files")
    assert _valid(doc, _ok_schema(doc, "get", "/v1/files"), listed.json())
    ids = await _objects(raw)
    for method, template in [
        ("get", "/v1/assistants/{assistant_id}"),
        ("get", "/v1/threads/{thread_id}"),
        ("get", "/v1/vector_stores/{vector_store_id}"),
        ("get", "/v1/conversations/{conversation_id}"),
        ("get", "/v1/assistants"),
        ("get", "/v1/vector_stores"),
        ("get", "/v1/conversations"),
    ]:
        answer = await raw.request(method.upper(), ROOT + template.format(**ids))
        assert answer.status_code == 200, answer.text
        assert _valid(doc, _ok_schema(doc, method, template), answer.json()), template


async def _objects(raw: httpx2.AsyncClient) -> dict[str, str]:
    """One assistant, thread, vector store and conversation, by the path parameter naming each."""
    assistant = (await raw.post(ROOT + "/v1/assistants", json={"model": "m"})).json()["id"]
    thread = (await raw.post(ROOT + "/v1/threads", json={})).json()["id"]
    store = (await raw.post(ROOT + "/v1/vector_stores", json={})).json()["id"]
    conversation = (await raw.post(ROOT + "/v1/conversations", json={})).json()["id"]
    return {
        "assistant_id": assistant,
        "thread_id": thread,
        "vector_store_id": store,
        "conversation_id": conversation,
    }
