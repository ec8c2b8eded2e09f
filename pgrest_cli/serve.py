"""`pgrest serve`: run the HTTP API with uvicorn, configured like PostgREST.

    pgrest serve --config postgrest.conf          # PostgREST's config-file format, PGRST_* env on top
    pgrest serve --demo                           # a throwaway PostgreSQL loaded with the demo schema

A configuration PostgREST would refuse is reported on stderr with exit status 1; unknown keys
are warnings. SIGTERM / SIGINT stop the server (uvicorn handles them) and the demo database.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from pgrest_server.postgres import TempPostgres


@click.command()
@click.option("--config", "config_file", metavar="FILE", help="A PostgREST-format config file.")
@click.option("--demo", is_flag=True, help="Serve the demo schema from a throwaway PostgreSQL.")
@click.option("--host", help="Override server-host.")
@click.option("--port", type=int, help="Override server-port.")
def serve(config_file: str | None, demo: bool, host: str | None, port: int | None) -> None:
    """Serve PostgREST's API over HTTP."""
    from pgrest_core.settings import ConfigError
    from pgrest_server.run import ANY_HOST, exit_on_sigterm, load_config, run_server, start_demo

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
        exit_on_sigterm()
        settings, postgres = start_demo(settings)
    try:
        if postgres is not None:
            shown_host = "127.0.0.1" if settings.server_host in ANY_HOST else settings.server_host
            click.echo(f"pgrest: serving the demo at http://{shown_host}:{settings.server_port}/", err=True)
        run_server(settings)
    finally:
        if postgres is not None:
            postgres.stop()
