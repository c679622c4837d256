"""The cost of project isolation: one project against 1,000 projects x 100 threads, side by side in one run.

    .venv/bin/python bench/isolation.py            # about 2 minutes
    .venv/bin/python bench/isolation.py --quick    # shorter loops

Two data directories (SQLite, the embedded default), each served by a real ``assistantd serve`` on loopback
with the scripted upstream and an admin key, the project key made with ``assistantd keys create``:

* ``one``: the benchmark's project alone, with 100 threads;
* ``many``: the same, plus 999 other projects with 100 threads and one message each (100,000 threads),
  written straight into the database before the server starts.

Measured on each, in turn, through the official client with the project key:

* ``messages.list`` p50/p99 (limit 20) on a thread of 20 messages, sequential requests;
* completed runs/s, ``create_and_poll``, 32 concurrent clients, on threads of the benchmark's project;
* server CPU per ``messages.list`` request (the process's CPU time over the requests it answered).

And the auth check's share of a request's CPU: ``Organization.resolve`` of a project key (cached, as a
running server resolves it) and the limits check, timed in this process, against that CPU per request.
Results: stdout and ``bench/results/isolation-<UTC timestamp>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai

ROOT = Path(__file__).resolve().parents[1]
ASSISTANTD = str(Path(sys.executable).with_name("assistantd"))
ADMIN = "sk-admin-bench-0123456789"


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANTD_", "OPENAI_"))}
    env.update(
        ASSISTANTD_DATA_DIR=str(data),
        ASSISTANTD_ADMIN_KEY=ADMIN,
        ASSISTANTD_UPSTREAM_BASE_URL="scripted",
        ASSISTANTD_CODE_INTERPRETER_SPARE_SESSIONS="0",
        ASSISTANTD_LOG_LEVEL="warning",
    )
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _seed(db: Path, projects: int, threads: int) -> None:
    """``projects`` other projects with ``threads`` threads of one message each, in one transaction."""
    now = int(time.time())
    con = sqlite3.connect(db)
    with con:
        con.executemany(
            "insert into projects (id, name, created_at) values (?, ?, ?)",
            [(f"proj_other{p:05d}", f"other {p}", now) for p in range(projects)],
        )
        rows = [
            (f"thread_o{p:05d}x{t:04d}", now, f"proj_other{p:05d}") for p in range(projects) for t in range(threads)
        ]
        con.executemany("insert into threads (id, created_at, project_id) values (?, ?, ?)", rows)
        con.executemany(
            "insert into messages (id, thread_id, created_at, role, content, attachments, type, status, project_id) "
            "values (?, ?, ?, 'user', ?, '[]', 'message', 'completed', ?)",
            [
                (
                    f"msg_{tid[7:]}",
                    tid,
                    now,
                    json.dumps([{"type": "text", "text": {"value": "hi", "annotations": []}}]),
                    pid,
                )
                for tid, _, pid in rows
            ],
        )
    con.close()


@contextlib.contextmanager
def _server(data: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = _free_port()
    proc = subprocess.Popen(
        [ASSISTANTD, "serve", "--port", str(port)],
        env=_env(data),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


async def _measure(base: str, pid: int, key: str, lists: int, seconds: float) -> dict[str, Any]:
    async with openai.AsyncOpenAI(base_url=base + "/v1", api_key=key, max_retries=0) as c:
        assistant = await c.beta.assistants.create(model="m")
        thread = await c.beta.threads.create(messages=[{"role": "user", "content": f"m{i}"} for i in range(20)])
        for _ in range(20):
            await c.beta.threads.messages.list(thread_id=thread.id)  # warm-up
        times = []
        cpu0 = _cpu(pid)
        for _ in range(lists):
            t0 = time.perf_counter()
            await c.beta.threads.messages.list(thread_id=thread.id, limit=20)
            times.append(time.perf_counter() - t0)
        cpu_per_list = (_cpu(pid) - cpu0) / lists
        threads = [await c.beta.threads.create(messages=[{"role": "user", "content": "hi"}]) for _ in range(32)]
        done = 0
        deadline = time.perf_counter() + seconds

        async def client(thread_id: str) -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                run = await c.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant.id)
                assert run.status == "completed", run.status
                done += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(client(t.id) for t in threads))
        elapsed = time.perf_counter() - t0
    return {
        "messages_list_p50_ms": _pct(times, 0.5),
        "messages_list_p99_ms": _pct(times, 0.99),
        "server_cpu_ms_per_messages_list": round(cpu_per_list * 1000, 3),
        "runs_per_s": round(done / elapsed, 1),
    }


async def _auth_cost(data: Path, key: str, n: int) -> float:
    """Microseconds per request of resolving a (cached) project key and counting it against the limits."""
    sys.path.insert(0, str(ROOT / "src"))
    from assistantd.organization.service import Organization
    from assistantd.settings import Settings
    from assistantd.store.db import Database

    settings = Settings(data_dir=data, admin_key=ADMIN, rate_limit_requests_per_minute=10**9)
    db = Database(settings.effective_database_url)
    org = Organization(db, settings)
    principal = await org.resolve(key)
    t0 = time.perf_counter()
    for _ in range(n):
        principal = await org.resolve(key)
        org.limits.requests(str(principal.project_id), principal.key_id)
    per = (time.perf_counter() - t0) / n
    await db.dispose()
    return per * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    lists, seconds = (200, 5.0) if args.quick else (1000, 15.0)
    out: dict[str, Any] = {"lists": lists, "runs_seconds": seconds}
    with tempfile.TemporaryDirectory(prefix="assistantd-isolation-") as tmp:
        for name, others in (("one", 0), ("many", 999)):
            data = Path(tmp) / name
            made = subprocess.run(
                [ASSISTANTD, "keys", "create", "--project", "bench"],
                env=_env(data),
                capture_output=True,
                text=True,
                check=True,
            )
            key = made.stdout.strip()
            t0 = time.perf_counter()
            _seed(data / "assistantd.db", others, 100)
            seeded = time.perf_counter() - t0
            with _server(data) as (base, proc):
                result = asyncio.run(_measure(base, proc.pid, key, lists, seconds))
            result["projects"] = others + 1
            result["seed_seconds"] = round(seeded, 1)
            result["auth_us_per_request"] = round(asyncio.run(_auth_cost(data, key, 20000)), 2)
            result["auth_share_of_messages_list_cpu"] = round(
                result["auth_us_per_request"] / 1000 / result["server_cpu_ms_per_messages_list"], 4
            )
            out[name] = result
            print(name, json.dumps(result), flush=True)
    one, many = out["one"], out["many"]
    out["ratios_many_over_one"] = {
        "messages_list_p50": round(many["messages_list_p50_ms"] / one["messages_list_p50_ms"], 3),
        "runs_per_s": round(many["runs_per_s"] / one["runs_per_s"], 3),
    }
    print("ratios", json.dumps(out["ratios_many_over_one"]))
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    path = results / f"isolation-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps(out, indent=2))
    print("wrote", path)


if __name__ == "__main__":
    main()
