"""Crash safety, measured: ``kill -9`` workers at random moments under load, then a PostgreSQL restart.

    .venv/bin/python bench/crash.py                 # 50 kills, then one PostgreSQL restart
    .venv/bin/python bench/crash.py --kills 10      # fewer

A deployment of real processes on loopback (``tests/_deployment.py``: the commands and environments of
``deploy/compose.yaml``): two API processes (``serve --api-only``), four workers, the embedded PostgreSQL of
the tests, a paced fake upstream, ``ASSISTANTD_LEASE_SECONDS=3``. Load generators drive both APIs through the
official client, spread over the two API processes: streamed runs, runs that wait for tool outputs and are
answered, background responses, streamed responses, and vector store file batches. Meanwhile, every 1-3 s,
one worker is killed with SIGKILL (never leaving fewer than two alive) and a replacement is started.
After the kills, the load stops, and the check waits for everything to settle, then verifies:

* every run is ``completed`` (none ``failed``, none stuck); every response ``completed``;
* each run's thread holds its user message once and exactly one ``completed`` answer with the whole text
  (an interrupted answer stays beside it as ``incomplete``); each response has one output message, whole;
* every stream ended with its terminal event (``thread.run.completed``, ``response.completed``);
* no vector store file is left ``in_progress``, none failed, no chunk was written twice;
* no job is left in the queue.

Then the same load runs through a PostgreSQL restart (``pg_ctl restart -m fast``) and is checked the same
way, except that a request that met the restart may have failed (counted and reported: the client sees a
503 with ``Retry-After`` or a dropped connection, which the SDK retries).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import openai
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests._deployment import Deployment, fake_upstream  # noqa: E402
from tests._postgres import EmbeddedPostgres  # noqa: E402

TOKENS = 60
ANSWER = " ".join(["tok"] * TOKENS)
ONE_API = ["serve", "--api-only", "--port", "0"]
SETTLE_SECONDS = 60.0
TOOL = {
    "type": "function",
    "function": {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}},
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Load:
    """The load generators and what they created (to be checked once everything settled)."""

    def __init__(self, urls: list[str], retries: int) -> None:
        self.clients = [
            openai.AsyncOpenAI(base_url=f"{u}/v1", api_key="x", max_retries=retries, timeout=120) for u in urls
        ]
        self.runs: list[tuple[str, str]] = []
        self.waiting_runs: list[tuple[str, str]] = []
        self.responses: list[str] = []
        self.stores: list[tuple[str, int]] = []
        self.streams_ended_badly: list[str] = []
        self.errors: list[str] = []
        self.stop = asyncio.Event()
        self.assistant = ""
        self.tool_assistant = ""
        self.code_assistant = ""
        self.durations: list[float] = []
        """Seconds from the first request to the end, per finished piece of work."""

    def client(self) -> openai.AsyncOpenAI:
        return random.choice(self.clients)

    async def setup(self) -> None:
        c = self.clients[0]
        self.assistant = (await c.beta.assistants.create(model=f"fake-{TOKENS}")).id
        tool_model = f"fake-calls-{TOKENS}"
        self.tool_assistant = (await c.beta.assistants.create(model=tool_model, tools=[TOOL])).id  # type: ignore[list-item]
        code = await c.beta.assistants.create(model=tool_model, tools=[{"type": "code_interpreter"}])
        self.code_assistant = code.id

    async def _loop(self, one: Any) -> None:
        while not self.stop.is_set():
            try:
                began = time.monotonic()
                await one()
                self.durations.append(time.monotonic() - began)
            except Exception as exc:  # counted, then checked: a request may meet a restart
                self.errors.append(f"{type(exc).__name__}: {str(exc)[:120]}")
                await asyncio.sleep(0.2)

    async def streamed_run(self) -> None:
        c = self.client()
        thread = await c.beta.threads.create(messages=[{"role": "user", "content": "stream"}])
        last = ""
        async with c.beta.threads.runs.stream(thread_id=thread.id, assistant_id=self.assistant) as stream:
            async for event in stream:
                last = event.event
            run = stream.current_run
        if run is not None:
            self.runs.append((thread.id, run.id))
        if last != "thread.run.completed":
            self.streams_ended_badly.append(f"run stream ended with {last!r}")

    async def tool_run(self) -> None:
        c = self.client()
        thread = await c.beta.threads.create(messages=[{"role": "user", "content": "call lookup"}])
        run = await c.beta.threads.runs.create(thread_id=thread.id, assistant_id=self.tool_assistant)
        self.waiting_runs.append((thread.id, run.id))
        # The fake calls the tool; the outputs are submitted (and the run polled) through either API process.
        while run.status in ("queued", "in_progress", "requires_action"):
            if run.status == "requires_action" and run.required_action is not None:
                outputs = [
                    {"tool_call_id": t.id, "output": "42"} for t in run.required_action.submit_tool_outputs.tool_calls
                ]
                run = await self.client().beta.threads.runs.submit_tool_outputs(
                    run.id,
                    thread_id=thread.id,
                    tool_outputs=outputs,  # type: ignore[arg-type]
                )
                continue
            await asyncio.sleep(0.2)
            run = await self.client().beta.threads.runs.retrieve(run.id, thread_id=thread.id)

    async def code_run(self) -> None:
        c = self.client()
        thread = await c.beta.threads.create(messages=[{"role": "user", "content": "code: print(6 * 7)"}])
        run = await c.beta.threads.runs.create(thread_id=thread.id, assistant_id=self.code_assistant)
        self.runs.append((thread.id, run.id))
        while run.status in ("queued", "in_progress"):
            await asyncio.sleep(0.2)
            run = await self.client().beta.threads.runs.retrieve(run.id, thread_id=thread.id)

    async def background_response(self) -> None:
        c = self.client()
        response = await c.responses.create(model=f"fake-{TOKENS}", input="background", background=True)
        self.responses.append(response.id)
        while response.status in ("queued", "in_progress"):
            await asyncio.sleep(0.2)
            response = await self.client().responses.retrieve(response.id)

    async def streamed_response(self) -> None:
        last = ""
        response_id = ""
        async with await self.client().responses.create(model=f"fake-{TOKENS}", input="stream", stream=True) as s:
            async for event in s:
                last = event.type
                if event.type == "response.created":
                    response_id = event.response.id
        if response_id:
            self.responses.append(response_id)
        if last != "response.completed":
            self.streams_ended_badly.append(f"response stream ended with {last!r}")

    async def ingestion(self) -> None:
        c = self.client()
        files = [
            await c.files.create(
                file=(f"doc-{i}.txt", (f"Document {i}. " + f"Some words about topic {i}. " * 400).encode()),
                purpose="assistants",
            )
            for i in range(3)
        ]
        store = await c.vector_stores.create(name="crash")
        await c.vector_stores.file_batches.create(store.id, file_ids=[f.id for f in files])
        self.stores.append((store.id, len(files)))
        await asyncio.sleep(1.0)

    async def run(self) -> None:
        kinds = [self.streamed_run] * 3 + [self.tool_run, self.background_response, self.streamed_response] * 2
        kinds += [self.ingestion, self.code_run]
        await asyncio.gather(*(self._loop(k) for k in kinds))

    async def close(self) -> None:
        for c in self.clients:
            await c.close()


async def settle(load: Load, database_url: str) -> dict[str, Any]:
    """Wait until nothing is active, then check everything created. Returns the findings."""
    c = load.clients[0]
    began = time.monotonic()
    problems: list[str] = []
    runs = load.runs + load.waiting_runs
    while time.monotonic() - began < SETTLE_SECONDS:
        with psycopg.connect(database_url) as conn:
            active = conn.execute(
                "select count(*) from runs where status in ('queued', 'in_progress', 'cancelling')"
            ).fetchone()
            ingesting = conn.execute("select count(*) from vector_store_files where status = 'in_progress'").fetchone()
        if active and ingesting and active[0] == 0 and ingesting[0] == 0:
            break
        await asyncio.sleep(0.5)
    settled_after = round(time.monotonic() - began, 1)
    for thread_id, run_id in runs:
        run = await c.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        if run.status != "completed":
            problems.append(f"run {run_id}: {run.status} {run.last_error}")
            continue
        messages = (await c.beta.threads.messages.list(thread_id, order="asc", limit=100)).data
        users = [m for m in messages if m.role == "user"]
        done = [m for m in messages if m.role == "assistant" and m.status == "completed"]
        if len(users) != 1:
            problems.append(f"run {run_id}: {len(users)} user messages")
        if len(done) != 1 or done[0].content[0].text.value != ANSWER:  # type: ignore[union-attr]
            problems.append(f"run {run_id}: {len(done)} completed answers")
    for response_id in load.responses:
        try:
            response = await c.responses.retrieve(response_id)
        except openai.NotFoundError:
            continue  # a streamed store:false... (all are stored here; kept for safety)
        messages = [o for o in response.output if o.type == "message"]
        if response.status != "completed" or len(messages) != 1 or response.output_text != ANSWER:
            problems.append(f"response {response_id}: {response.status}, {len(messages)} messages")
    for store_id, files in load.stores:
        store = await c.vector_stores.retrieve(store_id)
        if store.file_counts.completed != files:
            problems.append(f"store {store_id}: {store.file_counts}")
    with psycopg.connect(database_url) as conn:
        twice = conn.execute(
            "select count(*) from (select store_id, file_id, chunk_index from retrieval_chunks "
            "group by 1, 2, 3 having count(*) > 1) d"
        ).fetchone()
        jobs = conn.execute("select count(*) from jobs").fetchone()
        interrupted = conn.execute("select count(*) from messages where status = 'incomplete'").fetchone()
    if twice and twice[0]:
        problems.append(f"{twice[0]} chunks written twice")
    if jobs and jobs[0]:
        problems.append(f"{jobs[0]} jobs left in the queue")
    orphans = orphaned_sandboxes()
    if orphans:
        problems.append(f"sandbox processes whose worker is gone: {orphans}")
    durations = sorted(load.durations)
    return {
        "runs": len(runs),
        "responses": len(load.responses),
        "vector_store_batches": len(load.stores),
        "interrupted_answers_kept_incomplete": interrupted[0] if interrupted else 0,
        "settled_after_s": settled_after,
        "work_seconds_p50": round(durations[len(durations) // 2], 2) if durations else None,
        "work_seconds_max": round(durations[-1], 2) if durations else None,
        "streams_ended_badly": load.streams_ended_badly,
        "request_errors": len(load.errors),
        "request_error_kinds": sorted(set(e.split(":")[0] for e in load.errors)),
        "problems": problems,
    }


def orphaned_sandboxes() -> list[int]:
    """``bwrap`` processes (code_interpreter sessions) whose parent is not an assistantd process: left behind by
    a killed worker (``--die-with-parent`` should end them with it)."""
    orphans = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() != "bwrap":
                continue
            status = (proc / "status").read_text()
            ppid = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
            parent = (Path("/proc") / str(ppid) / "cmdline").read_bytes()
        except (OSError, StopIteration):
            continue
        if b"assistantd" not in parent and b"bwrap" not in parent:
            orphans.append(int(proc.name))
    return orphans


async def kills(deployment: Deployment, count: int) -> list[float]:
    """Kill a random worker every 1-3 s, ``count`` times, starting a replacement each time."""
    workers = [p for p in deployment.processes if "worker" in p.proc.args]
    times: list[float] = []
    starting: list[threading.Thread] = []
    for n in range(count):
        await asyncio.sleep(random.uniform(1.0, 3.0))
        alive = [w for w in workers if w.proc.poll() is None]
        while len(alive) < 3:
            await asyncio.sleep(0.2)
            alive = [w for w in workers if w.proc.poll() is None]
        victim = random.choice(alive)
        deployment.kill(victim.proc.pid)
        times.append(time.monotonic())
        log(f"kill {n + 1}/{count}: worker {victim.proc.pid}")

        def replace() -> None:
            workers.append(deployment.worker())

        thread = threading.Thread(target=replace)
        thread.start()
        starting.append(thread)
    for thread in starting:
        thread.join()
    return times


async def phase(
    deployment: Deployment, database_url: str, urls: list[str], action: Any, retries: int
) -> dict[str, Any]:
    load = Load(urls, retries)
    await load.setup()
    generators = asyncio.create_task(load.run())
    try:
        detail = await action()
    finally:
        load.stop.set()
        # What is in flight finishes (a run waiting on a stuck one would never: it is cut, and then reported
        # by the checks below as not completed).
        done, _ = await asyncio.wait({generators}, timeout=SETTLE_SECONDS)
        if not done:
            generators.cancel()
            load.errors.append("Stuck: load generators still waiting after the settle time")
            with contextlib.suppress(asyncio.CancelledError):
                await generators
    findings = await settle(load, database_url)
    await load.close()
    return {**findings, **detail}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    random.seed(args.seed)
    pg = EmbeddedPostgres()  # before the event loop: it migrates its template with asyncio.run
    try:
        results = asyncio.run(measure(pg, args.kills))
    finally:
        pg.stop()
    print(json.dumps(results, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"crash-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json").write_text(json.dumps(results, indent=2))


async def measure(pg: EmbeddedPostgres, kill_count: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    if True:
        with fake_upstream(first_ms=50, every_ms=15, tokens=TOKENS) as upstream, tempfile.TemporaryDirectory() as tmp:
            url = pg.new_database()
            deployment = Deployment(url, Path(tmp) / "data", upstream)
            try:
                apis = [deployment.api(ONE_API), deployment.api(ONE_API)]
                for _ in range(4):
                    deployment.worker()
                urls = [a.url for a in apis]
                log(f"deployment up: 2 API processes, 4 workers; {kill_count} kills")

                async def killing() -> dict[str, Any]:
                    times = await kills(deployment, kill_count)
                    await asyncio.sleep(2)
                    return {"kills": len(times), "kill_span_s": round(times[-1] - times[0], 1)}

                results["worker_kills"] = await phase(deployment, url, urls, killing, retries=0)
                log(json.dumps(results["worker_kills"]))

                async def restarting() -> dict[str, Any]:
                    await asyncio.sleep(4)
                    began = time.monotonic()
                    await asyncio.to_thread(pg.restart)
                    took = time.monotonic() - began
                    await asyncio.sleep(6)
                    return {"postgres_restart_s": round(took, 1)}

                results["postgres_restart"] = await phase(deployment, url, urls, restarting, retries=2)
                log(json.dumps(results["postgres_restart"]))
            finally:
                deployment.stop()
    return results


if __name__ == "__main__":
    main()
