"""``scripts/export_openai.py`` against an assistantd on loopback (never anything else), then ``assistantd
import`` of its export into a fresh data dir: every object reads back the same through the official client."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from assistantd import Settings, create_app
from tests._cli import clean_env, run_cli
from tests._serve import serve_in_thread

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "export_openai.py"


@pytest.fixture
def sandbox_settings(settings: Settings, tmp_path: Path) -> Iterator[Any]:
    def make(name: str) -> Settings:
        return settings.model_copy(update={"data_dir": tmp_path / name})

    yield make


def _client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="sk-test", max_retries=0)


def _ingested(client: openai.OpenAI, store_id: str) -> Any:
    deadline = time.monotonic() + 30
    while (store := client.vector_stores.retrieve(store_id)).file_counts.in_progress:
        assert time.monotonic() < deadline, store
        time.sleep(0.05)
    return store


def _populate(client: openai.OpenAI) -> list[str]:
    doc = client.files.create(file=("policy.md", b"# Returns\nFree within 30 days."), purpose="assistants")
    data = client.files.create(file=("data.csv", b"a,b\n1,2\n"), purpose="assistants")
    store = client.vector_stores.create(name="Policies", file_ids=[doc.id], metadata={"team": "support"})
    client.beta.assistants.create(
        model="gpt-4o-mini",
        name="Support",
        instructions="Answer from the policies.",
        tools=[{"type": "file_search", "file_search": {"max_num_results": 4}}, {"type": "code_interpreter"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}, "code_interpreter": {"file_ids": [data.id]}},
        response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object"}}},
        metadata={"env": "prod"},
    )
    client.beta.assistants.create(model="gpt-4o", name="Second", temperature=0.2)
    first = client.beta.threads.create(
        messages=[
            {"role": "user", "content": "Hello"},
            {
                "role": "user",
                "content": "Can I return this?",
                "attachments": [{"file_id": doc.id, "tools": [{"type": "file_search"}]}],
            },
        ],
        metadata={"user": "42"},
    )
    client.beta.threads.messages.create(first.id, role="assistant", content="Yes, within 30 days.")
    client.beta.threads.messages.create(
        first.id, role="user", content=[{"type": "image_url", "image_url": {"url": "https://example.com/r.png"}}]
    )
    second = client.beta.threads.create(tool_resources={"code_interpreter": {"file_ids": [data.id]}})
    client.beta.threads.messages.create(second.id, role="user", content="Sum column b.")
    return [first.id, second.id]


def _snapshot(client: openai.OpenAI, thread_ids: list[str]) -> dict[str, Any]:
    stores = [s.id for s in client.vector_stores.list(order="asc")]
    return {
        "assistants": [a.to_dict() for a in client.beta.assistants.list(order="asc")],
        "threads": [client.beta.threads.retrieve(t).to_dict() for t in thread_ids],
        "messages": [[m.to_dict() for m in client.beta.threads.messages.list(t, order="asc")] for t in thread_ids],
        "files": [f.to_dict() for f in client.files.list(order="asc")],
        "bytes": [client.files.content(f.id).read() for f in client.files.list(order="asc")],
        "stores": [_ingested(client, s).to_dict() for s in stores],
        "store_files": [
            [(f.id, f.status, f.chunking_strategy) for f in client.vector_stores.files.list(s, order="asc")]
            for s in stores
        ],
    }


def test_export_from_one_assistantd_and_import_into_another(tmp_path: Path, sandbox_settings: Any) -> None:
    with serve_in_thread(create_app(sandbox_settings("source"))) as url:
        thread_ids = _populate(_client(url))
        before = _snapshot(_client(url), thread_ids)
        (tmp_path / "threads.txt").write_text(f"# exported threads\n{thread_ids[0]}\n{thread_ids[1]}  # second\n")
        assert url.startswith("http://127.0.0.1:")  # the script talks to loopback only, here
        export = subprocess.run(
            [
                sys.executable,
                str(SCRIPT),
                str(tmp_path / "export"),
                "--threads",
                str(tmp_path / "threads.txt"),
                "thread_missing",
                "--base-url",
                f"{url}/v1",
            ],
            env=clean_env(OPENAI_API_KEY="sk-test"),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert export.returncode == 1, export.stderr  # the unknown thread is reported...
    assert "thread thread_missing: not found" in export.stderr
    assert "2 assistants" in export.stderr and "2 threads" in export.stderr  # ...and the rest exported

    target = sandbox_settings("target")
    result = run_cli("import", str(tmp_path / "export"), "--data-dir", str(target.data_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "notes" not in result.stdout

    with serve_in_thread(create_app(target)) as url:
        after = _snapshot(_client(url), thread_ids)
    for key in before:
        assert after[key] == before[key], key
