"""Summarise a py-spy ``--format raw`` profile (collapsed stacks) written by ``bench/run.py --profile``.

    .venv/bin/python bench/profile_summary.py bench/results/<timestamp>.profile.txt [--top 25]

Prints where the server's CPU samples went: by thread, by package of the leaf frame (self time), the
functions with the most inclusive and self time, and the share of samples under each API endpoint.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
PACKAGES = (
    "assistantd",
    "sqlalchemy",
    "aiosqlite",
    "pydantic_core",
    "pydantic",
    "fastapi",
    "starlette",
    "uvicorn",
    "anyio",
    "orjson",
    "httptools",
    "uvloop",
    "asyncio",
    "alembic",
)

# Inclusive cost centres worth naming in a report: (label, substring of a frame).
MARKERS = (
    ("SQLAlchemy async bridge (greenlet_spawn and below)", "greenlet_spawn (sqlalchemy"),
    ("aiosqlite: queue a call to the connection thread", "Connection._execute (aiosqlite/core.py"),
    ("aiosqlite thread: executing sqlite3 calls", "_connection_worker_thread (aiosqlite/core.py:63)"),
    ("aiosqlite thread: waiting for work / the GIL", "_connection_worker_thread (aiosqlite/core.py:59)"),
    ("SQLAlchemy execute (sync)", "Connection._execute_clauseelement (sqlalchemy"),
    ("result rows: RowMapping / key views", "RMKeyView.__init__ (sqlalchemy"),
    ("write transaction (Database.write)", "Database.write (assistantd/store/db.py"),
    ("FastAPI solve_dependencies", "solve_dependencies (fastapi/dependencies/utils.py"),
    ("sync code sent to the threadpool (run_in_threadpool)", "run_in_threadpool (starlette/concurrency.py"),
    ("anyio worker threads", "WorkerThread.run (anyio"),
    ("request body: pydantic validation (request_body_to_args)", "request_body_to_args (fastapi"),
    ("request body: JSON parse", "Request.json (starlette"),
    ("pydantic validation", "(pydantic"),
    ("SQL compile / cache key", "_compiler_dispatch"),
    ("SQL cache key", "_generate_cache_key (sqlalchemy"),
    ("result rows → JSON columns (json.loads)", "result_processor.<locals>.process (sqlalchemy/sql/sqltypes.py"),
    ("rows → records (to_record)", "to_record (assistantd/store/_crud.py"),
    ("records → wire dicts (to_wire)", "to_wire (assistantd/services"),
    ("response render (orjson)", "WireResponse.render"),
    ("uvicorn HTTP protocol", "(uvicorn/protocols/http"),
    ("response send: uvicorn writes headers and body to the socket", "RequestResponseCycle.send (uvicorn"),
    ("x-request-id generation (secrets.token_hex)", "token_hex (secrets"),
    ("route matching", "_IncludedRouter._match (fastapi"),
)


def package_of(frame: str) -> str:
    m = FRAME.match(frame)
    path = m.group("file") if m else frame
    head = path.split("/", 1)[0]
    if head in PACKAGES:
        return head
    if head.endswith(".py") or head.startswith("<"):
        return f"stdlib:{head}"
    return head or "?"


def short(frame: str) -> str:
    m = FRAME.match(frame)
    return f"{m.group('func')} ({m.group('file')})" if m else frame


def thread_kind(name: str) -> str:
    if "MainThread" in name:
        return "main (event loop)"
    if "_connection_worker_thread" in name or "aiosqlite" in name:
        return "aiosqlite connection threads"
    if "AnyIO" in name:
        return "anyio worker threads"
    return "other threads"


def load(path: Path) -> list[tuple[list[str], int]]:
    stacks: list[tuple[list[str], int]] = []
    for line in path.read_text().splitlines():
        body, _, count = line.rpartition(" ")
        if not body or not count.isdigit():
            continue
        stacks.append((body.split(";"), int(count)))
    return stacks


def pct(n: int, total: int) -> str:
    return f"{100 * n / total:5.1f}%"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("profile", type=Path)
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args(argv)

    stacks = load(args.profile)
    # Drop start-up (imports, migrations): only what serving requests cost.
    stacks = [(s, n) for s, n in stacks if not any("_find_and_load" in f or "migrate" in f for f in s)]
    total = sum(n for _, n in stacks)
    if not total:
        print("no samples")
        return 1

    by_thread: Counter[str] = Counter()
    self_pkg: Counter[str] = Counter()
    self_fn: Counter[str] = Counter()
    incl_fn: Counter[str] = Counter()
    endpoint: Counter[str] = Counter()
    marked: Counter[str] = Counter()
    for frames, n in stacks:
        thread = frames[0]
        by_thread[thread_kind(thread + ";" + ";".join(frames[1:3]))] += n
        leaf = frames[-1]
        self_pkg[package_of(leaf)] += n
        self_fn[short(leaf)] += n
        for f in {short(f) for f in frames[1:]}:
            incl_fn[f] += n
        for label, marker in MARKERS:
            if any(marker in f for f in frames):
                marked[label] += n
        api = [f for f in frames if "(assistantd/api/" in f and "deps.py" not in f]
        endpoint[short(api[0]) if api else "(outside an endpoint body)"] += n

    print(f"{total} samples in {args.profile}\n")
    sections: list[tuple[str, Counter[str], int]] = [
        ("by thread", by_thread, 10),
        ("self time by package of the leaf frame", self_pkg, 20),
        ("samples under an endpoint body (routing, validation, serialization are outside)", endpoint, 15),
        ("known cost centres (inclusive; they overlap)", marked, len(MARKERS)),
        ("inclusive time by function", incl_fn, args.top),
        ("self time by function", self_fn, args.top),
    ]
    for title, counter, top in sections:
        print(f"## {title}")
        for key, n in counter.most_common(top):
            print(f"{pct(n, total)}  {key}")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
