#!/usr/bin/env python3
"""Export assistants, threads (with their messages), files (with their bytes) and vector stores (with their
files) from OpenAI, in the folder format ``assistantd import`` reads (docs/importing.md).

Usage::

    OPENAI_API_KEY=sk-... python scripts/export_openai.py EXPORT_DIR --threads thread_ids.txt [THREAD_ID ...]

Needs only the official ``openai`` package. The API cannot list threads, so their IDs come from the
command line or from ``--threads FILE`` (one per line; ``#`` starts a comment): collect them from your own
database or logs. ``--base-url`` (or ``OPENAI_BASE_URL``) points it at another server with the same API,
such as an assistantd.

It writes ``assistants.jsonl``, ``threads.jsonl`` (each thread with a ``messages`` list, oldest first),
``files.jsonl`` with the bytes in ``files/<file_id>``, and ``vector_stores.jsonl`` (each store with its
``file_ids`` and ``files``). Each line is the object as the SDK returned it (``to_dict()``). OpenAI refuses
to download files of purpose ``assistants`` (those you uploaded): their lines are written and the failure
is reported; put the original bytes in ``files/<file_id>`` before importing, or the import skips them.
Exit status 1 when something could not be exported (it says what), 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import openai

warnings.filterwarnings("ignore", category=DeprecationWarning)  # the SDK's notice on every beta call


def _line(obj: Any, **extra: Any) -> str:
    return json.dumps({**obj.to_dict(), **extra}, ensure_ascii=False) + "\n"


def _thread_ids(args: argparse.Namespace) -> list[str]:
    ids = list(args.thread_ids)
    if args.threads:
        for raw in Path(args.threads).read_text().splitlines():
            value = raw.split("#", 1)[0].strip()
            if value:
                ids.append(value)
    return list(dict.fromkeys(ids))


def _write(path: Path, lines: Iterable[str]) -> int:
    count = 0
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write(line)
            count += 1
    tmp.replace(path)
    return count


def export(client: openai.OpenAI, out: Path, thread_ids: list[str], purpose: str | None) -> list[str]:
    """Write the export into ``out``; returns what could not be exported."""
    problems: list[str] = []
    files_dir = out / "files"
    files_dir.mkdir(parents=True, exist_ok=True)

    def files() -> Iterable[str]:
        listing = client.files.list(purpose=purpose, order="asc") if purpose else client.files.list(order="asc")
        for f in listing:
            try:
                data = client.files.content(f.id).read()
            except openai.APIError as exc:
                problems.append(f"file {f.id} ({f.filename}): bytes not downloaded: {exc}")
            else:
                (files_dir / f.id).write_bytes(data)
            yield _line(f)

    def vector_stores() -> Iterable[str]:
        for store in client.vector_stores.list(order="asc"):
            attached = list(client.vector_stores.files.list(vector_store_id=store.id))
            yield _line(store, file_ids=[a.id for a in attached], files=[a.to_dict() for a in attached])

    def threads() -> Iterable[str]:
        for thread_id in thread_ids:
            try:
                thread = client.beta.threads.retrieve(thread_id)
            except openai.NotFoundError:
                problems.append(f"thread {thread_id}: not found")
                continue
            messages = client.beta.threads.messages.list(thread_id=thread_id, order="asc", limit=100)
            yield _line(thread, messages=[m.to_dict() for m in messages])

    counts = {
        "files": _write(out / "files.jsonl", files()),
        "vector stores": _write(out / "vector_stores.jsonl", vector_stores()),
        "assistants": _write(out / "assistants.jsonl", map(_line, client.beta.assistants.list(order="asc", limit=100))),
        "threads": _write(out / "threads.jsonl", threads()),
    }
    print(f"exported to {out}: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()), file=sys.stderr)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("out", type=Path, help="export folder (created; its JSONL files are replaced)")
    parser.add_argument("thread_ids", nargs="*", help="IDs of threads to export")
    parser.add_argument("--threads", help="file of thread IDs, one per line")
    parser.add_argument("--purpose", help="export only files of this purpose (default: every file)")
    parser.add_argument("--base-url", help="API base URL (default: OPENAI_BASE_URL, else OpenAI's)")
    args = parser.parse_intermixed_args(argv)
    if not os.environ.get("OPENAI_API_KEY"):
        parser.error("set OPENAI_API_KEY")
    client = openai.OpenAI(base_url=args.base_url) if args.base_url else openai.OpenAI()
    problems = export(client, args.out, _thread_ids(args), args.purpose)
    for problem in problems:
        print(f"not exported: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
