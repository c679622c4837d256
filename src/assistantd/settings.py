"""Server settings: environment variables prefixed ``ASSISTANTD_``, then an optional TOML file.

Every field is documented in ``docs/settings.md``; ``tests/test_docs.py`` fails when one is not.
Precedence, highest first: explicit constructor arguments, environment variables, the TOML file named by
``ASSISTANTD_CONFIG_FILE``, the defaults below.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class UpstreamRoute(BaseModel):
    """One model upstream in the TOML config: which model names it serves and where."""

    base_url: str
    """OpenAI-compatible base URL, e.g. ``http://127.0.0.1:11434/v1``."""
    api_key: str = ""
    """Bearer key sent to this upstream (empty: none)."""
    models: list[str] = Field(default_factory=list)
    """Model names routed to this upstream. ``"*"`` matches any name not routed elsewhere."""
    context_window: int = 128_000
    """Context window in tokens of the models served here; bounds the prompt we build."""
    supports_json_schema: bool = True
    """Whether the upstream accepts ``response_format: json_schema`` natively."""


class Settings(BaseSettings):
    """Everything assistantd can be configured with. See ``docs/settings.md``."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANTD_", extra="ignore")

    config_file: Path | None = None
    """Optional TOML file with any of these settings (same names, lower case) and ``[[upstreams]]`` tables."""
    host: str = "127.0.0.1"
    """Address ``assistantd serve`` binds to."""
    port: int = 8000
    """Port ``assistantd serve`` listens on."""
    data_dir: Path = Path("./assistantd-data")
    """Directory holding the SQLite database and uploaded file bytes."""
    database_url: str = ""
    """SQLAlchemy URL of the database; empty means ``sqlite+aiosqlite:///<data_dir>/assistantd.db``."""
    api_keys: str = ""
    """Comma-separated bearer keys clients must present. Empty: any key is accepted (a warning is logged)."""
    upstream_base_url: str = ""
    """Default OpenAI-compatible model upstream (e.g. ``http://127.0.0.1:11434/v1``). Empty: none."""
    upstream_api_key: str = ""
    """Bearer key sent to the default upstream."""
    upstream_context_window: int = 128_000
    """Context window (tokens) assumed for models on the default upstream."""
    upstreams: list[UpstreamRoute] = Field(default_factory=list)
    """Model routing (TOML only): ``[[upstreams]]`` tables mapping model names to upstreams."""
    models: str = ""
    """Comma-separated model names to list in ``GET /v1/models`` besides those the upstreams report."""
    max_file_bytes: int = 512 * 1024 * 1024
    """Largest accepted upload, in bytes (OpenAI's limit: 512 MB)."""
    require_beta_header: bool = False
    """Reject Assistants calls without ``OpenAI-Beta: assistants=v2`` (400 ``invalid_beta``), as OpenAI did."""
    poll_after_ms: int = 25
    """Value of the ``openai-poll-after-ms`` header on run responses, so SDK pollers poll promptly."""
    run_workers: int = 8
    """How many runs the in-process workers execute at once."""
    run_expiry_seconds: int = 600
    """Seconds after creation at which a run waiting in ``requires_action`` expires."""
    upstream_timeout_seconds: float = 120.0
    """Timeout of one upstream request (connect and each read)."""
    upstream_max_retries: int = 2
    """Retries of an upstream request that fails before its first token (timeouts, 429, 5xx, drops)."""
    log_level: str = "info"
    """Log level of the server (debug, info, warning, error)."""

    @field_validator("upstream_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = os.environ.get("ASSISTANTD_CONFIG_FILE")
        if path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'assistantd.db').resolve()}"

    @property
    def api_key_set(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.api_keys.split(",") if k.strip())

    @property
    def configured_models(self) -> list[str]:
        names = [m.strip() for m in self.models.split(",") if m.strip()]
        for route in self.upstreams:
            names.extend(m for m in route.models if m != "*")
        return list(dict.fromkeys(names))


def load_toml(path: Path) -> dict[str, Any]:
    """Read a TOML config file (used by the CLI's ``--config``)."""
    with path.open("rb") as fh:
        return tomllib.load(fh)
