"""The docs are a contract: settings, routes and the public surface are all documented and pinned."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import httpx2
import openai
import pydantic
import pytest
from asgi_lifespan import LifespanManager
from fastapi.routing import iter_route_contexts

import assistantd
from assistantd import Settings, create_app
from assistantd.backends.scripted import Say, ScriptedBackend

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SETTINGS_DOC = ROOT / "docs" / "settings.md"
STATUSES = {"supported", "partial", "not yet"}
# | GET | `/v1/threads/{thread_id}/messages` | supported | notes |
ROW = re.compile(r"^\|\s*(GET|POST|DELETE|PUT|PATCH)\s*\|\s*`([^`]+)`\s*\|\s*([a-z ]+?)\s*\|")


def normalise(path: str) -> str:
    """Drop Starlette converters: ``/v1/models/{model:path}`` → ``/v1/models/{model}``."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def compatibility_table() -> dict[tuple[str, str], str]:
    rows: dict[tuple[str, str], str] = {}
    for line in README.read_text().splitlines():
        m = ROW.match(line)
        if m:
            method, path, status = m.groups()
            assert status in STATUSES, f"README row {method} {path}: unknown status {status!r}"
            assert (method, path) not in rows, f"README lists {method} {path} twice"
            rows[method, path] = status
    assert rows, "README.md has no compatibility table"
    return rows


def mounted_routes(tmp_path: Path) -> set[tuple[str, str]]:
    app = create_app(Settings(data_dir=tmp_path / "data"))
    routes: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        path = route.path
        if path is None or not (path.startswith("/v1/") or path == "/health"):
            continue
        for method in route.methods or ():
            if method != "HEAD":
                routes.add((method, normalise(path)))
    return routes


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_setting_is_documented(field: str) -> None:
    assert f"`ASSISTANTD_{field.upper()}`" in SETTINGS_DOC.read_text(), (
        f"Settings.{field} is not documented in docs/settings.md as `ASSISTANTD_{field.upper()}`"
    )


def test_every_mounted_route_is_in_the_compatibility_table(tmp_path: Path) -> None:
    table = compatibility_table()
    missing = sorted(mounted_routes(tmp_path) - table.keys())
    assert not missing, f"mounted but missing from README's compatibility table: {missing}"


def test_every_supported_row_is_mounted(tmp_path: Path) -> None:
    mounted = mounted_routes(tmp_path)
    claimed = {key for key, status in compatibility_table().items() if status != "not yet"}
    unmounted = sorted(claimed - mounted)
    assert not unmounted, f"README says supported/partial, but no such route is mounted: {unmounted}"


def test_mounted_routes_are_found(tmp_path: Path) -> None:
    """Guards the route walk itself: if FastAPI's route tree changes shape, the checks above go blind."""
    mounted = mounted_routes(tmp_path)
    assert ("POST", "/v1/assistants") in mounted
    assert ("GET", "/v1/threads/{thread_id}/messages") in mounted
    assert ("GET", "/health") in mounted


def test_public_surface_is_pinned() -> None:
    assert sorted(assistantd.__all__) == ["BlobStore", "Embedder", "SearchIndex", "Settings", "create_app"]
    for name in assistantd.__all__:
        assert getattr(assistantd, name) is not None


# --- the Notes column ----------------------------------------------------------------------------------
# Every name a note puts in backticks must be something the route has: a query or body parameter (any
# depth, with its literal values, e.g. the content part types), a field or value of the object it returns,
# a setting, or a header it sends. Behaviour the notes claim beyond names is tested where it is implemented.

NOTE = re.compile(r"^\|\s*(GET|POST|DELETE|PUT|PATCH)\s*\|\s*`([^`]+)`\s*\|\s*[a-z ]+?\s*\|(.*)\|\s*$")
HEADERS = {("GET", "/v1/threads/{thread_id}/runs/{run_id}"): {"openai-poll-after-ms"}}
"""Response headers the notes name (checked by a request below)."""
FORM_FIELDS = {("POST", "/v1/files"): {"file", "purpose", "expires_after"}}
"""Multipart routes parse their form themselves (no schema): their fields, checked by a request below."""


def notes() -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    for line in README.read_text().splitlines():
        m = NOTE.match(line)
        if m:
            method, path, text = m.groups()
            out[method, path] = [t.split(":")[0].strip() for t in re.findall(r"`([^`]+)`", text)]
    return out


def _schema_names(schema: Any, components: dict[str, Any], seen: set[str]) -> set[str]:
    """Property names and literal values anywhere in an OpenAPI schema."""
    names: set[str] = set()
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            key = ref.rsplit("/", 1)[-1]
            if key not in seen:
                seen.add(key)
                names |= _schema_names(components[key], components, seen)
        names |= set(schema.get("properties") or {})
        for value in [schema.get("const"), *(schema.get("enum") or [])]:
            if isinstance(value, str):
                names.add(value)
        for value in schema.values():
            names |= _schema_names(value, components, seen)
    elif isinstance(schema, list):
        for value in schema:
            names |= _schema_names(value, components, seen)
    return names


def route_parameters(tmp_path: Path) -> dict[tuple[str, str], set[str]]:
    spec = create_app(Settings(data_dir=tmp_path / "data")).openapi()
    components = spec.get("components", {}).get("schemas", {})
    out: dict[tuple[str, str], set[str]] = {}
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            names = {p["name"] for p in op.get("parameters", [])}
            names |= _schema_names(op.get("requestBody"), components, set())
            out[method.upper(), normalise(path)] = names | FORM_FIELDS.get((method.upper(), normalise(path)), set())
    return out


def _type_names(tp: Any, seen: set[Any]) -> set[str]:
    """Field names and literal values of an ``openai.types`` model, at any depth."""
    if tp in seen:
        return set()
    seen.add(tp)
    if get_origin(tp) is Literal:
        return {a for a in get_args(tp) if isinstance(a, str)}
    if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        names = set(tp.model_fields)
        for f in tp.model_fields.values():
            names |= _type_names(f.annotation, seen)
        return names
    names = set()
    for arg in get_args(tp):
        names |= _type_names(arg, seen)
    return names


def returned_type(path: str) -> Any:
    """The ``openai.types`` object a route returns (its list routes: a page of them)."""
    from openai.types import FileObject, Model, VectorStore
    from openai.types.beta import Assistant, Thread
    from openai.types.beta.threads import Message, Run
    from openai.types.beta.threads.runs import RunStep
    from openai.types.vector_stores import VectorStoreFile, VectorStoreFileBatch

    last = [p for p in path.split("/") if p and not p.startswith("{")][-1]
    return {
        "assistants": Assistant,
        "threads": Thread,
        "messages": Message,
        "runs": Run,
        "cancel": Run,
        "submit_tool_outputs": Run,
        "steps": RunStep,
        "vector_stores": VectorStore,
        "files": VectorStoreFile if "vector_stores" in path else FileObject,
        "file_batches": VectorStoreFileBatch,
        "models": Model,
    }.get(last)


def test_every_name_in_the_notes_is_real(tmp_path: Path) -> None:
    parameters = route_parameters(tmp_path)
    settings = {f"ASSISTANTD_{name.upper()}" for name in Settings.model_fields}
    wrong = []
    for (method, path), names in notes().items():
        known = parameters.get((method, path), set()) | settings | HEADERS.get((method, path), set())
        returned = returned_type(path)
        if returned is not None:
            known |= _type_names(returned, set())
        wrong += [f"{method} {path}: `{name}`" for name in names if name not in known]
    assert not wrong, "README's Notes name what the route does not have:\n" + "\n".join(wrong)


async def test_the_headers_and_form_fields_the_notes_name_are_real(settings: Settings) -> None:
    app = create_app(settings, model_backend=ScriptedBackend([Say("Hi.")]))
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
        http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=manager.app), base_url="http://test")
        async with openai.AsyncOpenAI(base_url="http://test/v1", api_key="sk", http_client=http) as client:
            assistant = await client.beta.assistants.create(model="m")
            thread = await client.beta.threads.create()
            run = await client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
            got = await client.beta.threads.runs.with_raw_response.retrieve(run.id, thread_id=thread.id)
            assert HEADERS["GET", "/v1/threads/{thread_id}/runs/{run_id}"] <= set(got.headers)
            uploaded = await client.files.create(
                file=("a.txt", b"a"), purpose="assistants", expires_after={"anchor": "created_at", "seconds": 3600}
            )
            assert uploaded.expires_at == uploaded.created_at + 3600


SDK_PARAMS = {
    ("POST", "/v1/assistants"): "beta.assistant_create_params.AssistantCreateParams",
    ("POST", "/v1/assistants/{assistant_id}"): "beta.assistant_update_params.AssistantUpdateParams",
    ("POST", "/v1/threads"): "beta.thread_create_params.ThreadCreateParams",
    ("POST", "/v1/threads/{thread_id}"): "beta.thread_update_params.ThreadUpdateParams",
    ("POST", "/v1/threads/runs"): "beta.thread_create_and_run_params.ThreadCreateAndRunParamsBase",
    ("POST", "/v1/threads/{thread_id}/messages"): "beta.threads.message_create_params.MessageCreateParams",
    ("POST", "/v1/threads/{thread_id}/messages/{message_id}"): "beta.threads.message_update_params.MessageUpdateParams",
    ("POST", "/v1/threads/{thread_id}/runs"): "beta.threads.run_create_params.RunCreateParamsBase",
    ("POST", "/v1/threads/{thread_id}/runs/{run_id}"): "beta.threads.run_update_params.RunUpdateParams",
    ("POST", "/v1/threads/{thread_id}/runs/{run_id}/submit_tool_outputs"): (
        "beta.threads.run_submit_tool_outputs_params.RunSubmitToolOutputsParamsBase"
    ),
    ("POST", "/v1/vector_stores"): "vector_store_create_params.VectorStoreCreateParams",
    ("POST", "/v1/vector_stores/{vector_store_id}"): "vector_store_update_params.VectorStoreUpdateParams",
    ("POST", "/v1/vector_stores/{vector_store_id}/search"): "vector_store_search_params.VectorStoreSearchParams",
    ("POST", "/v1/vector_stores/{vector_store_id}/files"): "vector_stores.file_create_params.FileCreateParams",
    (
        "POST",
        "/v1/vector_stores/{vector_store_id}/files/{file_id}",
    ): "vector_stores.file_update_params.FileUpdateParams",
    ("POST", "/v1/vector_stores/{vector_store_id}/file_batches"): (
        "vector_stores.file_batch_create_params.FileBatchCreateParams"
    ),
    ("POST", "/v1/files"): "file_create_params.FileCreateParams",
}
"""The SDK's parameters for each POST route ("supported": every parameter as OpenAI documents them)."""


@pytest.mark.parametrize("route", sorted(SDK_PARAMS), ids=" ".join)
def test_supported_routes_take_every_sdk_parameter(tmp_path: Path, route: tuple[str, str]) -> None:
    assert compatibility_table()[route] == "supported"
    module, _, name = f"openai.types.{SDK_PARAMS[route]}".rpartition(".")
    params = getattr(importlib.import_module(module), name)
    missing = sorted(set(params.__annotations__) - {"extra_headers", "extra_query"} - route_parameters(tmp_path)[route])
    assert not missing, f"{' '.join(route)} does not take the SDK's {missing}"
