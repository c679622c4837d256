"""Issue 3's "done when": OpenAI's Assistants quickstart and function-calling examples run unchanged, polled and
streamed, against a server started as the README says (``assistantd serve``), with the pinned ``openai`` release
and with the last 1.x release (``openai==1.109.1``).

Each example in ``sdk_examples/`` is a standalone script, copied from OpenAI's docs, that checks its own outcome
and exits non-zero otherwise. It runs as a subprocess under ``.venv`` (the pinned SDK) and under
``.venv-openai1`` (openai 1.109.1 alone; ``scripts/test`` creates it). The model upstream is
``sdk_examples/fake_upstream.py``, an OpenAI-compatible ``/v1/chat/completions`` on loopback. Everything listens
on 127.0.0.1, and only the processes started here are stopped, by their PID.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = Path(__file__).resolve().parent / "sdk_examples"
SDKS = {
    "openai-3.57.0": (ROOT / ".venv" / "bin" / "python", "3.57.0"),
    "openai-1.109.1": (ROOT / ".venv-openai1" / "bin" / "python", "1.109.1"),
}
TOOLS_SAID = "The tools said: get_current_temperature returned 57; get_rain_probability returned 0.06."
# script -> what its own prints must show, besides its final "OK <name>" line.
SCRIPTS = {
    "quickstart_polling": ["Text(annotations=[], value='x = 1')"],
    "quickstart_streaming": ["\nassistant > x = 1\n"],
    "function_calling_polling": ["requires_action\n", "Tool outputs submitted successfully.\n", "value='" + TOOLS_SAID],
    "function_calling_streaming": [TOOLS_SAID + "\n"],
}
START_TIMEOUT = 30.0
SCRIPT_TIMEOUT = 90.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop one process this module started, by its PID: SIGTERM, then SIGKILL after 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _tail(path: Path, lines: int = 60) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Server:
    base_url: str
    log: Path


@pytest.fixture(scope="module")
def fake_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("fake-upstream") / "stderr.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, str(EXAMPLES / "fake_upstream.py")], stdout=subprocess.PIPE, stderr=err
        )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()  # "PORT <n>" once it listens
        assert line.startswith("PORT "), f"fake upstream did not start: {line!r}\n{_tail(log)}"
        yield f"http://127.0.0.1:{int(line.split()[1])}/v1"
    finally:
        _stop(proc)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture(scope="module")
def server(fake_upstream: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``assistantd serve``, as in the README, configured through its documented environment variables."""
    workdir = tmp_path_factory.mktemp("assistantd")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANTD_", "OPENAI_"))}
    env.update(
        ASSISTANTD_UPSTREAM_BASE_URL=fake_upstream,
        ASSISTANTD_DATA_DIR=str(workdir / "data"),
        ASSISTANTD_PORT=str(port),
    )
    log = workdir / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "assistantd"), "serve"],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        health = f"http://127.0.0.1:{port}/health"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"`assistantd serve` exited with {proc.returncode}:\n{_tail(log)}")
            try:
                with urllib.request.urlopen(health, timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"GET /health did not answer 200 within {START_TIMEOUT:.0f} s:\n{_tail(log)}")
            time.sleep(0.1)
        yield Server(f"http://127.0.0.1:{port}/v1", log)
    finally:
        _stop(proc)


@functools.cache
def _probe(sdk: str) -> str | None:
    """Why the interpreter for ``sdk`` cannot be used (None when it can): it must hold exactly that ``openai``,
    and the 1.x one nothing of ours."""
    python, version = SDKS[sdk]
    if not python.exists():
        return f"{python.parents[1].name} is missing: run scripts/test, which creates it with openai=={version}"
    code = (
        "import importlib.util, json, openai;"
        "print(json.dumps([openai.__version__, importlib.util.find_spec('assistantd') is not None]))"
    )
    probe = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        return f"{python} cannot import openai: run scripts/test\n{probe.stderr}"
    found, has_ours = json.loads(probe.stdout)
    if found != version:
        return f"{python} has openai=={found}, expected {version}: run scripts/test"
    if sdk == "openai-1.109.1" and has_ours:
        return f"{python} must hold openai=={version} alone, not assistantd: recreate it with scripts/test"
    return None


@pytest.mark.parametrize("script", list(SCRIPTS))
@pytest.mark.parametrize("sdk", list(SDKS))
def test_sdk_example(sdk: str, script: str, server: Server) -> None:
    problem = _probe(sdk)
    if problem:
        pytest.fail(problem)
    sdk_python = str(SDKS[sdk][0])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANTD_", "OPENAI_"))}
    env.update(OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="sk-test", PYTHONUNBUFFERED="1")
    try:
        done = subprocess.run(
            [sdk_python, str(EXAMPLES / f"{script}.py")],
            cwd=EXAMPLES,
            env=env,
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{script} did not finish within {SCRIPT_TIMEOUT:.0f} s\n{exc.stdout!r}\n{exc.stderr!r}")
    report = (
        f"{script} under {sdk_python} exited {done.returncode}\n"
        f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}\n"
        f"--- server log (tail) ---\n{_tail(server.log)}"
    )
    assert done.returncode == 0, report
    assert done.stdout.rstrip().endswith(f"OK {script}"), report
    for expected in SCRIPTS[script]:
        assert expected in done.stdout, f"missing {expected!r} in the output\n{report}"
    assert "Traceback" not in done.stderr, report
