"""Logs of a real ``assistantd serve`` in JSON (``ASSISTANTD_LOG_FORMAT=json``), with tracing exported over
OTLP/HTTP to a loopback sink: one JSON object per line, the request line's fields, the run and response ids
and the trace id where known, and never a key, a file's content or a message's text."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import openai
import pytest

from tests._cli import clean_env, serving
from tests._serve import serve_in_thread
from tests.observability._otlp_sink import OtlpSink
from tests.observability._traffic import ANSWERING, BROKEN, fake_upstream

KEY = "sk-proj-SECRETkeyXk7Qw9Zp"
WRONG_KEY = "sk-WRONGsecretMm3Vn8"
MESSAGE = "Narwhal-Ultramarine-Prompt the user typed"
FILE_CONTENT = b"Quokka-Vermilion-Content of an uploaded file"
RESPONSE_INPUT = "Axolotl-Saffron-Input of a response"


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Any:
    sink = OtlpSink()
    with fake_upstream() as (upstream, upstream_url), serve_in_thread(sink.app(), lifespan="off") as sink_url:
        env = clean_env(
            ASSISTANTD_LOG_FORMAT="json",
            ASSISTANTD_ACCESS_LOG="true",
            ASSISTANTD_API_KEYS=KEY,
            ASSISTANTD_UPSTREAM_BASE_URL=upstream_url,
            ASSISTANTD_UPSTREAM_API_KEY="sk-upstream-SECRETzz",
            ASSISTANTD_UPSTREAM_MAX_RETRIES="0",
            ASSISTANTD_EMBEDDINGS="hashing",
            ASSISTANTD_OTLP_ENDPOINT=sink_url,
            ASSISTANTD_DATABASE_URL=database_url,
        )
        with serving(tmp_path / "data", env=env) as server:
            yield server, sink, upstream


def test_json_lines_with_context_and_no_secrets(served: Any) -> None:
    server, sink, upstream = served
    with (
        openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0) as client,
        openai.OpenAI(base_url=server.url + "/v1", api_key=WRONG_KEY, max_retries=0) as stranger,
    ):
        uploaded = client.files.create(file=("notes.txt", FILE_CONTENT), purpose="assistants")
        assistant = client.beta.assistants.create(model=ANSWERING)
        thread = client.beta.threads.create(messages=[{"role": "user", "content": MESSAGE}])
        created = client.beta.threads.runs.with_raw_response.create(thread_id=thread.id, assistant_id=assistant.id)
        run = client.beta.threads.runs.poll(created.parse().id, thread_id=thread.id)
        assert run.status == "completed"
        failed = client.beta.threads.create_and_run_poll(
            assistant_id=assistant.id, model=BROKEN, thread={"messages": [{"role": "user", "content": MESSAGE}]}
        )
        assert failed.status == "failed"
        response = client.responses.create(model=BROKEN, input=RESPONSE_INPUT, background=True)
        deadline = time.monotonic() + 60
        while response.status in ("queued", "in_progress") and time.monotonic() < deadline:
            time.sleep(0.05)
            response = client.responses.retrieve(response.id)
        assert response.status == "failed"
        with pytest.raises(openai.AuthenticationError):
            stranger.models.list()
    assert any(MESSAGE in json.dumps(r) for r in upstream.requests)  # the text did travel, to the upstream
    server.wait_for_line(r'"status":401')
    server.stop()  # flushes the batched spans to the sink

    lines = [json.loads(line) for line in server.lines]  # every line is one JSON object
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"]) for line in lines)
    for secret in (KEY, WRONG_KEY, "sk-upstream-SECRETzz", MESSAGE, FILE_CONTENT.decode(), RESPONSE_INPUT):
        assert secret not in server.log, secret
    assert "Narwhal" not in server.log and "Quokka" not in server.log and "Axolotl" not in server.log

    # The request line: route template, status, duration, request id (the SDK's), project, trace id.
    (line,) = [x for x in lines if x.get("route") == "/v1/threads/{thread_id}/runs" and x.get("method") == "POST"]
    assert line["logger"] == "assistantd.access" and line["level"] == "INFO"
    assert line["status"] == 200 and isinstance(line["duration_ms"], float)
    assert line["request_id"] == created.headers["x-request-id"]
    assert line["project"].startswith("proj_")
    assert re.fullmatch(r"[0-9a-f]{32}", line["trace_id"]) and re.fullmatch(r"[0-9a-f]{16}", line["span_id"])
    assert thread.id not in line["message"]
    upload = next(x for x in lines if x.get("route") == "/v1/files" and x.get("method") == "POST")
    assert upload["status"] == 200 and uploaded.id not in json.dumps(upload)
    refused = next(x for x in lines if x.get("status") == 401)
    assert refused["route"] == "/v1/models" and "project" not in refused

    # Lines logged while a run or response executed carry its id and trace.
    (run_line,) = [x for x in lines if x.get("run_id") == failed.id]
    assert run_line["level"] == "WARNING" and run_line["trace_id"]
    (response_line,) = [x for x in lines if x.get("response_id") == response.id]
    assert response_line["level"] == "WARNING" and response_line["trace_id"]

    # The same trace ids reached the OTLP sink: spans of the run, with the run's id and thread id.
    runs = [
        s for s in sink.spans if s["name"] == "assistantd.run" and s["attributes"].get("assistantd.run_id") == failed.id
    ]
    assert runs and runs[0]["trace_id"] == run_line["trace_id"]
    assert runs[0]["attributes"]["assistantd.thread_id"] == failed.thread_id
    assert runs[0]["resource"]["service.name"] == "assistantd"
    requests = [s for s in sink.spans if s["trace_id"] == line["trace_id"] and s["name"].startswith("POST /v1/")]
    assert requests and requests[0]["attributes"]["assistantd.request_id"] == line["request_id"]
    for secret in (KEY, MESSAGE, FILE_CONTENT.decode(), "sk-upstream-SECRETzz"):
        assert secret not in json.dumps(sink.spans)
