"""``assistantd serve``: start the server with uvicorn."""

from __future__ import annotations

import argparse
import logging
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="assistantd", description="OpenAI Assistants API v2 server")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", help="bind address (default 127.0.0.1, or ASSISTANTD_HOST)")
    serve.add_argument("--port", type=int, help="port (default 8000, or ASSISTANTD_PORT)")
    serve.add_argument("--config", help="TOML settings file (or ASSISTANTD_CONFIG_FILE)")
    setup = sub.add_parser("setup-sandbox", help="build the code_interpreter sandbox's Python venv")
    setup.add_argument("--path", help="venv directory (default: the parent of ASSISTANTD_CODE_INTERPRETER_PYTHON)")
    setup.add_argument("--force", action="store_true", help="reinstall even when up to date")
    args = parser.parse_args(argv)
    if args.command == "setup-sandbox":
        return _setup_sandbox(args.path, args.force)

    if args.config:
        os.environ["ASSISTANTD_CONFIG_FILE"] = args.config
    import uvicorn

    from assistantd.app import create_app
    from assistantd.settings import Settings

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = Settings(**overrides)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
    )
    return 0


def _setup_sandbox(path: str | None, force: bool) -> int:
    from pathlib import Path

    from assistantd.sandbox.setup import setup_sandbox
    from assistantd.settings import Settings

    venv = Path(path) if path else Settings().code_interpreter_python.parent.parent
    changed = setup_sandbox(venv, force=force)
    print(f"sandbox venv {'ready' if changed else 'already up to date'}: {venv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
