"""Worker processes (`server-workers`, `pgrest serve --workers N`): one port served by N processes.

    serve_workers(settings, options)          # the parent: supervises until SIGTERM/SIGINT

The parent binds the socket (TCP or server-unix-socket) and starts N workers with uvicorn's
process supervisor. Each worker is a whole pgrest app with its own connection pool, schema
cache and LISTEN connection, so a `NOTIFY pgrst` reaches every worker by itself. The parent
adds what uvicorn's supervisor leaves out:

- SIGUSR1 (reload the schema cache) and SIGUSR2 (reload the configuration) are passed on to
  every worker;
- workers learn the settings from the parent (the same file, environment and flags) through an
  environment variable, since they are started fresh (spawn), not forked;
- the admin server (admin-server-port) runs in the parent and answers for the whole set:
  `/live` is 200 while every worker is alive, `/ready` is 200 only when every worker is ready
  (its schema cache loaded and its database reachable). Each worker runs a private admin app
  on 127.0.0.1 at a port of the system's choosing and writes that port to a file in a
  directory the parent names; the parent asks each live worker's `/ready`. `/config` and
  `/schema_cache` come from one worker (all have the same); `/metrics` is per process and is
  not served by the parent.

A worker that dies is replaced by the supervisor. SIGTERM drains every worker (each finishes
the requests it has) and the parent exits 0. A worker that cannot start (or loses the database
with db-pool-automatic-recovery off) stops the whole set, and the parent exits 1.

Connections: `db-pool` is per process, so N workers hold up to N × db-pool connections to the
database (plus one LISTEN connection each when db-channel-enabled).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import pickle
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pgrest_server.admin import send_answer
from pgrest_server.http import Message, Receive, Scope, Send

if TYPE_CHECKING:
    from pgrest_core.settings import Settings
    from pgrest_server.app import PgrestApp

SETTINGS_ENV = "PGREST_WORKER_SETTINGS"
READY_DIR_ENV = "PGREST_WORKER_READY_DIR"
PARENT_ENV = "PGREST_WORKER_PARENT"
# A worker's private admin app answers /ready within this many seconds, or counts as not ready
# (below uvicorn's 5 s health check, after which the supervisor replaces a silent worker).
WORKER_READY_TIMEOUT = 2.0
# uvicorn's exit status for a worker that failed to start; the supervisor then stops the set.
STARTUP_FAILURE = 3


log = logging.getLogger("pgrest.workers")


def encode_settings(settings: Settings) -> str:
    # pickle is safe here: the value is written by our own parent process, never by a client.
    return base64.b64encode(pickle.dumps(settings)).decode("ascii")


def decode_settings(text: str) -> Settings:
    settings: Settings = pickle.loads(base64.b64decode(text))  # noqa: S301 (see encode_settings)
    return settings


# --- in each worker --------------------------------------------------------------------------


def worker_app() -> WorkerApp:
    """The app of one worker process (uvicorn calls this factory in each worker)."""
    from pgrest_server.access_log import configure_logging
    from pgrest_server.app import create_app

    # Until the app's own handler is installed at startup, a forwarded SIGUSR1/SIGUSR2 must not
    # kill the worker (their default action); startup loads the schema cache anyway.
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    settings = decode_settings(os.environ[SETTINGS_ENV])
    configure_logging(settings.log_level)
    app = create_app(settings, reload_signal=True)
    app.on_fatal = _exit_fatal
    return WorkerApp(app, os.environ.get(READY_DIR_ENV))


def _exit_fatal(reason: str) -> None:
    """The database is lost with db-pool-automatic-recovery off: end this worker with the
    status that makes the supervisor stop the whole set (the parent then exits 1)."""
    log.critical("worker %d stops: %s", os.getpid(), reason)
    sys.stderr.flush()
    os._exit(STARTUP_FAILURE)


class WorkerApp:
    """A worker's pgrest app plus its private admin app, started and stopped with its lifespan."""

    def __init__(self, app: PgrestApp, ready_dir: str | None) -> None:
        self.app = app
        self.ready_dir = ready_dir
        self._admin: Any = None
        self._admin_task: asyncio.Task[None] | None = None
        self._watch_task: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def lifespan_send(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                parent = int(os.environ.get(PARENT_ENV, os.getppid()))
                self._watch_task = asyncio.create_task(_stop_when_orphaned(parent))
                if self.ready_dir is not None:
                    await self._start_admin(self.ready_dir)
            await send(message)

        async def lifespan_receive() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                if self._watch_task is not None:
                    self._watch_task.cancel()
                await self._stop_admin()
            return message

        await self.app(scope, lifespan_receive, lifespan_send)

    async def _start_admin(self, ready_dir: str) -> None:
        import uvicorn

        from pgrest_server.admin import AdminApp

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))  # a port of the system's choosing, for the parent only
        sock.listen(16)
        port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            AdminApp(self.app), lifespan="off", log_level="warning", access_log=False, server_header=False
        )
        self._admin = _QuietServer(config)
        self._admin_task = asyncio.create_task(self._admin.serve(sockets=[sock]))
        # Written whole under a temporary name, then renamed: the parent never reads half a port.
        final = Path(ready_dir) / str(os.getpid())
        partial = final.with_suffix(".tmp")
        partial.write_text(str(port), encoding="ascii")
        partial.replace(final)

    async def _stop_admin(self) -> None:
        if self.ready_dir is not None:
            with contextlib.suppress(OSError):
                (Path(self.ready_dir) / str(os.getpid())).unlink()
        if self._admin is not None and self._admin_task is not None:
            self._admin.should_exit = True
            await self._admin_task


async def _stop_when_orphaned(parent: int) -> None:
    """Drain and stop (SIGTERM to itself) once the parent is gone (killed with SIGKILL, say),
    rather than serve on unsupervised."""
    while os.getppid() == parent:
        await asyncio.sleep(1.0)
    log.error("worker %d: the parent process %d is gone, stopping", os.getpid(), parent)
    os.kill(os.getpid(), signal.SIGTERM)


def _quiet_server_class() -> Any:
    import uvicorn

    class QuietServer(uvicorn.Server):
        """A uvicorn server that leaves signal handling to the process's main server."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return QuietServer


def _QuietServer(config: Any) -> Any:  # noqa: N802 (a class made on first use: uvicorn is optional)
    return _quiet_server_class()(config)


# --- in the parent ---------------------------------------------------------------------------


def _supervisor_class() -> Any:
    from uvicorn.supervisors.multiprocess import Multiprocess

    class Supervisor(Multiprocess):
        """uvicorn's supervisor, passing the reload signals on to every worker and telling a
        stop asked for by a signal from one caused by a worker that cannot run."""

        stopped_by_signal = False

        def _forward(self, signum: int) -> None:
            for process in list(self.processes):
                pid = process.pid
                if pid is not None and process.process.is_alive():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signum)

        def handle_usr1(self) -> None:
            self._forward(signal.SIGUSR1)

        def handle_usr2(self) -> None:
            self._forward(signal.SIGUSR2)

        def handle_int(self) -> None:
            self.stopped_by_signal = True
            super().handle_int()

        def handle_term(self) -> None:
            self.stopped_by_signal = True
            super().handle_term()

    return Supervisor


def serve_workers(
    settings: Settings,
    config_kwargs: dict[str, Any],
    sockets: list[socket.socket],
    admin_sockets: list[socket.socket],
) -> None:
    """Serve `sockets` from settings.server_workers processes until SIGTERM/SIGINT.

    `config_kwargs` are the uvicorn settings of the single-process server (loop, http, limits);
    `admin_sockets` the bound admin-server socket, if any. Raises SystemExit(1) when the set
    stopped because a worker could not start or run.
    """
    import uvicorn

    ready_dir = tempfile.mkdtemp(prefix="pgrest-workers-")
    os.environ[SETTINGS_ENV] = encode_settings(settings)
    os.environ[READY_DIR_ENV] = ready_dir
    os.environ[PARENT_ENV] = str(os.getpid())  # not os.getppid() in a worker: the parent may be gone
    config = uvicorn.Config(
        "pgrest_server.workers:worker_app",
        factory=True,
        workers=settings.server_workers,
        lifespan="on",
        **config_kwargs,
    )
    supervisor = _supervisor_class()(config, sockets=sockets)
    admin = None
    if admin_sockets:
        admin = _ParentAdmin(settings, supervisor, ready_dir)
        admin.start(admin_sockets)
    try:
        supervisor.run()
    finally:
        if admin is not None:
            admin.stop()
        for sock in sockets + admin_sockets:
            sock.close()
        shutil.rmtree(ready_dir, ignore_errors=True)
    if not supervisor.stopped_by_signal:
        print("pgrest: a worker could not start or run; stopped all workers", file=sys.stderr)
        raise SystemExit(1)


class _ParentAdmin:
    """The parent's admin server, on a thread of its own (the supervisor owns the main thread)."""

    def __init__(self, settings: Settings, supervisor: Any, ready_dir: str) -> None:
        import uvicorn

        self.app = WorkersAdminApp(settings, supervisor, ready_dir)
        config = uvicorn.Config(
            self.app, lifespan="off", log_level="warning", access_log=False, server_header=False
        )
        self.server = _QuietServer(config)
        self.thread: threading.Thread | None = None

    def start(self, sockets: list[socket.socket]) -> None:
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self.server.serve(sockets=sockets)), name="pgrest-admin", daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)


class WorkersAdminApp:
    """The admin server's ASGI app for a set of workers (see the module's docstring)."""

    def __init__(self, settings: Settings, supervisor: Any, ready_dir: str) -> None:
        self.settings = settings
        self.supervisor = supervisor
        self.ready_dir = Path(ready_dir)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await send_answer(send, scope, await self.answer(str(scope["method"]).upper(), str(scope["path"])))

    async def answer(self, method: str, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
        if method not in ("GET", "HEAD"):
            return 405, [("Allow", "GET, HEAD")], b""
        if path == "/live":
            return (200 if self._all_alive() else 500), [], b""
        if path == "/ready":
            return await self._ready(), [], b""
        if path in ("/config", "/schema_cache"):
            return await self._from_one_worker(path)
        return 404, [], b""

    def _live_pids(self) -> list[int]:
        return [
            process.pid
            for process in list(self.supervisor.processes)
            if process.pid is not None and process.process.is_alive()
        ]

    def _all_alive(self) -> bool:
        if self.supervisor.should_exit.is_set():
            return False  # stopping
        return len(self._live_pids()) >= int(self.supervisor.processes_num)

    def _worker_port(self, pid: int) -> int | None:
        try:
            return int((self.ready_dir / str(pid)).read_text(encoding="ascii"))
        except (OSError, ValueError):
            return None  # not started yet (or stopping)

    async def _ready(self) -> int:
        if not self._all_alive():
            return 500
        ports = [self._worker_port(pid) for pid in self._live_pids()]
        if any(port is None for port in ports):
            return 503
        answers = await asyncio.gather(*(_get(port, "/ready") for port in ports if port is not None))
        return 200 if all(status == 200 for status, _, _ in answers) else 503

    async def _from_one_worker(self, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
        for pid in self._live_pids():
            port = self._worker_port(pid)
            if port is None:
                continue
            status, content_type, body = await _get(port, path)
            if status == 200:
                return 200, [("Content-Type", content_type)], body
        return 503, [], b""


async def _get(port: int, path: str) -> tuple[int, str, bytes]:
    """(status, content type, body) of GET `path` from a worker's private admin app on
    127.0.0.1:`port`; status 0 when it does not answer within WORKER_READY_TIMEOUT."""
    try:
        async with asyncio.timeout(WORKER_READY_TIMEOUT):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
                await writer.drain()
                raw = await reader.read()
            finally:
                writer.close()
    except (OSError, TimeoutError):
        return 0, "", b""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return 0, "", b""
    content_type = next(
        (line.split(":", 1)[1].strip() for line in lines[1:] if line.lower().startswith("content-type:")), ""
    )
    return status, content_type, body


__all__ = ["WorkerApp", "WorkersAdminApp", "serve_workers", "worker_app"]
