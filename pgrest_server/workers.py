"""Worker processes (`server-workers`, `pgrest serve --workers N`): one port served by N processes.

    serve_workers(settings, config_kwargs)     # the parent: supervises until SIGTERM/SIGINT

The parent binds the socket and starts N workers (uvicorn's process supervisor), each a whole
pgrest app with its own connection pool, schema cache and LISTEN connection, so a `NOTIFY pgrst`
reaches every worker by itself. The parent adds what uvicorn's supervisor leaves out:

- SIGUSR1 (reload the schema cache) is passed on to every worker;
- workers learn the settings from the parent (the same file, environment and flags), through
  an environment variable, since they are started fresh (spawn), not forked;
- the admin server runs in the parent and answers for the whole set (`workers_ready`).

A worker that dies is replaced by the supervisor. SIGTERM drains every worker (each finishes
the requests it has) and the parent exits 0.

`db-pool` is per process: N workers hold up to N × db-pool connections to the database.
"""

from __future__ import annotations

import base64
import os
import pickle
import signal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pgrest_core.config import Settings
    from pgrest_server.app import PgrestApp

SETTINGS_ENV = "PGREST_WORKER_SETTINGS"
READY_DIR_ENV = "PGREST_WORKER_READY_DIR"


def encode_settings(settings: Settings) -> str:
    # pickle is safe here: the value is written by our own parent process, never by a client.
    return base64.b64encode(pickle.dumps(settings)).decode("ascii")


def decode_settings(text: str) -> Settings:
    settings: Settings = pickle.loads(base64.b64decode(text))  # noqa: S301 (see encode_settings)
    return settings


def worker_app() -> PgrestApp:
    """The app of one worker process (uvicorn calls this factory in each worker)."""
    from pgrest_server.app import create_app

    return create_app(decode_settings(os.environ[SETTINGS_ENV]), reload_signal=True)


def _supervisor_class() -> Any:
    from uvicorn.supervisors.multiprocess import Multiprocess

    class Supervisor(Multiprocess):
        """uvicorn's supervisor, passing SIGUSR1 (schema-cache reload) on to every worker."""

        def handle_usr1(self) -> None:
            for process in self.processes:
                if process.pid is not None and process.process.is_alive():
                    os.kill(process.pid, signal.SIGUSR1)

    return Supervisor


def serve_workers(settings: Settings, workers: int, config_kwargs: dict[str, Any]) -> None:
    """Serve from `workers` processes until SIGTERM/SIGINT; returns once all have stopped."""
    import uvicorn

    os.environ[SETTINGS_ENV] = encode_settings(settings)
    app = "pgrest_server.workers:worker_app"
    config = uvicorn.Config(app, factory=True, workers=workers, **config_kwargs)
    socket = config.bind_socket()
    try:
        _supervisor_class()(config, sockets=[socket]).run()
    finally:
        socket.close()
