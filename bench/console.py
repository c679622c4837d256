"""The web console: its first load, and the playground's first-token delay against the SDK's, in one run.

    .venv/bin/python bench/console.py            # about a minute
    .venv/bin/python bench/console.py --quick    # fewer rounds

One ``assistantd serve`` (SQLite, a project key from ``assistantd keys create``) in front of
``bench/fake_upstream.py`` in ``realistic`` mode (first token after ``--first-ms``, then one every
``--every-ms``), both on loopback, and Debian's headless Chromium driven by Playwright:

* **first load**: a fresh browser context opens ``/console`` (empty cache): bytes transferred (the encoded
  sizes Chromium reports, headers included) and time from navigation start to the log-in form being
  interactive (``performance.mark``); then log-in to the assistants view rendered; then a reload with a warm
  cache (revalidated: 304s);
* **first token**: the playground (Responses API, a model) sends a message and records, in the page, the time
  from its request to the first ``response.output_text.delta`` it renders; the official ``openai`` SDK streams
  the same request (``responses.create(stream=True)``) and times its first delta event. Then the same on the
  Assistants API (the playground on an assistant; the SDK's ``runs.create(stream=True)`` on a thread holding
  the message, timed to the first ``thread.message.delta``). Rounds alternate, medians are compared (ratio
  page / SDK).

Results: stdout and ``bench/results/console-<UTC timestamp>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai

ROOT = Path(__file__).resolve().parents[1]
ASSISTANTD = str(Path(sys.executable).with_name("assistantd"))
ADMIN = "sk-admin-bench-0123456789"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MODEL = "fake-model"


def _env(data: Path, upstream: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANTD_", "OPENAI_"))}
    env.update(
        ASSISTANTD_DATA_DIR=str(data),
        ASSISTANTD_ADMIN_KEY=ADMIN,
        ASSISTANTD_UPSTREAM_BASE_URL=upstream,
        ASSISTANTD_EMBEDDINGS="hashing",
        ASSISTANTD_CODE_INTERPRETER_SPARE_SESSIONS="0",
        ASSISTANTD_LOG_LEVEL="warning",
    )
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _process(cmd: list[str], env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


@contextlib.contextmanager
def _stack(first_ms: float, every_ms: float, tokens: int) -> Iterator[tuple[str, str]]:
    """The fake upstream and ``assistantd serve`` in front of it: (base URL, project key)."""
    fake_cmd = [sys.executable, str(ROOT / "bench" / "fake_upstream.py"), "--mode", "realistic"]
    fake_cmd += ["--first-ms", str(first_ms), "--every-ms", str(every_ms), "--tokens", str(tokens)]
    with _process(fake_cmd) as fake, tempfile.TemporaryDirectory() as tmp:
        assert fake.stdout is not None
        upstream = f"http://127.0.0.1:{int(fake.stdout.readline().split()[1])}/v1"
        data = Path(tmp) / "data"
        env = _env(data, upstream)
        made = subprocess.run(
            [ASSISTANTD, "keys", "create", "--project", "bench"], env=env, capture_output=True, text=True, check=True
        )
        port = _free_port()
        with _process([ASSISTANTD, "serve", "--port", str(port)], env=env):
            base = f"http://127.0.0.1:{port}"
            for _ in range(600):
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(base + "/health", timeout=1).status_code == 200:
                        break
                time.sleep(0.1)
            else:
                raise RuntimeError("assistantd did not become healthy")
            yield base, made.stdout.strip()


class Transfer:
    """Bytes Chromium received for one page load (encoded sizes, headers included), via the DevTools protocol."""

    def __init__(self, cdp: Any) -> None:
        self.bytes = 0
        self.requests = 0
        cdp.send("Network.enable")
        cdp.on("Network.loadingFinished", self._finished)

    def _finished(self, event: dict[str, Any]) -> None:
        self.bytes += int(event.get("encodedDataLength", 0))
        self.requests += 1


def _mark(page: Any, name: str) -> float:
    value = page.evaluate("(n) => performance.getEntriesByName(n)[0].startTime", name)
    return float(value)


def first_load(browser: Any, base: str, key: str, rounds: int) -> dict[str, Any]:
    cold_bytes, cold_requests, login_ms, ready_ms, warm_bytes, view_bytes = [], [], [], [], [], []
    for _ in range(rounds):
        context = browser.new_context()
        page = context.new_page()
        transfer = Transfer(context.new_cdp_session(page))
        page.goto(base + "/console")
        page.wait_for_selector("#login #key")
        for _ in range(50):  # marks are set right after the form is drawn
            if page.evaluate("performance.getEntriesByName('console-login').length"):
                break
            time.sleep(0.01)
        login_ms.append(_mark(page, "console-login"))
        page.wait_for_load_state("networkidle")
        cold_bytes.append(transfer.bytes)
        cold_requests.append(transfer.requests)
        page.fill("#key", key)
        t0 = page.evaluate("performance.now()")
        page.click("#login button[type=submit]")
        page.wait_for_selector("body[data-ready='assistants']", state="attached")
        ready_ms.append(_mark(page, "console-ready:assistants") - float(t0))
        page.wait_for_timeout(300)  # the last loadingFinished events arrive after the view is drawn
        view_bytes.append(transfer.bytes)
        warm = Transfer(context.new_cdp_session(page))
        page.reload()
        page.wait_for_selector("body[data-ready='assistants']", state="attached")
        page.wait_for_load_state("networkidle")
        warm_bytes.append(warm.bytes)
        context.close()
    return {
        "cold_bytes": int(statistics.median(cold_bytes)),
        "cold_requests": int(statistics.median(cold_requests)),
        "login_form_interactive_ms": round(statistics.median(login_ms), 1),
        "login_to_assistants_view_ms": round(statistics.median(ready_ms), 1),
        "cold_bytes_through_first_view": int(statistics.median(view_bytes)),
        "warm_reload_bytes": int(statistics.median(warm_bytes)),
        "rounds": rounds,
    }


def _sdk_first_token(client: openai.OpenAI) -> float:
    t0 = time.perf_counter()
    first = None
    with client.responses.create(model=MODEL, input="hello", stream=True) as events:
        for event in events:
            if first is None and event.type == "response.output_text.delta":
                first = time.perf_counter() - t0
    assert first is not None, "no text delta"
    return first * 1000


def _sdk_run_first_token(client: openai.OpenAI, assistant_id: str) -> float:
    """The Assistants API's path, as the playground takes it: a thread and its message first, then the timed
    streamed run (to its first ``thread.message.delta``)."""
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hello"}])
    t0 = time.perf_counter()
    first = None
    with client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant_id, stream=True) as events:
        for event in events:
            if first is None and event.event == "thread.message.delta":
                first = time.perf_counter() - t0
    assert first is not None, "no message delta"
    return first * 1000


def _page_first_token(page: Any, turn: int) -> float:
    page.fill("#pg-input", "hello")
    page.click("#pg-send")
    page.wait_for_selector(f"body[data-turn='{turn}']", state="attached", timeout=60_000)
    value = page.get_attribute("body", "data-first-token-ms")
    assert value is not None, "no text delta in the page"
    return float(value)


def first_token(browser: Any, base: str, key: str, rounds: int, api: str) -> dict[str, Any]:
    """``api`` ``responses`` (the playground on a model) or ``assistants`` (on an assistant: thread, run)."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(base + "/console")
    page.fill("#key", key)
    page.click("#login button[type=submit]")
    page.wait_for_selector("body[data-ready='assistants']", state="attached")
    sdk: list[float] = []
    in_page: list[float] = []
    with openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0) as client:
        if api == "responses":
            page.goto(base + "/console#/playground/model")
            page.wait_for_selector("body[data-ready='playground']", state="attached")
            page.fill("#pg-model", MODEL)

            def through_sdk() -> float:
                return _sdk_first_token(client)
        else:
            assistant = client.beta.assistants.create(model=MODEL, name="bench")
            page.goto(base + f"/console#/playground/assistant/{assistant.id}")
            page.wait_for_selector("body[data-ready='playground']", state="attached")

            def through_sdk() -> float:
                return _sdk_run_first_token(client, assistant.id)

        through_sdk()  # warm-up: connections, caches
        _page_first_token(page, 1)
        for i in range(rounds):
            page.click("#pg-new")  # one turn per chat, as the SDK's single request
            in_page.append(_page_first_token(page, i + 2))
            sdk.append(through_sdk())
    context.close()
    p50_page, p50_sdk = statistics.median(in_page), statistics.median(sdk)
    return {
        "page_ms_p50": round(p50_page, 1),
        "sdk_ms_p50": round(p50_sdk, 1),
        "ratio_page_over_sdk": round(p50_page / p50_sdk, 3),
        "page_ms": [round(x, 1) for x in in_page],
        "sdk_ms": [round(x, 1) for x in sdk],
        "rounds": rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 loads and 5 first-token rounds")
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--first-ms", type=float, default=300, help="the fake upstream's delay to its first token")
    parser.add_argument("--every-ms", type=float, default=20)
    parser.add_argument("--tokens", type=int, default=30)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    loads, rounds = (3, 5) if args.quick else (args.loads, args.rounds)
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # the SDK's notice on beta.* calls

    from playwright.sync_api import sync_playwright

    with _stack(args.first_ms, args.every_ms, args.tokens) as (base, key), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            load = first_load(browser, base, key, loads)
            token = first_token(browser, base, key, rounds, "responses")
            run_token = first_token(browser, base, key, rounds, "assistants")
        finally:
            browser.close()
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "upstream": {"first_ms": args.first_ms, "every_ms": args.every_ms, "tokens": args.tokens},
        "first_load": load,
        "first_token": token,
        "first_token_assistants": run_token,
    }
    print("Console first load (median of", load["rounds"], "fresh contexts)")
    print(f"  bytes transferred, cold cache   {load['cold_bytes']:>9,} B in {load['cold_requests']} requests")
    print(f"  log-in form interactive         {load['login_form_interactive_ms']:>9.1f} ms after navigation start")
    print(f"  log-in → assistants view        {load['login_to_assistants_view_ms']:>9.1f} ms")
    print(
        f"  bytes through that first view   {load['cold_bytes_through_first_view']:>9,} B (its modules and API calls)"
    )
    print(f"  reload, warm cache (304s)       {load['warm_reload_bytes']:>9,} B")
    print(f"Playground first token vs the SDK (Responses API, upstream first token {args.first_ms:.0f} ms)")
    print(f"  playground p50                  {token['page_ms_p50']:>9.1f} ms")
    print(f"  openai SDK p50                  {token['sdk_ms_p50']:>9.1f} ms")
    print(f"  ratio page / SDK                {token['ratio_page_over_sdk']:>9.3f}")
    print("Playground first token vs the SDK (Assistants API: a streamed run on a thread)")
    print(f"  playground p50                  {run_token['page_ms_p50']:>9.1f} ms")
    print(f"  openai SDK p50                  {run_token['sdk_ms_p50']:>9.1f} ms")
    print(f"  ratio page / SDK                {run_token['ratio_page_over_sdk']:>9.3f}")
    out = args.out or ROOT / "bench" / "results" / f"console-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
