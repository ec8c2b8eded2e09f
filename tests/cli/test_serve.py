"""`pgrest serve`: configuration errors, overrides, and a real server process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from pgrest_cli.serve import serve
from pgrest_server.postgres import TempPostgres
from pgrest_server.run import bind_host, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_bad_config_exits_1_with_a_clear_message(tmp_path: Path) -> None:
    config = tmp_path / "bad.conf"
    config.write_text('db-uri = "postgresql://"\ndb-tx-end = "sometimes"\n')
    result = CliRunner().invoke(serve, ["--config", str(config)])
    assert result.exit_code == 1
    assert "invalid configuration" in result.output
    assert "db-tx-end" in result.output


def test_missing_config_file_exits_1(tmp_path: Path) -> None:
    result = CliRunner().invoke(serve, ["--config", str(tmp_path / "nowhere.conf")])
    assert result.exit_code == 1
    assert "nowhere.conf" in result.output


def test_config_file_env_overrides_and_db_uri_file(tmp_path: Path) -> None:
    uri_file = tmp_path / "uri"
    uri_file.write_text("postgresql://me@db/app\n")
    config = tmp_path / "ok.conf"
    config.write_text(f'db-uri = "@{uri_file}"\ndb-pool = 3\nserver-port = 4000\nmystery-key = 1\n')
    settings, warnings = load_config(str(config), {"PGRST_SERVER_PORT": "5000"})
    assert (settings.db_uri, settings.db_pool, settings.server_port) == ("postgresql://me@db/app", 3, 5000)
    assert len(warnings) == 1 and "mystery-key" in warnings[0]


@pytest.mark.parametrize(
    ("server_host", "address"),
    [("!4", "0.0.0.0"), ("*", "0.0.0.0"), ("!6", "::"), ("127.0.0.1", "127.0.0.1"), ("db", "db")],
)
def test_bind_host(server_host: str, address: str) -> None:
    assert bind_host(server_host) == address


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(port: int, process: subprocess.Popen[str], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early:\n{process.communicate()[1]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not start listening")


def test_serve_answers_http_and_stops_on_sigterm(pg: TempPostgres, tmp_path: Path) -> None:
    uri = pg.create_database("serve_cli", sql_text="create table notes (id int);")
    port = _free_port()
    config = tmp_path / "serve.conf"
    config.write_text(
        f'db-uri = "{uri}"\nserver-host = "127.0.0.1"\nserver-port = {port}\n'
        'db-schemas = "public"\ndb-anon-role = "postgres"\nlog-level = "info"\nunknown-thing = 1\n'
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "pgrest_cli", "serve", "--config", str(config)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        _wait_for_port(port, process)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/a/b/c", timeout=5):
                raise AssertionError("expected an HTTP error")
        except urllib.error.HTTPError as error:
            assert error.code == 404
            assert error.headers["Content-Type"] == "application/json; charset=utf-8"
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        pg.drop_database("serve_cli")
    assert "unknown-thing" in stderr  # the warning
    assert '"GET /a/b/c HTTP/1.1" 404 ' in stdout  # the access line, on stdout as PostgREST does
    assert process.returncode == 0


SLOW_SQL = """
create function slow(seconds float) returns text language sql as $$
  select pg_sleep(seconds); select 'done'::text
$$;
"""


def _start(args: list[str], port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "pgrest_cli", "serve", *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    _wait_for_port(port, process, seconds=60)
    return process


def _fetch(url: str, results: list[tuple[int, bytes]]) -> None:
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            results.append((response.status, response.read()))
    except urllib.error.HTTPError as error:
        results.append((error.code, error.read()))


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_drains_in_flight_requests_and_exits_0(
    pg: TempPostgres, tmp_path: Path, stop: signal.Signals
) -> None:
    """Before: the slow request completed, but the process died of the signal (exit -15)."""
    name = f"serve_stop_{stop.name.lower()}"
    uri = pg.create_database(name, sql_text=SLOW_SQL)
    port = _free_port()
    config = tmp_path / "serve.conf"
    config.write_text(
        f'db-uri = "{uri}"\nserver-host = "127.0.0.1"\nserver-port = {port}\n'
        'db-schemas = "public"\ndb-anon-role = "postgres"\nlog-level = "error"\n'
    )
    process = _start(["--config", str(config)], port)
    try:
        quick: list[tuple[int, bytes]] = []
        _fetch(f"http://127.0.0.1:{port}/nowhere", quick)  # 404: not logged at log-level=error
        results: list[tuple[int, bytes]] = []
        slow = threading.Thread(target=_fetch, args=(f"http://127.0.0.1:{port}/rpc/slow?seconds=1.5", results))
        slow.start()
        time.sleep(0.7)  # the request is now waiting on pg_sleep
        process.send_signal(stop)
        slow.join(timeout=20)
        stdout, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        pg.drop_database(name)
    assert quick[0][0] == 404
    assert results == [(200, b'"done"')]
    assert process.returncode == 0
    assert stdout == ""  # log-level=error: neither the 404 nor the 200 is logged


def test_the_demo_exits_0_on_sigterm_and_stops_its_database() -> None:
    port = _free_port()
    process = _start(["--demo", "--port", str(port)], port)
    try:
        results: list[tuple[int, bytes]] = []
        _fetch(f"http://127.0.0.1:{port}/directors?select=id&limit=1", results)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert results[0][0] == 200
    assert process.returncode == 0, stderr


def test_a_100_mib_post_is_refused_promptly_and_the_server_stays_healthy(
    pg: TempPostgres, tmp_path: Path
) -> None:
    """Issue 8 item 2: before, 80-100 MiB bodies were never answered, a session stayed in
    ClientRead holding a pool connection, and the server then ignored SIGTERM."""
    import http.client

    uri = pg.create_database("serve_big_body", sql_text="create table notes (id int, body text);")
    port = _free_port()
    config = tmp_path / "serve.conf"
    config.write_text(
        f'db-uri = "{uri}"\nserver-host = "127.0.0.1"\nserver-port = {port}\n'
        'db-schemas = "public"\ndb-anon-role = "postgres"\ndb-pool = 1\n'
    )
    process = _start(["--config", str(config)], port)
    try:
        body = b'{"id": 1, "body": "' + b"x" * (100 * 1024 * 1024) + b'"}'
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("POST", "/notes", body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            status, error = response.status, json.loads(response.read())
        finally:
            connection.close()
        results: list[tuple[int, bytes]] = []
        _fetch(f"http://127.0.0.1:{port}/notes", results)  # the only pool connection is free
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        pg.drop_database("serve_big_body")
    assert (status, error["code"]) == (413, "PGRSTX13")
    assert results == [(200, b"[]")]
    assert process.returncode == 0
