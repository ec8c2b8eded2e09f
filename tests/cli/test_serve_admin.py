"""`pgrest serve` as PostgREST's command line: FILE, --ready, --dump-config, --dump-schema,
--example, and the admin server running next to the API in one process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from pgrest_cli.serve import ready_url, serve
from pgrest_core.configfile import parse_config_file
from pgrest_core.settings import Settings
from pgrest_server.postgres import TempPostgres

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pgrest_cli", "serve", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture()
def served_db(pg: TempPostgres) -> Iterator[str]:
    uri = pg.create_database("serve_admin", sql_text="create table notes (id int); insert into notes values (1);")
    yield uri
    pg.drop_database("serve_admin")


def test_serve_with_admin_server_and_ready(served_db: str, tmp_path: Path) -> None:
    port, admin_port = _free_port(), _free_port()
    config = tmp_path / "pgrst.conf"
    config.write_text(
        f'db-uri = "{served_db}"\nserver-host = "127.0.0.1"\nserver-port = {port}\n'
        f'admin-server-port = {admin_port}\ndb-anon-role = "postgres"\n'
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "pgrest_cli", "serve", str(config)],  # FILE as the argument
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # bounded by the deadline
            assert process.poll() is None, process.communicate()[1]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/ready", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "the admin server never became ready"
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/live", timeout=5) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/notes", timeout=5) as response:
            assert json.load(response) == [{"id": 1}]
        ready = _cli(str(config), "--ready")
        assert (ready.returncode, ready.stdout) == (0, f"OK: http://127.0.0.1:{admin_port}/ready\n")
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    stopped = _cli(str(config), "--ready")
    assert stopped.returncode == 1
    assert stopped.stderr == f"ERROR: connection refused to http://127.0.0.1:{admin_port}/ready\n"


def test_ready_without_admin_port_or_with_a_special_host(tmp_path: Path) -> None:
    result = CliRunner().invoke(serve, ["--ready"], env={"PGRST_ADMIN_SERVER_PORT": ""})
    assert result.exit_code == 1
    assert "ERROR: Admin server is not running. Please check admin-server-port config." in result.output
    result = CliRunner().invoke(serve, ["--ready"], env={"PGRST_ADMIN_SERVER_PORT": "3001"})
    assert result.exit_code == 1
    assert 'server-host is configured as "!4"' in result.output
    assert ready_url(Settings(admin_server_port=3001, admin_server_host="::1")) == "http://[::1]:3001/ready"
    assert ready_url(Settings(admin_server_port=3001, server_host="localhost")) == "http://localhost:3001/ready"


def test_dump_config_file_then_env_then_database(served_db: str, tmp_path: Path) -> None:
    config = tmp_path / "pgrst.conf"
    config.write_text(f'db-uri = "{served_db}"\ndb-max-rows = 10\ndb-pool = 4\napp.settings.x = "y"\n')
    with psycopg.connect(served_db, autocommit=True) as conn:
        conn.execute("ALTER ROLE postgres IN DATABASE serve_admin SET pgrst.db_max_rows = '3'")
        conn.execute("ALTER ROLE postgres IN DATABASE serve_admin SET pgrst.db_pool = '9'")  # not in-db
    try:
        result = _cli(str(config), "--dump-config", env={"PGRST_DB_POOL": "5", "PGRST_DB_SCHEMAS": "public,x"})
    finally:
        with psycopg.connect(served_db, autocommit=True) as conn:
            conn.execute("ALTER ROLE postgres IN DATABASE serve_admin RESET ALL")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines == sorted(lines)  # PostgREST's key order
    assert "db-max-rows = 3" in lines  # the database wins
    assert "db-pool = 5" in lines  # the environment wins over the file; db-pool is not in-db
    assert 'db-schemas = "public,x"' in lines
    assert 'app.settings.x = "y"' in lines
    settings, warnings = parse_config_file(result.stdout)  # it reads back as the same settings
    assert warnings == [] and (settings.db_max_rows, settings.db_pool) == (3, 5)


def test_dump_config_without_a_database_uses_file_and_env(tmp_path: Path) -> None:
    config = tmp_path / "pgrst.conf"
    config.write_text('db-uri = "postgresql://nobody@127.0.0.1:1/none"\ndb-config = false\n')
    result = CliRunner().invoke(serve, ["--config", str(config), "--dump-config"])
    assert result.exit_code == 0
    assert 'db-uri = "postgresql://nobody@127.0.0.1:1/none"\n' in result.output
    assert "db-config = false\n" in result.output


def test_dump_schema(served_db: str, tmp_path: Path) -> None:
    config = tmp_path / "pgrst.conf"
    config.write_text(f'db-uri = "{served_db}"\n')
    result = _cli(str(config), "--dump-schema")
    assert result.returncode == 0, result.stderr
    assert [table["name"] for table in json.loads(result.stdout)["tables"]] == ["notes"]
    down = _cli("--dump-schema", env={"PGRST_DB_URI": "postgresql://nobody@127.0.0.1:1/none"})
    assert down.returncode == 1 and "could not load the schema cache" in down.stderr


def test_example_is_a_valid_config() -> None:
    result = CliRunner().invoke(serve, ["--example"])
    assert result.exit_code == 0
    settings, warnings = parse_config_file(result.output)
    assert warnings == [] and settings == Settings()
    assert CliRunner().invoke(serve, ["-e"]).output == result.output


def test_flags_exclude_each_other_and_file_given_once(tmp_path: Path) -> None:
    assert CliRunner().invoke(serve, ["--dump-config", "--ready"]).exit_code == 2
    a, b = tmp_path / "a.conf", tmp_path / "b.conf"
    a.write_text(""), b.write_text("")
    assert CliRunner().invoke(serve, [str(a), "--config", str(b), "--dump-config"]).exit_code == 2


def test_bad_config_as_positional_file_exits_1(tmp_path: Path) -> None:
    config = tmp_path / "bad.conf"
    config.write_text("server-otel-enabled = true\n")
    result = CliRunner().invoke(serve, [str(config)])
    assert result.exit_code == 1
    assert "server-otel-enabled" in result.output and "OpenTelemetry" in result.output


def test_admin_port_taken_exits_1_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        admin_port = taken.getsockname()[1]
        config = tmp_path / "pgrst.conf"
        config.write_text(
            'db-uri = "postgresql://nobody@127.0.0.1:1/none"\nserver-host = "127.0.0.1"\n'
            f'server-port = {_free_port()}\nadmin-server-port = {admin_port}\nlog-level = "crit"\n'
        )
        result = _cli(str(config))
    assert result.returncode == 1
    assert f"admin server cannot listen on 127.0.0.1:{admin_port}" in result.stderr


def test_without_automatic_recovery_an_unreachable_database_exits_1(tmp_path: Path) -> None:
    config = tmp_path / "pgrst.conf"
    config.write_text(
        'db-uri = "postgresql://nobody@127.0.0.1:1/none"\nserver-host = "127.0.0.1"\n'
        f"server-port = {_free_port()}\ndb-pool-automatic-recovery = false\n"
    )
    result = _cli(str(config))
    assert result.returncode == 1
    assert "db-pool-automatic-recovery is off" in result.stderr
