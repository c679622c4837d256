"""Validators for limits pydantic cannot express, raising errors that ``errors.py`` renders as OpenAI's.

``openai_error`` carries a message template in which ``{param}`` stands for the offending field's path
(``metadata``, ``messages[0].metadata``), so one validator serves every place the type appears.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic_core import PydanticCustomError

MAX_MESSAGE_CHARS = 256_000
"""A message's text, in characters (OpenAI's limit on message content), whole or summed over its parts."""
MAX_TOKEN_LIMIT = 2**31 - 1
"""Largest ``max_prompt_tokens``/``max_completion_tokens``/``last_messages``: 32 bits, which every upstream
accepts as ``max_tokens`` and SQLite stores exactly."""
MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 512
MAX_JSON_DEPTH = 64
"""Nesting allowed in free-form JSON (function parameters, JSON schemas); far above real schemas."""
_INT64 = 1 << 63
_SURROGATE = "is not valid Unicode (it holds an unpaired surrogate)."


def openai_error(template: str, suffix: str = "") -> PydanticCustomError:
    """A validation error with OpenAI's wording; ``suffix`` extends the param (``.key``)."""
    return PydanticCustomError("openai", "{template}", {"template": template, "suffix": suffix})


def not_null(expected: str) -> PydanticCustomError:
    return openai_error(f"Invalid type for '{{param}}': expected {expected}, but got null instead.")


def _valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_unicode(value: str) -> str:
    """A string we store or send on must be encodable: JSON's ``"\\ud800"`` escape decodes to a lone surrogate,
    which UTF-8 (SQLite, orjson, every upstream) cannot carry. Constrained strings (``max_length``) are already
    checked by pydantic-core; this is for the others."""
    if not _valid_unicode(value):
        raise openai_error(f"Invalid '{{param}}': the string {_SURROGATE}")
    return value


def check_metadata(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_METADATA_PAIRS:
        raise openai_error(
            "Invalid '{param}': too many properties. Expected an object with at most "
            f"{MAX_METADATA_PAIRS} properties, but got an object with {len(value)} properties instead."
        )
    for key, item in value.items():
        if not _valid_unicode(key):
            raise openai_error(f"Invalid '{{param}}': a key {_SURROGATE}")
        if len(key) > MAX_METADATA_KEY:
            raise openai_error(
                f"Invalid '{{param}}': key '{key[:80]}' is too long. Expected a key with maximum length "
                f"{MAX_METADATA_KEY}, but got a key with length {len(key)} instead."
            )
        if not _valid_unicode(item):
            raise openai_error(f"Invalid '{{param}}': the string {_SURROGATE}", suffix=f".{key}")
        if len(item) > MAX_METADATA_VALUE:
            raise openai_error(
                f"Invalid '{{param}}': string too long. Expected a string with maximum length "
                f"{MAX_METADATA_VALUE}, but got a string with length {len(item)} instead.",
                suffix=f".{key}",
            )
    return value


def check_json(value: dict[str, Any]) -> dict[str, Any]:
    """Free-form JSON we store and echo must be JSON we can send back: bounded nesting, finite numbers,
    64-bit integers and valid Unicode."""
    _check_node(value, 1)
    return value


def _check_node(node: Any, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise openai_error(f"Invalid '{{param}}': nested too deeply. Expected at most {MAX_JSON_DEPTH} levels.")
    if isinstance(node, dict):
        for key, item in node.items():
            _check_node(key, depth)
            _check_node(item, depth + 1)
    elif isinstance(node, list):
        for item in node:
            _check_node(item, depth + 1)
    elif isinstance(node, str):
        if not _valid_unicode(node):
            raise openai_error(f"Invalid '{{param}}': a string {_SURROGATE}")
    elif isinstance(node, bool):
        return
    elif isinstance(node, int):
        if not -_INT64 <= node < _INT64:
            raise openai_error(f"Invalid '{{param}}': the integer {node} is out of range (64 bits).")
    elif isinstance(node, float) and not math.isfinite(node):
        raise openai_error(f"Invalid '{{param}}': expected finite numbers, but got {node}.")
