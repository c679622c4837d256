"""Server settings: environment variables prefixed ``ASSISTANTD_``, then an optional TOML file.

Every field is documented in ``docs/settings.md``; ``tests/test_docs.py`` fails when one is not.
Precedence, highest first: explicit constructor arguments, environment variables, the TOML file named by
``ASSISTANTD_CONFIG_FILE``, the defaults below.

Mistakes are errors, not silent defaults: an ``ASSISTANTD_*`` variable or TOML key that names no setting, or
a config file that does not exist, raises ``ConfigError`` with the closest valid name (a typo in
``api_keys`` must not leave the server open to any key).
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "ASSISTANTD_"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


class ConfigError(ValueError):
    """The configuration names something that does not exist; the message says what to change."""


def _closest(name: str, valid: Iterable[str]) -> str:
    match = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def check_environment(environ: Mapping[str, str], fields: Iterable[str]) -> None:
    """Every ``ASSISTANTD_*`` variable must name a setting (names are case-insensitive, as pydantic-settings
    reads them)."""
    valid = {f"{ENV_PREFIX}{field.upper()}" for field in fields}
    for name in sorted(environ):
        upper = name.upper()
        if upper.startswith(ENV_PREFIX) and upper not in valid:
            raise ConfigError(f"unknown environment variable {name}{_closest(upper, valid)} (see docs/settings.md)")


def check_config_file(path: Path, fields: Iterable[str]) -> None:
    """The TOML file must exist, parse, and use only setting names (and ``[[upstreams]]`` route keys)."""
    if not path.is_file():
        what = "is not a file" if path.exists() else "does not exist"
        raise ConfigError(f"config file {path} {what} (given by --config or ASSISTANTD_CONFIG_FILE)")
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read as TOML: {exc}") from exc
    valid = set(fields)
    for key in data:
        if key not in valid:
            raise ConfigError(f"unknown setting {key!r} in {path}{_closest(key, valid)} (see docs/settings.md)")
    routes = data.get("upstreams", [])
    route_keys = set(UpstreamRoute.model_fields)
    for number, route in enumerate(routes if isinstance(routes, list) else [], start=1):
        for key in route if isinstance(route, dict) else {}:
            if key not in route_keys:
                raise ConfigError(
                    f"unknown key {key!r} in [[upstreams]] table {number} of {path}{_closest(key, route_keys)}"
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
    token_limit_parameter: Literal["auto", "max_completion_tokens", "max_tokens"] = "auto"
    """How a run's completion-token limit is sent: ``auto`` sends ``max_completion_tokens`` and switches to
    ``max_tokens`` (remembered per model) when the upstream refuses it; or always one of the two."""


class Settings(BaseSettings):
    """Everything assistantd can be configured with. See ``docs/settings.md``."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANTD_", extra="ignore")

    config_file: Path | None = None
    """Optional TOML file with any of these settings (same names, lower case) and ``[[upstreams]]`` tables."""
    host: str = "127.0.0.1"
    """Address ``assistantd serve`` binds to."""
    port: int = Field(default=8000, ge=0, le=65535)
    """Port ``assistantd serve`` listens on."""
    data_dir: Path = Path("./assistantd-data")
    """Directory holding the SQLite database and uploaded file bytes."""
    database_url: str = ""
    """Database URL; empty means ``sqlite:///<data_dir>/assistantd.db``. ``postgresql://user:pass@host/db``
    runs on PostgreSQL through psycopg 3 (any driver named in the URL is replaced by it)."""
    database_pool_size: int = Field(default=10, ge=1)
    """PostgreSQL: connections each process keeps open."""
    database_max_overflow: int = Field(default=20, ge=0)
    """PostgreSQL: connections a process may open beyond the pool under load (closed when idle)."""
    database_pool_timeout: float = Field(default=10.0, gt=0)
    """PostgreSQL: seconds a request waits for a free connection before a 503 with ``Retry-After``."""
    api_keys: str = ""
    """Comma-separated bearer keys of the default project. Empty, with no ``admin_key`` either: any key is
    accepted as the default project (a warning is logged)."""
    admin_key: str = ""
    """The admin key of the Administration API (``/v1/organization``: projects, service accounts, keys).
    Never logged. Setting it (or ``admin_key_file``) closes the server to unknown keys."""
    admin_key_file: Path | None = None
    """A file holding the admin key (its first line), for secrets mounted as files."""
    rate_limit_requests_per_minute: int = Field(default=0, ge=0)
    """Requests per minute each project may make, per API process (0: no limit)."""
    rate_limit_key_requests_per_minute: int = Field(default=0, ge=0)
    """Requests per minute each project key may make, per API process (0: no limit)."""
    rate_limit_tokens_per_minute: int = Field(default=0, ge=0)
    """Model tokens per minute each project may spend, across processes (0: no limit)."""
    max_concurrent_runs_per_project: int = Field(default=0, ge=0)
    """Runs and responses a project may have queued, in progress or waiting at once (0: no limit)."""
    project_storage_bytes: int = Field(default=0, ge=0)
    """Bytes of files each project may store (0: no quota)."""
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
    max_request_bytes: int = 16 * 1024 * 1024
    """Largest JSON request body, in bytes; a bigger one is refused with 413 before it is read whole. The
    default holds a thread created with dozens of full-size (256,000-character) messages."""
    require_beta_header: bool = False
    """Reject Assistants calls without ``OpenAI-Beta: assistants=v2`` (400 ``invalid_beta``), as OpenAI did."""
    poll_after_ms: int = 25
    """Value of the ``openai-poll-after-ms`` header on run responses, so SDK pollers poll promptly."""
    poll_wait_ms: int = 250
    """How long a run retrieve from the SDK's poll helpers may wait for an active run to stop or wait before
    answering (0: answer at once). Saves the helpers most of their polls."""
    run_workers: int = 64
    """How many runs the in-process workers execute at once."""
    lease_seconds: float = Field(default=20.0, ge=2)
    """How long a run, response or vector store file claimed by a process stays its own without a renewal
    (renewed every tenth of it while the process works): after a process dies, another takes its work
    over within this time. PostgreSQL deployments with several workers; SQLite takes over at start-up."""
    run_expiry_seconds: int = 600
    """Seconds after creation at which a run waiting in ``requires_action`` expires."""
    upstream_timeout_seconds: float = 120.0
    """Timeout of one upstream request (connect and each read)."""
    upstream_max_retries: int = 2
    """Retries of an upstream request that fails before its first token (timeouts, 429, 5xx, drops)."""
    upstream_idle_timeout_seconds: float = 120.0
    """Longest gap between two stream chunks that carry data (SSE comments and keep-alives do not count);
    past it the turn fails (or is retried before its first token)."""
    upstream_turn_timeout_seconds: float = 600.0
    """Total deadline of one model turn, retries included; past it the run fails with ``last_error``."""
    upstream_max_line_bytes: int = 1024 * 1024
    """Longest stream line accepted from an upstream; a longer one fails the turn."""
    upstream_max_response_bytes: int = 32 * 1024 * 1024
    """Most bytes read from an upstream for one model turn; past it the turn fails."""
    query_rewrite_model: str = ""
    """Model (routed like runs' models) that rewrites ``vector_stores.search`` queries sent with
    ``rewrite_query: true``. Empty: queries are reduced to their keywords, with no model."""
    upstream_token_limit_parameter: Literal["auto", "max_completion_tokens", "max_tokens"] = "auto"
    """``token_limit_parameter`` of the default upstream (see ``[[upstreams]]`` in docs/settings.md)."""
    sse_keepalive_seconds: float = 15.0
    """A stream silent this long gets an SSE comment line, so proxies with read timeouts keep it open."""
    log_level: str = "info"
    """Log level of the server (debug, info, warning, error)."""
    access_log: bool = False
    """Log one line per HTTP request: in ``text`` format uvicorn's access log (client, method, path, status); in
    ``json`` assistantd's request line (method, route template, status, duration, request id, project)."""
    log_format: Literal["text", "json"] = "text"
    """``text``: human lines. ``json``: one JSON object per line (time, level, logger, message, and the request
    id, project, route, status, duration, run or response id and trace id where known)."""
    console: bool = True
    """Serve the web console and playground at ``/console`` (it logs in with a project key)."""
    metrics: bool = False
    """Serve Prometheus metrics at ``GET /metrics`` (no key: expose it only to the scraper's network)."""
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    """With ``metrics``: each ``assistantd worker`` process serves ``GET /metrics`` on ``host`` at this port plus
    its slot (``--processes 3``: this port and the next two). 0: workers serve no metrics."""
    otlp_endpoint: str = ""
    """OTLP/HTTP endpoint traces are exported to (e.g. ``http://127.0.0.1:4318``); empty: no tracing."""
    max_connections: int = Field(default=1000, ge=1)
    """Most client connections open at once; past it a new connection gets a 503 and is closed. Kept
    below the open-files limit (``ulimit -n``), which ``assistantd serve`` raises to its hard maximum."""
    header_timeout_seconds: float = Field(default=5.0, gt=0)
    """A connection must send a request's complete headers within this long (of connecting, or of its
    previous response), or it is closed: slow or stalled clients cannot hold connections open."""
    code_interpreter_unsandboxed: bool = False
    """Run code_interpreter without bubblewrap (rlimits only, NO isolation) when bubblewrap is missing."""
    code_interpreter_python: Path = Path("/opt/assistantd-sandbox/bin/python")
    """Interpreter of the sandbox venv (``assistantd setup-sandbox`` builds it); readable by the sandbox uids."""
    code_interpreter_dir: Path | None = None
    """Where per-session ``/mnt/data`` directories live; None means ``/var/lib/assistantd-sandbox`` (outside the
    private data dir: every parent must be traversable by the sandbox uids)."""
    code_interpreter_uid_base: int = 20000
    """First host uid sessions run as; session N runs as ``uid_base + N``. The range is claimed host-wide;
    when another instance holds it, the next free range is used."""
    code_interpreter_max_sessions: int = 64
    """Most sessions (threads' and spare) alive at once; also the number of uids used."""
    code_interpreter_spare_sessions: int = 2
    """Sessions kept started ahead of need, so a new thread's first call is fast."""
    code_interpreter_idle_seconds: int = 1200
    """A thread's session idle this long is shut down; its next call starts afresh with its files."""
    code_interpreter_timeout_seconds: float = 60.0
    """Wall-clock limit of one execution; past it the code is interrupted (or the session restarted)."""
    code_interpreter_cpu_seconds: int = 3600
    """CPU-time limit (RLIMIT_CPU) of a session's whole life: a backstop behind the wall-clock limit."""
    code_interpreter_memory_bytes: int = 2 * 1024 * 1024 * 1024
    """Memory of a session, all its processes together (its cgroup, where usable), and address-space limit
    (RLIMIT_AS) of each of its processes."""
    code_interpreter_max_processes: int = 64
    """Processes and threads a session may have (RLIMIT_NPROC of its uid, and its cgroup's pids.max)."""
    code_interpreter_max_file_bytes: int = 100 * 1024 * 1024
    """Largest file a session may write (RLIMIT_FSIZE)."""
    code_interpreter_tmp_bytes: int = 256 * 1024 * 1024
    """Size of a session's private ``/tmp`` (a tmpfs, counted in memory)."""
    code_interpreter_max_output_chars: int = 20000
    """Characters of stdout (and of stderr) of one execution the model sees: head and tail are kept."""
    code_interpreter_max_output_bytes: int = 64 * 1024 * 1024
    """Output past this many bytes interrupts the execution."""
    code_interpreter_max_output_files: int = 20
    """Files one execution may create: written files first, then displayed images; the rest are reported."""
    code_interpreter_session_output_bytes: int = 512 * 1024 * 1024
    """Bytes of Files one session may create in total (files copied out of ``/mnt/data``, and images)."""
    embeddings: Literal["local", "upstream", "hashing", "none"] = "local"
    """Embedder for vector stores: ``local`` (all-MiniLM-L6-v2 on the CPU, offline), ``upstream`` (the
    ``/embeddings`` endpoint of ``embedding_base_url``), ``hashing`` (deterministic, for tests) or ``none``
    (keyword search only)."""
    embedding_model: str = "text-embedding-3-small"
    """Model name sent to the upstream ``/embeddings`` endpoint when ``embeddings=upstream``."""
    embedding_base_url: str = ""
    """OpenAI-compatible base URL for ``embeddings=upstream``; empty means ``upstream_base_url``."""
    embedding_api_key: str = ""
    """Bearer key for the embeddings upstream; empty means ``upstream_api_key``."""
    embedding_batch_size: int = 32
    """Texts per request to the embeddings upstream."""
    ingest_workers: int = 2
    """Vector-store files ingested at once (text extraction, chunking, embedding, indexing)."""
    file_search_wait_seconds: float = 60.0
    """How long a run's ``file_search`` waits for the thread's vector store to finish ingesting."""
    file_search_every_turn: bool = False
    """Search the run's vector stores with the user's last message before the model's first turn, for
    small models that never call tools (the results and citations appear as a ``file_search`` call)."""
    mcp_timeout_seconds: float = Field(default=60.0, gt=0)
    """Deadline of one exchange with a remote MCP server (connect, list its tools, or one tool call)."""
    mcp_max_output_chars: int = Field(default=100_000, gt=0)
    """Characters of one MCP tool call's output kept (the head, with a note of how much was cut)."""
    mcp_allowed_hosts: str = ""
    """Comma-separated host patterns (``fnmatch``: ``*.example.com``, ``10.0.0.5:8080``) that ``mcp`` tools'
    ``server_url`` may name; empty allows any host. The server, not the client, connects to them."""

    @field_validator("upstream_base_url", "embedding_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _embeddings_have_an_upstream(self) -> Settings:
        if self.embeddings == "upstream" and not (self.embedding_base_url or self.upstream_base_url):
            raise ValueError(
                "embeddings=upstream needs ASSISTANTD_EMBEDDING_BASE_URL (or ASSISTANTD_UPSTREAM_BASE_URL) to be set"
            )
        return self

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        scheme = value.split(":", 1)[0].split("+", 1)[0].lower()
        if value and scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError("must be a sqlite:/// or postgresql:// URL (or empty: SQLite in the data dir)")
        if scheme == "postgres":  # what Heroku and some consoles print; SQLAlchemy knows only "postgresql"
            value = "postgresql" + value[len("postgres") :]
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        if value.lower() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return value.lower()

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
        check_environment(os.environ, settings_cls.model_fields)
        path = os.environ.get("ASSISTANTD_CONFIG_FILE")
        if path:
            check_config_file(Path(path), settings_cls.model_fields)
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'assistantd.db').resolve()}"

    @property
    def api_key_set(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.api_keys.split(",") if k.strip())

    @property
    def configured_models(self) -> list[str]:
        names = [m.strip() for m in self.models.split(",") if m.strip()]
        for route in self.upstreams:
            names.extend(m for m in route.models if m != "*")
        return list(dict.fromkeys(names))
