"""Codex CLI (``@openai/codex``, pinned in js/package.json) headless against assistantd: ``codex exec`` with a
provider of ``wire_api = "responses"`` in a private ``CODEX_HOME``. It sends what a strict server would refuse
(``client_metadata``, a ``namespace`` tool, ``web_search``, ``store: false``, client-made item ids, no
``instructions``) and replays the whole history on the tool turn."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from assistantd.backends.scripted import Call
from tests.clients.conftest import JS, Served, node_bin

ECHO = "(scripted demo backend, not a language model) You said: "
CODEX_TIMEOUT = float(os.environ.get("CODEX_TIMEOUT", "120"))


def _codex(served: Served, tmp_path: Path, prompt: str, *flags: str) -> subprocess.CompletedProcess[str]:
    node_bin()  # fails clearly when node or the npm install is missing
    home = tmp_path / "codex-home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    (home / "config.toml").write_text(
        'model = "scripted-model"\n'
        'model_provider = "local"\n'
        "[model_providers.local]\n"
        'name = "local"\n'
        f'base_url = "{served.base_url}"\n'
        'wire_api = "responses"\n'
        'env_key = "LOCAL_API_KEY"\n'
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(work),
        "CODEX_HOME": str(home),
        "LOCAL_API_KEY": "sk-test",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    codex = JS / "node_modules" / ".bin" / "codex"
    try:
        proc = subprocess.run(
            [str(codex), "exec", "--skip-git-repo-check", "-s", "read-only", *flags, prompt],
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CODEX_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise AssertionError(
            f"codex still running after {CODEX_TIMEOUT} s\nstdout:\n{e.stdout}\nstderr:\n{e.stderr}\n"
            + served.recorder.dump()
        ) from None
    assert proc.returncode == 0, (
        f"codex exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}\n" + served.recorder.dump()
    )
    return proc


def _posts(served: Served) -> list[Any]:
    return [p.request_json() for p in served.recorder.posts()]


def test_exec_says_hello(served: Served, tmp_path: Path) -> None:
    proc = _codex(served, tmp_path, "Say hello")
    assert proc.stdout.strip() == ECHO + "Say hello"
    (sent,) = _posts(served)
    assert sent["stream"] is True and sent["store"] is False
    assert "client_metadata" in sent and "instructions" not in sent
    assert {t["type"] for t in sent["tools"]} >= {"function", "namespace", "web_search"}


def test_exec_tool_loop(served: Served, tmp_path: Path) -> None:
    """The model calls Codex's ``exec_command``; Codex runs it and replays the whole history with the output.
    (Under a CODEX_HOME in /tmp, Codex refuses to create its sandbox helper, so the command itself fails in
    Codex's own sandbox: what is tested here is the round trip, not the command.)"""
    served.backend.add(Call(("exec_command", json.dumps({"cmd": "echo hi-from-codex"}))))
    proc = _codex(served, tmp_path, "Run echo", "--json")
    posts = _posts(served)
    assert len(posts) == 2, served.recorder.dump()
    assert "previous_response_id" not in posts[1]
    replay = posts[1]["input"]
    call = next(i for i in replay if i.get("type") == "function_call")
    output = next(i for i in replay if i.get("type") == "function_call_output")
    assert (call["name"], output["call_id"]) == ("exec_command", call["call_id"])
    assert output["id"] != call["id"]  # client-made ids, accepted as they are
    said = output["output"] if isinstance(output["output"], str) else json.dumps(output["output"])
    assert "Process exited with code" in said
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    messages = [
        e["item"]["text"] for e in events if e["type"] == "item.completed" and e["item"]["type"] == "agent_message"
    ]
    assert messages == ["The tool returned: " + said]
    assert events[-1]["type"] == "turn.completed"
