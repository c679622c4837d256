"""Many processes on one PostgreSQL (``deploy/compose.yaml``, ``docs/deploy.md``): API processes that
execute nothing, workers that execute everything, streams that cross them, and a worker killed mid-run.

Real ``assistantd`` processes on loopback, through the official client. They run in the PostgreSQL pass of
the suite (``TEST_DATABASE=postgresql``), where the embedded PostgreSQL is up anyway.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import psycopg
import pytest

from tests._deployment import Deployment, fake_upstream
from tests.conftest import POSTGRES

pytestmark = pytest.mark.skipif(not POSTGRES, reason="runs in the PostgreSQL pass (TEST_DATABASE=postgresql)")

TOKENS = 20
ANSWER = " ".join(["tok"] * TOKENS)
ONE_API = ["serve", "--api-only", "--port", "0"]
"""One API process (the compose file's has two on one port: a test cannot choose which one it talks to)."""


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with fake_upstream(first_ms=30, every_ms=10, tokens=TOKENS) as url:
        yield url


@pytest.fixture
def deployment(postgres: Any, tmp_path: Path, upstream: str) -> Iterator[Deployment]:
    d = Deployment(postgres.new_database(), tmp_path / "data", upstream)
    try:
        yield d
    finally:
        d.stop()


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0, timeout=60)


def _text(messages: Any) -> list[str]:
    return [m.content[0].text.value for m in messages.data if m.content]


def test_compose_services_serve_runs_and_responses(deployment: Deployment) -> None:
    """The compose file as it is: ``serve --api-only --workers 2`` (two API processes on one port) and two
    workers. Runs and responses, streamed and not, all complete; the API processes executed none."""
    api = deployment.api()
    workers = [deployment.worker() for _ in range(deployment.services["worker"]["deploy"]["replicas"])]
    c = client(api.url)
    a = c.beta.assistants.create(model="fake", instructions="Be brief.")
    runs = []
    for i in range(6):
        t = c.beta.threads.create(messages=[{"role": "user", "content": f"question {i}"}])
        runs.append(c.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id, poll_interval_ms=50))
    assert {r.status for r in runs} == {"completed"}
    thread = {"messages": [{"role": "user", "content": "hi"}]}
    with c.beta.threads.create_and_run_stream(assistant_id=a.id, thread=thread) as stream:  # type: ignore[arg-type]
        stream.until_done()
        run = stream.current_run
    assert run is not None and run.status == "completed"
    assert _text(c.beta.threads.messages.list(run.thread_id, run_id=run.id)) == [ANSWER]
    response = c.responses.create(model="fake", input="hello")
    assert response.status == "completed" and response.output_text == ANSWER
    with c.responses.stream(model="fake", input="hello") as rs:
        final = rs.get_final_response()
    assert final.output_text == ANSWER
    assert all(w.proc.poll() is None for w in workers)


def test_a_stream_follows_a_run_executed_by_another_process(deployment: Deployment) -> None:
    """API process A streams a run that a worker executes: every event arrives, in order, once; the text is
    whole. B sees the same run's state, and a background response streamed on A resumes on B with
    ``starting_after``."""
    a_api, b_api = deployment.api(ONE_API), deployment.api(ONE_API)
    deployment.worker()
    a, b = client(a_api.url), client(b_api.url)
    # Long instructions: every run event is past a notification's 8,000 bytes (read back from the table).
    assistant = a.beta.assistants.create(model="fake", instructions="Answer briefly. " * 600)
    thread = b.beta.threads.create(messages=[{"role": "user", "content": "hello"}])
    names: list[str] = []
    text = ""
    with a.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        for event in stream:
            names.append(event.event)
            if event.event == "thread.message.delta":
                for part in event.data.delta.content or []:
                    if part.type == "text" and part.text and part.text.value:
                        text += part.text.value
        run = stream.current_run
    assert run is not None
    assert names[0] == "thread.run.created" and names[-1] == "thread.run.completed"
    assert names.count("thread.run.completed") == 1 and names.count("thread.message.completed") == 1
    assert text == ANSWER
    assert b.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "completed"
    assert _text(b.beta.threads.messages.list(thread.id, run_id=run.id)) == [ANSWER]

    # Responses: stream on A, stop reading after a few events, resume on B.
    seen: list[int] = []
    with a.responses.create(model="fake-60", input="hi", background=True, stream=True) as first:
        for event in first:
            seen.append(event.sequence_number)
            if event.type == "response.created":
                response_id = event.response.id
            if len(seen) == 8:
                break
    rest = list(b.responses.retrieve(response_id, stream=True, starting_after=seen[-1]))
    numbers = seen + [e.sequence_number for e in rest]
    assert numbers == list(range(len(numbers)))
    assert rest[-1].type == "response.completed"
    assert rest[-1].response.output_text == " ".join(["tok"] * 60)


def test_cancel_reaches_the_worker_executing_the_run(deployment: Deployment) -> None:
    api = deployment.api(ONE_API)
    deployment.worker()
    c = client(api.url)
    assistant = c.beta.assistants.create(model="fake-2000")
    thread = c.beta.threads.create(messages=[{"role": "user", "content": "talk"}])
    run = c.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    _wait(lambda: c.beta.threads.messages.list(thread.id).data[0].role == "assistant", "the answer to start")
    started = time.monotonic()
    c.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    done = _wait(lambda: _terminal(c, thread.id, run.id), "the run to stop")
    assert done.status == "cancelled"
    assert time.monotonic() - started < 2.0  # the worker was told at once, not at its next heartbeat


def test_a_killed_worker_costs_a_retry_not_a_failed_run(deployment: Deployment) -> None:
    """``kill -9`` the worker executing a streamed run: another worker takes it over once the lease lapses
    and takes the interrupted turn again; the client's stream carries on to ``completed``. The thread keeps
    the interrupted answer as ``incomplete`` and the new one as ``completed``."""
    api = deployment.api(ONE_API)
    deployment.worker()
    deployment.worker()
    c = client(api.url)
    assistant = c.beta.assistants.create(model="fake-300")
    thread = c.beta.threads.create(messages=[{"role": "user", "content": "tell me"}])
    names: list[str] = []
    killed = False
    with c.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        for event in stream:
            names.append(event.event)
            if event.event == "thread.message.delta" and not killed and names.count("thread.message.delta") == 20:
                deployment.kill(_executing_pid(deployment, stream.current_run.id))  # type: ignore[union-attr]
                killed = True
        run_id = stream.current_run.id  # type: ignore[union-attr]
    assert killed and names[-1] == "thread.run.completed"
    assert "thread.message.incomplete" in names and "thread.run.step.failed" in names
    messages = c.beta.threads.messages.list(thread.id, run_id=run_id, order="asc").data
    assert [m.status for m in messages] == ["incomplete", "completed"]
    assert messages[1].content[0].text.value == " ".join(["tok"] * 300)  # type: ignore[union-attr]
    run = c.beta.threads.runs.retrieve(run_id, thread_id=thread.id)
    assert run.status == "completed" and run.last_error is None


def test_an_api_process_that_loses_the_database_ends_its_streams_and_reconnects(
    deployment: Deployment, postgres: Any
) -> None:
    api = deployment.api(ONE_API)
    deployment.worker()
    c = client(api.url)
    assistant = c.beta.assistants.create(model="fake-2000")
    thread = c.beta.threads.create(messages=[{"role": "user", "content": "talk"}])
    ended = False
    with c.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        for n, _event in enumerate(stream):
            if n == 10:
                _terminate_listeners(postgres, deployment.env["ASSISTANTD_DATABASE_URL"])
        ended = True
        run_id = stream.current_run.id  # type: ignore[union-attr]
    assert ended  # the stream ended rather than hanging
    c.beta.threads.runs.cancel(run_id, thread_id=thread.id)
    _wait(lambda: _terminal(c, thread.id, run_id), "the run to stop")
    # The process listens again (within a second or so): a new stream on it is whole.
    short = c.beta.assistants.create(model="fake")
    t2 = c.beta.threads.create(messages=[{"role": "user", "content": "again"}])
    for _ in range(50):
        with c.beta.threads.runs.stream(thread_id=t2.id, assistant_id=short.id) as stream:
            stream.until_done()
            if stream.current_run is not None and stream.current_run.status == "completed":
                break
        time.sleep(0.2)
    assert stream.current_run is not None and stream.current_run.status == "completed"


# --- helpers ----------------------------------------------------------------------------------------------


def _wait(predicate: Any, what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except (openai.APIError, httpx.HTTPError, IndexError):
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _terminal(c: openai.OpenAI, thread_id: str, run_id: str) -> Any:
    run = c.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
    return run if run.status in ("completed", "failed", "cancelled", "expired", "incomplete") else None


def _executing_pid(deployment: Deployment, run_id: str) -> int:
    """The pid of the worker holding ``run_id``'s job lease (``w_<pid>_...``)."""

    def owner() -> str | None:
        with psycopg.connect(deployment.env["ASSISTANTD_DATABASE_URL"]) as conn:
            row = conn.execute("select lease_owner from jobs where run_id = %s", (run_id,)).fetchone()
        return row[0] if row and row[0] else None

    return int(_wait(owner, "the run's lease").split("_")[1])


def _terminate_listeners(postgres: Any, url: str) -> None:
    """End the deployment's LISTEN connections (the API process's and the worker's)."""
    database = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    postgres.execute(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s and query like 'LISTEN%%'",
        database,
    )


def test_a_threads_code_interpreter_session_stays_with_its_worker(deployment: Deployment) -> None:
    """A thread's runs go to the worker holding its code_interpreter session while it lives (its variables
    persist across runs, whichever of two workers would claim first); when that worker dies, another takes
    the next run with a new session, the thread's files back in /mnt/data, and tells the model so."""
    api = deployment.api(ONE_API)
    deployment.worker()
    deployment.worker()
    c = client(api.url)
    assistant = c.beta.assistants.create(model="fake-calls-5", tools=[{"type": "code_interpreter"}])
    data = c.files.create(file=("kept.txt", b"kept"), purpose="assistants")
    thread = c.beta.threads.create()
    attachments = [{"file_id": data.id, "tools": [{"type": "code_interpreter"}]}]

    def execute(code: str) -> str:
        """Run ``code`` in the thread's session; its logs."""
        c.beta.threads.messages.create(
            thread.id,
            role="user",
            content=f"code: {code}",
            attachments=attachments if attachments else None,  # type: ignore[arg-type]
        )
        attachments.clear()
        run = c.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50)
        assert run.status == "completed", run.last_error
        steps = c.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
        [call] = next(s for s in steps if s.type == "tool_calls").step_details.tool_calls  # type: ignore[union-attr]
        return "".join(o.logs for o in call.code_interpreter.outputs if o.type == "logs")  # type: ignore[union-attr]

    def host() -> int:
        """The pid of the worker holding the thread's session (``kernel_hosts.owner`` is ``w_<pid>_...``)."""
        with psycopg.connect(deployment.env["ASSISTANTD_DATABASE_URL"]) as conn:
            row = conn.execute("select owner from kernel_hosts where key = %s", (thread.id,)).fetchone()
        assert row is not None
        return int(row[0].split("_")[1])

    execute("x = 1")
    first = host()
    for n in range(2, 8):
        logs = execute("x += 1\nprint(x)")
        assert logs.strip() == str(n), logs  # the same session every time: its variables are there
        assert host() == first
    deployment.kill(first)
    logs = execute("print(open('/mnt/data/kept.txt').read())\nprint(x)")
    assert "new session" in logs and "kept" in logs and "NameError" in logs, logs
    assert host() != first


def test_workers_serve_their_own_metrics(postgres: Any, tmp_path: Path, upstream: str) -> None:
    """``assistantd worker --processes 2`` with ``ASSISTANTD_WORKER_METRICS_PORT``: each worker process serves
    ``GET /metrics`` on the port plus its slot, and the runs it executed are counted there, not by the API."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    d = Deployment(
        postgres.new_database(),
        tmp_path / "data",
        upstream,
        ASSISTANTD_METRICS="true",
        ASSISTANTD_WORKER_METRICS_PORT=str(port),
    )
    try:
        api = d.api(ONE_API)
        worker = d._spawn(["worker", "--processes", "2"])
        worker.wait_for_line(f"worker metrics on http://127.0.0.1:{port + 1}/metrics")
        c = client(api.url)
        a = c.beta.assistants.create(model="fake")
        for _ in range(3):
            run = c.beta.threads.create_and_run_poll(
                assistant_id=a.id, thread={"messages": [{"role": "user", "content": "hi"}]}
            )
            assert run.status == "completed"
        counted = 0.0
        for slot in (0, 1):
            text = httpx.get(f"http://127.0.0.1:{port + slot}/metrics", timeout=10).text
            assert "# TYPE assistantd_runs" in text, text[:500]
            counted += sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("assistantd_runs_total{") and 'status="completed"' in line
            )
        assert counted == 3
        api_text = httpx.get(f"{api.url}/metrics", timeout=10).text
        assert not any(
            line.startswith("assistantd_runs_total{") and float(line.rsplit(" ", 1)[1]) > 0
            for line in api_text.splitlines()
        )
    finally:
        d.stop()
