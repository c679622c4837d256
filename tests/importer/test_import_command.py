"""The real ``assistantd import`` command: exit statuses, the summary, usage errors, and an import into
the data dir of a running ``assistantd serve`` (which holds the data dir's lock)."""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from assistantd.importer.progress import LineProgress, progress
from tests._cli import clean_env, run_cli, serving
from tests.importer._exports import assistant, file, thread, vector_store, write_export


def _get(url: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": "Bearer sk-x", "OpenAI-Beta": "assistants=v2"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_exit_status_and_summary(tmp_path: Path) -> None:
    export = write_export(tmp_path / "export", assistants=[assistant(1), assistant(2)], threads=[thread(1)])
    data = tmp_path / "data"
    first = run_cli("import", str(export), "--data-dir", str(data))
    assert first.returncode == 0, first.stderr
    assert "assistants     2 imported" in first.stdout
    assert "threads        1 imported" in first.stdout and "messages       3 imported" in first.stdout
    assert "Traceback" not in first.stderr
    again = run_cli("import", str(export), "--data-dir", str(data))
    assert again.returncode == 0
    assert "assistants     0 imported, 2 already present" in again.stdout
    (export / "threads.jsonl").write_text((export / "threads.jsonl").read_text() + '{"id": "thread_x", \n')
    broken = run_cli("import", str(export), "--data-dir", str(data))
    assert broken.returncode == 1
    assert "threads.jsonl:2: malformed: not JSON" in broken.stdout


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = run_cli("import", str(tmp_path / "nope"), "--data-dir", str(tmp_path / "data"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = run_cli("import", str(tmp_path / "empty"), "--data-dir", str(tmp_path / "data"))
    assert empty.returncode == 2 and "no .jsonl files" in empty.stderr
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    export = write_export(tmp_path / "export", assistants=[assistant(1)])
    bad_dir = run_cli("import", str(export), "--data-dir", str(blocker / "data"))
    assert bad_dir.returncode == 2 and "not usable" in bad_dir.stderr and "Traceback" not in bad_dir.stderr
    assert run_cli("import").returncode == 2
    assert "docs/importing.md" in run_cli("import", "--help").stdout


def test_import_into_a_running_server(tmp_path: Path) -> None:
    content = b"Imported while the server ran."
    f = file(1, content)
    export = write_export(
        tmp_path / "export",
        assistants=[assistant(1)],
        threads=[thread(1, messages=5)],
        files={f["id"]: content},
        file_lines=[f],
        vector_stores=[vector_store(1, [f["id"]])],
    )
    data = tmp_path / "data"
    data.mkdir()
    with serving(data, env=clean_env(ASSISTANTD_EMBEDDINGS="hashing")) as server:
        result = run_cli("import", str(export), "--data-dir", str(data))
        assert result.returncode == 0, result.stdout + result.stderr
        assert _get(f"{server.url}/v1/assistants/asst_imp0001")["name"] == "Assistant 1"
        listed = _get(f"{server.url}/v1/threads/thread_imp0001/messages?order=asc")
        assert [m["id"] for m in listed["data"]] == [f"msg_imp0001x{i:03d}" for i in range(5)]
        deadline = time.monotonic() + 30
        while (store := _get(f"{server.url}/v1/vector_stores/vs_imp0001"))["file_counts"]["in_progress"]:
            assert time.monotonic() < deadline, store
            time.sleep(0.1)
        assert store["file_counts"]["completed"] == 1


def test_progress_line_when_tqdm_is_not_used() -> None:
    out = io.StringIO()
    bar = LineProgress(3, out)
    for _ in range(3):
        bar.advance()
    bar.close()
    assert "importing 3/3 objects (100%)" in out.getvalue() and out.getvalue().endswith("\n")
    # Not a terminal and no stream given: no bar at all (the summary alone goes to stdout).
    assert type(progress(3, enabled=False)).__name__ == "NoProgress"


def test_import_into_a_project(tmp_path: Path) -> None:
    """``--project NAME`` puts every imported object in that project (made if missing): its keys see them, the
    default project does not; importing the same IDs again, into any project, skips them as present."""
    export = write_export(
        tmp_path / "export",
        assistants=[assistant(1)],
        threads=[thread(1)],
        files={file(1, b"hello")["id"]: b"hello"},
        file_lines=[file(1, b"hello")],
    )
    data = tmp_path / "data"
    env = clean_env(ASSISTANTD_ADMIN_KEY="sk-admin-import-0123456789", ASSISTANTD_API_KEYS="sk-default")
    done = run_cli("import", str(export), "--data-dir", str(data), "--project", "partner", env=env)
    assert done.returncode == 0, done.stderr
    assert "assistants     1 imported" in done.stdout
    again = run_cli("import", str(export), "--data-dir", str(data), env=env)  # the default project
    assert again.returncode == 0, again.stdout + again.stderr
    assert "assistants     0 imported, 1 already present" in again.stdout
    key = run_cli("keys", "create", "--project", "partner", "--data-dir", str(data), env=env).stdout.strip()
    with serving(data, env=env) as server:

        def get(path: str, bearer: str) -> Any:
            request = urllib.request.Request(
                server.url + path, headers={"Authorization": f"Bearer {bearer}", "OpenAI-Beta": "assistants=v2"}
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as exc:
                return exc.code

        assert [a["id"] for a in get("/v1/assistants", key)["data"]] == [assistant(1)["id"]]
        assert get(f"/v1/threads/{thread(1)['id']}", key)["id"] == thread(1)["id"]
        assert [f["id"] for f in get("/v1/files", key)["data"]] == [file(1, b"hello")["id"]]
        assert get("/v1/assistants", "sk-default")["data"] == []
        assert get(f"/v1/threads/{thread(1)['id']}", "sk-default") == 404
