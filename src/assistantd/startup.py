"""What the server says as it starts: where its data is, which upstreams it uses and whether they answer,
how vector stores embed, and who may call it. An operator reading the first lines of the log can tell a
misconfiguration (no upstream, an upstream that does not answer, keyword-only search, an open server)
before the first client does.

The upstream probes (``GET {base}/models``, short timeout) run in the background once the app is up: a
slow or absent upstream never delays or fails start-up.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
from sqlalchemy.engine import make_url

from assistantd.backends.registry import SCRIPTED
from assistantd.settings import Settings

log = logging.getLogger("assistantd")

PROBE_TIMEOUT_SECONDS = 3.0


def upstreams(settings: Settings) -> list[tuple[str, str, str]]:
    """(label, base URL, API key) of every configured upstream, routed ones first."""
    found = [
        (f"upstream for {', '.join(route.models) or 'no models'}", route.base_url.rstrip("/"), route.api_key)
        for route in settings.upstreams
    ]
    if settings.upstream_base_url:
        found.append(("default upstream", settings.upstream_base_url, settings.upstream_api_key))
    return found


def log_settings(settings: Settings, *, embedder: str | None, custom_backend: bool) -> None:
    """The configuration lines (the listen address is logged by ``server.Server`` once it is serving)."""
    url = make_url(settings.effective_database_url).render_as_string(hide_password=True)
    log.info("data dir %s, database %s", settings.data_dir.resolve(), url)
    if custom_backend:
        log.info("model backend: supplied by the embedding application")
    elif not upstreams(settings):
        log.warning(
            "no model upstream is set: runs will fail. Set ASSISTANTD_UPSTREAM_BASE_URL (e.g. "
            "http://127.0.0.1:11434/v1 for Ollama; 'scripted' for the offline demo) or [[upstreams]] in --config"
        )
    for label, base, _ in upstreams(settings):
        if base == SCRIPTED:
            log.info("%s: the scripted demo backend (deterministic, not a language model)", label)
    if embedder is None:
        log.info("embeddings: none (file_search and vector store search are keyword-only)")
    else:
        log.info("embeddings: %s", embedder)
    keys = settings.api_key_set
    admin = bool(settings.admin_key or settings.admin_key_file)
    if keys or admin:
        log.info(
            "auth: bearer key required (%d default-project key%s, project keys, admin key %s)",
            len(keys),
            "" if len(keys) == 1 else "s",
            "set" if admin else "unset",
        )
    else:
        log.warning(
            "auth: OPEN, any bearer key is accepted as the default project "
            "(set ASSISTANTD_API_KEYS or ASSISTANTD_ADMIN_KEY to require one)"
        )
    if settings.access_log:
        log.info("access log: on")


async def probe_upstreams(settings: Settings, http: httpx.AsyncClient) -> None:
    """Log, for each upstream, whether ``GET {base}/models`` answered; never raises."""

    async def probe(label: str, base: str, key: str) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        try:
            response = await http.get(f"{base}/models", headers=headers, timeout=PROBE_TIMEOUT_SECONDS)
        except httpx.HTTPError as exc:
            log.warning("%s %s: did not answer GET /models (%s)", label, base, type(exc).__name__)
            return
        if response.status_code == 200:
            try:
                count = len(response.json()["data"])
            except (ValueError, KeyError, TypeError):
                count = 0
            log.info("%s %s: answered GET /models (%d models)", label, base, count)
        else:
            log.warning("%s %s: answered GET /models with HTTP %d", label, base, response.status_code)

    probes = [probe(label, base, key) for label, base, key in upstreams(settings) if base != SCRIPTED]
    try:
        await asyncio.gather(*probes)
    except Exception:  # a probe is advice: nothing it meets may take the server down
        log.exception("upstream probe failed")
