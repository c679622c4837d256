"""The ``assistantd`` command: ``serve`` (the HTTP server), ``import`` (an export from OpenAI), ``ingest`` (a
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
    imp.set_defaults(host=None, port=None)
    ingest = sub.add_parser(
        "ingest",
        help="upload a folder's files into a vector store of a running server",
        description=ingest_cli.DESCRIPTION,
    )
    ingest_cli.add_arguments(ingest)
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


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    from assistantd.datadir import DataDirError, prepare

    try:
        lock: IO[str] = prepare(settings.data_dir)
    except DataDirError as exc:
        _fail(str(exc))
    sock = _bind(settings.host, settings.port)
    logging.basicConfig(
        level=settings.log_level.upper() if settings.log_level != "trace" else 5,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    if settings.log_level != "debug":
        logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per migration plugin otherwise
    from assistantd.app import create_app
    from assistantd.server import Server, build_config

    _migrate(settings)
    server = Server(build_config(create_app(settings), settings))
    try:
        server.run(sockets=[sock])
    finally:
        lock.close()
    return 0 if server.started else 1


def _import(args: argparse.Namespace) -> int:
    """Import an export; the summary goes to stdout, the progress bar and usage errors to stderr."""
    import asyncio
    from pathlib import Path

    from assistantd.importer import DumpError, import_dump

    settings = _settings(args)
    try:
        report = asyncio.run(import_dump(Path(args.path), settings, show_progress=not args.no_progress))
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
