"""One big request or run never stalls the server: ``/health`` stays fast while a ~4 MB thread is posted and
its run builds the model's input (tokenizing the whole thread).

The server is a real uvicorn on loopback; the prober is a plain thread timing ``GET /health`` round trips,
so what it measures is how long the server's event loop was busy elsewhere. Bounds are generous for a
noisy 2-core machine but far below what a blocked loop shows (seconds).
"""

from __future__ import annotations

import json
import random
import string
import threading
import time
from collections.abc import Iterator

import httpx2
import openai
import pytest
from fastapi import FastAPI
from openai.types.beta import Thread

from assistantd.backends.scripted import Say, ScriptedBackend
from tests._serve import serve_in_thread

MESSAGE_CHARS = 250_000
MESSAGES = 16  # 4 MB of text in all
SLOW = 0.25


class Prober:
    """Times ``GET /health`` back to back from its own thread until stopped."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._probe, name="health-prober", daemon=True)

    def _probe(self) -> None:
        with httpx2.Client(base_url=self.base_url, timeout=60) as http:
            while not self._stop.is_set():
                started = time.perf_counter()
                assert http.get("/health").status_code == 200
                self.latencies.append(time.perf_counter() - started)
                self._stop.wait(0.001)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _prose(rnd: random.Random, chars: int) -> str:
    words = ("".join(rnd.choice(string.ascii_lowercase) for _ in range(rnd.randint(2, 9))) for _ in range(chars // 3))
    return " ".join(words)[:chars]


@pytest.fixture
def base_url(fastapi_app: FastAPI) -> Iterator[str]:
    with serve_in_thread(fastapi_app) as url:
        yield url


@pytest.mark.settings(upstream_context_window=8_000_000)  # the whole thread fits: nothing is truncated away
async def test_health_stays_fast_while_a_big_thread_runs(base_url: str, backend: ScriptedBackend) -> None:
    rnd = random.Random(8)
    texts = [_prose(rnd, MESSAGE_CHARS) for _ in range(MESSAGES)]
    # Encoded up front: the test's own client shares the server's process (and GIL).
    body = json.dumps({"messages": [{"role": "user", "content": t} for t in texts]}).encode()
    backend.add(Say("first"), Say("second"))
    headers = {"Authorization": "Bearer sk-test", "content-type": "application/json"}
    async with (
        openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="sk-test", max_retries=0, timeout=120) as client,
        httpx2.AsyncClient(base_url=base_url + "/v1", headers=headers, timeout=120) as raw,
    ):
        assistant = await client.beta.assistants.create(model="m")
        with Prober(base_url) as prober:
            created = await raw.post("/threads", content=body)
            assert created.status_code == 200, created.text
            thread = Thread.model_validate(created.json())
            for _ in range(2):  # the second turn over the same history must not cost the first's again
                run = await client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
                assert run.status == "completed", run.last_error
    assert len(backend.requests) == 2
    assert [m.content for m in backend.requests[0].messages] == texts
    slow = [round(x, 3) for x in prober.latencies if x > SLOW]
    assert len(prober.latencies) > 20, prober.latencies
    assert not slow, f"{len(slow)} of {len(prober.latencies)} health probes took over {SLOW} s: {slow}"
    assert prober.p99() < 0.1, sorted(prober.latencies)[-10:]
