"""`pgrest serve`: run the HTTP API with uvicorn, configured like PostgREST.

    pgrest serve --config postgrest.conf          # PostgREST's config-file format, PGRST_* env on top
    pgrest serve --demo                           # a throwaway PostgreSQL loaded with the demo schema

A configuration PostgREST would refuse is reported on stderr with exit status 1; unknown keys
are warnings. SIGTERM / SIGINT stop the server (uvicorn handles them) and the demo database.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from pgrest_core.config import Settings
    from pgrest_core.runner.pg import TempPostgres

DEMO_DATABASE = "pgrest_demo"

# PostgREST's special server-host values: `!4`/`*4` any IPv4, `!6`/`*6` any IPv6, `*` any.
_ANY_HOST = {"!4": "0.0.0.0", "*4": "0.0.0.0", "*": "0.0.0.0", "!6": "::", "*6": "::"}


def bind_host(server_host: str) -> str:
    """The address uvicorn binds for a PostgREST `server-host` value."""
    return _ANY_HOST.get(server_host, server_host)


def load_config(config_file: str | None, env: Mapping[str, str]) -> tuple[Settings, list[str]]:
    """The settings from the file (if any) with PGRST_* over them, `@file` values read.

    Raises ConfigError (bad values) or OSError (an unreadable file).
    """
    from pgrest_core.config import load_settings, resolve_file_references

    text = Path(config_file).read_text(encoding="utf-8") if config_file else None
    settings, warnings = load_settings(text, env)
    settings = resolve_file_references(settings, lambda path: Path(path).read_text(encoding="utf-8"))
    return settings, warnings


def start_demo(settings: Settings) -> tuple[Settings, TempPostgres]:
    """Start a throwaway PostgreSQL with the demo schema; settings pointing at it."""
    from pgrest_core import demo
    from pgrest_core.runner.pg import TempPostgres

    postgres = TempPostgres().start()
    try:
        uri = postgres.create_database(DEMO_DATABASE, sql_text=demo.demo_sql())
    except BaseException:
        postgres.stop()
        raise
    demo_settings = replace(
        settings,
        db_uri=uri,
        db_schemas=demo.DEMO_SCHEMAS,
        db_anon_role=demo.ANONYMOUS_ROLE,
    )
    return demo_settings, postgres


def run_server(settings: Settings) -> None:
    """Serve `settings` with uvicorn until SIGTERM/SIGINT."""
    import uvicorn

    from pgrest_core.asgi import create_app

    app = create_app(settings, reload_signal=True)
    if settings.server_unix_socket:
        config = uvicorn.Config(app, uds=settings.server_unix_socket, log_level="warning", lifespan="on")
    else:
        config = uvicorn.Config(
            app,
            host=bind_host(settings.server_host),
            port=settings.server_port,
            log_level="warning",
            lifespan="on",
            access_log=False,
            server_header=False,
        )
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        # Startup failed (port taken, lifespan error): uvicorn already said why.
        raise SystemExit(3)


def _exit_on_sigterm() -> None:
    """Make SIGTERM unwind the stack (so `finally` stops the demo database) instead of killing us.

    uvicorn handles SIGTERM while serving, then re-raises it once it has shut down; with the
    default handler that would end the process before any cleanup runs.
    """

    def exit_cleanly(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, exit_cleanly)


@click.command()
@click.option("--config", "config_file", metavar="FILE", help="A PostgREST-format config file.")
@click.option("--demo", is_flag=True, help="Serve the demo schema from a throwaway PostgreSQL.")
@click.option("--host", help="Override server-host.")
@click.option("--port", type=int, help="Override server-port.")
def serve(config_file: str | None, demo: bool, host: str | None, port: int | None) -> None:
    """Serve PostgREST's API over HTTP."""
    from pgrest_core.config import ConfigError

    try:
        settings, warnings = load_config(config_file, os.environ)
    except (ConfigError, OSError, UnicodeDecodeError) as error:
        click.echo(f"pgrest: invalid configuration: {error}", err=True)
        sys.exit(1)
    for warning in warnings:
        click.echo(f"pgrest: warning: {warning}", err=True)
    if host is not None:
        settings = replace(settings, server_host=host)
    if port is not None:
        settings = replace(settings, server_port=port)

    postgres: TempPostgres | None = None
    if demo:
        _exit_on_sigterm()
        settings, postgres = start_demo(settings)
    try:
        if postgres is not None:
            shown_host = "127.0.0.1" if settings.server_host in _ANY_HOST else settings.server_host
            click.echo(f"pgrest: serving the demo at http://{shown_host}:{settings.server_port}/", err=True)
        run_server(settings)
    finally:
        if postgres is not None:
            postgres.stop()
