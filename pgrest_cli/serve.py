"""`pgrest serve`: run the HTTP API with uvicorn, configured and driven like PostgREST's command.

    pgrest serve postgrest.conf                   # PostgREST's config-file format, PGRST_* env on top
    pgrest serve --config postgrest.conf          # the same
    pgrest serve --demo                           # a throwaway PostgreSQL loaded with the demo schema
    pgrest serve FILE --dump-config               # the effective configuration, then exit
    pgrest serve FILE --dump-schema               # the schema cache as JSON, then exit
    pgrest serve --example                        # an annotated example config file
    pgrest serve FILE --ready                     # exit 0/1 from the admin server's /ready
    pgrest serve FILE --workers 4                 # 4 processes on one port (server-workers)

As `postgrest` does: a configuration it would refuse is reported on stderr with exit status 1
(unknown keys are warnings); `--ready` prints `OK: <url>` and exits 0, or prints `ERROR: ...` on
stderr and exits 1. SIGTERM / SIGINT stop the server: in-flight requests finish, the demo
database stops, and the exit status is 0, as PostgREST's.
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

import click

from pgrest_cli.extras import DATABASE_MODULES, SERVER_MODULES, require

if TYPE_CHECKING:
    from pgrest_core.settings import Settings
    from pgrest_server.postgres import TempPostgres


@click.command()
@click.argument("config_path", metavar="[FILE]", required=False)
@click.option("--config", "config_option", metavar="FILE", help="A PostgREST-format config file.")
@click.option("--demo", is_flag=True, help="Serve the demo schema from a throwaway PostgreSQL.")
@click.option("--host", help="Override server-host.")
@click.option("--port", type=int, help="Override server-port.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Override server-workers: serve the port from N processes, each with its own db-pool.",
)
@click.option("-e", "--example", is_flag=True, help="Show an example configuration file and exit.")
@click.option("--dump-config", is_flag=True, help="Print the loaded configuration and exit.")
@click.option(
    "--dump-schema", is_flag=True, help="Print the schema cache as JSON and exit (the layout may change)."
)
@click.option("--ready", is_flag=True, help="Exit 0 when the admin server's /ready answers 200, else 1.")
def serve(
    config_path: str | None,
    config_option: str | None,
    demo: bool,
    host: str | None,
    port: int | None,
    workers: int | None,
    example: bool,
    dump_config: bool,
    dump_schema: bool,
    ready: bool,
) -> None:
    """Serve PostgREST's API over HTTP (FILE: a PostgREST config file)."""
    if example:
        from pgrest_core.configfile import example_config

        click.echo(example_config(), nl=False)
        return
    if sum((dump_config, dump_schema, ready)) > 1:
        raise click.UsageError("--dump-config, --dump-schema and --ready exclude each other")
    if config_path is not None and config_option is not None and config_path != config_option:
        raise click.UsageError("give the config file once: as FILE or with --config")
    settings = _load(config_path or config_option, host, port)
    if workers is not None:
        settings = replace(settings, server_workers=workers)
    if ready:
        sys.exit(_ready(settings))
    if dump_config:
        _dump_config(settings)
        return
    if dump_schema:
        _dump_schema(settings)
        return
    _serve(settings, config_path or config_option, demo)


def _load(config_file: str | None, host: str | None, port: int | None) -> Settings:
    from pgrest_core.settings import ConfigError
    from pgrest_server.run import load_config

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
    return settings


def _serve(settings: Settings, config_file: str | None, demo: bool) -> None:
    require(*SERVER_MODULES, purpose="pgrest serve --demo" if demo else "pgrest serve")
    from pgrest_server.run import ANY_HOST, exit_on_sigterm, load_config, run_server, start_demo

    postgres: TempPostgres | None = None
    if demo:
        exit_on_sigterm()
        settings, postgres = start_demo(settings)

    def reread() -> Settings:
        """'reload config': the file and PGRST_* again (the demo keeps its database)."""
        fresh, _ = load_config(config_file, os.environ)
        return fresh if postgres is None else settings

    try:
        if postgres is not None:
            shown_host = "127.0.0.1" if settings.server_host in ANY_HOST else settings.server_host
            click.echo(f"pgrest: serving the demo at http://{shown_host}:{settings.server_port}/", err=True)
        run_server(settings, config_loader=reread)
    finally:
        if postgres is not None:
            postgres.stop()


def _with_db_config(settings: Settings) -> Settings:
    """The in-database configuration over `settings` when db-config is on and the database
    answers; otherwise `settings` (with a warning when the database cannot be read)."""
    if not settings.db_config:
        return settings
    try:
        import psycopg

        from pgrest_core.runner.db_config import apply_db_config
    except ModuleNotFoundError as error:
        click.echo(f"pgrest: warning: in-database configuration not read ({error.name} missing)", err=True)
        return settings

    async def read() -> Settings:
        async with await psycopg.AsyncConnection.connect(settings.db_uri, autocommit=True) as conn:
            return await apply_db_config(conn, settings)

    try:
        return asyncio.run(read())
    except psycopg.Error as error:
        click.echo(f"pgrest: warning: in-database configuration not read: {error}", err=True)
        return settings


def _dump_config(settings: Settings) -> None:
    from pgrest_core.configfile import dump_config

    click.echo(dump_config(_with_db_config(settings)), nl=False)


def _dump_schema(settings: Settings) -> None:
    require(*DATABASE_MODULES, purpose="pgrest serve --dump-schema")
    import psycopg

    from pgrest_core.runner.introspect import load_schema_cache
    from pgrest_core.schema.snapshot import dump_snapshot

    settings = _with_db_config(settings)

    async def load() -> str:
        async with await psycopg.AsyncConnection.connect(settings.db_uri, autocommit=True) as conn:
            return dump_snapshot(await load_schema_cache(conn, tuple(settings.db_schemas)))

    try:
        click.echo(asyncio.run(load()), nl=False)
    except psycopg.Error as error:
        click.echo(f"pgrest: could not load the schema cache: {error}", err=True)
        sys.exit(1)


# PostgREST's special server-host values: they name no single address to connect to.
_SPECIAL_HOSTS = ("!4", "*4", "!6", "*6", "*")


def ready_url(settings: Settings) -> str:
    """The admin server's /ready URL; raises ValueError (PostgREST's message) when there is none."""
    host = settings.effective_admin_server_host
    if settings.admin_server_port is None:
        raise ValueError("Admin server is not running. Please check admin-server-port config.")
    if host in _SPECIAL_HOSTS:
        raise ValueError(
            f'The `--ready` flag cannot be used when server-host is configured as "{host}". '
            'Please update your server-host config to "localhost".'
        )
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{settings.admin_server_port}/ready"


def _ready(settings: Settings) -> int:
    """`--ready`: ask the running server's admin server; PostgREST's messages and exit codes."""
    import urllib.error
    import urllib.request

    try:
        url = ready_url(settings)
    except ValueError as error:
        click.echo(f"ERROR: {error}", err=True)
        return 1
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (an http:// URL we built)
            status = int(response.status)
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, OSError):
        click.echo(f"ERROR: connection refused to {url}", err=True)
        return 1
    if 200 <= status < 300:
        click.echo(f"OK: {url}")
        return 0
    click.echo(f"ERROR: {url}", err=True)
    return 1
