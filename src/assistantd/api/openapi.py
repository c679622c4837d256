"""The server's OpenAPI document (``GET /openapi.json``), made to tell the truth about the wire.

FastAPI derives each operation's parameters and request body from the routes. What it cannot see, this module
adds once, for every operation, so that a client generated from the document (or a fuzzer reading it) expects
what the server does:

* **Response bodies.** Endpoints return JSON rendered by orjson (``WireResponse``), so FastAPI sees no model
  and would say "a string". ``RESPONSES`` names, per operation, the official SDK type the body is: the SDK is
  what users parse it with, so it is the contract (``tests/fuzz`` validates real responses against it).
  A route missing from the table is an error when the document is built: a new route cannot go undocumented.
* **Errors.** Every operation may answer with OpenAI's error envelope: 400 (also for what FastAPI would call a
  422: the server never sends 422), 401, 403, 404, 413 when it takes a body, 429, 500 and 503.
* **IDs in paths** carry the prefix the server checks (``asst_...``; a malformed ID is a 400, as OpenAI's).
* The rules no JSON Schema keyword can say, such as "no string may hold U+0000", are in ``info.description``.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from openai import types as sdk
from openai.types import beta, containers, conversations, responses, vector_stores
from openai.types.admin import organization as admin
from openai.types.admin.organization import projects as admin_projects
from openai.types.beta import threads
from openai.types.beta.threads import runs
from pydantic import TypeAdapter

from assistantd.ids import PREFIXES, Kind
from assistantd.wire.files import UPLOAD_PURPOSES

DESCRIPTION = """\
OpenAI's Assistants API v2, Responses, Conversations, Containers, Prompts and Administration APIs, self-hosted.

Rules beyond the schemas below, each a 400 naming the field:

- no string in a request body may hold the NUL character (U+0000), which PostgreSQL cannot store, and no
  integer may lie outside the signed 64-bit range;
- an ID in a body must name an object of the key's project that exists, and a page cursor must be one the
  server gave;
- a conversation's items are the items themselves, never an `item_reference`, and an item's `id` is unique
  across conversations (and within a request);
- a static chunking strategy's `chunk_overlap_tokens` is at most half its `max_chunk_size_tokens`;
- a search filter's `value` is an array for `in` and `nin`, and a scalar otherwise;
- types are strict, as OpenAI's were: an integer is written without a fraction (`100`, not `100.0`);
- `model` is required in `POST /v1/responses` unless `prompt` names one; `POST /v1/responses/compact`
  needs `input` or `previous_response_id`; `previous_response_id` and `conversation` exclude each other;
- the usage API's `end_time` is after its `start_time`, and its `limit` is at most 31 for
  `bucket_width=1d`, 168 for `1h` and 1440 for `1m`.

Request bodies are bounded (413).
Every error is OpenAI's envelope: `{"error": {"message", "type", "param", "code"}}`.
"""

ERROR_STATUSES: dict[int, str] = {
    400: "The request is malformed, or names something that does not exist in a body field.",
    401: "A missing, unknown or revoked key.",
    403: "The key may not use this route (an admin route with a project key, or the reverse).",
    404: "The object does not exist, or belongs to another project.",
    413: "The request body is too large.",
    429: "A rate limit or quota is exceeded (see `Retry-After`).",
    500: "The server or its model upstream failed.",
    503: "The server is starting, or its database is unavailable (see `Retry-After`).",
}

_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}

# A path parameter's name, and the path it appears under where the name alone is ambiguous, to the kind of
# ID the server checks it against.
_ID_PARAMS: dict[str, Kind] = {
    "assistant_id": "assistant",
    "thread_id": "thread",
    "message_id": "message",
    "run_id": "run",
    "step_id": "step",
    "file_id": "file",
    "vector_store_id": "vector_store",
    "batch_id": "file_batch",
    "container_id": "container",
    "conversation_id": "conversation",
    "prompt_id": "prompt",
}
_CONTAINER_FILE = re.compile(r"^/v1/containers/\{container_id\}/files/\{file_id\}")


def _id_pattern(path: str, name: str) -> str | None:
    kind: Kind | None = _ID_PARAMS.get(name)
    if name == "file_id" and _CONTAINER_FILE.match(path):
        kind = "container_file"
    if kind is None:
        return None
    prefixes = [PREFIXES[kind]] + ([PREFIXES["conversation"]] if kind == "thread" else [])
    return "^(" + "|".join(re.escape(p) for p in prefixes) + ").+"


def _page_schema(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["object", "data"],
        "properties": {
            "object": {"const": "list"},
            "data": {"type": "array", "items": item},
            "first_id": {"type": ["string", "null"]},
            "last_id": {"type": ["string", "null"]},
            "has_more": {"type": "boolean"},
        },
    }


class _Schema:
    """A response body: an SDK model, a page of one, or a bare schema (our extensions)."""

    def __init__(self, model: Any = None, *, page: bool = False, raw: dict[str, Any] | None = None) -> None:
        self.model, self.page, self.raw = model, page, raw


def one(model: Any) -> _Schema:
    return _Schema(model)


def page(model: Any) -> _Schema:
    """OpenAI's cursor page: ``{"object": "list", "data": [...], "first_id", "last_id", "has_more"}``."""
    return _Schema(model, page=True)


def extension(object_name: str, *, listed: bool = False) -> _Schema:
    """One of our own objects (no SDK type): its ``object`` is documented, its fields in docs/."""
    item = {"type": "object", "required": ["object"], "properties": {"object": {"const": object_name}}}
    if not listed:
        return _Schema(raw=item)
    return _Schema(raw=_page_schema(item))


BINARY = _Schema(raw={"type": "string", "format": "binary"})
STREAMS = frozenset(
    {
        ("post", "/v1/threads/runs"),
        ("post", "/v1/threads/{thread_id}/runs"),
        ("post", "/v1/threads/{thread_id}/runs/{run_id}/submit_tool_outputs"),
        ("post", "/v1/responses"),
        ("get", "/v1/responses/{response_id}"),
    }
)
"""Operations that answer ``text/event-stream`` when asked to stream (``stream: true``)."""

A = "/v1/assistants/{assistant_id}"
T = "/v1/threads/{thread_id}"
R = T + "/runs/{run_id}"
VS = "/v1/vector_stores/{vector_store_id}"
C = "/v1/containers/{container_id}"
CV = "/v1/conversations/{conversation_id}"
P = "/v1/prompts/{prompt_id}"
PR = "/v1/organization/projects/{project_id}"

RESPONSES: dict[tuple[str, str], _Schema] = {
    ("post", "/v1/assistants"): one(beta.Assistant),
    ("get", "/v1/assistants"): page(beta.Assistant),
    ("get", A): one(beta.Assistant),
    ("post", A): one(beta.Assistant),
    ("delete", A): one(beta.AssistantDeleted),
    ("get", A + "/versions"): extension("assistant.version", listed=True),
    ("post", "/v1/threads/runs"): one(threads.Run),
    ("post", T + "/runs"): one(threads.Run),
    ("get", T + "/runs"): page(threads.Run),
    ("get", R): one(threads.Run),
    ("post", R): one(threads.Run),
    ("post", R + "/cancel"): one(threads.Run),
    ("post", R + "/submit_tool_outputs"): one(threads.Run),
    ("get", R + "/steps"): page(runs.RunStep),
    ("get", R + "/steps/{step_id}"): one(runs.RunStep),
    ("post", "/v1/threads"): one(beta.Thread),
    ("get", T): one(beta.Thread),
    ("post", T): one(beta.Thread),
    ("delete", T): one(beta.ThreadDeleted),
    ("post", T + "/messages"): one(threads.Message),
    ("get", T + "/messages"): page(threads.Message),
    ("get", T + "/messages/{message_id}"): one(threads.Message),
    ("post", T + "/messages/{message_id}"): one(threads.Message),
    ("delete", T + "/messages/{message_id}"): one(threads.MessageDeleted),
    ("post", "/v1/files"): one(sdk.FileObject),
    ("get", "/v1/files"): page(sdk.FileObject),
    ("get", "/v1/files/{file_id}"): one(sdk.FileObject),
    ("delete", "/v1/files/{file_id}"): one(sdk.FileDeleted),
    ("get", "/v1/files/{file_id}/content"): BINARY,
    ("get", "/v1/models"): page(sdk.Model),
    ("get", "/v1/models/{model}"): one(sdk.Model),
    ("post", "/v1/vector_stores"): one(sdk.VectorStore),
    ("get", "/v1/vector_stores"): page(sdk.VectorStore),
    ("get", VS): one(sdk.VectorStore),
    ("post", VS): one(sdk.VectorStore),
    ("delete", VS): one(sdk.VectorStoreDeleted),
    ("post", VS + "/search"): page(sdk.VectorStoreSearchResponse),
    ("post", VS + "/files"): one(vector_stores.VectorStoreFile),
    ("get", VS + "/files"): page(vector_stores.VectorStoreFile),
    ("get", VS + "/files/{file_id}"): one(vector_stores.VectorStoreFile),
    ("post", VS + "/files/{file_id}"): one(vector_stores.VectorStoreFile),
    ("delete", VS + "/files/{file_id}"): one(vector_stores.VectorStoreFileDeleted),
    ("get", VS + "/files/{file_id}/content"): page(vector_stores.FileContentResponse),
    ("post", VS + "/file_batches"): one(vector_stores.VectorStoreFileBatch),
    ("get", VS + "/file_batches/{batch_id}"): one(vector_stores.VectorStoreFileBatch),
    ("post", VS + "/file_batches/{batch_id}/cancel"): one(vector_stores.VectorStoreFileBatch),
    ("get", VS + "/file_batches/{batch_id}/files"): page(vector_stores.VectorStoreFile),
    ("post", "/v1/responses"): one(responses.Response),
    ("post", "/v1/responses/compact"): one(responses.CompactedResponse),
    ("get", "/v1/responses/{response_id}"): one(responses.Response),
    ("delete", "/v1/responses/{response_id}"): extension("response.deleted"),
    ("post", "/v1/responses/{response_id}/cancel"): one(responses.Response),
    ("get", "/v1/responses/{response_id}/input_items"): page(responses.ResponseItem),
    ("post", "/v1/responses/input_tokens"): one(responses.InputTokenCountResponse),
    ("post", "/v1/containers"): one(sdk.ContainerCreateResponse),
    ("get", "/v1/containers"): page(sdk.ContainerListResponse),
    ("get", C): one(sdk.ContainerRetrieveResponse),
    ("delete", C): extension("container.deleted"),
    ("get", C + "/files"): page(containers.FileListResponse),
    ("post", C + "/files"): one(containers.FileCreateResponse),
    ("get", C + "/files/{file_id}"): one(containers.FileRetrieveResponse),
    ("delete", C + "/files/{file_id}"): extension("container.file.deleted"),
    ("get", C + "/files/{file_id}/content"): BINARY,
    ("post", "/v1/prompts"): extension("prompt"),
    ("get", "/v1/prompts"): extension("prompt", listed=True),
    ("get", P): extension("prompt"),
    ("post", P): extension("prompt"),
    ("delete", P): extension("prompt.deleted"),
    ("get", P + "/versions"): extension("prompt", listed=True),
    ("post", "/v1/conversations"): one(conversations.Conversation),
    ("get", "/v1/conversations"): page(conversations.Conversation),
    ("get", CV): one(conversations.Conversation),
    ("post", CV): one(conversations.Conversation),
    ("delete", CV): one(conversations.ConversationDeletedResource),
    ("post", CV + "/items"): one(conversations.ConversationItemList),
    ("get", CV + "/items"): one(conversations.ConversationItemList),
    ("get", CV + "/items/{item_id}"): one(conversations.ConversationItem),
    ("delete", CV + "/items/{item_id}"): one(conversations.Conversation),
    ("post", "/v1/organization/projects"): one(admin.Project),
    ("get", "/v1/organization/projects"): page(admin.Project),
    ("get", PR): one(admin.Project),
    ("post", PR): one(admin.Project),
    ("post", PR + "/archive"): one(admin.Project),
    ("post", PR + "/service_accounts"): one(admin_projects.ServiceAccountCreateResponse),
    ("get", PR + "/service_accounts"): page(admin_projects.ProjectServiceAccount),
    ("get", PR + "/service_accounts/{service_account_id}"): one(admin_projects.ProjectServiceAccount),
    ("delete", PR + "/service_accounts/{service_account_id}"): one(admin_projects.ServiceAccountDeleteResponse),
    ("get", PR + "/api_keys"): page(admin_projects.ProjectAPIKey),
    ("get", PR + "/api_keys/{key_id}"): one(admin_projects.ProjectAPIKey),
    ("delete", PR + "/api_keys/{key_id}"): one(admin_projects.APIKeyDeleteResponse),
    ("get", "/v1/organization/usage/completions"): one(admin.UsageCompletionsResponse),
}


_SDK_PREFIX = "sdk."
_ALSO = (responses.ResponseInputMessageItem,)
"""SDK types ``_widen`` refers to besides those of ``RESPONSES``."""


def _sdk_schemas() -> tuple[dict[Any, dict[str, Any]], dict[str, Any]]:
    """Every SDK type's JSON Schema, made in one pass so shared definitions get one distinct name each."""
    types = sorted({s.model for s in RESPONSES.values() if s.model is not None} | set(_ALSO), key=str)
    refs, defs = TypeAdapter.json_schemas(
        [(t, "validation", TypeAdapter(t)) for t in types],
        ref_template="#/components/schemas/" + _SDK_PREFIX + "{model}",
    )
    by_type = {t: refs[(t, "validation")] for t in types}
    return by_type, {_SDK_PREFIX + name: schema for name, schema in defs.get("$defs", {}).items()}


def document(app: FastAPI) -> dict[str, Any]:
    """The whole document, built once per app (``app.openapi`` caches it in ``openapi_schema``)."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=DESCRIPTION, routes=app.routes)
    components = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    by_model, defs = _sdk_schemas()
    components.update(defs)
    _widen(components)
    components["Error"] = _ERROR_SCHEMA
    missing = []
    for path, operations in doc.get("paths", {}).items():
        for method, operation in operations.items():
            body = _body_schema(RESPONSES.get((method, path)), by_model)
            if body is None:
                missing.append(f"{method.upper()} {path}")
                continue
            operation["responses"] = _responses(method, path, operation, body)
            for parameter in operation.get("parameters", []):
                _constrain(path, parameter)
    if missing:
        raise RuntimeError("no response schema in assistantd.api.openapi.RESPONSES for: " + ", ".join(missing))
    app.openapi_schema = doc
    return doc


_FILE_STATUSES = ["in_progress", "completed", "failed", "cancelled"]


def _constrain(path: str, parameter: dict[str, Any]) -> None:
    """What the server checks of a parameter beyond its type: an ID's prefix, a version cursor's digits, a
    vector store file ``filter``'s statuses."""
    name, where = parameter["name"], parameter.get("in")
    extra: dict[str, Any] = {}
    if where == "path" and (pattern := _id_pattern(path, name)):
        extra = {"pattern": pattern}
    elif where == "query" and name in ("after", "before") and path.endswith("/versions"):
        extra = {"pattern": "^[0-9]+$"}
    elif where == "query" and name == "filter" and path.startswith("/v1/vector_stores/"):
        extra = {"enum": _FILE_STATUSES}
    if extra:
        parameter["schema"] = {"type": "string", **extra}


def _widen(components: dict[str, Any]) -> None:
    """Where the server's truth is wider than the SDK type's: a file's ``purpose`` may be any purpose an upload
    accepts (the SDK's enum lacks ``evals``, which OpenAI's uploads take)."""
    purpose = components[_SDK_PREFIX + "FileObject"]["properties"]["purpose"]
    purpose["enum"] = list(dict.fromkeys([*purpose["enum"], *UPLOAD_PURPOSES]))
    # A compaction's output starts with the user messages it keeps (OpenAI's documented behaviour), which the
    # SDK's list of output items lacks.
    output = components[_SDK_PREFIX + "CompactedResponse"]["properties"]["output"]["items"]
    output["anyOf"].append({"$ref": "#/components/schemas/" + _SDK_PREFIX + "ResponseInputMessageItem"})
    # A prompt's tools and text are checked as POST /v1/responses checks them: the same schemas.
    for name in ("PromptCreate", "PromptUpdate"):
        for field in ("tools", "text"):
            if field in components.get(name, {}).get("properties", {}):
                components[name]["properties"][field] = components["CreateResponse"]["properties"][field]


def _body_schema(schema: _Schema | None, by_model: dict[Any, dict[str, Any]]) -> dict[str, Any] | None:
    if schema is None:
        return None
    if schema.raw is not None:
        return schema.raw
    assert schema.model is not None
    item = by_model[schema.model]
    return _page_schema(item) if schema.page else item


def _responses(method: str, path: str, operation: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    media = "application/octet-stream" if body.get("format") == "binary" else "application/json"
    content: dict[str, Any] = {media: {"schema": body}}
    if (method, path) in STREAMS:
        content["text/event-stream"] = {"schema": {"type": "string"}}
    out: dict[str, Any] = {"200": {"description": "OK", "content": content}}
    takes_body = "requestBody" in operation
    for status, meaning in ERROR_STATUSES.items():
        if status == 413 and not takes_body:
            continue
        out[str(status)] = {
            "description": meaning,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return out


def upload_body(*, purpose: bool = False, copy: bool = False) -> dict[str, Any]:
    """The request body of a route that reads its multipart form itself (to bound it): a ``file`` part, with
    ``purpose`` for /v1/files; ``copy`` adds the JSON form ``{"file_id"}`` (container files)."""
    fields: dict[str, Any] = {"file": {"type": "string", "format": "binary"}}
    if purpose:
        fields["purpose"] = {"type": "string", "enum": list(UPLOAD_PURPOSES)}
    content: dict[str, Any] = {
        "multipart/form-data": {"schema": {"type": "object", "required": list(fields), "properties": fields}}
    }
    if copy:
        content["application/json"] = {
            "schema": {
                "type": "object",
                "required": ["file_id"],
                "additionalProperties": False,
                "properties": {"file_id": {"type": "string", "pattern": "^" + re.escape(PREFIXES["file"]) + "."}},
            }
        }
    return {"requestBody": {"required": True, "content": content}}


def install(app: FastAPI) -> None:
    """Serve ``document(app)`` at ``/openapi.json`` instead of FastAPI's own."""
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
