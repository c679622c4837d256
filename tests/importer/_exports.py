"""Exports as OpenAI's SDK wrote them: objects in ``to_dict()`` shape, written to the folder format."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

T0 = 1_700_000_000


def assistant(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"asst_imp{n:04d}",
        "object": "assistant",
        "created_at": T0 + n,
        "name": f"Assistant {n}",
        "description": None,
        "model": "gpt-4o-mini",
        "instructions": "You help.",
        "tools": [{"type": "code_interpreter"}],
        "tool_resources": {"code_interpreter": {"file_ids": []}},
        "metadata": {"n": str(n)},
        "top_p": 1.0,
        "temperature": 1.0,
        "response_format": "auto",
        **fields,
    }


def text(value: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": {"value": value, "annotations": []}}]


def message(thread_id: str, n: int, created_at: int, role: str = "user", **fields: Any) -> dict[str, Any]:
    return {
        "id": f"msg_{thread_id.removeprefix('thread_')}x{n:03d}",
        "object": "thread.message",
        "created_at": created_at,
        "thread_id": thread_id,
        "role": role,
        "status": "completed",
        "content": text(f"message {n} of {thread_id}"),
        "assistant_id": "asst_imp0001" if role == "assistant" else None,
        "run_id": "run_exported" if role == "assistant" else None,
        "attachments": [],
        "metadata": {},
        "incomplete_details": None,
        "completed_at": created_at,
        "incomplete_at": None,
        **fields,
    }


def thread(n: int, messages: int = 3, **fields: Any) -> dict[str, Any]:
    thread_id = f"thread_imp{n:04d}"
    return {
        "id": thread_id,
        "object": "thread",
        "created_at": T0 + n,
        "metadata": {"user": str(n)},
        "tool_resources": {},
        "messages": [message(thread_id, i, T0 + n + i, "user" if i % 2 == 0 else "assistant") for i in range(messages)],
        **fields,
    }


def file(n: int, content: bytes, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"file-imp{n:04d}",
        "object": "file",
        "bytes": len(content),
        "created_at": T0 + n,
        "filename": f"doc{n}.txt",
        "purpose": "assistants",
        "status": "processed",
        **fields,
    }


def vector_store(n: int, file_ids: list[str], **fields: Any) -> dict[str, Any]:
    return {
        "id": f"vs_imp{n:04d}",
        "object": "vector_store",
        "created_at": T0 + n,
        "name": f"Store {n}",
        "usage_bytes": 0,
        "file_counts": {"in_progress": 0, "completed": len(file_ids), "failed": 0, "cancelled": 0, "total": 1},
        "status": "completed",
        "expires_at": None,
        "last_active_at": T0 + n,
        "metadata": {},
        "file_ids": file_ids,
        **fields,
    }


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    """One JSON value per line; a ``str`` row is written as it is (a malformed line)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def write_export(
    root: Path,
    *,
    assistants: Sequence[Any] = (),
    threads: Sequence[Any] = (),
    files: dict[str, bytes] | None = None,
    file_lines: Sequence[Any] = (),
    vector_stores: Sequence[Any] = (),
    messages: list[Any] | None = None,
) -> Path:
    """The folder format: one JSONL per kind, file bytes in ``files/<id>``."""
    root.mkdir(parents=True, exist_ok=True)
    for name, rows in (
        ("assistants", assistants),
        ("threads", threads),
        ("files", file_lines),
        ("vector_stores", vector_stores),
    ):
        if rows:
            write_jsonl(root / f"{name}.jsonl", list(rows))
    if messages is not None:
        write_jsonl(root / "messages.jsonl", messages)
    for file_id, content in (files or {}).items():
        (root / "files").mkdir(exist_ok=True)
        (root / "files" / file_id).write_bytes(content)
    return root
