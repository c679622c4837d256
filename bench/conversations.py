"""Benchmark the Conversations API on a real ``assistantd serve`` against an instant fake upstream on loopback,
each figure beside its Assistants or client-side counterpart, measured in the same run (the machine is noisy;
compare ratios).

    .venv/bin/python bench/conversations.py            # 10,000 items; ~5 minutes
    .venv/bin/python bench/conversations.py --quick    # 2,000 items, fewer samples; ~1 minute

* ``conversations.items.list(limit=100)`` against ``beta.threads.messages.list(limit=100)`` on the same
  conversation (a conversation is a thread: one id serves both), p50/p99 at 1 and 32 clients in closed loops,
  the two alternated; every item is a message, so both return the same 100 rows. The items are added through
  the API, 20 per ``items.create`` (OpenAI's limit), several requests at once.
* ``responses.create(conversation=...)`` against the same call with the history replayed by the client as
  ``input`` (no conversation; with ``store`` left at its default, and with ``store=false``), at 100 items and
  at the full size, several turns each, alternated turn by turn. The first turn on a conversation counts its
  items' tokens and caches them with the items; later turns should not tokenize the history again, so the
  first turn and the later ones are reported apart. Each turn's question and answer extend both histories
  alike.
* server CPU per request, from ``/proc/<pid>/stat``.

The upstream's context window is raised (``ASSISTANTD_UPSTREAM_CONTEXT_WINDOW``) so 10,000 items fit with
``truncation`` at its default, ``disabled``. The server is started as a subprocess on a free port and stopped
by PID at the end; results go to ``bench/results/conversations-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from runs import (
    HEADERS,
    ROOT,
    cpu_seconds,
    fake_port,
    free_port,
    pct,
    post,
    process,
    serve_cmd,
    serve_env,
    start_fake,
)

BATCH = 20
"""Items per ``items.create`` request: OpenAI's limit."""
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima")


def item_text(i: int) -> str:
    """About 30 tokens of varied text (so a tokenizer cache keyed on text would not hide the work)."""
    words = [WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(20)]
    return f"Turn {i}: " + " ".join(words) + f" ({i * 7919 % 100_003})."


def history_item(i: int) -> dict[str, Any]:
    return {"type": "message", "role": "user" if i % 2 == 0 else "assistant", "content": item_text(i)}


async def wait_health(session: aiohttp.ClientSession, base: str, seconds: float = 120) -> None:
    """Wait for ``GET /health`` (start-up takes more than ``runs.wait_health``'s 15 s on a busy machine)."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        try:
            async with session.get(f"{base}/health") as r:
                if r.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("server did not become healthy")


async def get(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with session.get(url, headers=HEADERS) as r:
        data: dict[str, Any] = await r.json()
        if r.status != 200:
            raise RuntimeError(f"{url}: {r.status} {data}")
        return data


async def seed(session: aiohttp.ClientSession, base: str, n: int, parallel: int = 8) -> tuple[str, float]:
    """A conversation of ``n`` message items, added 20 per ``items.create``, ``parallel`` requests at once.
    Returns its id and the items added per second. Concurrent batches land in any order; the benchmarks
    read pages, not a particular order."""
    conv = await post(session, f"{base}/v1/conversations", {})
    batches = [list(range(i, min(i + BATCH, n))) for i in range(0, n, BATCH)]
    queue = iter(batches)
    t0 = time.perf_counter()

    async def worker() -> None:
        for batch in queue:
            await post(
                session, f"{base}/v1/conversations/{conv['id']}/items", {"items": [history_item(i) for i in batch]}
            )

    await asyncio.gather(*(worker() for _ in range(parallel)))
    return conv["id"], n / (time.perf_counter() - t0)


async def closed_loop(clients: int, requests: int, one: Callable[[], Awaitable[None]]) -> tuple[list[float], float]:
    """``clients`` clients each sending one request after another, ``requests`` in all; latencies and the
    elapsed time."""
    latencies: list[float] = []
    left = requests

    async def client() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            t0 = time.perf_counter()
            await one()
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, time.perf_counter() - t0


def _stats(latencies: list[float], elapsed: float, cpu: float) -> dict[str, Any]:
    return {
        "requests": len(latencies),
        "p50_ms": round(1000 * statistics.median(latencies), 2),
        "p99_ms": round(1000 * pct(latencies, 99), 2),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "server_cpu_ms_per_request": round(1000 * cpu / max(len(latencies), 1), 2),
    }


async def lists(
    session: aiohttp.ClientSession, base: str, pid: int, conv_id: str, clients: int, requests: int, rounds: int = 2
) -> dict[str, Any]:
    """items.list against messages.list, both ``limit=100`` on the same thread, alternated ``rounds`` times."""
    urls = {
        "items_list": f"{base}/v1/conversations/{conv_id}/items?limit=100",
        "messages_list": f"{base}/v1/threads/{conv_id}/messages?limit=100",
    }
    for url in urls.values():  # same page, both ways
        page = await get(session, url)
        assert len(page["data"]) == 100 and page["has_more"], url
    samples: dict[str, list[float]] = {name: [] for name in urls}
    elapsed = dict.fromkeys(urls, 0.0)
    cpu = dict.fromkeys(urls, 0.0)
    for _ in range(rounds):
        for name, url in urls.items():

            async def one(url: str = url) -> None:
                async with session.get(url, headers=HEADERS) as r:
                    await r.read()
                    assert r.status == 200

            c0 = cpu_seconds(pid)
            got, took = await closed_loop(clients, requests // rounds, one)
            cpu[name] += cpu_seconds(pid) - c0
            samples[name] += got
            elapsed[name] += took
    out: dict[str, Any] = {"clients": clients}
    for name in urls:
        out[name] = _stats(samples[name], elapsed[name], cpu[name])
    out["ratio_p50_items_to_messages"] = round(out["items_list"]["p50_ms"] / out["messages_list"]["p50_ms"], 2)
    out["ratio_p99_items_to_messages"] = round(out["items_list"]["p99_ms"] / out["messages_list"]["p99_ms"], 2)
    return out


async def responses(session: aiohttp.ClientSession, base: str, pid: int, items: int, turns: int) -> dict[str, Any]:
    """``turns`` turns of each path, alternated turn by turn, on a conversation of ``items`` items and on the
    same history held by the client."""
    conv_id, _ = await seed(session, base, items)
    # What the client replays: the same items in the order the conversation holds them (its insertion order,
    # which concurrent seeding shuffles between batches).
    listed: list[dict[str, Any]] = []
    after = None
    while True:
        q = f"&after={after}" if after else ""
        page = await get(session, f"{base}/v1/conversations/{conv_id}/items?limit=100&order=asc{q}")
        listed += page["data"]
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert len(listed) == items
    history = [{"type": "message", "role": it["role"], "content": it["content"][0]["text"]} for it in listed]
    paths = ("conversation", "replay", "replay_store_false")
    times: dict[str, list[float]] = {p: [] for p in paths}
    cpus: dict[str, list[float]] = {p: [] for p in paths}
    for turn in range(turns):
        question = {"type": "message", "role": "user", "content": f"Next question, turn {turn}?"}
        answers = {}
        for path in paths:
            if path == "conversation":
                body: dict[str, Any] = {"model": "fake-model", "conversation": conv_id, "input": question["content"]}
            else:
                body = {"model": "fake-model", "input": [*history, question]}
                if path == "replay_store_false":
                    body["store"] = False
            c0 = cpu_seconds(pid)
            t0 = time.perf_counter()
            data = await post(session, f"{base}/v1/responses", body)
            times[path].append(time.perf_counter() - t0)
            cpus[path].append(cpu_seconds(pid) - c0)
            assert data["status"] == "completed", data
            answers[path] = "".join(
                part["text"] for out in data["output"] if out["type"] == "message" for part in out["content"]
            )
        history += [question, {"type": "message", "role": "assistant", "content": answers["replay"]}]

    def ms(xs: list[float]) -> float:
        return round(1000 * statistics.median(xs), 1)

    out: dict[str, Any] = {"items": items, "turns_each": turns}
    for label, sl in (("first_turn", slice(0, 1)), ("later_turns_p50", slice(1, None))):
        row: dict[str, Any] = {}
        for path in paths:
            row[f"{path}_ms"] = ms(times[path][sl])
            row[f"{path}_server_cpu_ms"] = ms(cpus[path][sl])
        for ref in ("replay", "replay_store_false"):
            row[f"added_vs_{ref}_ms"] = round(row["conversation_ms"] - row[f"{ref}_ms"], 1)
            row[f"ratio_vs_{ref}"] = round(row["conversation_ms"] / row[f"{ref}_ms"], 2)
        out[label] = row
    out["conversation_turns_ms"] = [round(1000 * t, 1) for t in times["conversation"]]
    out["replay_turns_ms"] = [round(1000 * t, 1) for t in times["replay"]]
    return out


async def run_all(quick: bool) -> dict[str, Any]:
    n = 2_000 if quick else 10_000
    results: dict[str, Any] = {"items": n}
    with tempfile.TemporaryDirectory() as tmp, start_fake("instant") as fake:
        upstream = f"http://127.0.0.1:{fake_port(fake)}/v1"
        port = free_port()
        env = {**serve_env(upstream, f"{tmp}/data"), "ASSISTANTD_UPSTREAM_CONTEXT_WINDOW": "4000000"}
        with process(serve_cmd(port), env) as server:
            base = f"http://127.0.0.1:{port}"
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
                await wait_health(session, base)
                conv_id, rate = await seed(session, base, n)
                results["seed_items_per_second"] = round(rate, 1)
                await lists(session, base, server.pid, conv_id, 32, 320, rounds=1)  # warm-up: opens connections
                results["list"] = [
                    await lists(session, base, server.pid, conv_id, 1, 200 if quick else 1_000),
                    await lists(session, base, server.pid, conv_id, 32, 640 if quick else 4_000),
                ]
                print(json.dumps({"list": results["list"]}, indent=2), flush=True)  # kept if a later part fails
            # A new connection per call: between calls lasting seconds, a pooled one outlives the server's
            # keep-alive and fails while a large body is written on it.
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
                turns = 3 if quick else 5
                results["responses"] = [
                    await responses(session, base, server.pid, 100, turns),
                    await responses(session, base, server.pid, n, turns),
                ]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(run_all(args.quick))
    print(json.dumps(results, indent=2))
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    (out / f"conversations-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
