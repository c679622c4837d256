"""Model name → backend, from the settings' routing. Resolved once in the composition root."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from assistantd.backends.base import ModelBackend
from assistantd.backends.dialect import TokenLimitParameter
from assistantd.backends.openai_compat import OpenAICompatBackend
from assistantd.backends.scripted import ScriptedBackend
from assistantd.settings import Settings

SCRIPTED = "scripted"
"""``ASSISTANTD_UPSTREAM_BASE_URL=scripted`` selects the offline demo backend."""


@dataclass(frozen=True)
class Route:
    backend: ModelBackend
    context_window: int
    supports_json_schema: bool


class BackendRegistry:
    """Routes each model name to the upstream that serves it."""

    def __init__(self, settings: Settings, http: aiohttp.ClientSession, default: ModelBackend | None = None) -> None:
        def compat(base_url: str, api_key: str, token_limit: TokenLimitParameter) -> ModelBackend:
            if base_url == SCRIPTED:
                return ScriptedBackend()
            return OpenAICompatBackend(
                http,
                base_url,
                api_key,
                timeout=settings.upstream_timeout_seconds,
                idle_timeout=settings.upstream_idle_timeout_seconds,
                max_retries=settings.upstream_max_retries,
                token_limit_parameter=token_limit,
                max_line_bytes=settings.upstream_max_line_bytes,
                max_response_bytes=settings.upstream_max_response_bytes,
            )

        self.named: dict[str, Route] = {}
        self.fallback: Route | None = None
        for up in settings.upstreams:
            route = Route(
                compat(up.base_url, up.api_key, up.token_limit_parameter), up.context_window, up.supports_json_schema
            )
            for name in up.models:
                if name == "*":
                    self.fallback = self.fallback or route
                else:
                    self.named.setdefault(name, route)
        if default is not None:
            self.fallback = Route(default, settings.upstream_context_window, True)
        elif settings.upstream_base_url and self.fallback is None:
            backend = compat(
                settings.upstream_base_url, settings.upstream_api_key, settings.upstream_token_limit_parameter
            )
            self.fallback = Route(backend, settings.upstream_context_window, True)

    def resolve(self, model: str) -> Route | None:
        return self.named.get(model) or self.fallback
