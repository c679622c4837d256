"""``prompt={"id", "version"?, "variables"?}`` on ``POST /v1/responses``: the referenced prompt fills in what the
request leaves unset.

The id is an assistant (``asst_...``: an assistant is a prompt, its versions written by create and modify) or a
stored prompt (``pmpt_...``). Without ``version`` the newest is used. What the prompt gives: ``model``,
``instructions`` (after ``{{variable}}`` substitution), ``tools``, ``text.format``, ``temperature``, ``top_p``,
and for an assistant its ``reasoning_effort``; a field the request sets (not null) takes precedence, and
``tools`` given (even ``[]``) replace the prompt's whole list. An assistant's tools become Responses tools:
``function`` definitions flat and non-strict unless they said ``strict``, ``file_search`` over its
``tool_resources.file_search.vector_store_ids``, ``code_interpreter`` in an ``auto`` container with its
``tool_resources.code_interpreter.file_ids``; its ``response_format`` becomes ``text.format``.

Variables: ``{{name}}`` in the instructions takes the request's value, else the prompt's default; one with
neither is a 400 (``prompt.variables``); variables the instructions do not use are ignored. A string or an
``input_text`` part is substituted as text. An ``input_image`` or ``input_file`` cannot sit in instructions:
its placeholder becomes ``[image: name]`` / ``[file: filename]`` and the part itself is sent as a user message
placed before the request's input (once, in the order the instructions name them).

Nothing is stored here; a bad reference fails before the response exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from assistantd.errors import InvalidRequest, NotFound
from assistantd.ids import has_prefix
from assistantd.prompts.protocol import Variables, parse_variables, variable_json
from assistantd.responses.protocol import CreateResponse, PromptRef, parse
from assistantd.store import prompts as store
from assistantd.store import repos
from assistantd.store.db import Conn
from assistantd.store.records import AssistantRecord

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")


@dataclass(frozen=True)
class Template:
    """What a prompt gives a request, in the Responses shapes (JSON, checked when applied)."""

    model: str | None = None
    instructions: str | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    text_format: dict[str, Any] | None = None
    verbosity: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    reasoning_effort: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    """Default values of the placeholders (JSON: a string or an input part)."""


async def apply_prompt(conn: Conn, req: CreateResponse) -> CreateResponse:
    """``req`` with its ``prompt``'s fields filled in where it left them unset (``req`` itself when it has none).
    Unknown prompt or version: 404 (``prompt.id`` / ``prompt.version``); a missing variable: 400."""
    if req.prompt is None:
        return req
    variables = parse_variables(req.prompt.variables or {}, "prompt.variables")
    template = await resolve(conn, req.prompt)
    return fill(req, template, variables)


async def resolve(conn: Conn, ref: PromptRef) -> Template:
    if has_prefix("assistant", ref.id):
        return await _assistant(conn, ref.id, ref.version)
    if has_prefix("prompt", ref.id):
        return await _stored(conn, ref.id, ref.version)
    raise NotFound(f"Prompt with id '{ref.id[:64]}' not found.", param="prompt.id")


def _number(version: str | None, kind: str, object_id: str) -> int | None:
    if version is None:
        return None
    if not version.isdigit() or int(version) < 1:
        raise _no_version(version, kind, object_id)
    return int(version)


def _no_version(version: str, kind: str, object_id: str) -> NotFound:
    return NotFound(f"Version '{version[:32]}' of {kind} '{object_id}' not found.", param="prompt.version")


# --- assistants ------------------------------------------------------------------------------------------


async def _assistant(conn: Conn, assistant_id: str, version: str | None) -> Template:
    number = _number(version, "assistant", assistant_id)
    current = await repos.assistants.get(conn, assistant_id)
    if current is None:
        raise NotFound(f"No assistant found with id '{assistant_id}'.", param="prompt.id")
    if number is None:
        return assistant_template(current)
    snapshot = await store.get_assistant_version(conn, assistant_id, number)
    if snapshot is not None:
        return assistant_template(snapshot)
    if number == 1 and not await store.has_assistant_versions(conn, assistant_id):
        return assistant_template(current)  # made before versions existed: its state is version 1
    assert version is not None
    raise _no_version(version, "assistant", assistant_id)


def assistant_template(a: AssistantRecord | store.AssistantVersionRecord) -> Template:
    resources = a.tool_resources or {}
    return Template(
        model=a.model,
        instructions=a.instructions,
        tools=[t for t in (_assistant_tool(tool, resources) for tool in a.tools) if t is not None],
        text_format=_text_format(a.response_format),
        temperature=a.temperature,
        top_p=a.top_p,
        reasoning_effort=a.reasoning_effort,
    )


def _assistant_tool(tool: dict[str, Any], resources: dict[str, Any]) -> dict[str, Any] | None:
    """An Assistants tool as a Responses tool (see the module docstring)."""
    kind = tool.get("type")
    if kind == "function":
        fn = tool.get("function") or {}
        out: dict[str, Any] = {"type": "function", "name": fn.get("name")}
        for key in ("description", "parameters"):
            if fn.get(key) is not None:
                out[key] = fn[key]
        out["strict"] = bool(fn.get("strict"))  # Assistants functions are non-strict unless they say so
        return out
    if kind == "file_search":
        stores = (resources.get("file_search") or {}).get("vector_store_ids") or []
        out = {"type": "file_search", "vector_store_ids": list(stores)}
        options = tool.get("file_search") or {}
        if options.get("max_num_results") is not None:
            out["max_num_results"] = options["max_num_results"]
        ranking = options.get("ranking_options")
        if ranking is not None:  # Assistants' ranker names are not Responses' ones: the threshold carries over
            out["ranking_options"] = {"ranker": "auto", "score_threshold": ranking.get("score_threshold", 0.0)}
        return out
    if kind == "code_interpreter":
        files = (resources.get("code_interpreter") or {}).get("file_ids") or []
        return {"type": "code_interpreter", "container": {"type": "auto", "file_ids": list(files)}}
    return None


def _text_format(response_format: Any) -> dict[str, Any] | None:
    """An Assistants ``response_format`` as a Responses ``text.format`` (``json_schema`` flattened)."""
    if not isinstance(response_format, dict):
        return None  # "auto" or unset: the request's default
    if response_format.get("type") == "json_schema":
        spec = response_format.get("json_schema") or {}
        flat = {"type": "json_schema", "name": spec.get("name")}
        flat.update({k: spec[k] for k in ("schema", "strict", "description") if spec.get(k) is not None})
        flat.setdefault("schema", {"type": "object"})
        return flat
    return {"type": response_format.get("type")}


# --- stored prompts --------------------------------------------------------------------------------------


async def _stored(conn: Conn, prompt_id: str, version: str | None) -> Template:
    number = _number(version, "prompt", prompt_id)
    prompt = await store.prompts.get(conn, prompt_id)
    if prompt is None:
        raise NotFound(f"Prompt with id '{prompt_id}' not found.", param="prompt.id")
    record = await store.get_prompt_version(conn, prompt_id, prompt.version if number is None else number)
    if record is None:
        assert version is not None
        raise _no_version(version, "prompt", prompt_id)
    text = record.text or {}
    return Template(
        model=record.model,
        instructions=record.instructions,
        tools=list(record.tools),
        text_format=text.get("format"),
        verbosity=text.get("verbosity"),
        temperature=record.temperature,
        top_p=record.top_p,
        variables=dict(record.variables or {}),
    )


# --- filling the request ---------------------------------------------------------------------------------


def fill(req: CreateResponse, template: Template, variables: Variables) -> CreateResponse:
    """``req`` with ``template``'s values where ``req`` left a field unset or null."""
    given = {name for name in req.model_fields_set if getattr(req, name) is not None}
    update: dict[str, Any] = {}
    body: dict[str, Any] = {}
    if "model" not in given and template.model:
        update["model"] = template.model
    for name in ("temperature", "top_p"):
        value = getattr(template, name)
        if name not in given and value is not None:
            update[name] = value
    if "instructions" not in given and template.instructions is not None:
        instructions, parts = substitute(template.instructions, variables, template.variables)
        update["instructions"] = instructions
        if parts:
            body["input"] = [{"role": "user", "content": parts}]
    if "tools" not in given and template.tools:
        body["tools"] = template.tools
    text = _text(req, template)
    if text is not None:
        body["text"] = text
    if req.reasoning is None and template.reasoning_effort is not None:
        body["reasoning"] = {"effort": template.reasoning_effort}
    if body:
        checked = _check(body)
        update.update({name: getattr(checked, name) for name in body if name != "input"})
        if "input" in body:
            update["input"] = _prepend(req, checked)
    return req.model_copy(update=update)


def _text(req: CreateResponse, template: Template) -> dict[str, Any] | None:
    """The request's ``text`` with the prompt's format (and verbosity) where it has none."""
    if template.text_format is None and template.verbosity is None:
        return None
    current = req.text.model_dump(mode="json", by_alias=True, exclude_none=True) if req.text is not None else {}
    if template.text_format is not None:
        current.setdefault("format", template.text_format)
    if template.verbosity is not None:
        current.setdefault("verbosity", template.verbosity)
    return current


def _check(body: dict[str, Any]) -> CreateResponse:
    """The prompt's pieces as typed request fields, checked as ``POST /v1/responses`` checks them."""
    try:
        return parse(CreateResponse, body)
    except InvalidRequest as exc:
        raise InvalidRequest(f"The prompt cannot be used: {exc.message}", param="prompt") from None


def _prepend(req: CreateResponse, checked: CreateResponse) -> Any:
    """The prompt's image and file variables, as one user message before the request's input."""
    assert isinstance(checked.input, list)
    if isinstance(req.input, str):
        easy = parse(CreateResponse, {"input": [{"role": "user", "content": req.input}]}).input
        assert isinstance(easy, list)
        return [*checked.input, *easy]
    return [*checked.input, *(req.input or [])]


def substitute(instructions: str, variables: Variables, defaults: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The instructions with every ``{{name}}`` replaced, and the image and file parts they name."""
    names = list(dict.fromkeys(PLACEHOLDER.findall(instructions)))
    missing = [n for n in names if n not in variables and n not in defaults]
    if missing:
        listed = ", ".join(f"'{n}'" for n in missing)
        raise InvalidRequest(f"Missing value for prompt variable(s): {listed}.", param="prompt.variables")
    values: dict[str, str | dict[str, Any]] = {}
    for name in names:
        given = variables.get(name)
        values[name] = variable_json(given) if given is not None else defaults[name]
    parts: list[dict[str, Any]] = []

    def text_of(match: re.Match[str]) -> str:
        value = values[match.group(1)]
        if isinstance(value, str):
            return value
        if value.get("type") == "input_text":
            return str(value.get("text", ""))
        if value not in parts:
            parts.append(value)
        if value.get("type") == "input_image":
            return f"[image: {match.group(1)}]"
        return f"[file: {value.get('filename') or match.group(1)}]"

    return PLACEHOLDER.sub(text_of, instructions), parts
