"""Each setting that used to be parsed and ignored, shown to change what the server does.

db-pool-max-lifetime / -max-idletime / -automatic-recovery, db-config and db-pre-config (the
in-database configuration, and `NOTIFY pgrst, 'reload config'`), db-timezone-enabled,
db-hoisted-tx-settings, log-query, server-unix-socket-mode, and the admin server
(admin-server-host / -port: /live, /ready, /config, /schema_cache, /metrics).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import psycopg
import pytest

from pgrest_core.errors import PgrstError
from pgrest_core.settings import Settings
from pgrest_server.access_log import configure_logging
from pgrest_server.admin import AdminApp
from pgrest_server.app import create_app
from pgrest_server.postgres import TempPostgres
from pgrest_server.run import bind_unix_socket
from tests.conftest import module_database
from tests.integration.test_asgi import serving

AUTHENTICATOR = "cfg_authenticator"

SCHEMA_SQL = f"""
create role {AUTHENTICATOR} login;
create role cfg_anon nologin;
grant cfg_anon to {AUTHENTICATOR};
create schema api;
create schema api2;
grant usage on schema api, api2 to cfg_anon;
create table api.items (id int primary key, name text);
insert into api.items select n, 'item ' || n from generate_series(1, 5) n;
create table api2.other (x int);
insert into api2.other values (7);
create table api.secrets (x int);
grant select on api.items, api2.other to cfg_anon;
create function api.current_timezone() returns text language sql as $$ select current_setting('timezone') $$;
create function api.slow() returns int language sql
  set statement_timeout = '200ms'
  as $$ select 1 from pg_sleep(1) $$;
create function api.work_mem() returns text language sql stable
  set work_mem = '3MB'
  as $$ select current_setting('work_mem') $$;
create schema postgrest;
grant usage on schema postgrest to {AUTHENTICATOR};
create function postgrest.pre_config() returns void language sql as $$
  select set_config('pgrst.db_max_rows', '2', true);
  select set_config('pgrst.db_schemas', 'api', true);
$$;
grant execute on all functions in schema api to cfg_anon;
"""


@pytest.fixture(scope="module")
def cfg_uri(pg: TempPostgres) -> Iterator[str]:
    yield from module_database(pg, "cfg_tests", SCHEMA_SQL, ("cfg_anon", AUTHENTICATOR))


@pytest.fixture()
def auth_uri(cfg_uri: str, pg: TempPostgres) -> Iterator[str]:
    """The URI as the authenticator role, whose role settings are reset after each test."""
    yield pg.uri("cfg_tests", user=AUTHENTICATOR)
    with psycopg.connect(cfg_uri, autocommit=True) as conn:
        conn.execute(f"ALTER ROLE {AUTHENTICATOR} RESET ALL")
        conn.execute(f"ALTER ROLE {AUTHENTICATOR} IN DATABASE cfg_tests RESET ALL")


def base_settings(uri: str, **changes: object) -> Settings:
    settings = Settings(
        db_uri=uri, db_schemas=("api",), db_anon_role="cfg_anon", db_pool=2, log_level="crit"
    )
    return replace(settings, **changes)  # type: ignore[arg-type]




def admin_sql(cfg_uri: str, statement: str) -> None:
    with psycopg.connect(cfg_uri, autocommit=True) as conn:
        conn.execute(statement)


# --- the pool ---------------------------------------------------------------------------------


def test_pool_lifetime_and_idle_time_reach_the_pool(auth_uri: str) -> None:
    async def check() -> None:
        settings = base_settings(auth_uri, db_pool_max_lifetime=120, db_pool_max_idletime=7, db_pool=3)
        async with serving(settings) as (app, _):
            assert app.runner is not None
            pool = app.runner.pool
            assert (pool.max_lifetime, pool.max_idle, pool.max_size, pool.min_size) == (120.0, 7.0, 3, 0)

    asyncio.run(check())


def test_idle_connections_are_closed_after_db_pool_max_idletime(auth_uri: str) -> None:
    async def check() -> None:
        async with serving(base_settings(auth_uri, db_pool_max_idletime=1, db_pool=2)) as (app, client):
            responses = await asyncio.gather(*(client.get("/items?select=id") for _ in range(4)))
            assert [r.status_code for r in responses] == [200] * 4
            stats = app.pool_stats()
            assert stats is not None and stats.available >= 1
            for _ in range(60):  # bounded: up to 6 s
                await asyncio.sleep(0.1)
                stats = app.pool_stats()
                assert stats is not None
                if stats.available == 0:
                    break
            assert stats.available == 0

    asyncio.run(check())


def test_without_automatic_recovery_startup_fails_when_the_database_is_down() -> None:
    async def check() -> None:
        settings = base_settings("postgresql://nobody@127.0.0.1:1/none", db_pool_automatic_recovery=False)
        app = create_app(replace(settings, db_config=False))
        with pytest.raises(PgrstError, match="Retrying"):
            await app.startup()
        await app.shutdown()

    asyncio.run(check())


def test_without_automatic_recovery_a_lost_connection_stops_the_server(auth_uri: str, cfg_uri: str) -> None:
    async def check() -> None:
        settings = base_settings(auth_uri, db_pool_automatic_recovery=False, db_channel_enabled=False)
        async with serving(settings) as (app, client):
            reasons: list[str] = []
            app.on_fatal = reasons.append
            assert (await client.get("/items?select=id")).status_code == 200
            admin_sql(
                cfg_uri,
                f"select pg_terminate_backend(pid) from pg_stat_activity where usename = '{AUTHENTICATOR}'",
            )
            response = await client.get("/items?select=id")
            assert response.status_code == 503
            assert reasons and "lost the database connection" in reasons[0]

    asyncio.run(check())


def test_with_automatic_recovery_a_lost_connection_is_retried(auth_uri: str, cfg_uri: str) -> None:
    async def check() -> None:
        settings = base_settings(auth_uri, db_channel_enabled=False)
        async with serving(settings) as (app, client):
            reasons: list[str] = []
            app.on_fatal = reasons.append
            assert (await client.get("/items?select=id")).status_code == 200
            admin_sql(
                cfg_uri,
                f"select pg_terminate_backend(pid) from pg_stat_activity where usename = '{AUTHENTICATOR}'",
            )
            await client.get("/items?select=id")
            assert (await client.get("/items?select=id")).status_code == 200
            assert reasons == []

    asyncio.run(check())


# --- the in-database configuration ------------------------------------------------------------


def test_role_settings_override_the_file(auth_uri: str, cfg_uri: str) -> None:
    admin_sql(cfg_uri, f"ALTER ROLE {AUTHENTICATOR} SET pgrst.db_max_rows = '3'")
    admin_sql(cfg_uri, f"ALTER ROLE {AUTHENTICATOR} SET pgrst.db_schemas = 'api2'")
    # The database-specific setting wins over the role-wide one.
    admin_sql(cfg_uri, f"ALTER ROLE {AUTHENTICATOR} IN DATABASE cfg_tests SET pgrst.db_schemas = 'api'")

    async def check() -> None:
        async with serving(base_settings(auth_uri, db_max_rows=100)) as (app, client):
            assert app.settings.db_max_rows == 3
            assert app.settings.db_schemas == ("api",)
            assert app.base_settings.db_max_rows == 100
            response = await client.get("/items?select=id")
            assert [row["id"] for row in response.json()] == [1, 2, 3]

    asyncio.run(check())


def test_db_config_false_ignores_the_database(auth_uri: str, cfg_uri: str) -> None:
    admin_sql(cfg_uri, f"ALTER ROLE {AUTHENTICATOR} SET pgrst.db_max_rows = '3'")

    async def check() -> None:
        async with serving(base_settings(auth_uri, db_config=False)) as (app, client):
            assert app.settings.db_max_rows is None
            assert len((await client.get("/items?select=id")).json()) == 5

    asyncio.run(check())


def test_db_pre_config_function_sets_settings_and_role_settings_win(auth_uri: str, cfg_uri: str) -> None:
    admin_sql(cfg_uri, f"ALTER ROLE {AUTHENTICATOR} SET pgrst.db_schemas = 'api2'")

    async def check() -> None:
        settings = base_settings(auth_uri, db_pre_config="postgrest.pre_config")
        async with serving(settings) as (app, client):
            assert app.settings.db_max_rows == 2  # from the function
            assert app.settings.db_schemas == ("api2",)  # the role setting ranks first
            assert (await client.get("/other")).json() == [{"x": 7}]

    asyncio.run(check())


def test_db_pre_config_named_in_the_database(auth_uri: str, cfg_uri: str) -> None:
    admin_sql(cfg_uri, f"ALTER ROLE {AUTHENTICATOR} SET pgrst.db_pre_config = 'postgrest.pre_config'")

    async def check() -> None:
        async with serving(base_settings(auth_uri)) as (app, _):
            assert app.settings.db_pre_config == "postgrest.pre_config"
            assert app.settings.db_max_rows == 2

    asyncio.run(check())


def test_notify_reload_config_applies_new_role_settings(auth_uri: str, cfg_uri: str) -> None:
    async def check() -> None:
        async with serving(base_settings(auth_uri)) as (app, client):
            assert len((await client.get("/items?select=id")).json()) == 5
            await asyncio.sleep(0.3)  # the listener connects
            admin_sql(cfg_uri, f"ALTER ROLE {AUTHENTICATOR} SET pgrst.db_max_rows = '1'")
            admin_sql(cfg_uri, "NOTIFY pgrst, 'reload config'")
            for _ in range(50):  # bounded: up to 5 s
                if app.settings.db_max_rows == 1:
                    break
                await asyncio.sleep(0.1)
            assert len((await client.get("/items?select=id")).json()) == 1

    asyncio.run(check())


def test_reload_config_rereads_the_loader_and_reloads_the_schema_cache(auth_uri: str) -> None:
    async def check() -> None:
        async with serving(base_settings(auth_uri)) as (app, client):
            app.config_loader = lambda: base_settings(auth_uri, db_schemas=("api2",))
            await app.reload_config()
            assert (await client.get("/other")).json() == [{"x": 7}]

    asyncio.run(check())


# --- per-request settings ---------------------------------------------------------------------


def test_db_timezone_enabled(auth_uri: str) -> None:
    async def check(enabled: bool) -> tuple[str, str | None]:
        async with serving(base_settings(auth_uri, db_timezone_enabled=enabled)) as (_, client):
            response = await client.get(
                "/rpc/current_timezone", headers={"Prefer": "timezone=America/Los_Angeles"}
            )
            return response.json(), response.headers.get("Preference-Applied")

    assert asyncio.run(check(True)) == ("America/Los_Angeles", "timezone=America/Los_Angeles")
    zone, applied = asyncio.run(check(False))
    assert zone != "America/Los_Angeles" and applied is None


def test_db_hoisted_tx_settings(auth_uri: str) -> None:
    async def call(path: str, hoisted: tuple[str, ...]) -> httpx.Response:
        async with serving(base_settings(auth_uri, db_hoisted_tx_settings=hoisted)) as (_, client):
            return await client.get(path)

    # Hoisted, the function's statement_timeout limits the whole call: pg_sleep(1) is cancelled.
    cancelled = asyncio.run(call("/rpc/slow", ("statement_timeout",)))
    assert cancelled.json()["code"] == "57014"
    # Not in the list, it only applies inside the function, after the statement started.
    assert asyncio.run(call("/rpc/slow", ("work_mem",))).status_code == 200
    assert asyncio.run(call("/rpc/work_mem", ("work_mem",))).json() == "3MB"


def test_log_query_logs_the_sql_of_logged_requests(auth_uri: str, capfd: pytest.CaptureFixture[str]) -> None:
    async def run(settings: Settings) -> None:
        async with serving(settings) as (_, client):
            assert (await client.get("/items?select=id")).status_code == 200
            assert (await client.get("/secrets")).status_code == 401
            # Failing before any SQL is built: nothing to log (not the previous request's SQL).
            assert (await client.get("/items?select=id")).status_code == 200
            assert (await client.get("/nowhere")).status_code == 404

    configure_logging("warn")  # as `pgrest serve` does: request lines (and SQL) on stdout
    asyncio.run(run(base_settings(auth_uri, log_query=True, log_level="warn")))
    out = capfd.readouterr().out
    assert out.count('"api"."secrets"') == 1  # the failed request's SQL
    assert out.index('"api"."secrets"') < out.index('"GET /secrets HTTP/1.1" 401')  # before its line
    assert '"api"."items"' not in out  # warn does not log a 200, nor its SQL
    asyncio.run(run(base_settings(auth_uri, log_query=False, log_level="warn")))
    assert '"api"."secrets"' not in capfd.readouterr().out


# --- the admin server -------------------------------------------------------------------------


def test_admin_endpoints(auth_uri: str) -> None:
    async def check() -> None:
        settings = base_settings(auth_uri, admin_server_port=3999, jwt_aud="me")
        async with serving(settings) as (app, client):
            await client.get("/items")
            transport = httpx.ASGITransport(app=AdminApp(app))
            async with httpx.AsyncClient(transport=transport, base_url="http://admin") as admin:
                assert (await admin.get("/live")).status_code == 200
                ready = await admin.get("/ready")
                assert (ready.status_code, ready.content) == (200, b"")
                config = await admin.get("/config")
                assert config.headers["content-type"].startswith("text/plain")
                assert 'db-schemas = "api"\n' in config.text and 'jwt-aud = "me"\n' in config.text
                cache = (await admin.get("/schema_cache")).json()
                assert any(table["name"] == "items" for table in cache["tables"])
                metrics = (await admin.get("/metrics")).text
                assert 'pgrst_schema_cache_loads_total{status="SUCCESS"} 1.0' in metrics
                assert "pgrst_db_pool_max 2.0" in metrics
                for name in ("pgrst_db_pool_available", "pgrst_db_pool_waiting", "pgrst_db_pool_timeouts_total"):
                    assert f"# TYPE {name} " in metrics
                assert "pgrst_schema_cache_query_time_seconds " in metrics
                assert (await admin.get("/nothing")).status_code == 404
                assert (await admin.post("/ready")).status_code == 405

    asyncio.run(check())


def test_admin_ready_is_503_without_schema_cache_or_database(auth_uri: str) -> None:
    async def check() -> None:
        app = create_app(base_settings(auth_uri))  # never started: no pool, no schema cache
        transport = httpx.ASGITransport(app=AdminApp(app))
        async with httpx.AsyncClient(transport=transport, base_url="http://admin") as admin:
            assert (await admin.get("/ready")).status_code == 503
            assert (await admin.get("/schema_cache")).status_code == 503
        down = base_settings("postgresql://nobody@127.0.0.1:1/none", db_config=False)
        async with serving(down) as (down_app, _):
            transport = httpx.ASGITransport(app=AdminApp(down_app, api_serving=lambda: True))
            async with httpx.AsyncClient(transport=transport, base_url="http://admin") as admin:
                assert (await admin.get("/ready")).status_code == 503
                assert (await admin.get("/live")).status_code == 200
                metrics = (await admin.get("/metrics")).text
                assert 'pgrst_schema_cache_loads_total{status="FAIL"} 1.0' in metrics
        stopped = AdminApp(app, api_serving=lambda: False)
        transport = httpx.ASGITransport(app=stopped)
        async with httpx.AsyncClient(transport=transport, base_url="http://admin") as admin:
            assert (await admin.get("/live")).status_code == 500
            assert (await admin.get("/ready")).status_code == 500

    asyncio.run(check())


# --- the unix socket --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o600, 0o660, 0o777])
def test_server_unix_socket_mode(tmp_path: Path, mode: int) -> None:
    path = str(tmp_path / "pgrst.sock")
    old_umask = os.umask(0o022)
    try:
        sock = bind_unix_socket(path, mode)
    finally:
        os.umask(old_umask)
    try:
        assert stat.S_ISSOCK(os.stat(path).st_mode)
        assert stat.S_IMODE(os.stat(path).st_mode) == mode
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(path)  # it listens
    finally:
        sock.close()
    # A stale socket file left by an earlier run is replaced.
    bind_unix_socket(path, mode).close()


def test_dump_of_admin_metrics_is_valid_prometheus_text(auth_uri: str) -> None:
    from pgrest_server.admin import metrics_text

    async def check() -> str:
        async with serving(base_settings(auth_uri)) as (app, _):
            return metrics_text(app)

    text = asyncio.run(check())
    for line in text.splitlines():
        if line.startswith("#"):
            assert line.split()[1] in ("HELP", "TYPE")
        else:
            name, value = line.rsplit(" ", 1)
            float(value)
            assert name.startswith("pgrst_")
    json.dumps(text)
