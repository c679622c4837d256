"""Validate response JSON against the component schemas of OpenAI's OpenAPI spec.

The schemas live in ``tests/spec/openai-schemas.json``: the components of OpenAI's ``openai-openapi.yaml``
that the endpoints we serve reach through ``$ref``, extracted by ``scripts/vendor-spec`` (rerun it on a
newer spec). Every ``$ref`` resolves inside that file, so ``assert_schema(body, "AssistantObject")`` checks
exactly what OpenAI documents, nested types included.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema

SPEC = Path(__file__).resolve().parent / "spec" / "openai-schemas.json"


@functools.cache
def _components() -> dict[str, Any]:
    spec = json.loads(SPEC.read_bytes())
    components: dict[str, Any] = _with_nullable(spec["components"])
    return components


def _with_nullable(node: Any) -> Any:
    """OpenAPI's ``nullable: true`` (which JSON Schema ignores) → ``anyOf: [<schema>, {"type": "null"}]``."""
    if isinstance(node, list):
        return [_with_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _with_nullable(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


@functools.cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    components = _components()
    if name not in components["schemas"]:
        raise KeyError(f"no schema named {name!r} in {SPEC.name} (add its path to scripts/vendor-spec)")
    schema = {"components": components, "$ref": f"#/components/schemas/{name}"}
    return jsonschema.Draft202012Validator(schema)


def assert_schema(body: Any, name: str) -> None:
    """Fail with every violation listed when ``body`` does not match ``#/components/schemas/<name>``."""
    errors = sorted(_validator(name).iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors[:10]]
        raise AssertionError(f"response does not match {name}:\n" + "\n".join(lines))
