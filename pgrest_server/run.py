"""Running the server: uvicorn wiring, PostgREST's host values, config loading and the demo database.

    settings, warnings = load_config("postgrest.conf", os.environ)
    run_server(settings)                       # until SIGTERM/SIGINT
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import stat
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import uvicorn

    from pgrest_core.settings import Settings
    from pgrest_server.app import PgrestApp
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


def fast_stack() -> tuple[str, str]:
    """uvicorn's `loop` and `http` arguments: uvloop and httptools (the `server` extra installs
    both) when importable, else asyncio and h11, which work everywhere but cost more CPU."""
    import importlib.util

    def available(module: str) -> bool:
        return importlib.util.find_spec(module) is not None

    return ("uvloop" if available("uvloop") else "asyncio", "httptools" if available("httptools") else "h11")


def run_server(settings: Settings, config_loader: Callable[[], Settings] | None = None) -> None:
    """Serve `settings` with uvicorn until SIGTERM/SIGINT, with the admin server when
    admin-server-port is set. `config_loader` re-reads the file and PGRST_* on 'reload config'.

    Exits with status 1 when db-pool-automatic-recovery is off and the database is lost.
    """
    import uvicorn

    from pgrest_server.access_log import configure_logging
    from pgrest_server.app import create_app
    from pgrest_server.limits import MAX_HEADER_FIELDS, MAX_REQUEST_TARGET

    configure_logging(settings.log_level)
    loop, http = fast_stack()
    common: dict[str, Any] = {
        "log_level": "warning",
        "access_log": False,
        "server_header": False,
        "http": http,
        # h11 (when httptools is absent) refuses a request head above 16 KiB with a bare 400
        # of its own; leave room for the app's limits to answer 414/431 with a JSON body.
        "h11_max_incomplete_event_size": MAX_REQUEST_TARGET + MAX_HEADER_FIELDS + 1024,
    }
    if settings.server_workers > 1:
        _run_workers(settings, dict(common, loop=loop))
        return
    app = create_app(settings, reload_signal=True)
    app.config_loader = config_loader
    sockets: list[socket.socket] = []
    if settings.server_unix_socket:
        sockets.append(bind_unix_socket(settings.server_unix_socket, settings.server_unix_socket_mode))
        config = uvicorn.Config(app, lifespan="on", **common)
    else:
        config = uvicorn.Config(
            app, host=bind_host(settings.server_host), port=settings.server_port, lifespan="on", **common
        )
    server = _draining_server(config)
    fatal: list[str] = []

    def stop_on_fatal(reason: str) -> None:
        fatal.append(reason)
        server.should_exit = True

    app.on_fatal = stop_on_fatal
    admin = admin_server(app, settings, server)
    admin_sockets = _bind_admin(settings)
    try:
        with asyncio.Runner(loop_factory=_loop_factory(loop)) as runner:
            runner.run(_serve(server, admin, sockets, admin_sockets))
    except SystemExit:
        # uvicorn exits with status 3 when startup fails; a lost database is status 1.
        if not fatal:
            raise
    if fatal:
        raise SystemExit(1)
    if not server.started:
        # Startup failed (port taken, lifespan error): uvicorn already said why.
        raise SystemExit(3)


def _bind_admin(settings: Settings) -> list[socket.socket]:
    """The admin server's listening socket (none without admin-server-port), bound before anything
    starts so that a taken port is one clear error (status 1)."""
    if settings.admin_server_port is None:
        return []
    host = bind_host(settings.effective_admin_server_host)
    try:
        return [bind_tcp_socket(host, settings.admin_server_port)]
    except OSError as error:
        print(
            f"pgrest: admin server cannot listen on {host}:{settings.admin_server_port}: {error}",
            file=sys.stderr,
        )
        raise SystemExit(1) from None


def _run_workers(settings: Settings, config_kwargs: dict[str, Any]) -> None:
    """server-workers > 1: bind here, then serve from that many processes (pgrest_server.workers)."""
    from pgrest_server.workers import serve_workers

    try:
        if settings.server_unix_socket:
            sockets = [bind_unix_socket(settings.server_unix_socket, settings.server_unix_socket_mode)]
        else:
            sockets = [bind_tcp_socket(bind_host(settings.server_host), settings.server_port)]
    except OSError as error:
        where = settings.server_unix_socket or f"{settings.server_host}:{settings.server_port}"
        print(f"pgrest: cannot listen on {where}: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    serve_workers(settings, config_kwargs, sockets, _bind_admin(settings))


def _loop_factory(loop: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop `fast_stack` chose (uvloop when installed), for asyncio.Runner."""
    if loop != "uvloop":
        return None
    import uvloop

    return uvloop.new_event_loop


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


def bind_tcp_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host`:`port` (IPv6 when the host is an IPv6 address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def bind_unix_socket(path: str, mode: int) -> socket.socket:
    """A listening unix socket at `path` with file mode `mode` (server-unix-socket-mode).

    Bound here rather than by uvicorn, which would set its own mode on the file.
    """
    if os.path.exists(path) and stat.S_ISSOCK(os.stat(path).st_mode):
        os.unlink(path)  # a stale socket from an earlier run
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        os.chmod(path, mode)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def admin_server(app: PgrestApp, settings: Settings, api: Any) -> Any:
    """The admin server's uvicorn.Server for admin-server-host/port, or None without a port.

    It leaves signal handling to the API server (`api`), which stops it when it stops.
    """
    if settings.admin_server_port is None:
        return None
    import uvicorn

    from pgrest_server.admin import AdminApp

    class AdminServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    admin_app = AdminApp(app, api_serving=lambda: bool(api.started) and not api.should_exit)
    config = uvicorn.Config(
        admin_app,
        host=bind_host(settings.effective_admin_server_host),
        port=settings.admin_server_port,
        lifespan="off",
        log_level="warning",
        access_log=False,
        server_header=False,
    )
    return AdminServer(config)


async def _serve(
    api: Any, admin: Any, sockets: list[socket.socket], admin_sockets: list[socket.socket]
) -> None:
    """Run the API server (and the admin server) in this event loop until the API server stops."""
    admin_task = None
    if admin is not None:
        admin_task = asyncio.create_task(admin.serve(sockets=admin_sockets or None))
    try:
        await api.serve(sockets=sockets or None)
    finally:
        if admin_task is not None:
            admin.should_exit = True
            await admin_task


def exit_on_sigterm() -> None:
    """Make SIGTERM unwind the stack (so `finally` stops the demo database) instead of killing us.

    uvicorn handles SIGTERM while serving, then re-raises it once it has shut down; with the
    default handler that would end the process before any cleanup runs.
    """

    def exit_cleanly(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, exit_cleanly)
