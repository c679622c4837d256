"""Attribute filters (OpenAI's comparison and compound filters) as domain values, evaluated in Python.

``from_json`` takes the validated request form (``wire/vector_stores.py``); ``matches`` decides one file.
A missing attribute fails every comparison except ``ne`` and ``nin``. Ordering comparisons compare numbers
with numbers and strings with strings; mixed types do not match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Scalar = str | int | float | bool
ComparisonOp = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]


@dataclass(frozen=True, slots=True)
class Comparison:
    op: ComparisonOp
    key: str
    value: Scalar | tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class Compound:
    op: Literal["and", "or"]
    filters: tuple[Filter, ...]


Filter = Comparison | Compound


def from_json(data: dict[str, Any]) -> Filter:
    kind = data["type"]
    if kind in ("and", "or"):
        return Compound(kind, tuple(from_json(f) for f in data["filters"]))
    value = data["value"]
    return Comparison(kind, data["key"], tuple(value) if isinstance(value, list) else value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return bool(a == b)


def _ordered(have: Any, want: Any) -> tuple[Any, Any] | None:
    if isinstance(have, bool) or isinstance(want, bool):
        return None
    if isinstance(have, int | float) and isinstance(want, int | float):
        return float(have), float(want)
    if isinstance(have, str) and isinstance(want, str):
        return have, want
    return None


def matches(f: Filter, attributes: dict[str, Any]) -> bool:
    if isinstance(f, Compound):
        results = (matches(sub, attributes) for sub in f.filters)
        return all(results) if f.op == "and" else any(results)
    present = f.key in attributes
    have = attributes.get(f.key)
    if f.op == "eq":
        return present and _same(have, f.value)
    if f.op == "ne":
        return not (present and _same(have, f.value))
    if f.op in ("in", "nin"):
        options = f.value if isinstance(f.value, tuple) else (f.value,)
        inside = present and any(_same(have, o) for o in options)
        return inside if f.op == "in" else not inside
    pair = _ordered(have, f.value) if present else None
    if pair is None:
        return False
    a, b = pair
    return bool({"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[f.op])
