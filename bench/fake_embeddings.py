"""An instant OpenAI-compatible ``/v1/embeddings`` on loopback, for benchmarks: hashed bag-of-words
vectors (384 dimensions, unit length), so texts sharing words are similar. Prints ``port <n>`` first.

    .venv/bin/python bench/fake_embeddings.py [--port 0]
"""

from __future__ import annotations

import argparse
import hashlib
import re

import numpy as np
from aiohttp import web

DIMENSIONS = 384
_WORD = re.compile(r"\w+")
_cache: dict[str, tuple[int, float]] = {}


def _bucket(word: str) -> tuple[int, float]:
    hit = _cache.get(word)
    if hit is None:
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        hit = (int.from_bytes(digest[:4], "little") % DIMENSIONS, 1.0 if digest[4] & 1 else -1.0)
        if len(_cache) < 500_000:
            _cache[word] = hit
    return hit


def embed(text: str) -> list[float]:
    vector = np.zeros(DIMENSIONS, np.float32)
    for word in _WORD.findall(text.lower()):
        index, sign = _bucket(word)
        vector[index] += sign
    norm = float(np.linalg.norm(vector)) or 1.0
    return [round(float(x), 4) for x in vector / norm]


async def embeddings(request: web.Request) -> web.Response:
    body = await request.json()
    inputs = body["input"]
    inputs = [inputs] if isinstance(inputs, str) else inputs
    data = [{"object": "embedding", "index": i, "embedding": embed(t)} for i, t in enumerate(inputs)]
    return web.json_response({"object": "list", "data": data, "model": body.get("model", "fake"), "usage": {}})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    app = web.Application(client_max_size=256 * 1024 * 1024)
    app.router.add_post("/v1/embeddings", embeddings)

    async def announce(app: web.Application) -> None:
        site = next(iter(runner.sites))
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(f"port {port}", flush=True)

    runner = web.AppRunner(app)

    async def run() -> None:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", args.port)
        await site.start()
        await announce(app)
        import asyncio

        await asyncio.Event().wait()

    import asyncio

    asyncio.run(run())


if __name__ == "__main__":
    main()
