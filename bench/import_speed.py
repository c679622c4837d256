"""Import speed of ``assistantd import``, in objects per second.

Run from the repository root::

    .venv/bin/python bench/import_speed.py            # 200 assistants, 2,000 threads x 5 messages,
                                                      # 100 files, 10 vector stores
    .venv/bin/python bench/import_speed.py --help

It writes an export in the folder format (docs/importing.md) to a temporary directory, imports it into a
fresh data dir (SQLite, its schema made first: the one-time migrations are not timed) with the same code
``assistantd import`` runs, then imports it again (every object already present: the cost of an idempotent
re-run), and prints objects/s for both. Objects are counted one
each: assistants, threads, messages, files and vector stores. Vector-store ingestion is not measured: the
server's worker does it after the import.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from assistantd.importer import import_dump
from assistantd.settings import Settings
from assistantd.store.db import Database

T0 = 1_700_000_000


def _text(value: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": {"value": value, "annotations": []}}]


def write_export(root: Path, assistants: int, threads: int, messages: int, files: int, stores: int) -> int:
    """The export; returns its number of objects."""
    (root / "files").mkdir(parents=True)
    file_ids = [f"file-bench{i:06d}" for i in range(files)]
    with (root / "files.jsonl").open("w") as out:
        for i, file_id in enumerate(file_ids):
            content = f"Document {i}. ".encode() * 200
            (root / "files" / file_id).write_bytes(content)
            line = {"id": file_id, "object": "file", "bytes": len(content), "created_at": T0 + i}
            out.write(json.dumps({**line, "filename": f"doc{i}.txt", "purpose": "assistants", "status": "processed"}))
            out.write("\n")
    with (root / "vector_stores.jsonl").open("w") as out:
        for i in range(stores):
            attached = file_ids[i::stores]
            store = {"id": f"vs_bench{i:06d}", "object": "vector_store", "created_at": T0 + i, "name": f"Store {i}"}
            out.write(json.dumps({**store, "metadata": {}, "file_ids": attached}) + "\n")
    with (root / "assistants.jsonl").open("w") as out:
        for i in range(assistants):
            line = {
                "id": f"asst_bench{i:06d}",
                "object": "assistant",
                "created_at": T0 + i,
                "model": "gpt-4o-mini",
                "name": f"Assistant {i}",
                "instructions": "You answer questions about our product.",
                "tools": [{"type": "file_search"}, {"type": "code_interpreter"}],
                "tool_resources": {"file_search": {"vector_store_ids": [f"vs_bench{i % max(stores, 1):06d}"]}},
                "metadata": {"team": "support"},
                "temperature": 1.0,
                "top_p": 1.0,
                "response_format": "auto",
            }
            out.write(json.dumps(line) + "\n")
    with (root / "threads.jsonl").open("w") as out:
        for i in range(threads):
            thread_id = f"thread_bench{i:06d}"
            msgs: list[dict[str, Any]] = [
                {
                    "id": f"msg_bench{i:06d}x{j:03d}",
                    "object": "thread.message",
                    "created_at": T0 + i + j,
                    "thread_id": thread_id,
                    "role": "user" if j % 2 == 0 else "assistant",
                    "status": "completed",
                    "content": _text(f"Message {j} of thread {i}: when will my order ship?"),
                    "assistant_id": None,
                    "run_id": None,
                    "attachments": [],
                    "metadata": {},
                }
                for j in range(messages)
            ]
            line = {"id": thread_id, "object": "thread", "created_at": T0 + i, "metadata": {}, "tool_resources": {}}
            out.write(json.dumps({**line, "messages": msgs}) + "\n")
    return assistants + threads * (1 + messages) + files + stores


async def _migrate(settings: Settings) -> None:
    db = Database(settings.effective_database_url)
    await db.migrate()
    await db.dispose()


async def _timed(export: Path, settings: Settings) -> tuple[float, int, int]:
    start = time.perf_counter()
    report = await import_dump(export, settings)
    elapsed = time.perf_counter() - start
    present = sum(1 for o in report.outcomes if o.status == "present")
    return elapsed, report.imported, present


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--assistants", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=5, help="messages per thread")
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--stores", type=int, default=10, help="vector stores (the files spread over them)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and print its path")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="assistantd-import-bench-"))
    try:
        objects = write_export(tmp / "export", args.assistants, args.threads, args.messages, args.files, args.stores)
        settings = Settings(data_dir=tmp / "data", embeddings="none")
        (tmp / "data").mkdir(mode=0o700)
        asyncio.run(_migrate(settings))
        elapsed, imported, _ = asyncio.run(_timed(tmp / "export", settings))
        again, _, present = asyncio.run(_timed(tmp / "export", settings))
        assert imported == objects, (imported, objects)
        print(
            f"export: {args.assistants} assistants, {args.threads} threads x {args.messages} messages, "
            f"{args.files} files, {args.stores} vector stores = {objects:,} objects"
        )
        print(f"import:   {elapsed:6.2f} s  {objects / elapsed:10,.0f} objects/s")
        print(f"re-run:   {again:6.2f} s  {objects / again:10,.0f} objects/s  ({present:,} objects already present)")
        if args.keep:
            print(f"kept: {tmp}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
