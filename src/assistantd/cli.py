"""The ``assistantd`` command: ``serve`` (the HTTP server), ``worker`` (the run engine of a PostgreSQL
deployment, see ``runtime.py``), ``import`` (an export from OpenAI), ``ingest`` (a
folder into a vector store of a running server, see ``ingest_cli.py``), ``setup-sandbox``, ``--version``.

A mistake in the configuration ends ``serve`` with one or two lines saying what to change and exit status 2,
never a traceback: unknown settings, out-of-range values, an unusable or already-served data dir, a port in
use. What the server then does is logged as it starts (see ``startup.py``).
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from importlib.metadata import version
from typing import IO, NoReturn

from pydantic import ValidationError

from assistantd import ingest_cli
from assistantd.settings import ConfigError, Settings

USAGE_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistantd",
        description="A self-hosted server of OpenAI's Assistants API v2 on any OpenAI-compatible model.",
        epilog="Start the server with 'assistantd serve'; every setting is in docs/settings.md.",
    )
    parser.add_argument("--version", action="version", version=f"assistantd {version('assistantd')}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the HTTP server", description="Run the HTTP server.")
    serve.add_argument("--host", help="bind address (default 127.0.0.1, or ASSISTANTD_HOST)")
    serve.add_argument("--port", type=int, help="port, 0 for any free one (default 8000, or ASSISTANTD_PORT)")
    serve.add_argument("--data-dir", help="data directory (default ./assistantd-data, or ASSISTANTD_DATA_DIR)")
    serve.add_argument("--config", help="TOML settings file (or ASSISTANTD_CONFIG_FILE)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="API processes sharing the port (PostgreSQL only; default 1)",
    )
    serve.add_argument(
        "--api-only",
        action="store_true",
        help="serve the API and leave runs, responses and ingestion to 'assistantd worker' processes (PostgreSQL only)",
    )
    worker = sub.add_parser(
        "worker",
        help="execute runs and responses, ingest files, expire what is due (PostgreSQL only)",
        description="Execute queued runs and responses, ingest vector store files and expire what is due, "
        "for API processes started with 'assistantd serve --api-only'. Any number of workers, on any number "
        "of machines, share the work through the database; one that dies has its work taken over.",
    )
    worker.add_argument("--data-dir", help="data directory shared with the API processes (or ASSISTANTD_DATA_DIR)")
    worker.add_argument("--config", help="TOML settings file (or ASSISTANTD_CONFIG_FILE)")
    worker.add_argument("--processes", type=int, default=1, metavar="N", help="worker processes (default 1)")
    worker.set_defaults(host=None, port=None)
    imp = sub.add_parser(
        "import",
        help="import assistants, threads, files and vector stores exported from OpenAI",
        description="Import an export of OpenAI objects (a folder of JSONL files, or one JSONL file; see "
        "docs/importing.md), keeping their IDs. Objects already present are skipped, so it can run again. "
        "Works whether the server is running or not. Exit status: 0 imported (or already present), 1 some "
        "object was malformed or could not be written (the rest was imported), 2 usage error.",
    )
    imp.add_argument("path", help="export folder, or one JSONL file whose lines say their 'object'")
    imp.add_argument("--data-dir", help="data directory (default ./assistantd-data, or ASSISTANTD_DATA_DIR)")
    imp.add_argument("--config", help="TOML settings file (or ASSISTANTD_CONFIG_FILE)")
    imp.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    imp.add_argument(
        "--project", help="import into the project of this name, made if missing (default: the default project)"
    )
    imp.set_defaults(host=None, port=None)
    ingest = sub.add_parser(
        "ingest",
        help="upload a folder's files into a vector store of a running server",
        description=ingest_cli.DESCRIPTION,
    )
    ingest_cli.add_arguments(ingest)
    keys = sub.add_parser(
        "keys",
        help="make project API keys",
        description="Make a project API key (sk-proj-...) without the Administration API. The key is printed "
        "once, on stdout; only its digest is stored. Works whether the server is running or not.",
    )
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    create = keys_sub.add_parser(
        "create", help="a new service account and key in a project", description="A new key in a project."
    )
    create.add_argument("--project", required=True, help="project name (made when no active project has it)")
    create.add_argument("--name", default="cli", help="name of the service account and key (default cli)")
    create.add_argument("--data-dir", help="data directory (default ./assistantd-data, or ASSISTANTD_DATA_DIR)")
    create.add_argument("--config", help="TOML settings file (or ASSISTANTD_CONFIG_FILE)")
    create.set_defaults(host=None, port=None)
    setup = sub.add_parser("setup-sandbox", help="build the code_interpreter sandbox's Python venv")
    setup.add_argument("--path", help="venv directory (default: the parent of ASSISTANTD_CODE_INTERPRETER_PYTHON)")
    setup.add_argument("--force", action="store_true", help="reinstall even when up to date")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return USAGE_ERROR
    if args.command == "setup-sandbox":
        return _setup_sandbox(args.path, args.force)
    if args.command == "import":
        return _import(args)
    if args.command == "ingest":
        return ingest_cli.run(args)
    if args.command == "worker":
        return _worker(args)
    if args.command == "keys":
        return _keys_create(args)
    return _serve(args)


def _fail(message: str, status: int = USAGE_ERROR) -> NoReturn:
    print(f"assistantd: error: {message}", file=sys.stderr)
    raise SystemExit(status)


def _settings(args: argparse.Namespace) -> Settings:
    if args.config:
        os.environ["ASSISTANTD_CONFIG_FILE"] = args.config
    overrides = {
        k: v for k, v in (("host", args.host), ("port", args.port), ("data_dir", args.data_dir)) if v is not None
    }
    try:
        return Settings(**overrides)
    except ConfigError as exc:
        _fail(str(exc))
    except ValidationError as exc:
        first = exc.errors()[0]
        if not first["loc"]:
            _fail(first["msg"].removeprefix("Value error, "))
        field = ".".join(str(part) for part in first["loc"]) or "settings"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        env = f"ASSISTANTD_{str(first['loc'][0]).upper()}" if first["loc"] else "ASSISTANTD_*"
        _fail(
            f"invalid setting {field} = {first.get('input')!r}: {first['msg'].removeprefix('Value error, ')}{more}\n"
            f"  fix it where it is set: {env}, the '{field}' key of the config file, or the command line"
        )


def _bind(host: str, port: int) -> socket.socket:
    """Bind before the app starts: a port in use is a clear error, and ``--port 0`` gets a real port to log."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc} (choose another --port or --host)")
    sock.set_inheritable(True)
    return sock


def _migrate(settings: Settings) -> None:
    """Open and migrate the database before serving: an unreachable one is one error line, not a traceback
    from inside the server's start-up."""
    import asyncio

    from assistantd.store.db import Database, DatabaseUnreachable

    async def migrate() -> None:
        db = Database(settings.effective_database_url)
        try:
            await db.migrate()
            if not db.is_sqlite:
                from assistantd.retrieval.pg_index import PostgresIndex

                await PostgresIndex(db).open()  # pgvector present, the index's tables made
        finally:
            await db.dispose()

    try:
        asyncio.run(migrate())
    except DatabaseUnreachable as exc:
        _fail(str(exc), status=1)


def _keys_create(args: argparse.Namespace) -> int:
    import asyncio

    from assistantd.organization.service import Organization
    from assistantd.store.db import Database

    settings = _settings(args)
    _migrate(settings)

    async def create() -> tuple[str, str]:
        db = Database(settings.effective_database_url)
        try:
            return await Organization(db, settings).create_key_for(args.project, args.name)
        finally:
            await db.dispose()

    project_id, key = asyncio.run(create())
    print(f"project {project_id} ({args.project}): new key below, shown once", file=sys.stderr)
    print(key)
    return 0


def _logging(settings: Settings) -> None:
    from assistantd.observability.logs import configure

    configure(settings.log_level.upper() if settings.log_level != "trace" else 5, settings.log_format)
    if settings.log_level != "debug":
        logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per migration plugin otherwise


def _needs_postgres(settings: Settings, what: str) -> None:
    from assistantd.store.db import is_sqlite_url

    if is_sqlite_url(settings.effective_database_url):
        _fail(
            f"{what} needs PostgreSQL (ASSISTANTD_DATABASE_URL=postgresql://...): one process owns a SQLite "
            "database, and 'assistantd serve' alone runs everything in it"
        )


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.workers < 1:
        _fail(f"--workers must be at least 1, not {args.workers}")
    if args.workers > 1:
        _needs_postgres(settings, "--workers")
    if args.api_only:
        _needs_postgres(settings, "--api-only")
    from assistantd.datadir import DataDirError, prepare
    from assistantd.store.db import is_sqlite_url

    try:
        lock: IO[str] | None = prepare(settings.data_dir, exclusive=is_sqlite_url(settings.effective_database_url))
    except DataDirError as exc:
        _fail(str(exc))
    sock = _bind(settings.host, settings.port)
    _logging(settings)
    from assistantd.app import create_app
    from assistantd.runtime import Role
    from assistantd.server import Server, build_config

    _migrate(settings)
    role: Role = "api" if args.api_only else "all"

    def serve() -> int:
        server = Server(build_config(create_app(settings, role=role), settings))
        server.run(sockets=[sock])
        return 0 if server.started else 1

    try:
        if args.workers == 1:
            return serve()
        from assistantd.processes import supervise

        return supervise(args.workers, lambda _slot: serve())
    finally:
        if lock is not None:
            lock.close()


def _worker(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _needs_postgres(settings, "assistantd worker")
    if args.processes < 1:
        _fail(f"--processes must be at least 1, not {args.processes}")
    from assistantd.datadir import DataDirError, prepare

    try:
        prepare(settings.data_dir, exclusive=False)
    except DataDirError as exc:
        _fail(str(exc))
    _logging(settings)
    _migrate(settings)
    from assistantd.worker_main import work

    if args.processes == 1:
        return work(settings)
    from assistantd.processes import supervise

    return supervise(args.processes, lambda slot: work(settings, slot))


def _import(args: argparse.Namespace) -> int:
    """Import an export; the summary goes to stdout, the progress bar and usage errors to stderr."""
    import asyncio
    from pathlib import Path

    from assistantd.importer import DumpError, import_dump

    settings = _settings(args)
    try:
        report = asyncio.run(
            import_dump(Path(args.path), settings, show_progress=not args.no_progress, project=args.project)
        )
    except DumpError as exc:
        _fail(str(exc))
    print(report.render())
    return report.exit_code


def _setup_sandbox(path: str | None, force: bool) -> int:
    from pathlib import Path

    from assistantd.sandbox.setup import setup_sandbox

    try:
        venv = Path(path) if path else Settings().code_interpreter_python.parent.parent
    except (ConfigError, ValidationError) as exc:
        _fail(str(exc).splitlines()[0])
    changed = setup_sandbox(venv, force=force)
    print(f"sandbox venv {'ready' if changed else 'already up to date'}: {venv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
