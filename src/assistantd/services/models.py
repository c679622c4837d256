"""Models: what the upstreams report, plus the names configured in settings."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx

from assistantd.errors import NotFound
from assistantd.services._context import Context, WireObject

log = logging.getLogger("assistantd.models")

CACHE_SECONDS = 30.0


class Models:
    def __init__(self, ctx: Context, http: httpx.AsyncClient) -> None:
        self.ctx = ctx
        self.http = http
        self._cache: tuple[float, list[WireObject]] | None = None
        self._lock = asyncio.Lock()

    def _upstreams(self) -> list[tuple[str, str]]:
        s = self.ctx.settings
        out = [(u.base_url.rstrip("/"), u.api_key) for u in s.upstreams]
        if s.upstream_base_url.startswith(("http://", "https://")):
            out.append((s.upstream_base_url, s.upstream_api_key))
        return list(dict.fromkeys(out))

    async def _fetch(self, base_url: str, api_key: str) -> list[WireObject]:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        try:
            resp = await self.http.get(f"{base_url}/models", headers=headers, timeout=3.0)
            resp.raise_for_status()
            data = resp.json().get("data") or []
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            log.warning("could not list models at %s: %s", base_url, exc)
            return []
        return [
            _model(str(m["id"]), m.get("owned_by") or "upstream", m.get("created"))
            for m in data
            if isinstance(m, dict) and "id" in m
        ]

    async def _all(self) -> list[WireObject]:
        async with self._lock:
            if self._cache and time.monotonic() - self._cache[0] < CACHE_SECONDS:
                return self._cache[1]
            found: dict[str, WireObject] = {}
            results = await asyncio.gather(*(self._fetch(u, k) for u, k in self._upstreams()))
            for models in results:
                for m in models:
                    found.setdefault(m["id"], m)
            for name in self.ctx.settings.configured_models:
                found.setdefault(name, _model(name, "assistantd", None))
            self._cache = (time.monotonic(), list(found.values()))
            return self._cache[1]

    async def list_models(self) -> WireObject:
        return {"object": "list", "data": await self._all()}

    async def retrieve_model(self, model: str) -> WireObject:
        for m in await self._all():
            if m["id"] == model:
                return m
        raise NotFound(f"The model '{model}' does not exist", param="model", code="model_not_found")


def _model(name: str, owner: str, created: Any) -> WireObject:
    return {
        "id": name,
        "object": "model",
        "created": created if isinstance(created, int) else 0,
        "owned_by": owner,
    }
