"""`pgrest serve --workers N`: one port, N processes, reloads reach all, dead ones replaced."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from pgrest_cli.serve import serve
from pgrest_server.postgres import TempPostgres

from .test_serve import ROOT, _free_port, _wait_for_port

Server = tuple[subprocess.Popen[str], int, int, str]  # process, API port, admin port, db URI
WAIT = 30.0  # seconds: the bound on every wait below


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def _workers(parent: int) -> set[int]:
    """The worker processes (multiprocessing spawn children) of `parent`."""
    children: set[int] = set()
    for task in Path(f"/proc/{parent}/task").glob("*"):
        try:
            children.update(int(pid) for pid in (task / "children").read_text().split())
        except OSError:
            continue
    workers = set()
    for pid in children:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            workers.add(pid)
    return workers


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _until(condition: Callable[[], bool], what: str, seconds: float = WAIT) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {what}")


@contextmanager
def _only(worker: int, workers: set[int]) -> Iterator[None]:
    """Only `worker` accepts connections meanwhile: the others are stopped (SIGSTOP)."""
    others = workers - {worker}
    for pid in others:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in others:
            os.kill(pid, signal.SIGCONT)


@pytest.fixture
def workers_server(pg: TempPostgres, tmp_path: Path) -> Iterator[Server]:
    uri = pg.create_database("serve_workers", sql_text="create table notes (id int); insert into notes values (1);")
    port, admin_port = _free_port(), _free_port()
    config = tmp_path / "workers.conf"
    config.write_text(
        f'db-uri = "{uri}"\nserver-host = "127.0.0.1"\nserver-port = {port}\nadmin-server-port = {admin_port}\n'
        'db-schemas = "public"\ndb-anon-role = "postgres"\nlog-level = "error"\ndb-channel-enabled = false\n'
        "db-pool = 2\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "pgrest_cli", "serve", "--workers", "2", "--config", str(config)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        _wait_for_port(port, process, seconds=WAIT)
        yield process, port, admin_port, uri
    finally:
        _stop(process)
        pg.drop_database("serve_workers")


def _stop(process: subprocess.Popen[str]) -> None:
    """Kill the parent and its workers (which hold its output pipes) if still running."""
    if process.poll() is None:
        for pid in _workers(process.pid):
            os.kill(pid, signal.SIGKILL)
        process.kill()
    process.communicate(timeout=WAIT)


def _ddl(uri: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(sql.encode())


def test_workers_serve_reload_replace_and_drain(workers_server: Server) -> None:
    process, port, admin_port, uri = workers_server
    api = f"http://127.0.0.1:{port}"
    admin = f"http://127.0.0.1:{admin_port}"

    _until(lambda: len(_workers(process.pid)) == 2, "two workers")
    _until(lambda: _status(f"{admin}/ready") == 200, "the set is ready")
    assert _status(f"{admin}/live") == 200
    workers = _workers(process.pid)
    for worker in workers:
        with _only(worker, workers):
            assert _status(f"{api}/notes") == 200

    # A dead worker is replaced, and requests keep succeeding meanwhile.
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    assert all(_status(f"{api}/notes") == 200 for _ in range(10))
    _until(lambda: len(_workers(process.pid)) == 2 and victim not in _workers(process.pid), "a replacement")
    _until(lambda: _status(f"{admin}/ready") == 200, "the replacement is ready")
    workers = _workers(process.pid)

    # SIGUSR1 to the parent reloads every worker's schema cache (LISTEN is off here).
    _ddl(uri, "create table late (id int); insert into late values (7);")
    assert _status(f"{api}/late") == 404  # not in any cache yet: only the signal reloads
    process.send_signal(signal.SIGUSR1)
    _until(lambda: all(_status(f"{api}/late") == 200 for _ in range(6)), "the new table is served")
    for worker in workers:
        # Briefly (the supervisor replaces a worker silent for 5 s), so that it answers alone.
        with _only(worker, workers):
            assert _status(f"{api}/late") == 200, f"worker {worker} still has the old schema cache"

    # SIGTERM: every worker drains, the parent exits 0 and no worker remains.
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=WAIT)
    assert process.returncode == 0, stderr
    _until(lambda: not any(_alive(pid) for pid in workers), "the workers are gone")


def test_admin_ready_is_503_while_a_worker_is_not_ready(workers_server: Server) -> None:
    """The parent's /ready asks every worker: one that does not answer makes the set not ready."""
    process, _, admin_port, _ = workers_server
    admin = f"http://127.0.0.1:{admin_port}"
    _until(lambda: len(_workers(process.pid)) == 2, "two workers")
    _until(lambda: _status(f"{admin}/ready") == 200, "the set is ready")
    assert _status(f"{admin}/config") == 200
    stopped = min(_workers(process.pid))
    os.kill(stopped, signal.SIGSTOP)
    try:
        assert _status(f"{admin}/ready") == 503
    finally:
        os.kill(stopped, signal.SIGCONT)
    _until(lambda: _status(f"{admin}/ready") == 200, "ready again")


def test_workers_must_be_positive(tmp_path: Path) -> None:
    result = CliRunner().invoke(serve, ["--workers", "0", "--dump-config"])
    assert result.exit_code == 2
    config = tmp_path / "w.conf"
    config.write_text('db-uri = "postgresql://"\nserver-workers = 0\n')
    result = CliRunner().invoke(serve, ["--config", str(config)])
    assert result.exit_code == 1 and "server-workers" in result.output
    result = CliRunner().invoke(serve, ["--config", str(config), "--workers", "3", "--dump-config"])
    assert result.exit_code == 1  # the file's bad value is refused before the flag applies
    config.write_text('db-uri = "postgresql://"\ndb-config = false\nserver-workers = 2\n')
    result = CliRunner().invoke(serve, ["--config", str(config), "--workers", "3", "--dump-config"])
    assert result.exit_code == 0 and "server-workers = 3" in result.output


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=10)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(10)
        sock.connect(self.path)
        self.sock = sock


def test_workers_on_a_unix_socket(pg: TempPostgres, tmp_path: Path) -> None:
    uri = pg.create_database("serve_workers_unix", sql_text="create table notes (id int);")
    path = tmp_path / "api.sock"
    config = tmp_path / "unix.conf"
    config.write_text(
        f'db-uri = "{uri}"\nserver-unix-socket = "{path}"\nserver-unix-socket-mode = "600"\n'
        'db-schemas = "public"\ndb-anon-role = "postgres"\nserver-workers = 2\n'
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "pgrest_cli", "serve", "--config", str(config)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )

    def notes() -> int:
        connection = _UnixConnection(str(path))
        try:
            connection.request("GET", "/notes")
            return connection.getresponse().status
        except OSError:
            return 0
        finally:
            connection.close()

    try:
        _until(lambda: len(_workers(process.pid)) == 2 and notes() == 200, "two workers serving")
        assert (path.stat().st_mode & 0o777) == 0o600
        assert all(notes() == 200 for _ in range(6))
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=WAIT)
        assert process.returncode == 0, stderr
    finally:
        _stop(process)
        pg.drop_database("serve_workers_unix")


def test_workers_stop_when_the_parent_is_killed(workers_server: Server) -> None:
    """A parent killed with SIGKILL cannot drain its workers: they notice and stop themselves."""
    process, port, _, _ = workers_server
    _until(lambda: len(_workers(process.pid)) == 2, "two workers")
    workers = _workers(process.pid)
    process.kill()
    process.wait(timeout=WAIT)
    _until(lambda: not any(_alive(pid) for pid in workers), "the orphaned workers stop")
