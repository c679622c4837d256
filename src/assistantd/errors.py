"""OpenAI-shaped errors, raised by services and rendered once.

Hierarchy::

    ApiError                      any error with OpenAI's envelope
    ├── InvalidRequest   400      bad input (invalid_request_error)
    ├── Unauthorized     401      missing or wrong bearer key
    ├── NotFound         404      unknown object
    ├── RateLimited      429
    └── BackendError     500      upstream failures, mapped at the backend seam

Deterministic failures are never 409 or 5xx: the SDK retries those. The handlers below render
``{"error": {"message", "type", "param", "code"}}``, which ``openai.APIStatusError`` parses.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

log = logging.getLogger("assistantd")


class ApiError(Exception):
    status: int = 500
    type: str = "server_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.headers: dict[str, str] = {}
        """Headers the error response carries (``Retry-After`` and ``x-ratelimit-*`` on a 429)."""

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


class InvalidRequest(ApiError):
    status = 400
    type = "invalid_request_error"


class Unauthorized(ApiError):
    status = 401
    type = "invalid_request_error"


class Forbidden(ApiError):
    status = 403
    type = "invalid_request_error"


class NotFound(ApiError):
    status = 404
    type = "invalid_request_error"


class RateLimited(ApiError):
    status = 429
    type = "rate_limit_error"


class BackendError(ApiError):
    status = 500
    type = "server_error"


def not_found(kind: str, object_id: str, param: str | None = None) -> NotFound:
    return NotFound(f"No {kind} found with id '{object_id}'.", param=param)


def error_response(
    status: int, message: str, type_: str, param: str | None, code: str | None, headers: dict[str, str] | None = None
) -> Response:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return _EnvelopeResponse(body, status_code=status, headers=headers)


class _EnvelopeResponse(JSONResponse):
    """The error envelope, encodable whatever the client sent.

    Messages quote the caller's input, which may hold lone surrogates that UTF-8 cannot encode; escape
    them rather than fail while reporting an error.
    """

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        return text.encode("utf-8", "backslashreplace")


# --- translating request validation (pydantic) into OpenAI's messages -------------------------------

_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "a boolean",
    "bool_parsing": "a boolean",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "list_type": "an array",
}

_MISSING = object()


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a value that is not JSON"


def _locate(loc: Sequence[int | str], body: Any, *, missing: bool) -> tuple[str | None, int]:
    """The user's path to the field (``tools[0].function.name``) and how deep it reaches into the input.

    pydantic inserts union-member names and discriminator tags into ``loc`` (``function``, ``str``,
    ``tagged-union[...]``); they are not keys of what the client sent, so walking the input tells them
    apart from real field names. The last element of a ``missing`` error is absent by definition.
    """
    if not loc:
        return None, 0
    source, *rest = loc
    if source != "body":
        return ".".join(str(p) for p in rest) or None, len(rest)
    out, depth, node = "", 0, body
    for i, part in enumerate(rest):
        child = _child(node, part)
        if child is _MISSING and not (missing and i == len(rest) - 1 and isinstance(part, str)):
            continue  # a union member or discriminator tag, not something the client sent
        node = child
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + part
        depth += 1
    return out or None, depth


def _child(node: Any, part: int | str) -> Any:
    if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
        return node[part]
    if isinstance(part, str) and isinstance(node, dict) and part in node:
        return node[part]
    return _MISSING


def _bound_message(name: str, value: Any, relation: str, bound: Any) -> str:
    whole = isinstance(value, int) or (isinstance(value, str) and value.lstrip("-").isdigit())
    kind = "integer" if whole else "decimal"
    where, sign = ("below minimum", ">=") if relation == "min" else ("above maximum", "<=")
    return f"Invalid '{name}': {kind} {where} value. Expected a value {sign} {bound}, but got {value} instead."


def validation_message(err: dict[str, Any], param: str | None) -> tuple[str, str | None]:
    """One pydantic error → (OpenAI-style message, param)."""
    loc = err.get("loc", ())
    kind = err.get("type", "")
    value = err.get("input")
    ctx = err.get("ctx") or {}
    name = param or "body"
    if kind == "missing":
        return f"Missing required parameter: '{name}'.", param
    if kind == "extra_forbidden":
        return f"Unrecognized request argument supplied: {loc[-1] if loc else name}", param
    if kind == "json_invalid":
        return (
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
            "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not "
            "valid JSON.)",
            None,
        )
    if kind == "openai":
        # Raised by wire validators (see wire/_limits.py): the template names the field as {param}.
        full = f"{name}{ctx.get('suffix', '')}"
        return str(ctx.get("template", "")).replace("{param}", full), full
    if kind in _TYPE_NAMES:
        return (
            f"Invalid type for '{name}': expected {_TYPE_NAMES[kind]}, but got {_json_type(value)} instead.",
            param,
        )
    if kind in ("literal_error", "enum"):
        expected = ctx.get("expected", "")
        return f"Invalid value: '{value}'. Supported values are: {expected}.", param
    if kind == "string_unicode":
        return f"Invalid '{name}': the string is not valid Unicode (it holds an unpaired surrogate).", param
    if kind == "string_too_long":
        n = ctx.get("max_length")
        got = len(value) if isinstance(value, str) else "?"
        return (
            f"Invalid '{name}': string too long. Expected a string with maximum length {n}, "
            f"but got a string with length {got} instead.",
            param,
        )
    if kind == "string_too_short":
        return f"Invalid '{name}': empty string. Expected a string with minimum length 1.", param
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        return (
            f"Invalid '{name}': string does not match pattern. Expected a string that matches the pattern '{pattern}'.",
            param,
        )
    if kind == "too_long":
        n = ctx.get("max_length")
        got = len(value) if isinstance(value, list | dict) else "?"
        return (
            f"Invalid '{name}': array too long. Expected an array with maximum length {n}, "
            f"but got an array with length {got} instead.",
            param,
        )
    if kind == "too_short":
        n = ctx.get("min_length")
        return (
            f"Invalid '{name}': empty array. Expected an array with minimum length {n}, "
            "but got an empty array instead.",
            param,
        )
    if kind in ("greater_than_equal", "greater_than"):
        return _bound_message(name, value, "min", ctx.get("ge", ctx.get("gt"))), param
    if kind in ("less_than_equal", "less_than"):
        return _bound_message(name, value, "max", ctx.get("le", ctx.get("lt"))), param
    if kind == "finite_number":
        return f"Invalid '{name}': expected a finite number, but got {value} instead.", param
    if kind == "union_tag_invalid":
        tagged = f"{param}.type" if param else "type"
        return f"Invalid value: '{ctx.get('tag')}'. Supported values are: {ctx.get('expected_tags')}.", tagged
    if kind == "union_tag_not_found":
        tagged = f"{param}.type" if param else "type"
        return f"Missing required parameter: '{tagged}'.", tagged
    if kind == "value_error":
        # Our own validators raise ValueError with the final OpenAI message.
        msg = str(ctx.get("error", err.get("msg", "")))
        return msg.removeprefix("Value error, "), param
    return f"Invalid '{name}': {err.get('msg', 'invalid value')}.", param


def _is_type_mismatch(err: dict[str, Any]) -> bool:
    """An error saying the input had the wrong JSON type: the least telling member of a union's errors."""
    kind = err.get("type")
    if kind in _TYPE_NAMES:
        return True
    return kind == "literal_error" and not isinstance(err.get("input"), str)  # our enums are all strings


def translate(errors: Sequence[Any], body: Any = _MISSING) -> tuple[str, str | None]:
    """pydantic's errors for one request → OpenAI's message and ``param``.

    pydantic reports every member of a union that failed; the member the client meant is the one whose
    error reaches deepest into what was sent (``content: [{"type": "text"}]`` is a list of parts, not a
    bad string). When only type mismatches remain at one place, say which types would have done.
    """
    errs = [dict(e) for e in errors]
    for e in errs:
        if e.get("type") in ("json_invalid", "extra_forbidden"):
            param, _ = _locate(e.get("loc", ()), body, missing=False)
            return validation_message(e, param)
    ranked = []
    for e in errs:
        param, depth = _locate(e.get("loc", ()), body, missing=e.get("type") == "missing")
        ranked.append(((depth, not _is_type_mismatch(e)), param, e))
    best_key, param, best = max(ranked, key=lambda r: r[0])
    if _is_type_mismatch(best):
        kinds = [e for key, p, e in ranked if key == best_key and p == param]
        names = list(dict.fromkeys(_expected_type(e) for e in kinds))
        if len(names) > 1:
            shown = " or ".join([", ".join(names[:-1]), names[-1]])
            got = _json_type(best.get("input"))
            message = f"Invalid type for '{param or 'body'}': expected one of {shown}, but got {got} instead."
            return message, param
    return validation_message(best, param)


def _expected_type(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    if kind in _TYPE_NAMES:
        return _TYPE_NAMES[kind]
    return str((err.get("ctx") or {}).get("expected", "the allowed values"))


async def _handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.message, exc.type, exc.param, exc.code, exc.headers or None)


async def _handle_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if not errors:
        return error_response(400, "Invalid request.", "invalid_request_error", None, None)
    message, param = translate(errors, exc.body)
    return error_response(400, message, "invalid_request_error", param, None)


async def _handle_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        message = f"Invalid URL ({request.method} {request.url.path})"
    elif exc.status_code == 405:
        message = f"Invalid method for URL ({request.method} {request.url.path})"
    else:
        message = str(exc.detail)
    return error_response(exc.status_code, message, "invalid_request_error", None, None)


DATABASE_RETRY_AFTER_S = 1


def database_unavailable(exc: Exception) -> bool:
    """The database cannot be reached now (pool exhausted, connection refused or lost): the client should
    retry, so a 503 with ``Retry-After``, not a 500. A statement the database refuses is not this."""
    import psycopg
    from sqlalchemy import exc as sa

    if isinstance(exc, sa.TimeoutError):  # no free connection within database_pool_timeout
        return True
    if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
        return True
    original = exc.orig if isinstance(exc, sa.DBAPIError) else exc
    return isinstance(original, psycopg.OperationalError) and not isinstance(original, psycopg.errors.QueryCanceled)


async def _handle_database(request: Request, exc: Exception) -> Response:
    """Database errors are handled here rather than by the catch-all, which Starlette re-raises into the
    server after answering (a traceback per request while the database is down)."""
    if not database_unavailable(exc):
        return await _handle_unexpected(request, exc)
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, str(exc).splitlines()[0])
    response = error_response(
        503, "The database is unavailable; retry shortly.", "server_error", None, "database_unavailable"
    )
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
    return response


async def _handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "The server had an error while processing your request.", "server_error", None, None)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _handle_api_error)
    app.add_exception_handler(RequestValidationError, _handle_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    from sqlalchemy import exc as sa

    app.add_exception_handler(sa.DBAPIError, _handle_database)
    app.add_exception_handler(sa.TimeoutError, _handle_database)
    app.add_exception_handler(Exception, _handle_unexpected)
