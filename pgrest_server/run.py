"""Running the server: uvicorn wiring, PostgREST's host values, config loading and the demo database.

    settings, warnings = load_config("postgrest.conf", os.environ)
    run_server(settings)                       # until SIGTERM/SIGINT
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uvicorn

    from pgrest_core.config import Settings
    from pgrest_server.postgres import TempPostgres

DEMO_DATABASE = "pgrest_demo"

# PostgREST's special server-host values: `!4`/`*4` any IPv4, `!6`/`*6` any IPv6, `*` any.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

ANY_HOST = {"!4": "0.0.0.0", "*4": "0.0.0.0", "*": "0.0.0.0", "!6": "::", "*6": "::"}


def bind_host(server_host: str) -> str:
    """The address uvicorn binds for a PostgREST `server-host` value."""
    return ANY_HOST.get(server_host, server_host)


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


def fast_stack() -> tuple[str, str]:
    """uvicorn's `loop` and `http` arguments: uvloop and httptools (the `server` extra installs
    both) when importable, else asyncio and h11, which work everywhere but cost more CPU."""
    import importlib.util

    def available(module: str) -> bool:
        return importlib.util.find_spec(module) is not None

    return ("uvloop" if available("uvloop") else "asyncio", "httptools" if available("httptools") else "h11")


def run_server(settings: Settings) -> None:
    """Serve `settings` with uvicorn until SIGTERM/SIGINT, then drain in-flight requests.

    A signal-driven shutdown returns normally (the CLI exits 0, as PostgREST does).
    """
    import uvicorn

    from pgrest_server.access_log import configure_logging
    from pgrest_server.app import create_app
    from pgrest_server.limits import MAX_HEADER_FIELDS, MAX_REQUEST_TARGET

    configure_logging(settings.log_level)
    app = create_app(settings, reload_signal=True)
    # h11 (when httptools is absent) refuses a request head above 16 KiB with a bare 400 of its
    # own; leave room for the app's limits to answer 414/431 with a JSON body instead.
    loop, http = fast_stack()
    config = uvicorn.Config(
        app,
        host=bind_host(settings.server_host),
        port=settings.server_port,
        uds=settings.server_unix_socket or None,  # a socket takes precedence over the port
        log_level="warning",
        lifespan="on",
        access_log=False,
        server_header=False,
        h11_max_incomplete_event_size=MAX_REQUEST_TARGET + MAX_HEADER_FIELDS + 1024,
        loop=loop,
        http=http,
    )
    server = _draining_server(config)
    server.run()
    if not server.started:
        # Startup failed (port taken, lifespan error): uvicorn already said why.
        raise SystemExit(3)


def _draining_server(config: uvicorn.Config) -> uvicorn.Server:
    """uvicorn's server, minus re-raising the stop signal once it has shut down.

    uvicorn stops on SIGTERM/SIGINT (waiting for in-flight requests), then raises the same
    signal again so that the process dies of it (exit status -15) instead of exiting 0 as
    PostgREST does. Here the signals only ask for the graceful shutdown; a second SIGINT
    still forces it (uvicorn's `handle_exit`).
    """
    import uvicorn

    class DrainingServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield  # signals can only be handled on the main thread
                return
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in _STOP_SIGNALS}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return DrainingServer(config)


def exit_on_sigterm() -> None:
    """Make SIGTERM unwind the stack (so `finally` stops the demo database) instead of killing us.

    uvicorn handles SIGTERM while serving, then re-raises it once it has shut down; with the
    default handler that would end the process before any cleanup runs.
    """

    def exit_cleanly(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, exit_cleanly)
