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

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


class InvalidRequest(ApiError):
    status = 400
    type = "invalid_request_error"


class Unauthorized(ApiError):
    status = 401
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


def error_response(status: int, message: str, type_: str, param: str | None, code: str | None) -> Response:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return JSONResponse(body, status_code=status)


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
    return "a value"


def _param(loc: Sequence[int | str]) -> str | None:
    parts = [p for p in loc if p not in ("body", "query", "path", "form")]
    # pydantic adds union-member and tag names to the location; keep only the user's path.
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif isinstance(p, str) and (p.startswith(("function-", "tagged-union[", "union[")) or "[" in p):
            continue
        else:
            out += ("." if out else "") + p
    return out or None


def validation_message(err: dict[str, Any]) -> tuple[str, str | None]:
    """One pydantic error → (OpenAI-style message, param)."""
    loc = err.get("loc", ())
    param = _param(loc)
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
    if kind in _TYPE_NAMES:
        return (
            f"Invalid type for '{name}': expected {_TYPE_NAMES[kind]}, but got {_json_type(value)} instead.",
            param,
        )
    if kind in ("literal_error", "enum"):
        expected = ctx.get("expected", "")
        return f"Invalid value: '{value}'. Supported values are: {expected}.", param
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
        bound = ctx.get("ge", ctx.get("gt"))
        return (
            f"Invalid '{name}': integer below minimum value. Expected a value >= {bound}, "
            f"but got {value} instead.",
            param,
        )
    if kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        return (
            f"Invalid '{name}': integer above maximum value. Expected a value <= {bound}, "
            f"but got {value} instead.",
            param,
        )
    if kind == "union_tag_invalid":
        return f"Invalid value: '{ctx.get('tag')}'. Supported values are: {ctx.get('expected_tags')}.", param
    if kind == "union_tag_not_found":
        return f"Missing required parameter: '{name}.type'.", f"{name}.type" if param else "type"
    if kind == "value_error":
        # Our own validators raise ValueError with the final OpenAI message.
        msg = str(ctx.get("error", err.get("msg", "")))
        return msg.removeprefix("Value error, "), param
    return f"Invalid '{name}': {err.get('msg', 'invalid value')}.", param


def _pick(errors: Sequence[Any]) -> dict[str, Any]:
    """Prefer the most specific error: the deepest location, and not a union fan-out."""
    best = max(errors, key=lambda e: (e.get("type") != "missing", len(e.get("loc", ()))))
    for e in errors:
        if e.get("type") in ("json_invalid", "extra_forbidden"):
            return dict(e)
    return dict(best)


async def _handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status)


async def _handle_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if not errors:
        return error_response(400, "Invalid request.", "invalid_request_error", None, None)
    message, param = validation_message(_pick(errors))
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


async def _handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(
        500, "The server had an error while processing your request.", "server_error", None, None
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _handle_api_error)
    app.add_exception_handler(RequestValidationError, _handle_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    app.add_exception_handler(Exception, _handle_unexpected)
