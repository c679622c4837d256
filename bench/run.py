"""Benchmark a real ``assistantd serve`` on loopback: creates/s and list latency on a 10,000-message thread.

Run from the repository root::

    .venv/bin/python bench/run.py            # defaults: 32 clients, 10,000 messages
    .venv/bin/python bench/run.py --help

It starts the server as a subprocess on a free 127.0.0.1 port with a temporary data directory, waits for
``/health``, drives it with one ``aiohttp`` session (one shared pool of ``--clients`` connections, the
same paths, bodies and headers the ``openai`` SDK sends), checks with the official client that the
responses parse, prints a table and writes the figures to ``bench/results/<UTC timestamp>.json``.
The server (and only the server) is stopped by PID at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import openai

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
API_KEY = "sk-bench"
# What the SDK sends on every Assistants call (plus X-Stainless-* telemetry the server ignores).
HEADERS = {
    "Authorization": f"Bearer {API_KEY}",
    "OpenAI-Beta": "assistants=v2",
    "Content-Type": "application/json",
    "Accept": "application/json",
    "User-Agent": "AsyncOpenAI/Python 3.57.0",
}
ASSISTANT_BODY = {
    "model": "gpt-4o",
    "name": "Support bot",
    "instructions": "You answer questions about our product. Be brief and friendly.",
    "tools": [{"type": "code_interpreter"}, {"type": "file_search"}],
    "metadata": {"team": "support", "env": "bench"},
}
PY_SPY_EXTRA = os.environ.get("BENCH_PY_SPY_ARGS", "").split()
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclasses.dataclass
class Result:
    """One measured scenario."""

    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    server_cpu_seconds: float
    client_cpu_seconds: float
    clients: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        """Nearest-rank percentile of the latencies, in ms."""
        data = sorted(self.latencies_ms)
        if not data:
            return float("nan")
        rank = max(1, min(len(data), round(q / 100 * len(data) + 0.5)))
        return data[rank - 1]

    def summary(self) -> dict[str, Any]:
        n = len(self.latencies_ms)
        return {
            "name": self.name,
            "clients": self.clients,
            "requests": self.requests,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "requests_per_second": round(self.rps, 1),
            "p50_ms": round(self.pct(50), 2),
            "p90_ms": round(self.pct(90), 2),
            "p99_ms": round(self.pct(99), 2),
            "max_ms": round(max(self.latencies_ms), 2) if n else None,
            "mean_ms": round(sum(self.latencies_ms) / n, 2) if n else None,
            "server_cpu_seconds": round(self.server_cpu_seconds, 3),
            "server_cpu_ms_per_request": round(1000 * self.server_cpu_seconds / self.requests, 3)
            if self.requests
            else None,
            "client_cpu_ms_per_request": round(1000 * self.client_cpu_seconds / self.requests, 3)
            if self.requests
            else None,
        }


# --- the server under test ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_command(port: int, template: str | None = None) -> list[str]:
    """``assistantd serve`` from the interpreter's own environment (falls back to ``-m assistantd``).

    ``template`` (``--server-command``) replaces it, with ``{port}`` filled in: to benchmark a variant.
    """
    if template:
        return shlex.split(template.format(port=port, python=sys.executable))
    script = Path(sys.executable).with_name("assistantd")
    if script.exists():
        head = [str(script)]
    elif found := shutil.which("assistantd"):
        head = [found]
    else:
        head = [sys.executable, "-m", "assistantd"]
    return [*head, "serve", "--host", "127.0.0.1", "--port", str(port)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (0 where /proc is unavailable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


@dataclasses.dataclass
class Server:
    """The process tree we started: ``proc`` (the server, or py-spy wrapping it) and the server's PID."""

    proc: subprocess.Popen[bytes]
    pid: int


def child_pid(parent: int, timeout: float = 10) -> int:
    """The first child of ``parent`` (the server py-spy launched; py-spy cannot attach by PID here)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
            if children:
                return int(children[0])
        time.sleep(0.02)
    raise SystemExit(f"process {parent} started no child")


@contextlib.contextmanager
def running_server(
    data_dir: Path, port: int, log_path: Path, profile: Path | None, template: str | None = None
) -> Iterator[Server]:
    env = {
        **os.environ,
        "ASSISTANTD_DATA_DIR": str(data_dir),
        "ASSISTANTD_LOG_LEVEL": "warning",
        "ASSISTANTD_API_KEYS": API_KEY,
        "ASSISTANTD_UPSTREAM_BASE_URL": "",
    }
    env.pop("ASSISTANTD_CONFIG_FILE", None)
    env.pop("ASSISTANTD_DATABASE_URL", None)
    command = server_command(port, template)
    if profile is not None:
        py_spy = Path(sys.executable).with_name("py-spy")
        spy = str(py_spy) if py_spy.exists() else shutil.which("py-spy")
        if spy is None:
            raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
        # --nonblocking: sample without pausing the server, so the figures stay comparable.
        command = [spy, "record", "--format", "raw", "--rate", "200", "--nonblocking", "--threads", *PY_SPY_EXTRA]
        command += ["-o", str(profile), "--", *server_command(port, template)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(proc, child_pid(proc.pid) if profile is not None else proc.pid)
    try:
        yield server
    finally:
        if proc.poll() is None:
            # Stop the server itself; py-spy (if any) then writes its profile and exits.
            with contextlib.suppress(ProcessLookupError):
                os.kill(server.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class Http:
    """A thin wrapper over one ``aiohttp`` session: the load generator's shared connection pool.

    aiohttp costs the client far less CPU per request than httpx (measured here: ~3.4 ms/request for
    ``httpx.AsyncClient`` at 32 connections), which matters when client and server share two cores.
    """

    def __init__(self, base: str, clients: int) -> None:
        connector = aiohttp.TCPConnector(limit=clients, limit_per_host=clients)
        timeout = aiohttp.ClientTimeout(total=60)
        self.base = base
        self.session = aiohttp.ClientSession(connector=connector, headers=HEADERS, timeout=timeout)

    async def request(
        self, method: str, path: str, body: bytes | None = None, params: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        async with self.session.request(method, self.base + path, data=body, params=params) as resp:
            return resp.status, await resp.read()

    async def json(
        self, method: str, path: str, body: bytes | None = None, params: dict[str, str] | None = None
    ) -> Any:
        status, data = await self.request(method, path, body, params)
        if status != 200:
            raise SystemExit(f"{method} {path} → {status}: {data[:300]!r}")
        return json.loads(data)

    async def close(self) -> None:
        await self.session.close()


async def wait_healthy(base: str, proc: subprocess.Popen[bytes], log_path: Path, timeout: float) -> float:
    started = time.perf_counter()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.perf_counter() - started < timeout:
            if proc.poll() is not None:
                raise SystemExit(f"server exited with {proc.returncode}:\n{log_path.read_text()}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(f"{base}/health") as resp:
                    if resp.status == 200:
                        return time.perf_counter() - started
            await asyncio.sleep(0.05)
    raise SystemExit(f"server not healthy after {timeout}s:\n{log_path.read_text()}")


# --- load generation ---------------------------------------------------------------------------------


Call = Callable[[Http, int], Awaitable[tuple[int, bytes]]]


async def load(http: Http, name: str, call: Call, total: int, clients: int, pid: int) -> Result:
    """``total`` requests from ``clients`` concurrent workers sharing one connection pool."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    first_error: list[str] = []

    async def worker() -> None:
        nonlocal errors
        for i in counter:
            t0 = time.perf_counter()
            status, body = await call(http, i)
            latencies.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                errors += 1
                if not first_error:
                    first_error.append(f"{status} {body[:300]!r}")

    cpu0, own0 = cpu_seconds(pid), time.process_time()
    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - t0
    cpu, own = cpu_seconds(pid) - cpu0, time.process_time() - own0
    if first_error:
        print(f"  ! {name}: {errors} errors, first: {first_error[0]}", file=sys.stderr)
    return Result(name, total, errors, elapsed, latencies, cpu, own, clients)


ASSISTANT_JSON = json.dumps(ASSISTANT_BODY).encode()


def create_assistant(http: Http, _i: int) -> Awaitable[tuple[int, bytes]]:
    return http.request("POST", "/assistants", ASSISTANT_JSON)


def create_message(thread_id: str) -> Call:
    def call(http: Http, i: int) -> Awaitable[tuple[int, bytes]]:
        body = {"role": "user", "content": f"Message {i}: my order has not arrived, what should I do?"}
        return http.request("POST", f"/threads/{thread_id}/messages", json.dumps(body).encode())

    return call


def list_messages(thread_id: str, after: list[str] | None = None) -> Call:
    def call(http: Http, i: int) -> Awaitable[tuple[int, bytes]]:
        params = {"limit": "100"}
        if after:
            params["after"] = after[i % len(after)]
        return http.request("GET", f"/threads/{thread_id}/messages", params=params)

    return call


async def new_thread(http: Http) -> str:
    thread_id: str = (await http.json("POST", "/threads", b"{}"))["id"]
    return thread_id


async def all_message_ids(http: Http, thread_id: str) -> list[str]:
    ids: list[str] = []
    cursor: dict[str, str] = {}
    while True:
        params = {"limit": "100", "order": "asc", **cursor}
        page = await http.json("GET", f"/threads/{thread_id}/messages", params=params)
        ids.extend(m["id"] for m in page["data"])
        if not page["has_more"]:
            return ids
        cursor = {"after": ids[-1]}


# --- SDK sanity pass ---------------------------------------------------------------------------------


async def sdk_sanity(base: str, thread_id: str, messages: int) -> dict[str, Any]:
    """The official client parses what the load generator was sent; also times sequential SDK calls."""
    # Every beta.* call warns that the Assistants API is deprecated; that is the point of this server.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=__name__)
    http = openai.DefaultAsyncHttpxClient(trust_env=False)
    async with openai.AsyncOpenAI(base_url=f"{base}/v1", api_key=API_KEY, http_client=http) as client:
        asst = await client.beta.assistants.create(**ASSISTANT_BODY)  # type: ignore[arg-type]
        assert asst.id.startswith("asst_") and asst.tools[0].type == "code_interpreter", asst
        assert (await client.beta.assistants.retrieve(asst.id)).name == ASSISTANT_BODY["name"]
        page = await client.beta.threads.messages.list(thread_id, limit=100)
        assert len(page.data) == 100 and page.has_more, (len(page.data), page.has_more)
        assert all(m.thread_id == thread_id and m.role == "user" for m in page.data)
        stamps = [m.created_at for m in page.data]
        assert stamps == sorted(stamps, reverse=True), "default order must be desc"
        first = page.data[0].content[0]
        assert first.type == "text" and first.text.value.startswith("Message "), first
        seen: set[str] = set()
        async for m in client.beta.threads.messages.list(thread_id, limit=100, order="asc"):
            seen.add(m.id)
        assert len(seen) == messages, f"auto-pagination saw {len(seen)} of {messages} messages"
        extra = await client.beta.threads.messages.create(thread_id, role="user", content="sdk check")
        assert extra.content[0].type == "text" and extra.content[0].text.value == "sdk check"
        await client.beta.threads.messages.delete(extra.id, thread_id=thread_id)

        timings: dict[str, list[float]] = {"assistants.create": [], "messages.list(limit=100)": []}
        for _ in range(50):
            t0 = time.perf_counter()
            await client.beta.assistants.create(model="gpt-4o", name="sdk")
            timings["assistants.create"].append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            await client.beta.threads.messages.list(thread_id, limit=100)
            timings["messages.list(limit=100)"].append((time.perf_counter() - t0) * 1000)
    return {
        "ok": True,
        "paginated_messages": len(seen),
        "sequential_sdk_p50_ms": {k: round(sorted(v)[len(v) // 2], 2) for k, v in timings.items()},
    }


# --- main --------------------------------------------------------------------------------------------


async def bench(args: argparse.Namespace, base: str, pid: int) -> dict[str, Any]:
    http = Http(f"{base}/v1", args.clients)
    try:
        # Warm-up: open the pool's connections and fill the server's caches (SQLAlchemy statements, etc.).
        scratch = await new_thread(http)
        await load(http, "warmup", create_assistant, args.clients * 8, args.clients, pid)
        await load(http, "warmup", create_message(scratch), args.clients * 8, args.clients, pid)
        await load(http, "warmup", list_messages(scratch), args.clients * 4, args.clients, pid)

        results: list[Result] = []

        async def measure(name: str, call: Call, total: int, clients: int) -> None:
            print(f"{name} × {total}, {clients} client(s) …", flush=True)
            results.append(await load(http, name, call, total, clients, pid))

        thread_id = await new_thread(http)
        await measure("assistants.create", create_assistant, args.creates, args.clients)
        # Seeding the thread *is* the messages.create measurement: 10,000 concurrent creates.
        await measure("messages.create", create_message(thread_id), args.messages, args.clients)
        await measure("messages.list(limit=100)", list_messages(thread_id), args.lists, args.clients)
        # Deep pages: cursors spread over the whole thread, as SDK auto-pagination sends them.
        ids = await all_message_ids(http, thread_id)
        cursors = ids[:: max(1, len(ids) // 100)]
        await measure("messages.list(limit=100, after=…)", list_messages(thread_id, cursors), args.lists, args.clients)
        # Unloaded latency: one client, so queueing behind 31 others does not dominate.
        await measure("assistants.create", create_assistant, args.single, 1)
        await measure("messages.list(limit=100)", list_messages(thread_id), args.single, 1)
    finally:
        await http.close()

    sanity = await sdk_sanity(base, thread_id, args.messages)
    return {"results": [r.summary() for r in results], "sdk_sanity": sanity, "thread_id": thread_id}


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=BENCH_DIR, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def print_table(results: list[dict[str, Any]]) -> None:
    cols = [
        "scenario",
        "clients",
        "requests",
        "errors",
        "req/s",
        "p50 ms",
        "p99 ms",
        "server CPU",
        "client CPU",
    ]
    rows = [
        [
            r["name"],
            str(r["clients"]),
            str(r["requests"]),
            str(r["errors"]),
            f"{r['requests_per_second']:.0f}",
            f"{r['p50_ms']:.1f}",
            f"{r['p99_ms']:.1f}",
            f"{r['server_cpu_ms_per_request']:.2f} ms/req",
            f"{r['client_cpu_ms_per_request']:.2f} ms/req",
        ]
        for r in results
    ]
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(cols)]
    line = "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cols))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(v.ljust(widths[0]) if i == 0 else v.rjust(widths[i]) for i, v in enumerate(row)))


def targets(results: list[dict[str, Any]], clients: int) -> dict[str, dict[str, Any]]:
    """The issue's targets, judged on the ``clients``-client runs (one-client list latency as a footnote)."""
    find = {(r["name"], r["clients"]): r for r in results}
    creates = find["assistants.create", clients]["requests_per_second"]
    p50 = find["messages.list(limit=100)", clients]["p50_ms"]
    p50_one = find["messages.list(limit=100)", 1]["p50_ms"]
    return {
        f"assistants.create >= 500 req/s ({clients} clients)": {"value": creates, "met": creates >= 500},
        f"messages.list(limit=100) p50 < 10 ms ({clients} clients)": {"value": p50, "met": p50 < 10},
        "messages.list(limit=100) p50 < 10 ms (1 client)": {"value": p50_one, "met": p50_one < 10},
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    p.add_argument("--creates", type=int, default=5000, help="assistants.create requests (default 5000)")
    p.add_argument("--messages", type=int, default=10_000, help="messages seeded = messages.create requests")
    p.add_argument("--lists", type=int, default=2000, help="messages.list requests per list scenario")
    p.add_argument("--single", type=int, default=500, help="requests per one-client scenario (default 500)")
    p.add_argument("--keep-data", action="store_true", help="keep the temporary data directory")
    p.add_argument("--out", type=Path, default=RESULTS_DIR, help="directory for the JSON results")
    p.add_argument(
        "--server-command",
        help="command that serves on 127.0.0.1:{port} instead of `assistantd serve` ({python} = this interpreter)",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="run the server under py-spy; writes bench/results/<timestamp>.profile.txt (collapsed stacks)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%M%SZ")
    args.out.mkdir(parents=True, exist_ok=True)
    profile = args.out / f"{stamp}.profile.txt" if args.profile else None
    data_dir = Path(tempfile.mkdtemp(prefix="assistantd-bench-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = data_dir / "server.log"
    try:
        with running_server(data_dir / "data", port, log_path, profile, args.server_command) as server:
            print(f"server pid {server.pid} on {base}, data in {data_dir}", flush=True)
            startup = asyncio.run(wait_healthy(base, server.proc, log_path, timeout=60))
            print(f"healthy after {startup:.2f}s", flush=True)
            out = asyncio.run(bench(args, base, server.pid))
    finally:
        if not args.keep_data:
            shutil.rmtree(data_dir, ignore_errors=True)

    report = {
        "timestamp": stamp,
        "commit": git_commit(),
        "python": platform.python_version(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "server_startup_seconds": round(startup, 3),
        "profile": str(profile) if profile else None,
        **out,
    }
    report["targets"] = targets(out["results"], args.clients)
    print()
    print_table(out["results"])
    print()
    for name, t in report["targets"].items():
        print(f"{'MET   ' if t['met'] else 'MISSED'} {name}: {t['value']}")
    print(f"SDK sanity: ok; sequential SDK p50 ms {out['sdk_sanity']['sequential_sdk_p50_ms']}")
    path = args.out / f"{stamp}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {path}")
    if profile:
        print(f"wrote {profile} (summarise: .venv/bin/python bench/profile_summary.py {profile})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
