"""Running the server: uvicorn wiring, PostgREST's host values, config loading and the demo database.

    settings, warnings = load_config("postgrest.conf", os.environ)
    run_server(settings)                       # until SIGTERM/SIGINT
"""

from __future__ import annotations

import signal
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pgrest_core.settings import Settings
    from pgrest_server.postgres import TempPostgres

DEMO_DATABASE = "pgrest_demo"

# PostgREST's special server-host values: `!4`/`*4` any IPv4, `!6`/`*6` any IPv6, `*` any.
ANY_HOST = {"!4": "0.0.0.0", "*4": "0.0.0.0", "*": "0.0.0.0", "!6": "::", "*6": "::"}


def bind_host(server_host: str) -> str:
    """The address uvicorn binds for a PostgREST `server-host` value."""
    return ANY_HOST.get(server_host, server_host)


def load_config(config_file: str | None, env: Mapping[str, str]) -> tuple[Settings, list[str]]:
    """The settings from the file (if any) with PGRST_* over them, `@file` values read.

    Raises ConfigError (bad values) or OSError (an unreadable file).
    """
    from pgrest_core.configfile import load_settings, resolve_file_references

    text = Path(config_file).read_text(encoding="utf-8") if config_file else None
    settings, warnings = load_settings(text, env)
    settings = resolve_file_references(settings, lambda path: Path(path).read_text(encoding="utf-8"))
    return settings, warnings


def start_demo(settings: Settings) -> tuple[Settings, TempPostgres]:
    """Start a throwaway PostgreSQL with the demo schema; settings pointing at it."""
    from pgrest_core import demo
    from pgrest_server.postgres import TempPostgres

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

    from pgrest_server.app import create_app

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


def exit_on_sigterm() -> None:
    """Make SIGTERM unwind the stack (so `finally` stops the demo database) instead of killing us.

    uvicorn handles SIGTERM while serving, then re-raises it once it has shut down; with the
    default handler that would end the process before any cleanup runs.
    """

    def exit_cleanly(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, exit_cleanly)
