"""Reading an export: a folder of JSONL files (``assistants.jsonl``, ``threads.jsonl``, ``messages.jsonl``,
``files.jsonl``, ``vector_stores.jsonl``, and any other ``*.jsonl`` read as mixed), or one mixed JSONL file.

Each line is one object. Its kind is its ``object`` field (``assistant``, ``thread``, ``thread.message``,
``file``, ``vector_store``) or, in a file named after a kind, that kind. A line that is not a JSON object,
or whose kind cannot be told, is rejected here with its file and line number; the other lines are kept
for ``shapes`` to check. Nothing is written while reading, so a dump that cannot be read at all (a missing
path, a folder without JSONL) fails before the database is opened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

Kind = Literal["file", "vector_store", "assistant", "thread", "message"]

NAMED_FILES: dict[str, Kind] = {
    "files.jsonl": "file",
    "vector_stores.jsonl": "vector_store",
    "assistants.jsonl": "assistant",
    "threads.jsonl": "thread",
    "messages.jsonl": "message",
}
OBJECTS: dict[str, Kind] = {
    "file": "file",
    "vector_store": "vector_store",
    "assistant": "assistant",
    "thread": "thread",
    "thread.message": "message",
}


class DumpError(Exception):
    """The export cannot be read at all (the message names the path); nothing was imported."""


@dataclass(frozen=True, slots=True)
class Where:
    """A line of the export, for the summary: ``threads.jsonl:12``."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class Line:
    kind: Kind
    data: dict[str, Any]
    where: Where

    @property
    def object_id(self) -> str | None:
        value = self.data.get("id")
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Rejected:
    """A line read but not classified: malformed (``invalid``) or of a kind not imported (``unsupported``)."""

    where: Where
    status: Literal["invalid", "unsupported"]
    reason: str
    object_id: str | None = None


@dataclass
class Dump:
    files_dir: Path
    """Where file bytes are looked for (``files/<file_id>`` beside the JSONL)."""
    lines: dict[Kind, list[Line]] = field(default_factory=lambda: {k: [] for k in NAMED_FILES.values()})
    rejected: list[Rejected] = field(default_factory=list)


def read_dump(path: Path) -> Dump:
    """Every line of the export at ``path`` (a folder or a JSONL file), classified by kind."""
    if path.is_dir():
        named = [path / name for name in NAMED_FILES if (path / name).is_file()]
        mixed = sorted(p for p in path.glob("*.jsonl") if p.name not in NAMED_FILES and p.is_file())
        sources = named + mixed
        if not sources:
            raise DumpError(f"{path} holds no .jsonl files (see docs/importing.md for the export format)")
        dump = Dump(files_dir=path / "files")
    elif path.is_file():
        sources = [path]
        dump = Dump(files_dir=path.parent / "files")
    else:
        raise DumpError(f"{path} does not exist")
    for source in sources:
        try:
            _read_file(source, dump)
        except OSError as exc:
            raise DumpError(f"cannot read {source}: {exc.strerror or exc}") from exc
    return dump


def _read_file(source: Path, dump: Dump) -> None:
    default = NAMED_FILES.get(source.name)
    with source.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            where = Where(source.name, number)
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                dump.rejected.append(Rejected(where, "invalid", f"not JSON ({exc})"))
                continue
            if not isinstance(data, dict):
                dump.rejected.append(Rejected(where, "invalid", f"not a JSON object but a {type(data).__name__}"))
                continue
            kind = _kind(data, default, source.name, where, dump)
            if kind is not None:
                dump.lines[kind].append(Line(kind, data, where))


def _kind(data: dict[str, Any], default: Kind | None, name: str, where: Where, dump: Dump) -> Kind | None:
    obj = data.get("object")
    object_id = data.get("id") if isinstance(data.get("id"), str) else None
    if obj is None:
        if default is None:
            dump.rejected.append(Rejected(where, "invalid", "no 'object' field to tell what it is", object_id))
        return default
    if not isinstance(obj, str):
        dump.rejected.append(Rejected(where, "invalid", "'object' is not a string", object_id))
        return None
    kind = OBJECTS.get(obj)
    if kind is None:
        dump.rejected.append(Rejected(where, "unsupported", f"objects of type '{obj}' are not imported", object_id))
        return None
    if default is not None and kind != default:
        reason = f"'object' is '{obj}' in {name}, which holds {default.replace('_', ' ')}s"
        dump.rejected.append(Rejected(where, "invalid", reason, object_id))
        return None
    return kind
