"""``assistantd ingest DIR``: the real command against a real ``assistantd serve`` on a loopback port, checked
through the official client (exit status, stdout summary, stderr progress, what the store then holds)."""

from __future__ import annotations

import os
import pty
import subprocess
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests._cli import ASSISTANTD, ServerProcess, clean_env, run_cli, serving

KEY = "sk-ingest"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("ingest") / "data"
    env = clean_env(ASSISTANTD_EMBEDDINGS="hashing", ASSISTANTD_API_KEYS=KEY)
    with serving(data, env=env) as running:
        yield running


@pytest.fixture
def api(server: ServerProcess) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0) as client:
        yield client


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    (root / "guide").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "intro.md").write_text("# Intro\n\nThe blue whale is the largest animal that ever lived.\n")
    (root / "guide" / "penguins.txt").write_text("Emperor penguins breed during the Antarctic winter.\n")
    (root / "guide" / "notes.md").write_text("Octopuses have three hearts and blue blood.\n")
    (root / "logo.png").write_bytes(PNG)  # not text: ingestion fails it
    (root / ".env").write_text("SECRET=1\n")  # hidden: never uploaded
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return root


def ingest(server: ServerProcess, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli("ingest", *args, "--base-url", f"{server.url}/v1", env=clean_env(OPENAI_API_KEY=KEY, **env))


def store_files(api: openai.OpenAI, store_id: str) -> dict[str, tuple[str, str]]:
    """filename → (status, path attribute) of the store's files."""
    out: dict[str, tuple[str, str]] = {}
    for f in api.vector_stores.files.list(store_id, limit=100):
        out[api.files.retrieve(f.id).filename] = (f.status, str((f.attributes or {}).get("path")))
    return out


def test_ingest_a_folder_with_one_bad_file(server: ServerProcess, api: openai.OpenAI, docs: Path) -> None:
    store = api.vector_stores.create(name="docs")
    result = ingest(server, str(docs), "--vector-store", store.id)

    assert result.returncode == 1, result.stderr
    out = result.stdout.splitlines()
    assert out[0].startswith(f"vector store {store.id} (docs): 4 files, 3 completed, 1 failed; ")
    assert "files/s" in out[0]
    assert out[1:] == ["failed (1):", f"  logo.png: unsupported_file: {out[2].split(': ', 2)[2]}"]
    assert "not supported" in out[2]
    # Not a terminal: plain lines, the last one final.
    progress = result.stderr.splitlines()
    assert progress and all(line.startswith("ingest: ") for line in progress), result.stderr
    assert "\r" not in result.stderr
    assert progress[-1].startswith("ingest: 4/4 files done, 1 failed, ") and progress[-1].endswith(" files/s")

    assert store_files(api, store.id) == {
        "intro.md": ("completed", "intro.md"),
        "notes.md": ("completed", "guide/notes.md"),
        "penguins.txt": ("completed", "guide/penguins.txt"),
        "logo.png": ("failed", "logo.png"),
    }
    after = api.vector_stores.retrieve(store.id)
    assert after.file_counts.completed == 3 and after.file_counts.failed == 1
    assert after.usage_bytes > 0
    hits = api.vector_stores.search(store.id, query="emperor penguins antarctic winter")
    assert hits.data[0].filename == "penguins.txt"


def test_glob_and_create(server: ServerProcess, api: openai.OpenAI, docs: Path) -> None:
    result = ingest(server, str(docs), "--create", "markdown only", "--glob", "*.md", "--no-progress")

    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert " (markdown only): 2 files, 2 completed; " in line and "failed" not in line
    store_id = line.split()[2]
    assert result.stderr == f"created vector store {store_id} (markdown only)\n"
    assert api.vector_stores.retrieve(store_id).name == "markdown only"
    assert set(store_files(api, store_id)) == {"intro.md", "notes.md"}


def test_new_store_named_after_the_folder_with_the_servers_own_key(server: ServerProcess, docs: Path) -> None:
    # No OPENAI_API_KEY: the first of ASSISTANTD_API_KEYS (the server's environment) is used.
    result = run_cli(
        "ingest",
        str(docs / "guide"),
        "--vector-store",
        "new",
        "--base-url",
        f"{server.url}/v1",
        env=clean_env(ASSISTANTD_API_KEYS=f"{KEY},sk-other"),
    )
    assert result.returncode == 0, result.stderr
    assert " (guide): 2 files, 2 completed; " in result.stdout


def test_progress_on_a_terminal_is_one_line_redrawn(server: ServerProcess, docs: Path) -> None:
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [ASSISTANTD, "ingest", str(docs), "--create", "tty", "--base-url", f"{server.url}/v1"],
            env=clean_env(OPENAI_API_KEY=KEY),
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            timeout=120,
        )
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    shown = b"".join(chunks).decode()
    assert proc.returncode == 1
    lines = shown.replace("\r\n", "\n").split("\n")
    assert lines[0].startswith("created vector store ")
    bar = lines[1]
    assert bar.startswith("\r[") and "ingest: " not in bar
    last = bar.rsplit("\r", 1)[-1]
    assert last.startswith("[####################] 4/4 files done, 1 failed, ")
    assert lines[2:] == [""]


def test_unknown_store_is_a_usage_error(server: ServerProcess, api: openai.OpenAI, docs: Path) -> None:
    before = len(api.files.list().data)
    result = ingest(server, str(docs), "--vector-store", "vs_nope")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"assistantd: error: no vector store 'vs_nope' at {server.url}/v1 (check the id, or create one with "
        "--create NAME or --vector-store new)\n"
    )
    assert len(api.files.list().data) == before  # nothing uploaded


def test_a_refused_key_is_a_usage_error(server: ServerProcess, docs: Path) -> None:
    result = ingest(server, str(docs), "--vector-store", "new", "--api-key", "sk-wrong")
    assert result.returncode == 2
    assert "refused the key" in result.stderr and "--api-key" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["{missing}", "--vector-store", "vs_x"], "no such folder"),
        (["{docs}", "--vector-store", "vs_x", "--glob", "*.pdf"], "no files matching *.pdf"),
        (["{docs}"], "one of the arguments --vector-store --create is required"),
        (["{docs}", "--vector-store", "vs_x", "--create", "n"], "not allowed with argument"),
        (["{docs}", "--vector-store", "vs_x", "--concurrency", "0"], "--concurrency 0"),
        (["{docs}", "--vector-store", "vs_x", "--base-url", "localhost:8000"], "http://"),
    ],
)
def test_usage_errors(docs: Path, tmp_path: Path, args: list[str], expected: str) -> None:
    filled = [a.format(docs=docs, missing=tmp_path / "missing") for a in args]
    result = run_cli("ingest", *filled, env=clean_env(OPENAI_BASE_URL="http://127.0.0.1:1/v1"))
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_server_is_a_usage_error(docs: Path) -> None:
    result = run_cli(
        "ingest", str(docs), "--vector-store", "vs_x", env=clean_env(OPENAI_BASE_URL="http://127.0.0.1:1/v1")
    )
    assert result.returncode == 2
    assert "cannot reach http://127.0.0.1:1/v1" in result.stderr and "--base-url" in result.stderr


def test_more_files_than_one_batch(server: ServerProcess, api: openai.OpenAI, tmp_path: Path) -> None:
    """501 files: two file batches (500 and 1), attached as the uploads finish."""
    root = tmp_path / "many"
    root.mkdir()
    for i in range(501):
        (root / f"note-{i:03}.txt").write_text(f"Note number {i} is about topic {i % 7}.\n")
    result = ingest(server, str(root), "--create", "many", "--concurrency", "16")
    assert result.returncode == 0, result.stdout + result.stderr + server.log
    store_id = result.stdout.split()[2]
    assert " (many): 501 files, 501 completed; " in result.stdout
    counts = api.vector_stores.retrieve(store_id).file_counts
    assert (counts.completed, counts.total) == (501, 501)
